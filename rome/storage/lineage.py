"""Whether a snapshot on a networked store still reads the store it started on.

A server that restarts empty, or from an older copy of its data, answers reads on a fresh connection
as if nothing happened: a scan in progress would just end early. Each read of such a store also
returns the store's identity (a random value written with its first commit) and its commit version;
:class:`Lineage` remembers the first ones a snapshot saw and raises :class:`StoreChanged` when a later
read sees another identity, none, or an older version.
"""
from rome.storage.base import StoreChanged


class Lineage:
    __slots__ = ("where", "identity", "version")

    def __init__(self, where):
        self.where = where        # the store, as error messages name it
        self.identity = None      # None: no read yet; b"": the store had no identity yet
        self.version = None

    def see(self, identity, version):
        """Record one read's (identity, version); raise StoreChanged if they cannot follow the
        earlier ones."""
        if self.identity:
            if identity != self.identity:
                raise StoreChanged("%s is not the store this transaction started reading (%s): it was "
                                   "restarted empty or replaced" % (self.where, "its identity changed"
                                                                    if identity else "its data is gone"))
        elif self.identity is None or identity:
            self.identity = identity
        if self.version is not None and version < self.version:
            raise StoreChanged("%s went back from commit version %d to %d: it was restarted and lost "
                               "recent commits" % (self.where, self.version, version))
        self.version = version

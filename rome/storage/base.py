"""The one small interface every store implements: an ordered map of byte keys to byte values.

ROME needs four things from a store, and nothing else:

- ``snapshot()``: a consistent, read-only view of the committed data (point gets, batched gets and
  ordered range scans, forward or reverse);
- ``commit(reads, writes)``: atomically check that nothing the transaction read has changed since it
  read it (optimistic concurrency: a :class:`ReadSet` of point reads and observed ranges) and, if so,
  apply all its writes; otherwise raise :class:`Conflict` and apply nothing;
- ``allocate(key, count, at_least)``: a non-transactional counter for AUTOINCREMENT (as PostgreSQL's
  sequences, values taken by a transaction that rolls back are not reused);
- ``close()``.

Transactions, savepoints and the read/write buffering live above, in :mod:`rome.storage.transaction`,
so a new store is one module implementing this file's two classes. Validation is generic
(:meth:`ReadSet.validate`): the store only has to run it against its latest state inside the same
atomic section that applies the writes.
"""
import hashlib
from abc import ABC, abstractmethod

from rome.errors import ConflictError, DatabaseError, DataError, OperationalError


class StoreError(Exception):
    """The store cannot be reached or failed: OperationalError "store unavailable: ..." (oslo.db's
    DBConnectionError: drop the connection and retry). Subclasses name what else went wrong, with
    the PEP 249 class and SQLite's words for it."""

    error_class = OperationalError
    prefix = "store unavailable: "

    def to_dbapi(self):
        """The PEP 249 exception the engine raises for this failure."""
        return self.error_class(self.prefix + str(self))


class Conflict(StoreError):
    """Validation failed: a concurrent transaction changed what this one read (mapped to ConflictError)."""

    def to_dbapi(self):
        return ConflictError("write conflict: %s; retry the transaction" % self)


class StoreFull(StoreError):
    """No room for the commit's writes (nothing written)."""
    prefix = "database or disk is full: "


class TooBig(StoreError):
    """A value larger than the store can hold (nothing written)."""
    error_class = DataError
    prefix = "string or blob too big: "


class StoreChanged(StoreError):
    """The store is not the one a running transaction started reading: it went back to an older
    state or was replaced (a server restarted empty). What was read so far cannot be completed."""
    prefix = "store changed under a running transaction: "


class StoreCorrupt(StoreError):
    """The store's own structure is damaged (keys of its layout missing or inconsistent)."""
    error_class = DatabaseError
    prefix = "database disk image is malformed: "


class StoreRefused(StoreError):
    """The store is set up in a way ROME cannot use safely (the message says what to change)."""
    prefix = "unusable store: "


class Snapshot(ABC):
    """A read-only view of the store as of one instant."""

    @abstractmethod
    def get(self, key):
        """The value at key, or None."""

    def get_many(self, keys):
        """Values for keys, in order (None where absent). Stores with round trips batch this."""
        return [self.get(k) for k in keys]

    @abstractmethod
    def scan(self, start, end, reverse=False):
        """Iterate (key, value) for start <= key < end in key order (descending if reverse).
        end=None means no upper bound. The iterator may be abandoned at any point."""

    def chunks(self, start, end, reverse=False):
        """scan() as lists of (key, value) pairs, for readers that take many at a time. Stores that
        can hand out pairs in bulk override it; this one reads no pair ahead of the caller."""
        return ([s] for s in self.scan(start, end, reverse))

    def close(self):
        pass


class Store(ABC):
    """A named ordered key/value store shared by every connection that opens the same URL."""

    @abstractmethod
    def snapshot(self):
        """A new :class:`Snapshot` of the latest committed state."""

    @abstractmethod
    def commit(self, reads, writes):
        """Atomically: ``reads.validate(latest)`` (raises Conflict) then apply ``writes``, a dict
        key -> value (None deletes). Either everything is applied and durable, or nothing is."""

    @abstractmethod
    def allocate(self, key, count=1, at_least=0):
        """Atomically reserve ``count`` consecutive integers from the counter at ``key`` (outside any
        transaction) and return the first. The counter first jumps to ``at_least`` if it is below it.
        A fresh counter starts at 1."""

    def digest(self, pairs):
        """The digest of a range read's (key, value) pairs, in ascending key order, as this store's
        commit compares it (a store validating on a server overrides it with what the server computes)."""
        return range_digest(pairs)

    def close(self):
        pass


class ReadSet:
    """What a transaction observed, so that commit can tell whether it is still true.

    ``points``: key -> the value read (None for absent). ``ranges``: (start, end, digest) where end is
    exclusive (None: unbounded) and digest hashes every (key, value) seen in [start, end). A scan that
    stopped early records only the part it covered: [start, last key + 00) forward, [last key, end)
    reverse. Re-reading the points and re-hashing the ranges against the latest state detects every
    write that would have changed the transaction's reads, phantoms included: that makes commits
    serializable (backward validation).
    """

    __slots__ = ("points", "ranges")

    def __init__(self):
        self.points = {}
        self.ranges = []

    def __bool__(self):
        return bool(self.points or self.ranges)

    def add_point(self, key, value):
        self.points.setdefault(key, value)

    def add_range(self, start, end, digest):
        self.ranges.append((start, end, digest))

    def validate(self, latest):
        """Raise Conflict unless ``latest`` (a Snapshot of the current state) agrees with every read."""
        if self.points and latest.get_many(list(self.points)) != list(self.points.values()):
            raise Conflict("key changed by a concurrent transaction")
        for start, end, digest in self.ranges:
            if range_digest(latest.scan(start, end)) != digest:
                raise Conflict("range changed by a concurrent transaction")


def range_digest(items):
    """The digest ReadSet.validate computes, over (key, value) pairs in ascending key order."""
    h = hashlib.blake2b(digest_size=16)
    for k, v in items:
        h.update(len(k).to_bytes(4, "big"))
        h.update(k)
        h.update(len(v).to_bytes(4, "big"))
        h.update(v)
    return h.digest()

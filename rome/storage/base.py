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
atomic section that applies the writes. A store that cannot re-read inside an atomic step (etcd: no
server-side scripts) validates by revision instead: its snapshots read at one ``revision``, it sets
``Store.validates_by_revision``, and its commit proves that nothing in the ReadSet's keys and ranges
was written after ``reads.revision`` (the transaction then keeps no digest of what it scanned).

OPTIONAL BATCHING. A store with round trips sets ``Snapshot.batches`` and implements the batching
methods for real (``prefetch``, ``cached``, ``scan_many``, ``chain``); the engine then plans reads
ahead. The defaults here do no batching and are correct for any store. ``Store.sequence_block`` is how
many AUTOINCREMENT values a process reserves per ``allocate`` call.

LOCATIONS. Each store parses its own location (what follows ``rome+KIND://`` in a URL, query
included): ``url_location`` turns the URL's text into a location, ``normalize_location`` checks it
(an unknown option is an error naming it) and spells it one way; options given to ``rome.connect`` or
in a SQLAlchemy URL's query arrive in the location's query, so there is one path for options.
"""
import hashlib
import urllib.parse
from abc import ABC, abstractmethod
from itertools import islice

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


class Refused(StoreError):
    """The store was reached and refused the request for what it is (e.g. a transaction larger than
    it accepts): an OperationalError that says so, not "store unavailable" (which means unreachable)."""
    prefix = ""


class BadLocation(StoreError, ValueError):
    """A location (URL) the store cannot use: a malformed one, or an unknown or invalid option."""


class Snapshot(ABC):
    """A read-only view of the store as of one instant."""

    batches = False      # the store has round trips and batches reads (the methods below, for real)
    WHOLE_BATCH = None   # scan_many's limit for ranges that will be read to their end
    revision = None      # the revision this snapshot reads at (stores that validate by revision)

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

    def prefetch(self, keys):
        """Fetch keys along with the next read (no round trip of their own); a no-op without round trips."""

    def cached(self, key):
        """(True, value) if the snapshot already holds key's value, else (False, None); never a read."""
        return False, None

    def chain(self, ranges, specs, lazy=()):
        """Have later reads of these (start, end) ranges also read what each pair leads to (see
        RedisSnapshot.chain); a no-op for stores that cannot. ``lazy``: more specs, whose chained
        index entries' rows a store that needs a request of its own for them (etcd) reads only
        when asked (a speculative join: most of them are never used)."""

    def scan_many(self, ranges, limit=None):
        """Many scans at once: [(start, end, reverse)] -> [(pairs, complete)], at most ``limit`` pairs
        per range (None: all), in scan order; complete is False if the range holds more."""
        out = []
        for start, end, reverse in ranges:
            it = self.scan(start, end, reverse)
            pairs = list(islice(it, limit)) if limit else list(it)
            out.append((pairs, not limit or len(pairs) < limit or next(it, None) is None))
        return out

    def close(self):
        pass


class Store(ABC):
    """A named ordered key/value store shared by every connection that opens the same URL."""

    sequence_block = 1             # AUTOINCREMENT values reserved per allocate() by a process
    validates_by_revision = False  # commit compares revisions: ReadSet ranges carry no digest
    OPTIONS = ()                   # the ?name=value options this store's location accepts
    follow = None   # fn(key, value) -> the key a pair points to (an index entry's row) or None: set by
                    # the engine; a store with round trips may read those keys along with the pairs

    @classmethod
    def url_location(cls, rest):
        """What follows ``rome+KIND://`` in a URL -> this store's location (default: as it is)."""
        return rest

    @classmethod
    def normalize_location(cls, location):
        """One spelling per store; raises BadLocation for an unknown option (default: a name and
        the options of OPTIONS, sorted)."""
        name, options = split_options(location, cls.OPTIONS, cls.__name__.replace("Store", "").lower())
        return join_options(name, options)

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
    exclusive (None: unbounded) and digest hashes every (key, value) seen in [start, end) (None on a
    store that validates by revision: a range then only says where the transaction looked). A scan that
    stopped early records only the part it covered: [start, last key + 00) forward, [last key, end)
    reverse. Re-reading the points and re-hashing the ranges against the latest state detects every
    write that would have changed the transaction's reads, phantoms included: that makes commits
    serializable (backward validation).
    """

    __slots__ = ("points", "ranges", "revision")

    def __init__(self):
        self.points = {}
        self.ranges = []
        self.revision = None  # the snapshot's revision (stores that validate by revision)

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


def split_options(location, known, what):
    """'name?a=1&b=2' -> ('name', {'a': '1', 'b': '2'}); BadLocation names an option not in known."""
    name, _, query = (location or "").partition("?")
    options = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if k not in known:
            raise BadLocation("unknown %s option %r (known: %s)" % (what, k, ", ".join(sorted(known)) or "none"))
        options[k] = v
    return name, options


def join_options(name, options):
    return name + ("?" + urllib.parse.urlencode(sorted(options.items())) if options else "")

"""Transactions over a Store: buffered writes, recorded reads, savepoints, optimistic commit.

ISOLATION. A transaction reads from one snapshot of the store taken at its first read, overlaid with its
own buffered writes. Nothing reaches the store before commit. Every read that reaches the snapshot is
recorded in a ReadSet (point reads with the value seen, range scans with a digest of what they covered);
commit asks the store to validate that set against its latest state and apply the writes in one atomic
step. A transaction whose reads are no longer true gets Conflict and leaves nothing behind: commits are
serializable. A transaction that wrote nothing needs no validation (its snapshot was consistent) and
costs the store nothing at commit. Between statements the snapshot may be given back (:meth:`release`,
LMDB); the next read then takes the latest state, after checking that every earlier read still holds
there (Conflict otherwise), so all the transaction's reads remain one consistent state.

MEMORY. What validation keeps of a scan is bounded by what it needs, not by what was scanned: a range
already recorded (the same bounds, read from the same snapshot) is recorded once, so a nested loop
re-reading one inner range or a statement repeated without commit adds nothing; the pairs of a long
scan are digested every SCAN_KEEP pairs into a recorded sub-range, and a transaction's kept pairs into
digests past TXN_KEEP; a store that validates by revision keeps no pairs at all (the range's bounds
are enough).

SAVEPOINTS. Writes go through an undo log; a savepoint is a position in it, so rolling back to one
(ROLLBACK TO SAVEPOINT, and the implicit savepoint around every statement that makes statements atomic)
costs the writes undone, not the size of the buffer. Reads are never forgotten: a read made before a
rolled-back savepoint still guards the commit (conservative, and still correct).
"""
from itertools import chain, repeat
from operator import length_hint
from types import MappingProxyType

from sortedcontainers import SortedList

from rome.storage.base import ReadSet, StoreError

_ABSENT = object()
_BATCH = object()    # an undo entry for keys that put_many added, none buffered before


class _Finished(dict):
    """The write buffer of a finished transaction: any use raises."""

    def get(self, *args):
        raise StoreError("the transaction is finished")


_FINISHED = _Finished()
_NO_KEYS = SortedList()  # shared, never changed: the key order of a transaction that has not written
SCAN_KEEP = 8192         # pairs of one scan kept before they are digested into a sub-range
TXN_KEEP = 65536         # pairs kept by a transaction before its recorded ranges are digested


class _Scan:
    """One scan's progress over the snapshot, recorded as a range read when it ends.

    ``chunks`` are the lists of snapshot pairs taken, in scan order. While the scan hands out the
    snapshot's pairs as they are (nothing buffered), ``cur`` iterates the last chunk and how far it
    got tells how much of that chunk was consumed; ``settle`` then trims the chunk to that and sets
    ``pos``, the merge frontier: every snapshot pair on the near side of it has been consumed (and
    kept), none beyond it. The kept pairs are digested (the store's digest(), ascending) only if the
    transaction writes and so must be validated at commit."""

    __slots__ = ("start", "end", "reverse", "chunks", "kept", "cur", "pos", "complete", "done")

    def __init__(self, start, end, reverse):
        self.start, self.end, self.reverse = start, end, reverse
        self.chunks = []
        self.kept = 0   # pairs in chunks
        self.cur = self.pos = None
        self.complete = self.done = False

    def settle(self, held):
        """End the direct part: keep what was consumed of the last chunk (``held``: pairs taken from
        ``cur`` but not handed out)."""
        chunks, cur, self.cur = self.chunks, self.cur, None
        chunk = chunks[-1]
        n = len(chunk) - length_hint(cur) - held
        if n < len(chunk):
            chunks[-1] = chunk = chunk[:n]
        last = chunk or (chunks[-2] if len(chunks) > 1 else None)
        if last:
            self.pos = last[-1][0]


class Transaction:
    """A transaction over ``store``; use it from one thread at a time."""

    def __init__(self, store):
        self.store = store
        self.reads = ReadSet()
        self._points = self.reads.points
        self._snap = None
        self._buf = {}            # key -> value, None for a delete
        self._order = _NO_KEYS    # the buffered keys, sorted (for scans)
        self._pending = []        # buffered keys not yet sorted into _order
        self._undo = []           # (key, previous buffered value or _ABSENT), or (keys, _BATCH)
        self._keyset_version = 0  # bumped when a key enters or leaves the buffer (scans re-seek)
        self.changes = 0          # bumped by every write and rollback: reads repeated at one count are the same
        self._scans = set()       # scans in progress, recorded at commit even if never closed
        self._recorded = set()    # (start, end) of the ranges recorded (each is recorded once)
        self._kept = 0            # pairs kept in recorded ranges not digested yet
        self._by_revision = store.validates_by_revision
        self._done = False

    def _open(self):
        if self._done:
            raise StoreError("the transaction is finished")
        self._snap = snap = self.store.snapshot()
        return snap

    @property
    def writes(self):
        return MappingProxyType(self._buf)

    @property
    def has_writes(self):
        return bool(self._buf)

    # -- reads

    def get(self, key):
        v = self._buf.get(key, _ABSENT)
        if v is not _ABSENT:
            return v
        v = (self._snap or self._open()).get(key)
        self._points.setdefault(key, v)
        return v

    @property
    def can_warm(self):
        """Whether warm() saves anything: the store has round trips and can batch them."""
        return (self._snap or self._open()).batches

    def warm(self, keys=(), ranges=(), whole=False, batch=None):
        """Fetch keys and (start, end, reverse) ranges from the store in one round trip, ahead of the
        reads that will need them (a batch of join probes). ``whole``: the ranges will be read to
        their end, so ask for large batches; else ``batch`` pairs per range (default: the store's
        first batch). Nothing is recorded: the reads that follow are recorded as usual and are
        served from what the snapshot now holds."""
        snap = self._snap or self._open()
        if not snap.batches:
            return
        buf = self._buf
        keys = [k for k in keys if k not in buf]
        if keys and not ranges:
            snap.get_many(keys)
        elif ranges:
            if keys:
                snap.prefetch(keys)
            snap.scan_many(list(ranges), snap.WHOLE_BATCH if whole else batch)

    def assume(self, key, value):
        """Record a point read of key as having seen value, without reading it (the caller holds a
        cached copy; commit validates it like any read)."""
        self._points.setdefault(key, value)

    def chain(self, ranges, specs, lazy=()):
        """Ask the store to read, with every later read of these (start, end) ranges, what each pair
        they return leads to (RedisSnapshot.chain: an index nested loop run by the store, in the
        same round trip; ``lazy``: see Snapshot.chain). Nothing is recorded; a no-op on stores
        without round trips."""
        (self._snap or self._open()).chain(ranges, specs, lazy)

    def expect_absent(self, key):
        """Record that key is absent, without reading it: commit fails with Conflict if the store
        holds it then. False if this transaction already knows key present (its own write, or a
        read that found it)."""
        v = self._buf.get(key, _ABSENT)
        if v is not _ABSENT:
            return v is None
        return self._points.setdefault(key, None) is None

    def prefetch(self, keys):
        """Have the store send keys along with the next read (stores with round trips only)."""
        (self._snap or self._open()).prefetch(keys)

    def peek(self, key):
        """(True, value) if the snapshot already holds key's value (e.g. prefetched), else (False,
        None): never a round trip."""
        return (self._snap or self._open()).cached(key)

    def read_through(self, key):
        """The store's value for key, bypassing the write buffer and recording nothing."""
        return (self._snap or self._open()).get(key)

    def get_many(self, keys):
        buf = self._buf
        out = [buf.get(k, _ABSENT) for k in keys]
        missing = [k for k, v in zip(keys, out) if v is _ABSENT]
        if missing:
            found = iter((self._snap or self._open()).get_many(missing))
            points = self._points
            for i, v in enumerate(out):
                if v is _ABSENT:
                    out[i] = v = next(found)
                    points.setdefault(keys[i], v)
        return out

    def scan(self, start, end=None, reverse=False):
        """Iterate (key, value) over start <= key < end, the snapshot merged with buffered writes.

        Lazy. Writes made while iterating are seen for keys not yet reached. The part of the snapshot
        covered is recorded as a range read when the iterator ends, is closed or collected, or at
        commit, whichever comes first."""
        if self._done:
            raise StoreError("the transaction is finished")
        snap = self._snap or self._open()
        rec = _Scan(start, end, reverse)
        self._scans.add(rec)
        try:
            src = snap.chunks(start, end, reverse)
            if self._order or self._pending:
                src = chain.from_iterable(src)
                s = next(src, None)
            else:
                # Fast path: nothing buffered, so the scan is the snapshot's until a write arrives or
                # the transaction ends (both change _keyset_version).
                version = self._keyset_version
                for chunk in src:
                    if rec.kept > SCAN_KEEP:
                        self._fold(rec)
                    rec.chunks.append(chunk)
                    rec.kept += len(chunk)
                    rec.cur = cur = iter(chunk)
                    for s in cur:
                        if self._keyset_version != version:
                            break
                        yield s
                    else:
                        continue
                    break
                else:
                    rec.complete = True
                    rec.cur = None   # all consumed: nothing to settle
                    return
                if rec.done:
                    raise StoreError("scan used after its transaction finished")
                rec.settle(1)
                src = chain(cur, chain.from_iterable(src))
            tail = []
            rec.chunks.append(tail)
            keep = tail.append
            seen = -1
            while True:
                if rec.done:
                    raise StoreError("scan used after its transaction finished")
                if self._keyset_version != seen:  # (re)position in the buffer after the frontier
                    seen = self._keyset_version
                    pos, buf, order = rec.pos, self._buf, self._sorted_keys()
                    if not order:
                        bi = iter(())
                    elif reverse:
                        bi = order.irange(start, end if pos is None else pos, (True, False), True)
                    else:
                        bi = order.irange(start if pos is None else pos, end, (pos is None, False))
                    b = next(bi, None)
                if b is None or (s is not None and (s[0] > b if reverse else s[0] < b)):
                    if s is None:
                        rec.complete = True
                        return
                    keep(s)
                    rec.pos = s[0]
                    yield s
                    s = next(src, None)
                else:
                    if s is not None and s[0] == b:
                        keep(s)
                        s = next(src, None)
                    rec.pos = k = b
                    v = buf[k]
                    b = next(bi, None)
                    if v is not None:
                        yield k, v
        finally:
            self._record(rec)

    def _fold(self, rec):
        """Record what a long scan has consumed so far (whole chunks) as a sub-range, and go on with
        the rest of its range: validation then needs a digest, not the pairs."""
        chunks = rec.chunks
        last = chunks[-1][-1][0] if chunks[-1] else None
        if last is None:
            return
        if self._by_revision:   # the bounds are enough: keep only the last chunk (settle needs it)
            rec.chunks, rec.kept = chunks[-1:], len(chunks[-1])
            return
        pairs = list(chain.from_iterable(chunks))
        if rec.reverse:
            pairs.reverse()
            lo, hi, rec.end = last, rec.end, last
        else:
            lo, hi = rec.start, last + b"\x00"
            rec.start = hi
        if (lo, hi) not in self._recorded:
            self._recorded.add((lo, hi))
            self.reads.ranges.append((lo, hi, self.store.digest(pairs)))
        rec.chunks, rec.kept = [], 0

    def _record(self, rec):
        if rec.done:
            return
        rec.done = True
        self._scans.discard(rec)
        if rec.cur is not None:
            rec.settle(0)
        if rec.complete:
            lo, hi = rec.start, rec.end
        elif rec.pos is None:
            return
        elif rec.reverse:
            lo, hi = rec.pos, rec.end
        else:
            lo, hi = rec.start, rec.pos + b"\x00"
        if (lo, hi) in self._recorded:   # read before from this snapshot: the same pairs
            return
        self._recorded.add((lo, hi))
        if self._by_revision:
            self.reads.ranges.append((lo, hi, None))
            return
        # The pairs seen are kept, not hashed: only a transaction that writes is validated, and
        # hashing every scanned row would tax the read-only ones (commit() digests them). They are
        # kept in the chunks the snapshot handed out: (key, value) tuples of bytes only, which the
        # garbage collector stops tracking at its first pass. Past TXN_KEEP they are digested.
        self.reads.ranges.append((lo, hi, rec.chunks, rec.reverse))
        self._kept += sum(map(len, rec.chunks))
        if self._kept > TXN_KEEP:
            self._digest_ranges()
            self._kept = 0

    def _digest_ranges(self):
        """Replace the kept pairs of recorded ranges by their digests (the store's digest())."""
        ranges, digest = self.reads.ranges, self.store.digest
        for i, r in enumerate(ranges):
            if len(r) == 4:
                lo, hi, chunks, reverse = r
                pairs = list(chain.from_iterable(chunks))
                if reverse:
                    pairs.reverse()
                ranges[i] = (lo, hi, digest(pairs))

    # -- writes

    def put(self, key, value):
        buf = self._buf
        old = buf.get(key, _ABSENT)
        if old is _ABSENT:
            self._pending.append(key)   # sorted into _order when a scan needs it
            self._keyset_version += 1
        self._undo.append((key, old))
        self.changes += 1
        buf[key] = value

    def put_many(self, keys, values):
        """put() for each key and value (parallel lists, keys distinct): a row and its index
        entries, or a batch of rows, in one call."""
        buf = self._buf
        if buf.keys().isdisjoint(keys):  # all new: one undo entry for the lot
            self._pending += keys
            self._undo.append((keys, _BATCH))
        else:
            olds = list(map(buf.get, keys, repeat(_ABSENT, len(keys))))
            self._pending += [k for k, o in zip(keys, olds) if o is _ABSENT]
            self._undo += zip(keys, olds)
        self._keyset_version += 1
        self.changes += 1
        buf.update(zip(keys, values))

    def _sorted_keys(self):
        """The buffered keys in order (new keys are sorted in lazily: bulk writes pay no insort)."""
        if self._pending:
            if self._order is _NO_KEYS:
                self._order = SortedList()
            self._order.update(self._pending)
            self._pending = []
        return self._order

    def delete(self, key):
        self.put(key, None)

    def savepoint(self):
        """A token for rollback_to. Rolling back to a token invalidates the tokens taken after it."""
        if self._done:
            raise StoreError("the transaction is finished")
        return len(self._undo)

    def rollback_to(self, token):
        """Undo the writes made since savepoint ``token`` (reads stay recorded)."""
        buf, undo = self._buf, self._undo
        self.changes += 1
        if len(undo) > token:
            self._sorted_keys()
        while len(undo) > token:
            key, old = undo.pop()
            if old is _BATCH:   # keys that put_many added together
                for k in key:
                    del buf[k]
                    self._order.remove(k)
                self._keyset_version += 1
            elif old is _ABSENT:
                del buf[key]
                self._order.remove(key)
                self._keyset_version += 1
            else:
                buf[key] = old

    # -- end

    def _finish(self):
        self._done = True
        self.changes += 1
        self._keyset_version += 1  # a scan in progress notices (see scan's fast path)
        for rec in list(self._scans):
            rec.done = True
        self._scans.clear()
        snap, self._snap = self._snap, None
        self._buf, self._order, self._undo, self._pending = _FINISHED, _NO_KEYS, [], []
        if snap is not None:
            snap.close()

    def commit(self):
        """Validate the reads and apply the writes atomically (raises Conflict); a transaction that
        wrote nothing just ends. The transaction is finished either way."""
        if self._done:
            raise StoreError("the transaction is finished")
        for rec in list(self._scans):
            self._record(rec)
        writes = self._buf
        if self._snap is not None:
            self.reads.revision = self._snap.revision
        self._finish()
        if writes:
            self._digest_ranges()
            self.store.commit(self.reads, writes)

    def release(self):
        """Between statements: let a store that can (LMDB) give back the snapshot, so that an idle
        transaction pins nothing. Its next read takes the latest state; if the store changed, what
        the transaction read is validated there first (Conflict if it no longer holds), so the
        transaction still reads one consistent state."""
        snap = self._snap
        if snap is not None and not self._scans and hasattr(snap, "release"):
            snap.release(self._revalidate)

    def _revalidate(self, latest):
        self._digest_ranges()
        self.reads.validate(latest)

    def rollback(self):
        if not self._done:
            self._finish()

"""An in-process store: an ordered map kept as immutable pages, so snapshots stay consistent.

The committed state is a root: sorted pages of keys, each with the list of their values alongside, and
the last key of every page. Nothing published is ever changed: a commit runs under one lock, validates
against the latest state, builds the pages it touches anew (copy on write, splitting pages grown too
large) and publishes the new root with its version in one assignment, so a reader sees all of a commit
or none of it. A snapshot holds the root of its version: scans slice its pages, without a lock and
without a version check per key, and a root no snapshot holds any more is freed by reference counting.

POINT READS go through one dict of every key's latest (version, value or None for a delete), cheaper
than a search of the pages: a snapshot takes the value when that version is at or below its own, and
otherwise searches its own root. A delete's entry is kept until no open snapshot predates it (open
snapshots are counted per pinned version), so that a key missing from the dict is absent for every
snapshot.
"""
import threading
from bisect import bisect_left, bisect_right
from collections import deque
from itertools import repeat

from rome.storage.base import Snapshot, Store

_PAGE = 512                      # keys per page when pages are cut; a page is split past twice that
_FIRST_CHUNK, _MAX_CHUNK = 16, 1024
_EMPTY = ((), (), ())            # the root of an empty store: (last keys, key pages, value pages)


class MemorySnapshot(Snapshot):
    def __init__(self, store, version, root, registered):
        self._store = store
        self._latest = store._latest
        self.version = version
        self._root = root
        self._closed = not registered  # an unregistered view (validation) has nothing to release

    def get(self, key):
        e = self._latest.get(key)
        if e is None:
            return None
        return e[1] if e[0] <= self.version else self._search(key)

    def get_many(self, keys):
        latest, pinned = self._latest, self.version
        es = list(map(latest.get, keys))
        if not any(es):   # all absent (an insert's checks)
            return es
        out = []
        for k in keys:
            e = latest.get(k)
            out.append(None if e is None else e[1] if e[0] <= pinned else self._search(k))
        return out

    def _search(self, key):
        """key's value in this snapshot's pages (a key written since the snapshot was taken)."""
        lasts, kps, vps = self._root
        p = bisect_left(lasts, key)
        if p == len(lasts):
            return None
        ks = kps[p]
        i = bisect_left(ks, key)
        return vps[p][i] if i < len(ks) and ks[i] == key else None

    def scan(self, start, end, reverse=False):
        for chunk in self.chunks(start, end, reverse):
            yield from chunk

    def chunks(self, start, end, reverse=False):
        """Lists of (key, value) pairs in scan order, sliced from the pages, growing in size."""
        lasts, kps, vps = self._root
        n, last = _FIRST_CHUNK, len(lasts) - 1
        if not reverse:
            p = bisect_left(lasts, start)
            i = bisect_left(kps[p], start) if p <= last else 0
            while p <= last:
                ks, vs = kps[p], vps[p]
                j = len(ks) if end is None or lasts[p] < end else bisect_left(ks, end)
                while i < j:
                    m = min(j, i + n)
                    yield list(zip(ks[i:m], vs[i:m]))
                    i, n = m, min(n * 2, _MAX_CHUNK)
                if j < len(ks):
                    return
                p, i = p + 1, 0
            return
        p = last if end is None else min(bisect_left(lasts, end), last)
        while p >= 0:
            ks, vs = kps[p], vps[p]
            j = len(ks) if end is None or lasts[p] < end else bisect_left(ks, end)
            i = bisect_left(ks, start) if ks[0] < start else 0
            while j > i:
                m = max(i, j - n)
                yield list(zip(reversed(ks[m:j]), reversed(vs[m:j])))
                j, n = m, min(n * 2, _MAX_CHUNK)
            if i:
                return
            p -= 1

    def close(self):
        if not self._closed:
            self._closed = True
            self._store._release(self.version)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class MemoryStore(Store):
    """A process-lifetime store (one per name, see rome.storage.registry); safe under threads."""

    def __init__(self, name=""):
        self.name = name
        self._head = (0, _EMPTY)  # (version, root), replaced as one
        self._latest = {}         # key -> (version, value or None) of its last write
        self._graves = deque()    # (version, key) of deletes, oldest first, until no snapshot needs them
        self._lock = threading.RLock()  # reentrant: a snapshot's __del__ may run inside a commit
        self._active = {}         # pinned version -> number of open snapshots
        self._counters = {}

    @classmethod
    def url_location(cls, rest):
        return rest.lstrip("/")

    def snapshot(self):
        with self._lock:
            v, root = self._head
            self._active[v] = self._active.get(v, 0) + 1
        return MemorySnapshot(self, v, root, True)

    def _release(self, version):
        with self._lock:
            n = self._active[version] - 1
            if n:
                self._active[version] = n
            else:
                del self._active[version]

    def commit(self, reads, writes):
        with self._lock:
            version, root = self._head
            if reads:
                reads.validate(MemorySnapshot(self, version, root, False))
            if not writes:
                return
            v = version + 1
            latest, graves = self._latest, self._graves
            latest.update(zip(writes, zip(repeat(v), writes.values())))   # (version, value) pairs, in C
            if None in writes.values():
                graves.extend((v, k) for k, val in writes.items() if val is None)
            keys = sorted(writes)
            self._head = (v, _apply(root, keys, list(map(writes.__getitem__, keys))))
            oldest = next(iter(self._active), v)  # ascending: versions are pinned in increasing order
            while graves and graves[0][0] <= oldest:
                ver, k = graves.popleft()
                if latest.get(k) == (ver, None):
                    del latest[k]

    def allocate(self, key, count=1, at_least=0):
        with self._lock:
            first = max(self._counters.get(key, 1), at_least)
            self._counters[key] = first + count
            return first

    def __repr__(self):
        return "MemoryStore(%r)" % (self.name,)


def _apply(root, keys, vals):
    """A new root: root with sorted keys set to vals (None deletes)."""
    lasts, kps, vps = root
    if not lasts:
        if None in vals:
            keys, vals = [k for k, v in zip(keys, vals) if v is not None], [v for v in vals if v is not None]
        return _pages(keys, vals)
    lasts, kps, vps = list(lasts), list(kps), list(vps)
    groups, i, end = [], 0, len(lasts) - 1
    while i < len(keys):  # the keys each page receives (keys past the last page go to it)
        p = min(bisect_left(lasts, keys[i]), end)
        j = len(keys) if p == end else bisect_right(keys, lasts[p], i)
        groups.append((p, i, j))
        i = j
    for p, i, j in reversed(groups):  # from the right: a split page does not move those before it
        nl, nk, nv = _pages(*_merge(kps[p], vps[p], keys[i:j], vals[i:j]))
        lasts[p:p + 1], kps[p:p + 1], vps[p:p + 1] = nl, nk, nv
    return (lasts, kps, vps) if lasts else _EMPTY


def _merge(ks, vs, keys, vals):
    """A page's keys and values with sorted keys set to vals (None deletes)."""
    if len(keys) > 32:
        merged = dict(zip(ks, vs))
        merged.update(zip(keys, vals))
        if None in vals:
            merged = {k: v for k, v in merged.items() if v is not None}
        ks = sorted(merged)  # two sorted runs, the page's and the new keys: merged in linear time
        return ks, [merged[k] for k in ks]
    ks, vs = list(ks), list(vs)
    for k, v in zip(keys, vals):
        i = bisect_left(ks, k)
        if i < len(ks) and ks[i] == k:
            if v is None:
                del ks[i], vs[i]
            else:
                vs[i] = v
        elif v is not None:
            ks.insert(i, k)
            vs.insert(i, v)
    return ks, vs


def _pages(ks, vs):
    """(lasts, key pages, value pages) for sorted keys and their values: one page unless too large."""
    if not ks:
        return [], [], []
    if len(ks) <= 2 * _PAGE:
        return [ks[-1]], [ks], [vs]
    cuts = range(0, len(ks), _PAGE)
    kps = [ks[i:i + _PAGE] for i in cuts]
    return [k[-1] for k in kps], kps, [vs[i:i + _PAGE] for i in cuts]

"""An in-process store: an ordered map with multi-version values, so snapshots stay consistent.

Each key maps to a list of (commit version, value or None for a tombstone), oldest first. A snapshot
pins the current version and reads, for each key, the newest entry at or below it. A commit runs under
one lock: validate against the latest version, append every write at version + 1, then publish the new
version, so a reader sees all of a commit or none of it.

PRUNING. Active snapshots are counted per pinned version. When a commit writes a key it trims the key's
list to the latest version and those some active snapshot still sees; keys left with old versions are
remembered and trimmed by a later commit once the oldest snapshot has moved on. A trimmed list is
replaced, never edited in place, so a reader holding the old list still finds its version there.

SCANS take their keys from the ordered map in small, growing batches under the lock (the map's internal
lists must not be read while a commit inserts), then resolve versions outside it: lazy, and safe under
concurrent commits.
"""
import threading
from bisect import bisect_left
from itertools import islice

from sortedcontainers import SortedDict

from rome.storage.base import Snapshot, Store

_FIRST_BATCH, _MAX_BATCH = 16, 1024


def _visible(versions, pinned):
    """The value visible at version ``pinned`` in one key's version list (None: absent)."""
    ver, val = versions[-1]
    if ver <= pinned:
        return val
    for ver, val in reversed(versions):
        if ver <= pinned:
            return val
    return None


class MemorySnapshot(Snapshot):
    def __init__(self, store, version, registered):
        self._store = store
        self._data = store._data
        self.version = version
        self._closed = not registered  # an unregistered view (validation) has nothing to release

    def get(self, key):
        versions = self._data.get(key)
        return None if versions is None else _visible(versions, self.version)

    def get_many(self, keys):
        data, pinned = self._data, self.version
        out = []
        for k in keys:
            versions = data.get(k)
            out.append(None if versions is None else _visible(versions, pinned))
        return out

    def scan(self, start, end, reverse=False):
        data, pinned, lock = self._data, self.version, self._store._lock
        lo, hi = start, end
        inclusive = (True, False)
        batch = _FIRST_BATCH
        while True:
            with lock:
                keys = list(islice(data.irange(lo, hi, inclusive, reverse), batch))
                lists = [data.get(k) for k in keys]
            for k, versions in zip(keys, lists):
                if versions is not None:
                    v = _visible(versions, pinned)
                    if v is not None:
                        yield k, v
            if len(keys) < batch:
                return
            if reverse:
                hi, inclusive = keys[-1], (True, False)
            else:
                lo, inclusive = keys[-1], (False, False)
            batch = min(batch * 2, _MAX_BATCH)

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
        self._data = SortedDict()
        self._version = 0
        self._lock = threading.RLock()  # reentrant: a snapshot's __del__ may run inside a commit
        self._pruned_at = 0
        self._active = {}       # pinned version -> number of open snapshots
        self._pending = set()   # keys still holding versions older than the oldest snapshot needs
        self._counters = {}

    def snapshot(self):
        with self._lock:
            v = self._version
            self._active[v] = self._active.get(v, 0) + 1
        return MemorySnapshot(self, v, True)

    def _release(self, version):
        with self._lock:
            n = self._active[version] - 1
            if n:
                self._active[version] = n
            else:
                del self._active[version]

    def commit(self, reads, writes):
        with self._lock:
            if reads:
                reads.validate(MemorySnapshot(self, self._version, False))
            if not writes:
                return
            v = self._version + 1
            data = self._data
            pins = list(self._active)  # ascending: versions are pinned in increasing order
            for k, val in writes.items():
                versions = data.get(k)
                if versions is None:
                    if val is not None:
                        data[k] = [(v, val)]
                    continue
                versions.append((v, val))
                self._trim(k, versions, pins)
            oldest = pins[0] if pins else v
            if self._pending and oldest > self._pruned_at:
                for k in list(self._pending):
                    versions = data.get(k)
                    if versions is None:
                        self._pending.discard(k)
                    else:
                        self._trim(k, versions, pins)
            self._pruned_at = oldest
            self._version = v

    def _trim(self, key, versions, pins):
        """Keep only the latest version and those some pinned snapshot sees; forget dead keys."""
        if not pins:
            kept = versions[-1:]
        else:
            kept = []
            for i in range(len(versions) - 1):
                j = bisect_left(pins, versions[i][0])  # the first pin at or after this version...
                if j < len(pins) and pins[j] < versions[i + 1][0]:  # ...sees it if before the next
                    kept.append(versions[i])
            kept.append(versions[-1])
        if len(kept) == 1:
            self._pending.discard(key)
            if kept[0][1] is None:  # every snapshot sees the tombstone or predates the key
                del self._data[key]
                return
        else:
            self._pending.add(key)
        if len(kept) != len(versions):
            self._data[key] = kept

    def allocate(self, key, count=1, at_least=0):
        with self._lock:
            first = max(self._counters.get(key, 1), at_least)
            self._counters[key] = first + count
            return first

    def __repr__(self):
        return "MemoryStore(%r)" % (self.name,)

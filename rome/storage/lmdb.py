"""An on-disk store: one LMDB environment (a directory), shared by threads and processes.

A snapshot is an LMDB read transaction (py-lmdb opens environments with MDB_NOTLS, so a read
transaction may move between threads; one thread at a time). A commit is one LMDB write transaction:
LMDB serializes writers across threads and processes, so validating the read set inside it, against
the state it sees, and then writing is atomic without any lock of ours. Commits are durable (fsync) by
default.

LMDB refuses to open the same environment twice in one process, so environments are kept in a
process-wide table by real path and reference-counted: every LmdbStore on one directory shares one.

Location: a directory path; ``?map_size=BYTES`` sets the map size (the largest the database can
grow) when this process first opens the environment (default ROME_LMDB_MAP_SIZE, else 64 GiB).

Limits: keys are 1..511 bytes (``max_key_size``); a long-open snapshot keeps the pages it sees alive,
so the file grows while it stays open.
"""
import os
import shutil
import threading
from bisect import bisect_left
from itertools import islice

import lmdb

from rome.storage.base import BadLocation, Snapshot, Store, StoreError, join_options, split_options

# Address space reserved per environment, not disk used, and the largest the database can grow. A
# process can map about 128 TiB in all, so this also bounds how many databases one process may keep
# open (2,048 at 64 GiB; Glance's API suite opens one per test). ROME_LMDB_MAP_SIZE (bytes) changes it.
MAP_SIZE = int(os.environ.get("ROME_LMDB_MAP_SIZE", 1 << 36))
MAX_READERS = 1024
_FIRST_CHUNK, _MAX_CHUNK = 16, 1024

_envs = {}  # real path -> _Env
_envs_lock = threading.Lock()


class _Env:
    __slots__ = ("path", "env", "users", "map_size")

    def __init__(self, path, map_size):
        self.path = path
        self.map_size = map_size
        self.env = lmdb.open(path, subdir=True, map_size=map_size, max_readers=MAX_READERS, max_dbs=0,
                             readahead=False, meminit=False, max_spare_txns=16)
        self.env.reader_check()  # free reader slots left by crashed processes
        self.users = 0


def _fail(path, e):
    return StoreError("LMDB store at %s: %s" % (path, e))


def _norm(location):
    """location -> (real path, options)."""
    path, options = split_options(location, LmdbStore.OPTIONS, "LMDB")
    if not path:
        raise BadLocation("an LMDB store needs a directory path")
    if "map_size" in options:
        try:
            options["map_size"] = int(options["map_size"])
            if options["map_size"] < 4096:
                raise ValueError
        except ValueError:
            raise BadLocation("map_size must be a number of bytes, at least 4096") from None
    return os.path.realpath(os.path.expanduser(path)), options


class LmdbSnapshot(Snapshot):
    """A read transaction (or, for validation, a view over the open write transaction)."""

    def __init__(self, txn, path, max_key, owned=True):
        self._txn = txn
        self._path = path
        self._max_key = max_key
        self._owned = owned
        self._get = txn.get

    def get(self, key):
        try:
            return self._get(key)
        except lmdb.Error as e:
            raise _fail(self._path, e) from None

    def get_many(self, keys):
        try:
            get = self._get
            return [get(k) for k in keys]
        except lmdb.Error as e:
            raise _fail(self._path, e) from None

    def scan(self, start, end, reverse=False):
        for chunk in self.chunks(start, end, reverse):
            yield from chunk

    def chunks(self, start, end, reverse=False):
        """Lists of (key, value) pairs in scan order, read from one cursor in growing batches."""
        # A bound longer than LMDB's longest key is sought by its longest prefix; at most one key
        # (that prefix itself) then lies between the two.
        m = self._max_key
        try:
            cur = self._txn.cursor()
            if reverse:
                if end is None or not cur.set_range(end[:m]):
                    found = cur.last()
                else:
                    found = cur.key() < end or cur.prev()
                if not found:
                    return
                pairs = cur.iterprev()
            else:
                if not cur.set_range(start[:m]) or (cur.key() < start and not cur.next()):
                    return
                pairs = cur.iternext()
            n = _FIRST_CHUNK
            while True:
                chunk = list(islice(pairs, n))
                more = len(chunk) == n
                if chunk and (chunk[-1][0] < start if reverse else end is not None and chunk[-1][0] >= end):
                    more = False  # the bound is inside this chunk: cut it there
                    chunk = chunk[:bisect_left(chunk, True, key=lambda kv: kv[0] < start) if reverse
                                  else bisect_left(chunk, (end,))]
                if chunk:
                    yield chunk
                if not more:
                    return
                n = min(n * 2, _MAX_CHUNK)
        except lmdb.Error as e:
            raise _fail(self._path, e) from None

    def close(self):
        if self._owned and self._txn is not None:
            self._txn.abort()  # a leaked snapshot's transaction is aborted when py-lmdb frees it
        self._txn = None


class LmdbStore(Store):
    """The LMDB environment in directory ``path`` (created if missing)."""

    OPTIONS = ("map_size",)

    def __init__(self, location):
        path, options = _norm(location)
        self.path = path
        with _envs_lock:
            entry = _envs.get(path)
            if entry is None:
                try:
                    os.makedirs(path, exist_ok=True)
                    entry = _envs[path] = _Env(path, options.get("map_size", MAP_SIZE))
                except (OSError, lmdb.Error) as e:
                    raise _fail(path, e) from None
            entry.users += 1
        self._entry = entry
        self._env = entry.env
        self._max_key = entry.env.max_key_size()

    @classmethod
    def url_location(cls, rest):
        if not rest.startswith("/") or not rest.split("?", 1)[0][1:]:
            raise BadLocation("lmdb URL needs a path: rome+lmdb:///relative or rome+lmdb:////absolute")
        path, sep, query = rest[1:].partition("?")
        return os.path.abspath(path) + sep + query

    @classmethod
    def normalize_location(cls, location):
        return join_options(*_norm(location))

    @staticmethod
    def destroy(location):
        """Close the environment at ``location`` (even if in use: its users then get StoreError) and
        delete the directory."""
        path = _norm(location)[0]
        with _envs_lock:
            entry = _envs.pop(path, None)
            if entry is not None:
                entry.env.close()
        shutil.rmtree(path, ignore_errors=True)

    def _environment(self):
        env = self._env
        if env is None:
            raise StoreError("LMDB store at %s is closed" % self.path)
        return env

    def snapshot(self):
        try:
            return LmdbSnapshot(self._environment().begin(buffers=False), self.path, self._max_key)
        except lmdb.Error as e:
            raise _fail(self.path, e) from None

    def commit(self, reads, writes):
        def body(w):
            if reads:
                reads.validate(LmdbSnapshot(w, self.path, self._max_key, owned=False))
            keys = sorted(writes)  # B-tree order: fewer pages touched
            if None in writes.values():
                for k in [k for k in keys if writes[k] is None]:
                    w.delete(k)
                keys = [k for k in keys if writes[k] is not None]
            w.cursor().putmulti(zip(keys, map(writes.__getitem__, keys)))
        self._write(body)

    def allocate(self, key, count=1, at_least=0):
        def body(w):
            raw = w.get(key)
            first = max(int.from_bytes(raw, "big") if raw else 1, at_least)
            w.put(key, (first + count).to_bytes(8, "big"))
            return first
        return self._write(body)

    def _write(self, body):
        """body(write transaction) in one write transaction, committed."""
        try:
            with self._environment().begin(write=True, buffers=False) as w:
                return body(w)
        except lmdb.MapFullError:
            raise StoreError("LMDB store at %s is full: its map size (%d bytes) is reached; reopen it "
                             "with a higher ?map_size= (or ROME_LMDB_MAP_SIZE)" % (self.path, self._entry.map_size)) from None
        except lmdb.Error as e:
            raise _fail(self.path, e) from None

    def max_key_size(self):
        return self._max_key

    def close(self):
        """Release this store's share of the environment; the last one closes it."""
        if self._env is None:
            return
        self._env = None
        with _envs_lock:
            entry = self._entry
            entry.users -= 1
            if entry.users <= 0:
                if _envs.get(entry.path) is entry:
                    del _envs[entry.path]
                entry.env.close()

    def __repr__(self):
        return "LmdbStore(%r)" % (self.path,)

"""An on-disk store: one LMDB environment (a directory), shared by threads and processes.

A snapshot is an LMDB read transaction (py-lmdb opens environments with MDB_NOTLS, so a read
transaction may move between threads; one thread at a time). A commit is one LMDB write transaction:
LMDB serializes writers across threads and processes, so validating the read set inside it, against
the state it sees, and then writing is atomic without any lock of ours. Commits are durable (fsync) by
default.

LMDB refuses to open the same environment twice in one process, so environments are kept in a
process-wide table by real path and reference-counted: every LmdbStore on one directory shares one.

An environment belongs to the process that opened it (LMDB: never use one after fork()). A forked
child keeps the ones it inherited open but never uses them: closing one, or ending a read
transaction of it, would free the parent's reader slots and let the parent's snapshots be
overwritten. So in the child, the connections it inherited, and new ones to a directory the parent
had open, fail with OperationalError saying so; other directories open normally.

Location: a directory path; ``?map_size=BYTES`` sets the map size (the largest the database can
grow) when this process first opens the environment (default ROME_LMDB_MAP_SIZE, else 64 GiB).

Keys may be of any length (at least 1 byte): LMDB takes at most 511, so a longer key is kept in the
bucket of its first 510 bytes, which sorts where its keys do (:mod:`rome.storage.overflow`).

An open read transaction pins the pages it sees: the file grows while one stays open. So a
transaction gives its snapshot back between statements (:meth:`LmdbSnapshot.release`) and takes the
latest one at its next read, re-validating what it read if the store changed meanwhile; and writers
sweep the reader table for dead processes' slots every READER_CHECK seconds, not only at open.
"""
import os
import shutil
import threading
import time
from bisect import bisect_left
from itertools import islice

import lmdb

from rome.storage import overflow
from rome.storage.base import (BadLocation, Snapshot, Store, StoreCorrupt, StoreError, StoreFull, StoreRefused,
                               join_options, split_options)

# Address space reserved per environment, not disk used, and the largest the database can grow. A
# process can map about 128 TiB in all, so this also bounds how many databases one process may keep
# open (2,048 at 64 GiB; Glance's API suite opens one per test). ROME_LMDB_MAP_SIZE (bytes) changes it.
MAP_SIZE = int(os.environ.get("ROME_LMDB_MAP_SIZE", 1 << 36))
MAX_READERS = 1024
READER_CHECK = 1.0  # seconds between two sweeps for readers left by dead processes
_FIRST_CHUNK, _MAX_CHUNK = 16, 1024

_envs = {}  # real path -> _Env
_envs_lock = threading.Lock()
_process = [0]  # bumped in a forked child: environments opened in an earlier generation are inherited
_inherited = []  # what a forked child inherited: kept open (see the module's docstring), never used


def _after_fork_in_child():
    global _envs_lock
    _envs_lock = threading.Lock()   # another thread may have held it at the fork
    _process[0] += 1
    _inherited.extend(_envs.values())


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Env:
    __slots__ = ("path", "env", "users", "map_size", "next_check", "process")

    def __init__(self, path, map_size):
        self.path = path
        self.process = _process[0]
        self.map_size = map_size
        self.env = lmdb.open(path, subdir=True, map_size=map_size, max_readers=MAX_READERS, max_dbs=0,
                             readahead=False, meminit=False, max_spare_txns=16)
        self.env.reader_check()  # free reader slots left by crashed processes
        self.users = 0
        self.next_check = time.monotonic() + READER_CHECK

    def check_usable(self):
        """Raise StoreRefused in a forked child for an environment its parent opened."""
        if self.process != _process[0]:
            raise StoreRefused(
                "LMDB store at %s was opened before this process was forked, and LMDB cannot be shared "
                "across fork(): open it only in the processes that use it (start them with 'spawn' or "
                "'forkserver', or fork before the first connection)" % self.path)

    def check_readers(self):
        """Free the reader slots of dead processes (a reader killed with -9 pins the pages its
        snapshot sees, and the file grows behind it), at most once per READER_CHECK seconds."""
        now = time.monotonic()
        if now >= self.next_check:
            self.next_check = now + READER_CHECK
            self.env.reader_check()


def _fail(path, e):
    damaged = isinstance(e, (lmdb.CorruptedError, lmdb.PageNotFoundError, lmdb.InvalidError))
    return (StoreCorrupt if damaged else StoreError)("LMDB store at %s: %s" % (path, e))


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


def _forward_chunks(pairs, end, p):
    """chunks() of a forward scan whose bounds are at most ``p`` bytes long, from a cursor on its
    first stored key: each pair is compared with ``end`` as it is read, so a short range (a join's
    probe) reads one pair past its end, not a whole first chunk. A bucket met on the way lies
    wholly inside such bounds (see rome.storage.overflow): it is unfolded, never cut."""
    n = _FIRST_CHUNK
    while True:
        chunk = []
        keep = chunk.append
        long = False
        for kv in islice(pairs, n):
            k = kv[0]
            if k >= end:
                break
            if len(k) > p:
                long = True
            keep(kv)
        else:
            if len(chunk) == n:   # the chunk is full: the range may go on
                if long:
                    chunk = overflow.unfold_chunk(chunk, p, False)
                yield chunk
                n = min(n * 2, _MAX_CHUNK)
                continue
        if chunk:
            yield overflow.unfold_chunk(chunk, p, False) if long else chunk
        return


class LmdbSnapshot(Snapshot):
    """A read transaction (or, for validation, a view over the open write transaction). Keys longer
    than ``p`` bytes live in buckets (:mod:`rome.storage.overflow`)."""

    def __init__(self, txn, path, p, owned=True, env=None, entry=None):
        self._env = env      # to begin the next read transaction after release (owned snapshots)
        self._entry = entry  # its _Env (owned snapshots): usable in this process?
        self._txn = txn
        self._path = path
        self._p = p
        self._owned = owned
        self._get = txn.get
        self._check = None   # while released: what to run on the state the next read takes
        self._released_at = None

    def release(self, check):
        """Give the LMDB read snapshot back (between statements: an idle connection must not pin
        pages, or the file grows behind it). The next read takes the latest state and, if the store
        changed meanwhile, first calls ``check(self)`` (the transaction re-validates its reads)."""
        if self._owned and self._txn is not None and self._check is None:
            self._entry.check_usable()
            self._released_at = self._txn.id()
            self._txn.abort()
            self._check = check

    def _resume(self):
        self._entry.check_usable()
        check, self._check = self._check, None
        try:
            self._txn = self._env.begin(buffers=False)
            self._get = self._txn.get
        except lmdb.Error as e:
            raise _fail(self._path, e) from None
        if self._txn.id() != self._released_at:
            check(self)

    def _value(self, key):
        if len(key) > self._p:
            return overflow.lookup(self._get(overflow.bucket_key(key, self._p)), key[self._p:])
        return self._get(key)

    def get(self, key):
        if self._check is not None:
            self._resume()
        try:
            return self._get(key) if len(key) <= self._p else self._value(key)
        except lmdb.Error as e:
            raise _fail(self._path, e) from None

    def get_many(self, keys):
        if self._check is not None:
            self._resume()
        try:
            p, get = self._p, self._get
            return [get(k) if len(k) <= p else self._value(k) for k in keys]
        except lmdb.Error as e:
            raise _fail(self._path, e) from None

    def scan(self, start, end, reverse=False):
        for chunk in self.chunks(start, end, reverse):
            yield from chunk

    def _seek(self, cur, start, end, reverse):
        """Put the cursor on the first stored key the scan must read; False if there is none. A
        bucket at the near bound may hold keys outside the range (the caller drops them)."""
        p = self._p
        if not reverse:
            return cur.set_range(start[:p])
        if end is None:
            return cur.last()
        seek = overflow.bucket_key(end, p) if len(end) > p else end
        if not cur.set_range(seek):
            return cur.last()
        return (cur.key() == seek and len(seek) > p) or cur.prev()

    def chunks(self, start, end, reverse=False):
        """Lists of (key, value) pairs in scan order, read from one cursor in growing batches."""
        if self._check is not None:
            self._resume()
        p = self._p
        try:
            cur = self._txn.cursor()
            if not self._seek(cur, start, end, reverse):
                return
            pairs = cur.iterprev() if reverse else cur.iternext()
            if not reverse and end is not None and len(start) <= p and len(end) <= p:
                yield from _forward_chunks(pairs, end, p)
                return
            n = _FIRST_CHUNK
            first = True
            while True:
                chunk = list(islice(pairs, n))
                more = len(chunk) == n
                if any(len(kv[0]) > p for kv in chunk):
                    chunk = overflow.unfold_chunk(chunk, p, reverse)
                if first:  # the seek may land before the near bound: drop what is outside
                    first = False
                    if reverse:
                        if end is not None and chunk and chunk[0][0] >= end:
                            chunk = chunk[bisect_left(chunk, True, key=lambda kv: kv[0] < end):]
                    elif chunk and chunk[0][0] < start:
                        chunk = chunk[bisect_left(chunk, (start,)):]
                if chunk and (chunk[-1][0] < start if reverse else end is not None and chunk[-1][0] >= end):
                    more = False  # the far bound is inside this chunk: cut it there
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
            if self._check is None and self._entry.process == _process[0]:   # (not in a forked child)
                self._txn.abort()
            self._check = None  # a leaked snapshot's transaction is aborted when py-lmdb frees it
        self._txn = None


def _stored_writes(w, writes, p):
    """The writes as stored keys: long keys merged into their buckets (read from ``w``)."""
    buckets = {}
    for k in writes:
        if len(k) > p:
            buckets.setdefault(overflow.bucket_key(k, p), {})[k[p:]] = writes[k]
    if not buckets:
        return writes
    stored = {k: v for k, v in writes.items() if len(k) <= p}
    for bk, changes in buckets.items():
        stored[bk] = overflow.apply(w.get(bk), changes)
    return stored


class LmdbStore(Store):
    """The LMDB environment in directory ``path`` (created if missing)."""

    OPTIONS = ("map_size",)

    def __init__(self, location):
        path, options = _norm(location)
        self.path = path
        with _envs_lock:
            entry = _envs.get(path)
            if entry is not None and entry.process != _process[0]:
                if entry.users > 0:
                    entry.check_usable()
                entry = None     # closed by the parent before the fork: open it here
            if entry is None:
                try:
                    os.makedirs(path, exist_ok=True)
                    entry = _envs[path] = _Env(path, options.get("map_size", MAP_SIZE))
                except (OSError, lmdb.Error) as e:
                    raise _fail(path, e) from None
            entry.users += 1
        self._entry = entry
        self._env = entry.env
        self._p = entry.env.max_key_size() - 1  # longer keys go to buckets

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
            if entry is not None and entry.process == _process[0]:
                entry.env.close()
        shutil.rmtree(path, ignore_errors=True)

    def _environment(self):
        env = self._env
        if env is None:
            raise StoreError("LMDB store at %s is closed" % self.path)
        self._entry.check_usable()
        return env

    def snapshot(self):
        try:
            env = self._environment()
            return LmdbSnapshot(env.begin(buffers=False), self.path, self._p, env=env, entry=self._entry)
        except lmdb.Error as e:
            raise _fail(self.path, e) from None

    def commit(self, reads, writes):
        def body(w):
            if reads:
                reads.validate(LmdbSnapshot(w, self.path, self._p, owned=False))
            stored = _stored_writes(w, writes, self._p)
            keys = sorted(stored)  # B-tree order: fewer pages touched
            if None in stored.values():
                for k in [k for k in keys if stored[k] is None]:
                    w.delete(k)
                keys = [k for k in keys if stored[k] is not None]
            w.cursor().putmulti(zip(keys, map(stored.__getitem__, keys)))
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
            env = self._environment()
            self._entry.check_readers()
            with env.begin(write=True, buffers=False) as w:
                return body(w)
        except lmdb.MapFullError:
            raise StoreFull("LMDB store at %s is full: its map size (%d bytes) is reached; reopen it "
                            "with a higher ?map_size= (or ROME_LMDB_MAP_SIZE)" % (self.path, self._entry.map_size)) from None
        except lmdb.Error as e:
            raise _fail(self.path, e) from None

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
                if entry.process == _process[0]:   # an inherited one stays open (module docstring)
                    entry.env.close()

    def __repr__(self):
        return "LmdbStore(%r)" % (self.path,)

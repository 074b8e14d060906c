"""What is particular to each store: LMDB environments, errors and reader slots; memory pages and deletes;
the registry."""
import os
import threading

import pytest

from rome.storage import StoreError, Transaction, drop_store, open_store
from rome.storage.lmdb import MAX_READERS, LmdbStore
from rome.storage.memory import MemoryStore
from rome.storage.registry import KINDS


# -- LMDB

def test_lmdb_shares_one_environment_per_path(tmp_path):
    a = LmdbStore(str(tmp_path / "db"))
    b = LmdbStore(str(tmp_path / "db") + "/")  # same directory spelled differently
    assert a._env is b._env
    t = Transaction(a)
    t.put(b"k", b"v")
    t.commit()
    a.close()
    assert b.snapshot().get(b"k") == b"v"  # still open: b holds a reference
    b.close()
    with pytest.raises(StoreError, match="closed"):
        b.snapshot()
    c = LmdbStore(str(tmp_path / "db"))  # reopened from disk
    assert c.snapshot().get(b"k") == b"v"
    c.close()


def test_lmdb_errors_are_store_errors(tmp_path):
    store = LmdbStore(str(tmp_path))
    snap = store.snapshot()
    with pytest.raises(StoreError, match=str(tmp_path)):
        snap.get(b"")  # LMDB has no empty key
    snap.close()
    file_path = tmp_path / "a_file"
    file_path.write_text("")
    with pytest.raises(StoreError):
        LmdbStore(str(file_path))
    store.close()


def test_lmdb_leaked_snapshots_release_reader_slots(tmp_path):
    store = LmdbStore(str(tmp_path))
    for _ in range(MAX_READERS + 100):
        t = Transaction(store)
        t.get(b"x")  # opens a read transaction, never committed nor rolled back
        del t
    snaps = [store.snapshot() for _ in range(10)]
    for s in snaps:
        s.close()
    store.close()


def test_lmdb_snapshot_moves_between_threads(tmp_path):
    store = LmdbStore(str(tmp_path))
    t = Transaction(store)
    t.put(b"a", b"1")
    t.commit()
    snap = store.snapshot()
    out = []
    th = threading.Thread(target=lambda: out.append((snap.get(b"a"), list(snap.scan(b"", None)))))
    th.start()
    th.join()
    assert out == [(b"1", [(b"a", b"1")])]
    th = threading.Thread(target=snap.close)
    th.start()
    th.join()
    store.close()


# -- memory

def test_memory_snapshots_keep_their_pages_and_deletes_are_forgotten():
    store = MemoryStore()
    t = Transaction(store)
    t.put(b"a", b"0"), t.put(b"gone", b"x")
    t.commit()
    old = store.snapshot()
    for i in range(1, 20):
        t = Transaction(store)
        t.put(b"a", b"%d" % i)
        if i == 5:
            t.delete(b"gone")
        t.commit()
    assert old.get(b"a") == b"0" and old.get(b"gone") == b"x"
    assert list(old.scan(b"", None)) == [(b"a", b"0"), (b"gone", b"x")]
    assert store._latest[b"gone"] == (6, None)  # the delete stays: old predates it
    mid = store.snapshot()
    for i in range(20, 30):
        t = Transaction(store)
        t.put(b"a", b"%d" % i)
        t.commit()
    assert mid.get(b"a") == b"19" and old.get(b"a") == b"0" and mid.get(b"gone") is None
    assert list(mid.scan(b"", None, reverse=True)) == [(b"a", b"19")]
    mid.close()
    old.close()
    t = Transaction(store)
    t.put(b"b", b"")
    t.commit()  # a later commit forgets the delete the closed snapshot needed
    assert b"gone" not in store._latest and not store._graves and not store._active
    assert list(store.snapshot().scan(b"", None)) == [(b"a", b"29"), (b"b", b"")]


def test_memory_pages_split_and_merge():
    store = MemoryStore()
    model = {}
    rnd = __import__("random").Random(7)
    snaps = []
    for round_ in range(30):
        t = Transaction(store)
        for _ in range(rnd.choice([1, 5, 100, 3000])):
            k = b"%06d" % rnd.randrange(20000)
            if rnd.random() < 0.3:
                t.delete(k)
                model.pop(k, None)
            else:
                t.put(k, b"%d" % round_)
                model[k] = b"%d" % round_
        t.commit()
        snaps.append((store.snapshot(), sorted(model.items())))
    for snap, items in snaps[::7]:
        assert list(snap.scan(b"", None)) == items
        assert list(snap.scan(b"", None, reverse=True)) == items[::-1]
        lo, hi = b"%06d" % 5000, b"%06d" % 15000
        assert list(snap.scan(lo, hi)) == [kv for kv in items if lo <= kv[0] < hi]
        assert list(snap.scan(lo, hi, reverse=True)) == [kv for kv in items if lo <= kv[0] < hi][::-1]
        assert snap.get_many([k for k, _v in items[:50]]) == [v for _k, v in items[:50]]
    assert max(len(p) for p in store._head[1][1]) <= 1024


def test_memory_leaked_snapshots_unpin():
    store = MemoryStore()
    for _ in range(100):
        t = Transaction(store)
        t.get(b"x")
        del t  # neither committed nor rolled back
    assert not store._active


def test_memory_scan_survives_concurrent_commits():
    store = MemoryStore()
    t = Transaction(store)
    for i in range(0, 4000, 2):
        t.put(b"%05d" % i, b"even")
    t.commit()
    snap = store.snapshot()
    it = snap.scan(b"", None)
    got = [next(it) for _ in range(100)]
    for i in range(1, 4000, 2):  # insert between every pair, delete some, mid-scan
        t = Transaction(store)
        t.put(b"%05d" % i, b"odd")
        t.delete(b"%05d" % (i + 1))
        t.commit()
    got += list(it)
    assert got == [(b"%05d" % i, b"even") for i in range(0, 4000, 2)]
    snap.close()


# -- registry

def test_registry_memory():
    a, b, c = open_store("memory", ""), open_store("memory"), open_store("memory", "other")
    assert a is b and a is not c
    t = Transaction(a)
    t.put(b"k", b"v")
    t.commit()
    drop_store("memory", "")
    fresh = open_store("memory", "")
    assert fresh is not a and fresh.snapshot().get(b"k") is None
    drop_store("memory", ""), drop_store("memory", "other")


def test_registry_lmdb(tmp_path, monkeypatch):
    path = tmp_path / "new" / "db"
    a = open_store("lmdb", str(path))
    assert os.path.isdir(path)
    monkeypatch.chdir(tmp_path)
    assert open_store("lmdb", "new/db/") is a
    t = Transaction(a)
    t.put(b"k", b"v")
    t.commit()
    drop_store("lmdb", str(path))
    assert not os.path.exists(path)
    with pytest.raises(StoreError):
        a.snapshot()
    b = open_store("lmdb", str(path))
    assert b is not a and b.snapshot().get(b"k") is None
    drop_store("lmdb", str(path))


def test_registry_unknown_kind():
    with pytest.raises(StoreError, match="nosuch"):
        open_store("nosuch", "x")
    assert set(KINDS) >= {"memory", "lmdb"}

"""Store + Transaction behaviour, the same for every store (memory, LMDB, Redis).

Redis has no snapshots (rome.storage.redis, ISOLATION): the tests of snapshot isolation for readers
are skipped there; tests/redis checks what it gives instead (each call atomic, point reads repeatable)."""
import gc
import itertools
import os
import threading

import pytest

from rome.storage import Conflict, StoreError, Transaction
from rome.storage.lmdb import LmdbStore
from rome.storage.memory import MemoryStore


_prefixes = itertools.count()


def redis_store(server):
    from rome.storage.redis import RedisStore
    return RedisStore("127.0.0.1:%d/0?prefix=stores-%d-%d" % (server.port, os.getpid(), next(_prefixes)))


@pytest.fixture(params=["memory", "lmdb", "redis"])
def store(request, tmp_path):
    if request.param == "redis":
        s = redis_store(request.getfixturevalue("redis_server"))
        yield s
        s._delete_all()
        s.close()
        return
    s = MemoryStore() if request.param == "memory" else LmdbStore(str(tmp_path / "db"))
    yield s
    s.close()


def needs_snapshots(store):
    if type(store).__name__.startswith("Redis"):
        pytest.skip("Redis has no snapshots: reads are read committed per call (rome.storage.redis)")


def load(store, items):
    t = Transaction(store)
    for k, v in items.items():
        if v is None:
            t.delete(k)
        else:
            t.put(k, v)
    t.commit()


def scan(store, *args, **kw):
    snap = store.snapshot()
    try:
        return list(snap.scan(*args, **kw))
    finally:
        snap.close()


KEYS = {b"a": b"1", b"b": b"2", b"b\x00": b"3", b"c": b"4", b"c\xff": b"5", b"d": b""}


# -- snapshots

def test_get_put_delete(store):
    load(store, {b"k": b"v", b"x": b"y"})
    t = Transaction(store)
    assert t.get(b"k") == b"v" and t.get(b"missing") is None
    assert t.get_many([b"x", b"missing", b"k"]) == [b"y", None, b"v"]
    t.commit()
    load(store, {b"k": None, b"x": b"z"})
    snap = store.snapshot()
    assert snap.get(b"k") is None and snap.get(b"x") == b"z"
    assert snap.get_many([b"k", b"x"]) == [None, b"z"]
    snap.close()


def test_scan_bounds_and_directions(store):
    load(store, KEYS)
    keys = sorted(KEYS)
    assert scan(store, b"", None) == sorted(KEYS.items())
    assert [k for k, _ in scan(store, b"b", b"c")] == [b"b", b"b\x00"]
    assert [k for k, _ in scan(store, b"b", b"c", reverse=True)] == [b"b\x00", b"b"]
    assert [k for k, _ in scan(store, b"", None, reverse=True)] == keys[::-1]
    assert [k for k, _ in scan(store, b"b\x00", b"c\xff")] == [b"b\x00", b"c"]
    assert [k for k, _ in scan(store, b"c", b"zz", reverse=True)] == [b"d", b"c\xff", b"c"]
    assert [k for k, _ in scan(store, b"0", b"a", reverse=True)] == []
    assert scan(store, b"e", None) == [] and scan(store, b"e", None, reverse=True) == []
    assert scan(store, b"c", b"b") == [] and scan(store, b"c", b"c", reverse=True) == []


def test_scan_with_bounds_longer_than_any_key(store):
    longest = b"a" * 511  # LMDB's longest key
    load(store, {longest: b"1", b"b": b"2", b"a": b"0"})
    assert scan(store, b"a" * 600, None) == [(b"b", b"2")]
    assert scan(store, b"a" * 600, b"c" * 600, reverse=True) == [(b"b", b"2")]
    assert scan(store, b"", b"a" * 600, reverse=True) == [(longest, b"1"), (b"a", b"0")]
    assert scan(store, b"a" * 510, b"a" * 600) == [(longest, b"1")]
    t = Transaction(store)
    assert [k for k, _ in t.scan(b"a" * 600, None)] == [b"b"]
    t.put(b"w", b"")
    load(store, {longest: b"changed"})
    t.commit()  # outside what the scan covered


def test_scan_early_stop_and_laziness(store):
    needs_snapshots(store)
    load(store, {b"k%03d" % i: b"v" for i in range(500)})
    snap = store.snapshot()
    it = snap.scan(b"k", None)
    assert next(it) == (b"k000", b"v")
    load(store, {b"k001": None, b"k0005": b"new"})  # the open scan still sees its snapshot
    assert [kv[0] for _, kv in zip(range(3), it)] == [b"k001", b"k002", b"k003"]
    it.close()
    rev = snap.scan(b"k", b"k250", reverse=True)
    assert [kv[0] for _, kv in zip(range(2), rev)] == [b"k249", b"k248"]
    snap.close()


def test_snapshot_isolation(store):
    needs_snapshots(store)
    load(store, {b"a": b"1", b"b": b"2"})
    old = store.snapshot()
    load(store, {b"a": b"10", b"b": None, b"c": b"3"})
    assert old.get(b"a") == b"1" and old.get(b"b") == b"2" and old.get(b"c") is None
    assert list(old.scan(b"", None)) == [(b"a", b"1"), (b"b", b"2")]
    new = store.snapshot()
    assert list(new.scan(b"", None)) == [(b"a", b"10"), (b"c", b"3")]
    old.close(), new.close()
    t = Transaction(store)
    assert t.get(b"a") == b"10"
    load(store, {b"a": b"11"})
    assert t.get(b"a") == b"10" and list(t.scan(b"", None)) == [(b"a", b"10"), (b"c", b"3")]
    t.rollback()


def test_commit_is_atomic_for_readers(store):
    needs_snapshots(store)
    keys = [b"k%02d" % i for i in range(50)]
    load(store, {k: b"0" for k in keys})
    stop, bad = threading.Event(), []

    def reader():
        while not stop.is_set():
            snap = store.snapshot()
            vals = {v for _, v in snap.scan(b"k", b"l")}
            vals |= set(snap.get_many(keys))
            snap.close()
            if len(vals) != 1:
                bad.append(vals)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for th in threads:
        th.start()
    for i in range(1, 30):
        load(store, {k: b"%d" % i for k in keys})
    stop.set()
    for th in threads:
        th.join()
    assert not bad


# -- validation

def test_conflict_on_changed_point_read(store):
    load(store, {b"x": b"1"})
    t = Transaction(store)
    assert t.get(b"x") == b"1"
    t.put(b"y", b"from t")
    load(store, {b"x": b"2"})
    with pytest.raises(Conflict):
        t.commit()
    assert scan(store, b"", None) == [(b"x", b"2")]  # nothing of t applied
    with pytest.raises(StoreError):
        t.get(b"x")


def test_conflict_on_deleted_key_and_on_absent_key_created(store):
    load(store, {b"x": b"1"})
    t1, t2 = Transaction(store), Transaction(store)
    t1.get(b"x"), t1.put(b"out1", b"")
    assert t2.get(b"absent") is None
    t2.put(b"out2", b"")
    load(store, {b"x": None, b"absent": b"now"})
    for t in (t1, t2):
        with pytest.raises(Conflict):
            t.commit()


@pytest.mark.parametrize("reverse", [False, True])
def test_conflict_on_phantom_in_scanned_range(store, reverse):
    load(store, {b"r1": b"", b"r5": b""})
    t = Transaction(store)
    assert len(list(t.scan(b"r", b"s", reverse))) == 2
    t.put(b"count", b"2")
    load(store, {b"r3": b"phantom"})
    with pytest.raises(Conflict):
        t.commit()


def test_conflict_on_phantom_in_empty_range(store):
    t = Transaction(store)
    assert list(t.scan(b"r", b"s")) == []
    t.put(b"x", b"")
    load(store, {b"r0": b""})
    with pytest.raises(Conflict):
        t.commit()


def test_no_conflict_when_disjoint(store):
    load(store, {b"a": b"1", b"m1": b"", b"z": b"9"})
    t = Transaction(store)
    t.get(b"a"), list(t.scan(b"m", b"n")), t.get(b"nothing")
    t.put(b"a", b"2")
    load(store, {b"z": b"10", b"n": b"edge", b"l": b"edge", b"other": b""})  # outside all reads
    t.commit()
    assert store.snapshot().get(b"a") == b"2"


def test_same_value_rewritten_is_no_conflict(store):
    load(store, {b"a": b"1"})
    t = Transaction(store)
    t.get(b"a"), list(t.scan(b"", None))
    t.put(b"b", b"")
    load(store, {b"a": b"1", b"gone": None})
    t.commit()


@pytest.mark.parametrize("reverse", [False, True])
def test_early_stopped_scan_records_only_what_it_covered(store, reverse):
    load(store, {b"k%d" % i: b"" for i in range(1, 10)})
    t = Transaction(store)
    it = t.scan(b"k", b"l", reverse)
    first, second = next(it), next(it)
    it.close()
    lo, hi = t.reads.ranges[0][:2]
    if reverse:
        assert (first[0], second[0]) == (b"k9", b"k8") and (lo, hi) == (b"k8", b"l")
        outside, inside = b"k7", b"k85"
    else:
        assert (first[0], second[0]) == (b"k1", b"k2") and (lo, hi) == (b"k", b"k2\x00")
        outside, inside = b"k3", b"k15"
    t.put(b"w", b"")
    load(store, {outside: b"changed"})
    t.commit()  # beyond what was covered
    t = Transaction(store)
    it = t.scan(b"k", b"l", reverse)
    next(it), next(it)
    del it
    t.put(b"w", b"")
    load(store, {inside: b"new"})
    with pytest.raises(Conflict):
        t.commit()


@pytest.mark.parametrize("reverse", [False, True])
def test_long_scan_records_exactly_what_it_consumed(store, reverse):
    """Stores hand out pairs in chunks: a scan stopped anywhere covers up to the last pair yielded."""
    keys = [b"k%03d" % i for i in range(300)]
    load(store, dict.fromkeys(keys, b""))
    order = keys[::-1] if reverse else keys
    for stop in (1, 16, 17, 50, 299):
        t = Transaction(store)
        it = t.scan(b"k", b"l", reverse)
        got = [next(it)[0] for _ in range(stop)]
        it.close()
        assert got == order[:stop]
        assert t.reads.ranges[0][:2] == ((got[-1], b"l") if reverse else (b"k", got[-1] + b"\x00"))
        t.put(b"w", b"")
        load(store, {order[stop]: b"changed"})  # just beyond what was covered
        t.commit()


@pytest.mark.parametrize("changed", [b"k030", b"k050"])
def test_scan_starts_merging_mid_chunk(store, changed):
    keys = [b"k%03d" % i for i in range(100)]
    load(store, dict.fromkeys(keys, b""))
    t = Transaction(store)
    seen = []
    for k, _v in t.scan(b"k", b"l"):
        seen.append(k)
        if k == b"k040":
            t.put(b"k0405", b"new"), t.delete(b"k041")
    assert seen == keys[:41] + [b"k0405"] + keys[42:]
    load(store, {changed: b"changed"})  # read before the first write, or after
    with pytest.raises(Conflict):
        t.commit()


def test_unclosed_scan_is_recorded_at_commit(store):
    load(store, {b"k1": b"", b"k2": b"", b"k3": b""})
    t = Transaction(store)
    it = t.scan(b"k", b"l")
    next(it)
    t.put(b"w", b"")
    load(store, {b"k1": b"changed"})
    with pytest.raises(Conflict):
        t.commit()
    with pytest.raises(StoreError):
        next(it)  # the transaction is over


def test_scan_in_garbage_cycle_is_recorded(store):
    load(store, {b"k1": b"", b"k2": b""})
    gc.disable()
    try:
        t = Transaction(store)
        holder = {"it": t.scan(b"k", b"l")}
        holder["self"] = holder  # unreachable cycle: only the collector would close the generator
        next(holder["it"])
        del holder
        t.put(b"w", b"")
        load(store, {b"k0": b"phantom"})
        with pytest.raises(Conflict):
            t.commit()
    finally:
        gc.enable()
        gc.collect()


def test_read_only_transaction_never_conflicts(store):
    load(store, {b"a": b"1"})
    t = Transaction(store)
    t.get(b"a"), list(t.scan(b"", None))
    load(store, {b"a": b"2", b"b": b""})
    assert not t.has_writes
    t.commit()


def test_own_writes_are_not_reads(store):
    t = Transaction(store)
    t.put(b"a", b"mine")
    assert t.get(b"a") == b"mine" and t.get_many([b"a"]) == [b"mine"]
    assert not t.reads
    load(store, {b"a": b"theirs"})
    t.commit()  # a blind write: no conflict
    assert store.snapshot().get(b"a") == b"mine"


# -- read your own writes, savepoints

@pytest.mark.parametrize("reverse", [False, True])
def test_scan_merges_buffered_writes(store, reverse):
    load(store, {b"a": b"1", b"b": b"2", b"c": b"3", b"e": b"5"})
    t = Transaction(store)
    t.put(b"b", b"two"), t.delete(b"c"), t.put(b"d", b"4"), t.put(b"f", b"6"), t.put(b"0", b"out")
    t.delete(b"zz")
    expected = [(b"a", b"1"), (b"b", b"two"), (b"d", b"4"), (b"e", b"5"), (b"f", b"6")]
    got = list(t.scan(b"a", b"z", reverse))
    assert got == (expected[::-1] if reverse else expected)
    assert t.get_many([b"a", b"c", b"d"]) == [b"1", None, b"4"]


def test_scan_sees_writes_made_while_iterating(store):
    load(store, {b"k1": b"", b"k3": b"", b"k5": b""})
    t = Transaction(store)
    seen = []
    for k, v in t.scan(b"k", b"l"):
        seen.append(k)
        if k == b"k1":
            t.put(b"k2", b"ahead"), t.delete(b"k3"), t.put(b"k0", b"behind")
            for i in range(50):  # restructure the buffer while the scan is suspended
                t.put(b"k4%02d" % i, b"")
    assert seen == [b"k1", b"k2"] + [b"k4%02d" % i for i in range(50)] + [b"k5"]


def test_savepoints(store):
    load(store, {b"a": b"0"})
    t = Transaction(store)
    t.put(b"a", b"1")
    sp1 = t.savepoint()
    t.put(b"a", b"2"), t.put(b"b", b"2"), t.delete(b"c")
    sp2 = t.savepoint()
    t.delete(b"a"), t.put(b"b", b"3")
    t.rollback_to(sp2)
    assert dict(t.writes) == {b"a": b"2", b"b": b"2", b"c": None}
    t.rollback_to(sp2)  # a savepoint survives being rolled back to
    t.put(b"d", b"4")
    t.rollback_to(sp1)
    assert dict(t.writes) == {b"a": b"1"} and t.has_writes
    assert list(t.scan(b"", None)) == [(b"a", b"1")]
    t.rollback_to(t.savepoint())
    t.rollback_to(0)
    assert not t.has_writes and t.get(b"a") == b"0"
    t.commit()


def test_rolled_back_reads_still_guard(store):
    load(store, {b"x": b"1"})
    t = Transaction(store)
    sp = t.savepoint()
    t.get(b"x")
    t.rollback_to(sp)
    t.put(b"y", b"")
    load(store, {b"x": b"2"})
    with pytest.raises(Conflict):
        t.commit()


def test_finished_transaction_refuses_use(store):
    t = Transaction(store)
    t.put(b"a", b"")
    t.commit()
    for op in (lambda: t.get(b"a"), lambda: t.put(b"a", b""), lambda: list(t.scan(b"", None)),
               t.commit, t.savepoint, lambda: t.get_many([b"a"])):
        with pytest.raises(StoreError):
            op()
    t.rollback()  # harmless


# -- counters

def test_allocate(store):
    assert store.allocate(b"\x00seq1") == 1
    assert store.allocate(b"\x00seq1", 10) == 2
    assert store.allocate(b"\x00seq1") == 12
    assert store.allocate(b"\x00seq1", 1, at_least=100) == 100
    assert store.allocate(b"\x00seq1", 5, at_least=50) == 101
    assert store.allocate(b"\x00seq1") == 106
    assert store.allocate(b"\x00seq2", 3, at_least=7) == 7
    t = Transaction(store)
    t.put(b"a", b"")
    store.allocate(b"\x00seq2")
    t.rollback()
    assert store.allocate(b"\x00seq2") == 11  # not transactional


def test_allocate_concurrently(store):
    got = []

    def worker():
        mine = [store.allocate(b"c", 3) for _ in range(100)]
        got.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(got) == list(range(1, 1200, 3))


def test_keys_of_any_length_in_key_order(store):
    """Every store takes keys longer than LMDB's 511 bytes, and scans them in key order: keys that
    share 510 or more bytes, keys one byte either side of the limit, bounds cutting inside them."""
    base = b"p" * 505
    keys = [base[:n] for n in (1, 300, 505)]
    for tail in (b"", b"\x00", b"\x00\x00", b"a", b"ab", b"a\xff", b"b", b"\xff"):
        for extra in (0, 4, 5, 6, 7, 40, 700):
            keys.append(base + b"x" * extra + tail)
    keys += [base + b"y" * 6 + bytes([i]) + b"z" * 600 for i in (0, 1, 200, 255)]
    keys = sorted(set(keys))
    assert {len(k) for k in keys} >= {509, 510, 511, 512, 513, 1205, 1206}
    items = {k: b"v%d" % i for i, k in enumerate(keys)}
    load(store, items)
    assert scan(store, b"", None) == sorted(items.items())
    assert scan(store, b"", None, reverse=True) == sorted(items.items(), reverse=True)
    bounds = [b""] + keys[::7] + [k + b"\x00" for k in keys[3::11]] + [base + b"x" * 5, base + b"x" * 6]
    for lo in bounds:
        for hi in bounds[::3] + [None]:
            want = [(k, items[k]) for k in keys if k >= lo and (hi is None or k < hi)]
            assert scan(store, lo, hi) == want, (len(lo), hi and len(hi))
            assert scan(store, lo, hi, reverse=True) == want[::-1], (len(lo), hi and len(hi))
    snap = store.snapshot()
    assert snap.get_many(keys[::-1]) == [items[k] for k in keys[::-1]]
    assert snap.get(base + b"x" * 6 + b"q") is None and snap.get(base + b"y" * 700) is None
    snap.close()
    # rewrite and delete some long keys, one transaction scanning them concurrently with another
    gone, changed = keys[5::4], keys[6::4]
    load(store, {**{k: None for k in gone}, **{k: b"new" for k in changed}})
    for k in gone:
        items.pop(k)
    items.update({k: b"new" for k in changed})
    assert scan(store, b"", None) == sorted(items.items())
    t = Transaction(store)
    assert [k for k, _ in t.scan(base, None)] == sorted(k for k in items if k >= base)
    t.put(b"w", b"")
    load(store, {base + b"x" * 6 + b"\x01": b"phantom"})  # a new long key inside the scanned range
    with pytest.raises(Conflict):
        t.commit()

"""Transaction against a model (a dict), with random operations, on every store (memory, LMDB, Redis):

- what a transaction reads (gets, scans in both directions, stopped early or not) equals the committed
  state overlaid with its own writes, savepoints included;
- commit raises Conflict exactly when a concurrent commit changed a key the transaction observed: a
  point read, or a key inside the part of a scanned range it covered.
"""
import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rome.storage import Conflict, Transaction
from rome.storage.lmdb import LmdbStore
from rome.storage.memory import MemoryStore

SUFFIXES = st.sampled_from([b"a", b"b", b"b\x00", b"c", b"d\xff", b"e", b"f"])
VALUES = st.sampled_from([b"", b"1", b"2"])
WRITES = st.dictionaries(SUFFIXES, st.one_of(st.none(), VALUES), max_size=6)
BOUNDS = st.sampled_from([b"", b"a", b"b", b"b\x00", b"c", b"d", b"f", b"z", None])

_prefixes = itertools.count()


@pytest.fixture(scope="module", params=["memory", "lmdb", "redis"])
def store(request, tmp_path_factory):
    if request.param == "redis":
        from rome.storage.redis import RedisStore
        server = request.getfixturevalue("redis_server")
        s = RedisStore("127.0.0.1:%d/0?prefix=model-%d" % (server.port, os.getpid()))
        yield s
        s._delete_all()
        s.close()
        return
    s = MemoryStore() if request.param == "memory" else LmdbStore(str(tmp_path_factory.mktemp("db")))
    yield s
    s.close()


class Space:
    """A fresh key prefix per example, so examples share one store without seeing each other."""

    def __init__(self, store):
        self.store = store
        self.p = b"%06d/" % next(_prefixes)

    def k(self, suffix):
        return self.p + suffix

    def bound(self, b):
        return self.p + b"\xff" if b is None else self.p + b

    def commit(self, writes):
        t = Transaction(self.store)
        for s, v in writes.items():
            t.put(self.k(s), v) if v is not None else t.delete(self.k(s))
        t.commit()


def in_range(key, lo, hi):
    return lo <= key and (hi is None or key < hi)


def model_scan(view, lo, hi, reverse):
    return sorted(((k, v) for k, v in view.items() if v is not None and in_range(k, lo, hi)), reverse=reverse)


OPS = st.one_of(
    st.tuples(st.just("put"), SUFFIXES, VALUES),
    st.tuples(st.just("delete"), SUFFIXES),
    st.tuples(st.just("get"), SUFFIXES),
    st.tuples(st.just("get_many"), st.lists(SUFFIXES, max_size=4)),
    st.tuples(st.just("scan"), BOUNDS, BOUNDS, st.booleans(), st.integers(0, 5)),
    st.tuples(st.just("savepoint")),
    st.tuples(st.just("rollback_to"), st.integers(0, 5)),
)


def run(space, t, ops, committed):
    """Apply ops to t and to the model; check every read; return what t observed of the snapshot:
    (point keys, [(lo, hi)] ranges)."""
    view = {space.k(s): v for s, v in committed.items() if v is not None}
    stack, points, ranges = [], set(), []
    for op in ops:
        name = op[0]
        if name in ("put", "delete"):
            k, v = space.k(op[1]), (op[2] if name == "put" else None)
            t.put(k, v) if name == "put" else t.delete(k)
            buffered = dict(t.writes)
            assert buffered[k] == v
            view[k] = v
        elif name == "get":
            k = space.k(op[1])
            if k not in t.writes:
                points.add(k)
            assert t.get(k) == view.get(k)
        elif name == "get_many":
            keys = [space.k(s) for s in op[1]]
            points.update(k for k in keys if k not in t.writes)
            assert t.get_many(keys) == [view.get(k) for k in keys]
        elif name == "scan":
            lo, hi, reverse, limit = space.bound(op[1]), space.bound(op[2]), op[3], op[4]
            expected = model_scan(view, lo, hi, reverse)
            got = []
            if limit:
                it = t.scan(lo, hi, reverse)
                for kv in it:
                    got.append(kv)
                    if len(got) == limit:
                        break
                del it
                if len(got) == limit:  # stopped early: covered up to the last key yielded
                    last = got[-1][0]
                    ranges.append((last, hi) if reverse else (lo, last + b"\x00"))
                else:
                    ranges.append((lo, hi))
            assert got == expected[:limit]
        elif name == "savepoint":
            stack.append((t.savepoint(), dict(view)))
        elif name == "rollback_to" and stack:
            i = op[1] % len(stack)
            token, saved = stack[i]
            del stack[i + 1:]
            t.rollback_to(token)
            view = dict(saved)
    assert {k: v for k, v in t.writes.items()} == {k: v for k, v in view.items()
                                                    if k in t.writes}
    return points, ranges


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(committed=WRITES, ops=st.lists(OPS, max_size=25))
def test_reads_match_model(store, committed, ops):
    space = Space(store)
    space.commit(committed)
    t = Transaction(store)
    run(space, t, ops, committed)
    t.rollback()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(committed=WRITES, ops=st.lists(OPS, max_size=15), concurrent=WRITES)
def test_conflict_iff_observed_key_changed(store, committed, ops, concurrent):
    space = Space(store)
    space.commit(committed)
    t = Transaction(store)
    points, ranges = run(space, t, ops, committed)
    t.put(space.p + b"~out", b"")  # make sure commit validates
    space.commit(concurrent)
    before = {space.k(s): v for s, v in committed.items() if v is not None}
    changed = {space.k(s) for s, v in concurrent.items() if before.get(space.k(s)) != v}
    observed = any(k in points or any(in_range(k, lo, hi) for lo, hi in ranges) for k in changed)
    if observed:
        with pytest.raises(Conflict):
            t.commit()
    else:
        t.commit()

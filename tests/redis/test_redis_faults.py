"""rome+redis under faults and concurrency: the server stopped and started again, processes racing on
the same rows, clients killed with SIGKILL in the middle of commits."""
import multiprocessing
import os
import sys

import pytest

pytest.importorskip("redis", reason="the redis client (pip install redis) is not installed")

import rome  # noqa: E402
from rome.dbapi.connection import parse_url  # noqa: E402
from rome.storage import drop_store  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import redis_stress  # noqa: E402


@pytest.fixture
def own_server(tmp_path):
    """A server of this test's own, durable (AOF, fsync always) so that a restart keeps the data."""
    from redis_server import BINARY, RedisServer
    if BINARY is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    server = RedisServer(tmp_path, extra=["--appendonly", "yes", "--appendfsync", "always"]).start()
    yield server
    server.stop()


def test_server_stopped_then_back(own_server):
    url = own_server.url(prefix="faults")
    address = "127.0.0.1:%d" % own_server.port
    c = rome.connect(url)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("INSERT INTO t VALUES (1, 'kept')")
    c.commit()
    c.execute("SELECT v FROM t").fetchall()
    c.commit()
    own_server.stop()
    for _ in range(2):  # every use fails, naming the store's address, until the server is back
        with pytest.raises(rome.OperationalError, match="store unavailable: redis at %s" % address):
            c.execute("SELECT v FROM t")
        c.rollback()
    own_server.start()  # the same port
    assert c.execute("SELECT v FROM t").fetchall() == [("kept",)]  # reconnected, data durable
    c.execute("INSERT INTO t VALUES (2, 'after')")
    c.commit()
    assert c.execute("SELECT count(*) FROM t").fetchall() == [(2,)]
    c.close()
    drop_store(*parse_url(url))


def test_commit_while_server_down_then_back(own_server):
    url = own_server.url(prefix="faults2")
    c = rome.connect(url)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.commit()
    c.execute("INSERT INTO t VALUES (1, 'x')")  # buffered: nothing sent yet
    own_server.stop()
    with pytest.raises(rome.OperationalError, match="redis at 127.0.0.1:%d" % own_server.port):
        c.commit()
    own_server.start()
    assert c.execute("SELECT count(*) FROM t").fetchall() == [(0,)]  # the failed commit left nothing
    c.execute("INSERT INTO t VALUES (1, 'y')")
    c.commit()
    assert c.execute("SELECT v FROM t").fetchall() == [("y",)]
    c.close()
    drop_store(*parse_url(url))


def test_sqlalchemy_engine_recovers(own_server):
    sa = pytest.importorskip("sqlalchemy")
    url = own_server.url(prefix="faults3")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 'a')")
    own_server.stop()
    with pytest.raises(sa.exc.OperationalError, match="redis at 127.0.0.1") as info:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT v FROM t").fetchall()
    assert info.value.connection_invalidated  # the dialect reports a disconnect
    own_server.start()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT v FROM t").fetchall() == [("a",)]
    engine.dispose()
    drop_store(*parse_url(url))


# -- processes

def _cas(url, me, barrier, out):
    """Read the job, wait for the other process to have read it too, then take it."""
    c = rome.connect(url)
    try:
        status = c.execute("SELECT status FROM jobs WHERE id = 1").fetchone()[0]
        barrier.wait(30)
        n = c.execute("UPDATE jobs SET status = 'taken', owner = ? WHERE id = 1 AND status = ?",
                      (me, status)).rowcount
        c.commit()
        out.put((me, "won" if n == 1 else "nothing"))
    except rome.ConflictError as e:
        out.put((me, "conflict: %s" % e))
    finally:
        c.close()


def test_two_processes_cas_exactly_one_wins(redis_server):
    url = redis_server.url(prefix="cas-%d" % os.getpid())
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(3):
        with rome.connect(url) as c:
            c.execute("DROP TABLE IF EXISTS jobs")
            c.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT, owner INTEGER)")
            c.execute("INSERT INTO jobs VALUES (1, 'free', NULL)")
        barrier, out = ctx.Barrier(2), ctx.Queue()
        ps = [ctx.Process(target=_cas, args=(url, me, barrier, out)) for me in (1, 2)]
        for p in ps:
            p.start()
        results = dict(out.get(timeout=60) for _ in ps)
        for p in ps:
            p.join(30)
        won = [me for me, r in results.items() if r == "won"]
        assert len(won) == 1, results
        loser = 3 - won[0]
        assert results[loser].startswith("conflict: "), results  # the loser: a clean conflict error
        with rome.connect(url) as c:
            assert c.execute("SELECT status, owner FROM jobs").fetchall() == [("taken", won[0])]
    drop_store(*parse_url(url))


def _increment(url, times, out):
    c = rome.connect(url)
    conflicts = 0
    for _ in range(times):
        while True:
            try:
                n = c.execute("SELECT n FROM counter WHERE id = 1").fetchone()[0]
                c.execute("UPDATE counter SET n = ? WHERE id = 1", (n + 1,))
                c.commit()
                break
            except rome.ConflictError:
                c.rollback()
                conflicts += 1
    c.close()
    out.put(conflicts)


def test_processes_never_lose_an_update(redis_server):
    url = redis_server.url(prefix="inc-%d" % os.getpid())
    with rome.connect(url) as c:
        c.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)")
        c.execute("INSERT INTO counter VALUES (1, 0)")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    ps = [ctx.Process(target=_increment, args=(url, 60, out)) for _ in range(3)]
    for p in ps:
        p.start()
    conflicts = sum(out.get(timeout=120) for _ in ps)
    for p in ps:
        p.join(30)
    with rome.connect(url) as c:
        assert c.execute("SELECT n FROM counter").fetchall() == [(180,)]
    print("conflicts retried:", conflicts)
    drop_store(*parse_url(url))


@pytest.mark.slow
def test_stress_contention_and_kill_nine(redis_server):
    """bench/redis_stress.py, smaller: 4 processes x 60 transactions, then 3 clients killed."""
    url = redis_server.url(prefix="stress-%d" % os.getpid())
    redis_stress.setup(url)
    problems, line = redis_stress.contention(url, 4, 60, 120)
    print(line)
    assert not problems
    problems, line = redis_stress.kill_nine(url, 3, 60)
    print(line)
    assert not problems
    drop_store(*parse_url(url))


def test_consistency_check_finds_damage(redis_server):
    """The checker of the stress test is not blind: an index entry lost, one without its row, a row
    value changed under its index are all reported."""
    from rome.sql import keys
    url = redis_server.url(prefix="damage-%d" % os.getpid())
    c = rome.connect(url)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER)")
    c.execute("CREATE INDEX ix_k ON t (k)")
    c.executemany("INSERT INTO t VALUES (?, ?)", [(i, i) for i in range(5)])
    c.commit()
    store = c.store
    assert redis_stress.check_consistency(store) == []
    table = c.catalog().table("t")
    prefix = keys.index_prefix(table.id, table.indexes[0].id)
    entries = list(store.snapshot().scan(prefix, prefix + b"\xff"))
    raw = store._client
    raw.hdel(store._h, entries[0][0]), raw.zrem(store._z, entries[0][0])  # an entry lost
    raw.hset(store._h, prefix + b"\x7f", entries[1][1]), raw.zadd(store._z, {prefix + b"\x7f": 0})  # a stray
    problems = redis_stress.check_consistency(store)
    assert any("missing" in p for p in problems) and any("without its row" in p for p in problems), problems
    c.close()
    drop_store(*parse_url(url))

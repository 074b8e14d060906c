"""rome.retry under real contention: threads and processes incrementing one counter, every increment a
whole transaction run again on a write conflict, with the attempts bound respected."""
import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

import rome
from rome.retrying import is_conflict

from .workers import make_engine, retry_counter_worker, run_parallel

pytestmark = pytest.mark.concurrency

WORKERS = int(os.environ.get("ROME_CONC_WORKERS", "4"))
DEADLINE = float(os.environ.get("ROME_CONC_DEADLINE", "240"))


def _counter(url):
    eng = make_engine(url)
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE counter (id INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (id))"))
        c.execute(sa.text("INSERT INTO counter (id, n) VALUES (1, 0)"))
    return eng


def _value(eng):
    with eng.connect() as c:
        return c.execute(sa.text("SELECT n FROM counter WHERE id = 1")).scalar_one()


@pytest.fixture(params=[pytest.param("lmdb", marks=pytest.mark.slow), "memory"])
def backend(request, tmp_path):
    """(url, mode): LMDB shared by processes, a memory store shared by threads."""
    if request.param == "lmdb":
        return "rome+lmdb:///%s" % (tmp_path / "retry"), "processes"
    return "rome+memory:///retry_%s" % uuid.uuid4().hex, "threads"


@pytest.mark.parametrize("via", ["engine", "sessionmaker"])
def test_retry_keeps_every_increment(backend, via):
    url, mode = backend
    eng = _counter(url)
    tx = 40
    results = run_parallel(mode, retry_counter_worker,
                           [(url, via, tx, 1000, DEADLINE, seed) for seed in range(WORKERS)],
                           timeout=DEADLINE + 120)
    assert not [r for r in results if "crash" in r], [r["crash"] for r in results if "crash" in r][0]
    done = sum(r["done"] for r in results)
    runs = sum(r["runs"] for r in results)
    assert done == WORKERS * tx, results
    assert _value(eng) == WORKERS * tx, results
    assert runs > done, "no conflict happened: the test did not contend (%s)" % results


def test_retry_bound_under_contention(backend):
    """attempts=2 with four clients on one row: some calls give up, none runs fn more than twice,
    and the counter holds exactly the increments of the calls that returned."""
    url, mode = backend
    eng = _counter(url)
    tx = 40
    results = run_parallel(mode, retry_counter_worker,
                           [(url, "engine", tx, 2, DEADLINE, seed, 0.002) for seed in range(WORKERS)],
                           timeout=DEADLINE + 120)
    assert not [r for r in results if "crash" in r], [r["crash"] for r in results if "crash" in r][0]
    assert max(r["most_runs"] for r in results) <= 2, results
    assert sum(r["done"] + r["gave_up"] for r in results) == WORKERS * tx, results
    assert _value(eng) == sum(r["done"] for r in results), results


def _always_conflicting(eng, runs):
    """A transaction that loses every time: between its read and its write, another connection
    commits an increment of the same row."""
    sel = sa.text("SELECT n FROM counter WHERE id = 1")
    upd = sa.text("UPDATE counter SET n = :n WHERE id = 1")

    def fn(handle):
        runs.append(1)
        n = handle.execute(sel).scalar_one()
        with eng.begin() as other:
            other.execute(upd, {"n": other.execute(sel).scalar_one() + 1})
        handle.execute(upd, {"n": n + 100})
    return fn


@pytest.mark.parametrize("via", ["engine", "sessionmaker", "dbapi"])
def test_retry_gives_up_after_attempts_with_growing_delays(via):
    url = "rome+memory:///retry_%s" % uuid.uuid4().hex
    eng = _counter(url)
    runs, delays = [], []
    if via != "dbapi":
        target = eng if via == "engine" else sessionmaker(eng)
        fn = _always_conflicting(eng, runs)
    else:
        target = rome.connect(url)
        sel, upd = "SELECT n FROM counter WHERE id = 1", "UPDATE counter SET n = ? WHERE id = 1"

        def fn(conn):
            runs.append(1)
            cur = conn.cursor()
            cur.execute(sel)
            n = cur.fetchone()[0]
            with eng.begin() as other:
                other.execute(sa.text("UPDATE counter SET n = n + 1 WHERE id = 1"))
            cur.execute(upd, (n + 100,))
    with pytest.raises(Exception) as info:
        rome.retry(target, fn, attempts=4, base_delay=0.01, max_delay=0.025,
                   sleep=lambda s: delays.append(s))
    assert is_conflict(info.value)
    if via != "dbapi":
        assert isinstance(info.value, sa.exc.OperationalError)
    assert len(runs) == 4 and len(delays) == 3
    assert all(0 <= d <= b for d, b in zip(delays, (0.01, 0.02, 0.025)))
    assert _value(eng) == 4   # the other connection's increments only: nothing of fn was kept


def test_retry_raises_other_errors_at_once():
    eng = _counter("rome+memory:///retry_%s" % uuid.uuid4().hex)
    runs = []

    def fn(conn):
        runs.append(1)
        conn.execute(sa.text("UPDATE counter SET n = 7 WHERE id = 1"))
        conn.execute(sa.text("INSERT INTO counter (id, n) VALUES (1, 0)"))
    with pytest.raises(sa.exc.IntegrityError):
        rome.retry(eng, fn)
    assert runs == [1] and _value(eng) == 0


def test_retry_returns_what_fn_returns():
    eng = _counter("rome+memory:///retry_%s" % uuid.uuid4().hex)
    assert rome.retry(eng, lambda c: c.execute(sa.text("SELECT n + 5 FROM counter")).scalar_one()) == 5
    with pytest.raises(ValueError):
        rome.retry(eng, lambda c: None, attempts=0)

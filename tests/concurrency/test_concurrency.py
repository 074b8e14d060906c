"""Concurrency: no lost update, one winner per race, and a clear conflict error for the loser.

Backends (ROME_CONCURRENCY_BACKENDS, comma-separated; default "lmdb,memory"):
  lmdb    rome+lmdb in a temporary folder, workers in separate processes (spawn)
  memory  rome+memory (a store lives in one process), workers in threads
  etcd    rome+etcd on the cluster ROME_CONC_ETCD_URL names (a prefix of its own per test appended;
          scripts/test.sh starts a throwaway 3-member cluster), workers in separate processes
  sqlite  a sqlite file, workers in processes: only to check these tests themselves. pysqlite's default
          transactions lose updates in the read-modify-write test (about 425 of 600 kept), so that test
          is expected to fail there (xfail, strict) and the race tests must pass.

ROME_CONC_WORKERS (default 4) x ROME_CONC_TX (default 150) read-modify-write transactions; every loop
is bounded in count and time (ROME_CONC_DEADLINE seconds per worker, default 240).
"""
import os
import uuid
from itertools import permutations

import pytest
import sqlalchemy as sa

from .workers import (counter_worker, dbapi_connect, describe, is_conflict, is_integrity,
                      is_operational, make_engine, race_worker, run_parallel)

pytestmark = pytest.mark.concurrency

WORKERS = int(os.environ.get("ROME_CONC_WORKERS", "4"))
TX = int(os.environ.get("ROME_CONC_TX", "150"))
DEADLINE = float(os.environ.get("ROME_CONC_DEADLINE", "240"))
ROUNDS = int(os.environ.get("ROME_CONC_ROUNDS", "25"))
BACKENDS = [b.strip() for b in os.environ.get("ROME_CONCURRENCY_BACKENDS", "lmdb,memory").split(",")
            if b.strip()]


def _backend_params():
    out = []
    for b in BACKENDS:
        marks = [pytest.mark.slow] if b in ("lmdb", "sqlite", "etcd") else []
        out.append(pytest.param(b, marks=marks, id=b))
    return out


@pytest.fixture(params=_backend_params())
def backend(request, tmp_path):
    """(url, mode): mode is 'processes' or 'threads'."""
    name = request.param
    if name == "lmdb":
        return "rome+lmdb:///%s" % (tmp_path / "conc"), "processes"
    if name == "memory":
        return "rome+memory:///conc_%s" % uuid.uuid4().hex, "threads"
    if name == "sqlite":
        return "sqlite:///%s" % (tmp_path / "conc.db"), "processes"
    if name == "etcd":
        base = os.environ.get("ROME_CONC_ETCD_URL")
        if not base:
            pytest.fail("the etcd backend needs ROME_CONC_ETCD_URL (a rome+etcd URL of a running cluster)")
        return "%s%sprefix=conc_%s" % (base, "&" if "?" in base else "/?", uuid.uuid4().hex), "processes"
    raise ValueError("unknown backend %r" % name)


def setup_sql(url, statements):
    conn = dbapi_connect(url)
    try:
        cur = conn.cursor()
        for sql, params in statements:
            cur.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def query(url, sql, params=()):
    conn = dbapi_connect(url)
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        conn.commit()
        return [tuple(r) for r in rows]
    finally:
        conn.close()


def crashes(results):
    return [r["crash"] for r in results if "crash" in r]


# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("via", ["sqlalchemy", "dbapi"])
def test_read_modify_write_keeps_every_increment(backend, via, request):
    url, mode = backend
    if url.startswith("sqlite"):
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="pysqlite's default transactions lose updates (~425/600 kept)"))
    setup_sql(url, [("CREATE TABLE counter (id INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (id))", ()),
                    ("INSERT INTO counter (id, n) VALUES (?, ?)", (1, 0))])
    results = run_parallel(mode, counter_worker, [(url, via, TX, DEADLINE, seed) for seed in range(WORKERS)],
                           timeout=DEADLINE + 120)
    assert not crashes(results), crashes(results)[0]
    done = sum(r["done"] for r in results)
    final = query(url, "SELECT n FROM counter WHERE id = ?", (1,))[0][0]
    summary = ("%d workers x %d: %d committed, final n = %d, %d attempts, %d conflicts, "
               "%d other OperationalErrors" % (
                   WORKERS, TX, done, final, sum(r["attempts"] for r in results),
                   sum(r["conflicts"] for r in results), sum(r["other_operational"] for r in results)))
    print(summary)
    errors = [e for r in results for e in r["errors"]]
    if not url.startswith("sqlite"):
        # on ROME every retried failure must be a ConflictError that says so
        assert not errors, "%s\n%s" % (summary, "\n".join(errors))
    assert done == WORKERS * TX, "not every transaction finished in time or attempts: " + summary
    assert final == WORKERS * TX, "lost updates: " + summary


# ---------------------------------------------------------------------------------------------------
# two connections, one thread: every interleaving of two compare-and-swap transactions

STEPS = ["x1", "c1", "x2", "c2"]
INTERLEAVINGS = sorted({p for p in permutations(STEPS)
                        if p.index("x1") < p.index("c1") and p.index("x2") < p.index("c2")})
CAS = "UPDATE t SET status='b' WHERE id=1 AND status='a'"


@pytest.mark.parametrize("via", ["sqlalchemy", "dbapi"])
def test_compare_and_swap_has_one_winner(backend, via):
    url, _ = backend
    setup_sql(url, [("CREATE TABLE t (id INTEGER NOT NULL, status VARCHAR(16) NOT NULL, PRIMARY KEY (id))",
                     ()), ("INSERT INTO t (id, status) VALUES (?, ?)", (1, "a"))])
    if via == "sqlalchemy":
        eng = make_engine(url, sqlite_timeout=0.1)
        conns = [eng.connect(), eng.connect()]

        def execute(i):
            return conns[i].execute(sa.text(CAS)).rowcount

        def commit(i):
            conns[i].commit()

        def rollback(i):
            conns[i].rollback()
    else:
        eng = None
        conns = [dbapi_connect(url, sqlite_timeout=0.1), dbapi_connect(url, sqlite_timeout=0.1)]

        def execute(i):
            cur = conns[i].cursor()
            cur.execute(CAS)
            return cur.rowcount

        def commit(i):
            conns[i].commit()

        def rollback(i):
            conns[i].rollback()
    problems = []
    try:
        for order in INTERLEAVINGS:
            setup_sql(url, [("UPDATE t SET status='a' WHERE id=1", ())])
            rowcount, failed = [None, None], [None, None]
            for step in order:
                i = int(step[1]) - 1
                if failed[i]:
                    continue
                try:
                    if step[0] == "x":
                        rowcount[i] = execute(i)
                    else:
                        commit(i)
                except Exception as e:
                    failed[i] = e
                    rollback(i)
            winners = [i for i in (0, 1) if failed[i] is None and rowcount[i] == 1]
            status = query(url, "SELECT status FROM t WHERE id = 1")[0][0]
            desc = "%s: rowcounts %s, errors %s, status %r" % (
                " ".join(order), rowcount, [describe(e) if e else None for e in failed], status)
            if len(winners) != 1 or status != "b":
                problems.append("not exactly one winner: " + desc)
                continue
            loser = 1 - winners[0]
            e = failed[loser]
            if e is None:
                if rowcount[loser] != 0:
                    problems.append("loser committed with rowcount %r: %s" % (rowcount[loser], desc))
            elif url.startswith("sqlite"):
                if not is_operational(e):
                    problems.append("unexpected error: " + desc)
            elif not is_conflict(e):
                problems.append("the loser's error is not rome.ConflictError: " + desc)
    finally:
        for c in conns:
            c.close()
        if eng is not None:
            eng.dispose()
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------------
# races between processes (threads for rome+memory): exactly one wins each round

RACE_DDL = {
    "cas": ["CREATE TABLE race (id INTEGER NOT NULL, status VARCHAR(16) NOT NULL, who INTEGER, "
            "PRIMARY KEY (id))"],
    "pk": ["CREATE TABLE race_pk (id INTEGER NOT NULL, who INTEGER, PRIMARY KEY (id))"],
    "unique": ["CREATE TABLE race_uq (id INTEGER NOT NULL, k INTEGER NOT NULL, who INTEGER, "
               "PRIMARY KEY (id))", "CREATE UNIQUE INDEX ix_race_uq_k ON race_uq (k)"],
}


@pytest.mark.parametrize("what,via", [("cas", "dbapi"), ("pk", "dbapi"), ("unique", "dbapi"),
                                      ("unique", "sqlalchemy")])
def test_race_has_one_winner_per_round(backend, what, via):
    url, mode = backend
    stmts = [(s, ()) for s in RACE_DDL[what]]
    if what == "cas":
        stmts += [("INSERT INTO race (id, status) VALUES (?, ?)", (r, "a")) for r in range(1, ROUNDS + 1)]
    setup_sql(url, stmts)
    results = run_parallel(mode, race_worker, [(url, via, what, w, ROUNDS, DEADLINE) for w in (1, 2)],
                           timeout=DEADLINE + 120)
    assert not crashes(results), crashes(results)[0]
    a, b = results[0]["outcomes"], results[1]["outcomes"]
    assert len(a) == len(b) == ROUNDS, "rounds finished: %d and %d of %d" % (len(a), len(b), ROUNDS)
    loser_ok = {"lost", "integrity", "conflict"} if what == "cas" else {"integrity", "conflict"}
    bad = []
    for r, pair in enumerate(zip(a, b), 1):
        if sorted(pair).count("won") != 1 or not (set(pair) - {"won"}) <= loser_ok:
            bad.append("round %d: %s" % (r, pair))
    assert not bad, "%s race on %s via %s:\n%s" % (what, url, via, "\n".join(bad))
    # and the data agrees: one row per round, written by the winner
    if what == "cas":
        rows = query(url, "SELECT id, who FROM race WHERE status = 'b' ORDER BY id")
    elif what == "pk":
        rows = query(url, "SELECT id, who FROM race_pk ORDER BY id")
    else:
        rows = query(url, "SELECT k, who FROM race_uq ORDER BY k")
    expected = [(r, 1 if a[r - 1] == "won" else 2) for r in range(1, ROUNDS + 1)]
    assert rows == expected


def test_conflict_error_is_an_operational_error():
    """ROME's contract: a write conflict is rome.ConflictError, an OperationalError (retry it)."""
    import rome
    assert issubclass(rome.ConflictError, rome.OperationalError)
    assert is_conflict(rome.ConflictError("write conflict"))
    assert not is_integrity(rome.ConflictError("write conflict"))

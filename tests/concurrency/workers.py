"""Workers for the concurrency tests. Plain module-level functions (no pytest), so that processes started
with the 'spawn' method can import them; the same functions run in threads for per-process stores
(rome+memory).

Every worker is bounded: a number of transactions or rounds, a cap on attempts, and a wall-clock
deadline. Each returns a dict of counts and at most a few error messages.
"""
import multiprocessing
import queue
import random
import sqlite3
import threading
import time
import traceback

import sqlalchemy as sa

import rome.dialect  # noqa: F401,E402  (registers the dialects in spawned workers of a source checkout)

BARRIER_TIMEOUT = 60


# ---------------------------------------------------------------------------------------------------
# connections

def sqlite_path(url):
    rest = url.split("://", 1)[1]
    if rest in ("", "/", "/:memory:"):
        return ":memory:"
    return rest[1:] if rest.startswith("/") else rest


def dbapi_module(url):
    if url.startswith("sqlite"):
        return sqlite3
    import rome
    return rome


def dbapi_connect(url, sqlite_timeout=5.0):
    """A PEP 249 connection: rome.connect(url), or sqlite3 for sqlite URLs (to check the tests)."""
    if url.startswith("sqlite"):
        return sqlite3.connect(sqlite_path(url), timeout=sqlite_timeout)
    import rome
    return rome.connect(url)


def make_engine(url, sqlite_timeout=5.0):
    kw = {}
    if url.startswith("sqlite"):
        kw["connect_args"] = {"timeout": sqlite_timeout}
    return sa.create_engine(url, **kw)


def is_conflict(exc):
    """True for ROME's ConflictError (also when wrapped by SQLAlchemy)."""
    exc = getattr(exc, "orig", None) or exc
    return any(c.__name__ == "ConflictError" for c in type(exc).__mro__)


def is_operational(exc):
    exc = getattr(exc, "orig", None) or exc
    return any(c.__name__ == "OperationalError" for c in type(exc).__mro__)


def is_integrity(exc):
    exc = getattr(exc, "orig", None) or exc
    return any(c.__name__ == "IntegrityError" for c in type(exc).__mro__)


def describe(exc):
    orig = getattr(exc, "orig", None) or exc
    return "%s: %s" % (type(orig).__name__, str(orig).splitlines()[0] if str(orig) else "")


# ---------------------------------------------------------------------------------------------------
# running workers in processes or threads

def _proc_entry(q, index, fn, args):
    try:
        q.put((index, fn(*args)))
    except BaseException:
        q.put((index, {"crash": traceback.format_exc()}))


def run_parallel(mode, fn, args_list, timeout):
    """Run fn(barrier, *args) for each args in args_list, in processes ('processes', spawn) or threads;
    return the results in order. A worker that does not report within timeout yields {"crash": ...}."""
    n = len(args_list)
    results = [None] * n
    if mode == "threads":
        barrier = threading.Barrier(n)

        def run(i, args):
            try:
                results[i] = fn(barrier, *args)
            except BaseException:
                results[i] = {"crash": traceback.format_exc()}

        threads = [threading.Thread(target=run, args=(i, a), daemon=True) for i, a in enumerate(args_list)]
        for t in threads:
            t.start()
        end = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, end - time.monotonic()))
        barrier.abort()
    else:
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(n)
        q = ctx.Queue()
        procs = [ctx.Process(target=_proc_entry, args=(q, i, fn, (barrier,) + tuple(a)), daemon=True)
                 for i, a in enumerate(args_list)]
        for p in procs:
            p.start()
        end = time.monotonic() + timeout
        for _ in range(n):
            try:
                i, r = q.get(timeout=max(0.1, end - time.monotonic()))
                results[i] = r
            except queue.Empty:
                break
        for p in procs:
            p.join(max(0.1, end - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(5)
    return [r if r is not None else {"crash": "no report within %ss" % timeout} for r in results]


# ---------------------------------------------------------------------------------------------------
# read-modify-write counter

def counter_worker(barrier, url, via, n_tx, deadline_s, seed, max_sleep=0.0005):
    """n_tx transactions: read n, then write n_read + 1; retried on OperationalError."""
    rnd = random.Random(seed)
    out = {"done": 0, "attempts": 0, "conflicts": 0, "other_operational": 0, "errors": []}
    max_attempts = n_tx * 50
    if via == "sqlalchemy":
        eng = make_engine(url)
        sel = sa.text("SELECT n FROM counter WHERE id = 1")
        upd = sa.text("UPDATE counter SET n = :n WHERE id = 1")

        def transaction():
            with eng.begin() as c:
                n = c.execute(sel).scalar_one()
                time.sleep(rnd.uniform(0, max_sleep))
                c.execute(upd, {"n": n + 1})

        def cleanup():
            eng.dispose()
    else:
        conn = dbapi_connect(url)

        def transaction():
            try:
                cur = conn.cursor()
                cur.execute("SELECT n FROM counter WHERE id = ?", (1,))
                n = cur.fetchone()[0]
                time.sleep(rnd.uniform(0, max_sleep))
                cur.execute("UPDATE counter SET n = ? WHERE id = ?", (n + 1, 1))
                cur.close()
                conn.commit()
            except BaseException:
                try:
                    conn.rollback()
                except Exception:
                    pass
                raise

        def cleanup():
            conn.close()

    barrier.wait(BARRIER_TIMEOUT)
    end = time.monotonic() + deadline_s
    try:
        while out["done"] < n_tx and out["attempts"] < max_attempts and time.monotonic() < end:
            out["attempts"] += 1
            try:
                transaction()
                out["done"] += 1
            except Exception as e:
                if not is_operational(e):
                    raise
                if is_conflict(e):
                    out["conflicts"] += 1
                    msg = str(getattr(e, "orig", e)).lower()
                    if "conflict" not in msg and "concurrent" not in msg and len(out["errors"]) < 3:
                        out["errors"].append("ConflictError does not say it is a conflict: " + describe(e))
                else:
                    out["other_operational"] += 1
                    if len(out["errors"]) < 3:
                        out["errors"].append(describe(e))
    finally:
        cleanup()
    return out


# ---------------------------------------------------------------------------------------------------
# races: each round, every worker tries the same thing at the same moment; exactly one may win

def race_worker(barrier, url, via, what, worker, rounds, deadline_s):
    """what: 'cas' (UPDATE race SET status='b' WHERE id=r AND status='a'), 'pk' (INSERT the same
    primary key), 'unique' (INSERT the same value into a UNIQUE column). One attempt per round, no
    retry. Returns per round: 'won', 'lost' (CAS rowcount 0), 'integrity', 'conflict' or 'error: ...'."""
    outcomes = []
    if what == "cas":
        sql = "UPDATE race SET status='b', who=? WHERE id = ? AND status = 'a'"

        def params(r):
            return (worker, r)
    elif what == "pk":
        sql = "INSERT INTO race_pk (id, who) VALUES (?, ?)"

        def params(r):
            return (r, worker)
    else:
        sql = "INSERT INTO race_uq (id, k, who) VALUES (?, ?, ?)"

        def params(r):
            return (r * 100 + worker, r, worker)

    if via == "sqlalchemy":
        eng = make_engine(url)
        conn = eng.connect()
        stmt = sa.text(sql.replace("?", ":p%d") % tuple(range(sql.count("?"))))

        def attempt(r):
            try:
                res = conn.execute(stmt, {"p%d" % i: v for i, v in enumerate(params(r))})
                rc = res.rowcount
                conn.commit()
                return rc
            except BaseException:
                conn.rollback()
                raise

        def cleanup():
            conn.close()
            eng.dispose()
    else:
        dconn = dbapi_connect(url)

        def attempt(r):
            try:
                cur = dconn.cursor()
                cur.execute(sql, params(r))
                rc = cur.rowcount
                cur.close()
                dconn.commit()
                return rc
            except BaseException:
                try:
                    dconn.rollback()
                except Exception:
                    pass
                raise

        def cleanup():
            dconn.close()

    end = time.monotonic() + deadline_s
    try:
        for r in range(1, rounds + 1):
            if time.monotonic() > end:
                break
            barrier.wait(BARRIER_TIMEOUT)
            try:
                rc = attempt(r)
                outcomes.append("won" if rc == 1 else "lost" if rc == 0 else "error: rowcount %r" % rc)
            except Exception as e:
                if is_integrity(e):
                    outcomes.append("integrity")
                elif is_conflict(e):
                    outcomes.append("conflict")
                elif url.startswith("sqlite") and is_operational(e):
                    outcomes.append("conflict")  # sqlite: 'database is locked' is its way of refusing
                else:
                    outcomes.append("error: " + describe(e))
    finally:
        cleanup()
    return {"outcomes": outcomes}


# ---------------------------------------------------------------------------------------------------
# rome.retry: read-modify-write increments, each a whole transaction run again on a conflict

def retry_counter_worker(barrier, url, via, n_tx, attempts, deadline_s, seed, max_sleep=0.0005):
    """n_tx increments of counter 1 through rome.retry(engine or sessionmaker, fn, attempts). Counts
    the calls that returned, the ones that gave up (a conflict raised after ``attempts`` tries), the
    runs of fn, and the most runs one call took."""
    import rome
    from sqlalchemy.orm import sessionmaker
    rnd = random.Random(seed)
    eng = make_engine(url)
    target = eng if via == "engine" else sessionmaker(eng)
    out = {"done": 0, "gave_up": 0, "runs": 0, "most_runs": 0, "errors": []}
    sel = sa.text("SELECT n FROM counter WHERE id = 1")
    upd = sa.text("UPDATE counter SET n = :n WHERE id = 1")

    def increment(handle):
        runs[0] += 1
        n = handle.execute(sel).scalar_one()
        time.sleep(rnd.uniform(0, max_sleep))
        handle.execute(upd, {"n": n + 1})
        return n + 1

    barrier.wait(BARRIER_TIMEOUT)
    end = time.monotonic() + deadline_s
    try:
        for _ in range(n_tx):
            if time.monotonic() > end:
                break
            runs = [0]
            try:
                rome.retry(target, increment, attempts=attempts, base_delay=0.001, max_delay=0.05)
                out["done"] += 1
            except Exception as e:
                if not is_conflict(e):
                    raise
                out["gave_up"] += 1
            out["runs"] += runs[0]
            out["most_runs"] = max(out["most_runs"], runs[0])
    finally:
        eng.dispose()
    return out

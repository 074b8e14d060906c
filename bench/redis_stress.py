"""Stress test of rome+redis: conflicting transactions from several processes, then clients killed with
SIGKILL in the middle of commits, then a consistency check. Bounded in count and time; loopback only.

usage: python bench/redis_stress.py [--url rome+redis://127.0.0.1:PORT/0] [--procs 4] [--tx 300]
                                    [--kills 8] [--seconds 240]

Without --url it starts its own redis-server (a free loopback port, a temporary directory, no
persistence) and stops it at the end.

Phase 1 (contention): --procs processes x --tx transactions through rome.connect, each one of
  - counter: read a counter row (one of 3), write n+1, and a ledger row, in one transaction;
  - cas:     UPDATE jobs SET status='taken', owner=me WHERE id=? AND status='free' (one of 40 jobs), and
             a ledger row when it took the job;
  - unique:  INSERT a name drawn from a pool shared by all processes (UNIQUE), and a ledger row;
retried on ConflictError (up to 50 times; IntegrityError on a taken name is an answer, not retried).
Checked: every failure is ConflictError or IntegrityError, nothing else; counters = committed
increments = ledger rows; each job taken at most once, by the process that saw rowcount 1 and no one
else; names unique and = committed inserts; no ledger row without its effect and vice versa.

Phase 2 (kill -9): a process commits batches (50 rows with two indexes + a counter += 50 + a ledger row)
in a loop and is killed with SIGKILL at a random moment, --kills times. Checked: rows = counter =
50 x ledger rows (each batch all or nothing), and the consistency check.

Consistency check (check_consistency): for every table of the catalog, every row's index entries
exist with the row's primary key as value (and the row's value, exactly, in an index whose entries carry
rows: rome.encoding.entrycode), every index entry points to an existing row whose indexed
values produce exactly that entry, and no key lies outside the layout.

Prints one line per phase and ends with 'redis-stress: OK ...' (exit 0) or 'redis-stress: FAILED ...'.
"""
import argparse
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))                # the project (a source checkout)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))  # tests/redis_server.py

import rome  # noqa: E402

COUNTERS, JOBS, NAMES, BATCH = 3, 40, 150, 50
SCHEMA = [
    "CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, status VARCHAR(10) NOT NULL, owner INTEGER)",
    "CREATE INDEX ix_jobs_status ON jobs (status)",
    "CREATE TABLE names (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL UNIQUE, worker INTEGER)",
    "CREATE TABLE ledger (id INTEGER PRIMARY KEY, worker INTEGER NOT NULL, kind VARCHAR(10) NOT NULL, "
    "ref INTEGER)",
    "CREATE INDEX ix_ledger_worker ON ledger (worker, kind)",
    "CREATE TABLE batches (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, v VARCHAR(40), "
    "w INTEGER NOT NULL)",
    "CREATE INDEX ix_batches_batch ON batches (batch)",
    "CREATE UNIQUE INDEX ux_batches_v ON batches (v)",
]


# -- consistency -------------------------------------------------------------------------------------

def check_consistency(store):
    """Problems found in the ROME database of ``store`` (an empty list: consistent). Reads everything
    through one Transaction, using the engine's own key layout and row encoding."""
    from rome.encoding.keycode import prefix_end
    from rome.sql import keys
    from rome.sql.catalog import Catalog
    from rome.sql.rows import TableRows
    from rome.storage import Transaction

    problems = []
    txn = Transaction(store)
    try:
        catalog = Catalog.read(txn, txn.get(keys.CATALOG))
        known = []
        for table in catalog.tables.values():
            rows = TableRows(None, table)
            known.append(keys.table_prefix(table.id))
            expected = {}  # index key -> pk encoding
            nrows = 0
            for key, value in txn.scan(rows.prefix, rows.end):
                nrows += 1
                row = rows.decode(value)
                pk_enc = key[len(rows.prefix):]
                if not table.has_rowid and rows.key_of(row) != key:
                    problems.append("%s: row at %r has primary key %r" % (table.name, key, rows.pk_of(row)))
                for info in rows.index_info:   # the primary key, and the row itself when entries carry it
                    expected[rows.index_key(info, row, pk_enc)] = rows.entry_of(info[0], pk_enc, value)
            found = {}
            for ix, _cols, prefix in rows.index_info:
                for key, value in txn.scan(prefix, prefix_end(prefix)):
                    found[key] = value
            for k, pk in expected.items():
                if k not in found:
                    problems.append("%s: index entry %r missing for row %r" % (table.name, k, pk))
                elif found[k] != pk:
                    problems.append("%s: index entry %r holds %r, row is %r" % (table.name, k, found[k], pk))
            for k in found.keys() - expected.keys():
                problems.append("%s: index entry %r without its row (%r)" % (table.name, k, found[k]))
            # nothing else under the table's prefix
            tp = keys.table_prefix(table.id)
            other = [k for k, _ in txn.scan(tp, prefix_end(tp))
                     if not k.startswith(rows.prefix) and not any(k.startswith(p) for _, _, p in rows.index_info)]
            if other:
                problems.append("%s: %d keys outside its rows and indexes" % (table.name, len(other)))
        for k, _ in txn.scan(b"\x01", None):  # every table key belongs to a table of the catalog
            if not any(k.startswith(p) for p in known):
                problems.append("key %r belongs to no table" % (k,))
                break
    finally:
        txn.rollback()
    return problems


# -- phase 1: contention -----------------------------------------------------------------------------

def _retry(conn, body, tries=50):
    """Run body(cursor) in a transaction until it commits. -> (result, conflicts seen), or raises
    IntegrityError (an answer) and anything unexpected."""
    conflicts = 0
    for _ in range(tries):
        cur = conn.cursor()
        try:
            result = body(cur)
            conn.commit()
            return result, conflicts
        except rome.ConflictError:
            conflicts += 1
            conn.rollback()
        except rome.IntegrityError:
            conn.rollback()
            raise
    raise RuntimeError("no commit after %d conflicts" % tries)


def contention_worker(url, me, ntx, seed, deadline, out):
    """One process of phase 1; puts its report (a dict) on ``out``."""
    rnd = random.Random(seed)
    conn = rome.connect(url)
    rep = {"worker": me, "inc": {}, "took": [], "names": [], "conflicts": 0, "integrity": 0,
           "unexpected": [], "tx": 0}
    try:
        for _ in range(ntx):
            if time.time() > deadline:
                break
            kind = rnd.choice(("counter", "cas", "unique"))
            try:
                if kind == "counter":
                    cid = rnd.randrange(COUNTERS)

                    def body(cur, cid=cid):
                        n = cur.execute("SELECT n FROM counters WHERE id = ?", (cid,)).fetchone()[0]
                        cur.execute("UPDATE counters SET n = ? WHERE id = ?", (n + 1, cid))
                        cur.execute("INSERT INTO ledger (worker, kind, ref) VALUES (?, 'inc', ?)", (me, cid))
                    _, c = _retry(conn, body)
                    rep["inc"][cid] = rep["inc"].get(cid, 0) + 1
                elif kind == "cas":
                    jid = rnd.randrange(JOBS)

                    def body(cur, jid=jid):
                        cur.execute("UPDATE jobs SET status = 'taken', owner = ? WHERE id = ? AND status = 'free'",
                                    (me, jid))
                        if cur.rowcount == 1:
                            cur.execute("INSERT INTO ledger (worker, kind, ref) VALUES (?, 'cas', ?)", (me, jid))
                        return cur.rowcount
                    took, c = _retry(conn, body)
                    if took == 1:
                        rep["took"].append(jid)
                else:
                    name = "name-%d" % rnd.randrange(NAMES)

                    def body(cur, name=name):
                        cur.execute("INSERT INTO names (name, worker) VALUES (?, ?)", (name, me))
                        cur.execute("INSERT INTO ledger (worker, kind, ref) VALUES (?, 'name', ?)",
                                    (me, int(name.split("-")[1])))
                    try:
                        _, c = _retry(conn, body)
                        rep["names"].append(name)
                    except rome.IntegrityError:
                        rep["integrity"] += 1
                        c = 0
                rep["conflicts"] += c
                rep["tx"] += 1
            except Exception as e:  # anything but a clean conflict/integrity error is a failure
                rep["unexpected"].append("%s: %s" % (type(e).__name__, e))
                try:
                    conn.rollback()
                except Exception:
                    pass
    finally:
        rep["round_trips"] = conn.store.round_trips
        conn.close()
        out.put(rep)


def setup(url):
    conn = rome.connect(url)
    cur = conn.cursor()
    for t in ("counters", "jobs", "names", "ledger", "batches"):
        cur.execute("DROP TABLE IF EXISTS %s" % t)
    for sql in SCHEMA:
        cur.execute(sql)
    cur.executemany("INSERT INTO counters (id, n) VALUES (?, 0)", [(i,) for i in range(COUNTERS)])
    cur.executemany("INSERT INTO jobs (id, status) VALUES (?, 'free')", [(i,) for i in range(JOBS)])
    conn.commit()
    conn.close()


def contention(url, procs, ntx, seconds):
    """Phase 1. -> (problems, summary line)."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    deadline = time.time() + seconds
    t0 = time.time()
    ps = [ctx.Process(target=contention_worker, args=(url, i + 1, ntx, 1000 + i, deadline, out))
          for i in range(procs)]
    for p in ps:
        p.start()
    reports = [out.get(timeout=seconds + 120) for _ in ps]
    for p in ps:
        p.join(30)
    elapsed = time.time() - t0
    problems = []
    for r in reports:
        problems += ["worker %d: %s" % (r["worker"], u) for u in r["unexpected"]]
    conn = rome.connect(url)
    cur = conn.cursor()
    counters = dict(cur.execute("SELECT id, n FROM counters").fetchall())
    inc = {c: sum(r["inc"].get(c, 0) for r in reports) for c in range(COUNTERS)}
    if counters != inc:
        problems.append("counters %r, committed increments %r" % (counters, inc))
    ledger = cur.execute("SELECT worker, kind, ref FROM ledger").fetchall()
    led_inc = sum(1 for _, k, _ in ledger if k == "inc")
    if led_inc != sum(inc.values()):
        problems.append("ledger has %d increments, counters %d" % (led_inc, sum(inc.values())))
    taken = dict(cur.execute("SELECT id, owner FROM jobs WHERE status = 'taken'").fetchall())
    reported = {}
    for r in reports:
        for j in r["took"]:
            if j in reported:
                problems.append("job %d taken by workers %d and %d" % (j, reported[j], r["worker"]))
            reported[j] = r["worker"]
    if taken != reported:
        problems.append("jobs taken %r, reported %r" % (taken, reported))
    led_cas = {ref: w for w, k, ref in ledger if k == "cas"}
    if led_cas != taken:
        problems.append("ledger cas %r != jobs %r" % (led_cas, taken))
    names = cur.execute("SELECT name, worker FROM names").fetchall()
    if len(names) != len({n for n, _ in names}):
        problems.append("duplicate names")
    rep_names = sorted((n, r["worker"]) for r in reports for n in r["names"])
    if sorted(names) != rep_names:
        problems.append("names %d in table, %d reported" % (len(names), len(rep_names)))
    led_names = sorted(("name-%d" % ref, w) for w, k, ref in ledger if k == "name")
    if led_names != sorted(names):
        problems.append("ledger names != names table")
    problems += check_consistency(conn.store)
    conn.close()
    tx = sum(r["tx"] for r in reports)
    line = ("contention: %d processes, %d transactions in %.1f s (%d conflicts retried, %d unique "
            "violations, %d jobs taken, %d increments, %d names), %d round trips"
            % (procs, tx, elapsed, sum(r["conflicts"] for r in reports), sum(r["integrity"] for r in reports),
               len(taken), sum(inc.values()), len(names), sum(r["round_trips"] for r in reports)))
    return problems, line


# -- phase 2: kill -9 --------------------------------------------------------------------------------

def batch_worker(url, start_batch):
    """Commit batches forever (until killed): BATCH rows, the counter += BATCH, a ledger row."""
    conn = rome.connect(url)
    cur = conn.cursor()
    b = start_batch
    while True:
        try:
            cur.executemany("INSERT INTO batches (batch, v, w) VALUES (?, ?, ?)",
                            [(b, "v-%d-%d" % (b, i), i) for i in range(BATCH)])
            n = cur.execute("SELECT n FROM counters WHERE id = 0").fetchone()[0]
            cur.execute("UPDATE counters SET n = ? WHERE id = 0", (n + BATCH,))
            cur.execute("INSERT INTO ledger (worker, kind, ref) VALUES (0, 'batch', ?)", (b,))
            conn.commit()
        except rome.ConflictError:
            conn.rollback()
        b += 1


def kill_nine(url, kills, seconds, seed=7):
    """Phase 2. -> (problems, summary line)."""
    rnd = random.Random(seed)
    conn = rome.connect(url)
    cur = conn.cursor()
    cur.execute("DELETE FROM batches")
    cur.execute("DELETE FROM ledger WHERE kind = 'batch'")
    cur.execute("UPDATE counters SET n = 0 WHERE id = 0")
    conn.commit()
    ctx = multiprocessing.get_context("spawn")
    deadline = time.time() + seconds
    done = 0
    for k in range(kills):
        if time.time() > deadline:
            break
        p = ctx.Process(target=batch_worker, args=(url, 1000000 * (k + 1)))
        p.start()
        time.sleep(0.8 + rnd.random() * 0.7)  # the child imports, connects, then commits in a loop
        os.kill(p.pid, signal.SIGKILL)
        p.join(10)
        done += 1
    problems = []
    cur = conn.cursor()
    rows = cur.execute("SELECT count(*) FROM batches").fetchone()[0]
    counter = cur.execute("SELECT n FROM counters WHERE id = 0").fetchone()[0]
    ledger = cur.execute("SELECT count(*) FROM ledger WHERE kind = 'batch'").fetchone()[0]
    per = cur.execute("SELECT batch, count(*) FROM batches GROUP BY batch").fetchall()
    if not (rows == counter == BATCH * ledger):
        problems.append("after kill -9: %d rows, counter %d, %d ledger batches" % (rows, counter, ledger))
    partial = [b for b, n in per if n != BATCH]
    if partial:
        problems.append("partial batches: %r" % partial[:5])
    problems += check_consistency(conn.store)
    conn.close()
    return problems, "kill -9: %d clients killed during commits; %d batches committed whole (%d rows)" % (
        done, ledger, rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url")
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--tx", type=int, default=300)
    ap.add_argument("--kills", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=240, help="time bound of each phase")
    a = ap.parse_args(argv)
    server = None
    url = a.url
    if url is None:
        from redis_server import RedisServer
        server = RedisServer(tempfile.mkdtemp(prefix="rome-redis-stress-")).start()
        url = server.url(prefix="stress")
    try:
        setup(url)
        problems, line = contention(url, a.procs, a.tx, a.seconds)
        print(line, flush=True)
        p2, line2 = kill_nine(url, a.kills, a.seconds)
        print(line2, flush=True)
        problems += p2
    finally:
        if server is not None:
            server.stop()
    for p in problems[:30]:
        print("  problem:", p)
    if problems:
        print("redis-stress: FAILED (%d problems)" % len(problems))
        return 1
    print("redis-stress: OK (%d processes x %d transactions, %d kills)" % (a.procs, a.tx, a.kills))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ROME against sqlite on the same SQLAlchemy workload, in one run, at two table sizes.

usage: python bench/bench_engine.py [--url URL ...] [--peer URL] [--sizes 1000,50000] [--reps 200]
                                    [--write-reps 200] [--quick] [--check]

URLs are templates: {tmp} is a fresh temporary folder, {n} the table size (a fresh database per size).
Defaults: --url rome+lmdb:///{tmp}/rome-{n} --url rome+memory:///bench-{n}; --peer sqlite:///{tmp}/sqlite-{n}.db
(a sqlite file, pysqlite defaults). `--url 'sqlite:///{tmp}/other-{n}.db'` runs sqlite against itself, which
shows the noise of the machine (ratios should read ~1.0).

For each op it prints the median microseconds per operation on sqlite and on the URL at both sizes, the
ratio URL/sqlite (lower is better; 1.0 = as fast as sqlite) and the growth large/small (1.0 = the cost does
not depend on the table size, as it should for indexed work; ~50 = a full scan). Bulk insert is rows/s
and its ratio is URL/sqlite (higher is better). The floors of the engine issue are checked at the end:
growth <= 2 for PK and indexed queries, every op <= 2x sqlite's time, bulk insert >= 0.5x sqlite's rows/s.
--check makes the exit status 1 when a floor is missed. See bench/README.md.
"""
import argparse
import datetime as dt
import gc
import platform
import random
import statistics
import sys
import tempfile
import time

import sqlalchemy as sa

md = sa.MetaData()
items = sa.Table(
    "items", md,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("size", sa.BigInteger),
    sa.Column("name", sa.String(64)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_items_owner_created", "owner", "created_at"),
    sa.Index("ix_items_created", "created_at"),
)
T0 = dt.datetime(2024, 1, 1)
OWNERS = 20                     # 50 rows per owner at 1,000 rows: every page is full (25)
BATCH = 1000

READ_OPS = ["pk get", "indexed page", "pk range (40 rows)", "index range (40 rows)"]
WRITE_OPS = ["insert (1 row/tx)", "update (1 row/tx)"]
GROWTH_OPS = ["pk get", "indexed page"]          # the growth floor applies to these


def row(i, n):
    return {"id": i, "owner": "o%d" % (i % OWNERS), "status": "s%d" % (i % 20), "size": i * 7,
            "name": "item-%d" % i, "created_at": T0 + dt.timedelta(seconds=(i * 7919) % n)}


def load(urls, n):
    """A fresh items table with n rows in each URL's database: batches of 1000 rows (executemany), one
    transaction per database, the batches of the databases interleaved (alternating which goes first)
    so that all see the same machine. Returns [(engine, rows/s)]."""
    engines = [sa.create_engine(u) for u in urls]
    for eng in engines:
        md.drop_all(eng)
        md.create_all(eng)
    conns = [eng.connect() for eng in engines]
    spent = [0.0] * len(engines)
    gc.collect()
    for b, start in enumerate(range(1, n + 1, BATCH)):
        rows = [row(i, n) for i in range(start, min(n, start + BATCH - 1) + 1)]
        for j in (range(len(conns)) if b % 2 == 0 else reversed(range(len(conns)))):
            t = time.perf_counter()
            conns[j].execute(items.insert(), rows)
            spent[j] += time.perf_counter() - t
    for j, c in enumerate(conns):
        t = time.perf_counter()
        c.commit()
        spent[j] += time.perf_counter() - t
        c.close()
    return [(eng, n / t) for eng, t in zip(engines, spent)]


def read_queries(n, rnd, reps):
    """For each read op, reps (statement, parameters) with varying keys."""
    ids = [rnd.randint(1, n) for _ in range(reps)]
    owners = ["o%d" % rnd.randrange(OWNERS) for _ in range(reps)]
    secs = [rnd.randint(0, max(0, n - 40)) for _ in range(reps)]
    bid = sa.bindparam("id", type_=sa.Integer)
    return {
        "pk get": (sa.select(items).where(items.c.id == bid), [{"id": i} for i in ids]),
        "indexed page": (sa.select(items).where(items.c.owner == sa.bindparam("o"))
                         .order_by(items.c.created_at.desc()).limit(25), [{"o": o} for o in owners]),
        "pk range (40 rows)": (sa.select(items.c.id, items.c.size).where(
            items.c.id.between(sa.bindparam("lo"), sa.bindparam("hi"))),
            [{"lo": min(i, n - 39), "hi": min(i, n - 39) + 39} for i in ids]),
        "index range (40 rows)": (sa.select(items.c.id, items.c.created_at).where(
            items.c.created_at.between(sa.bindparam("a"), sa.bindparam("b"))),
            [{"a": T0 + dt.timedelta(seconds=s), "b": T0 + dt.timedelta(seconds=s + 39)} for s in secs]),
    }


def median_us(samples):
    return statistics.median(samples) * 1e6


def interleave(conns, work):
    """Time work(conn, i) for i in range(len) on every connection, alternating which goes first, so
    that both engines see the same machine (disk flushes, other load) at the same moments."""
    samples = [[] for _ in conns]
    for i in range(work.count):
        order = range(len(conns)) if i % 2 == 0 else reversed(range(len(conns)))
        for j in order:
            t = time.perf_counter()
            work(conns[j], i, j)
            samples[j].append(time.perf_counter() - t)
    return [median_us(x) for x in samples]


class Work:
    def __init__(self, count, fn):
        self.count = count
        self.fn = fn

    def __call__(self, conn, i, j):
        self.fn(conn, i, j)


def run_ops(engines, n, reps, write_reps, seed):
    """{op: [median us per engine]} for the read and write ops, interleaved between the engines."""
    rnd = random.Random(seed)
    out = {}
    conns = [e.connect() for e in engines]
    try:
        for name, (stmt, params) in read_queries(n, rnd, reps).items():
            for c in conns:
                for p in params[:5]:  # warm up: statement cache, plan cache, pages
                    c.execute(stmt, p).fetchall()
                    c.commit()
            gc.collect()

            def read(c, i, j, stmt=stmt, params=params):
                c.execute(stmt, params[i]).fetchall()
                c.commit()  # a read transaction begun and ended, as an application does
            out[name] = interleave(conns, Work(len(params), read))
        ins = items.insert()

        def insert(c, i, j):
            c.execute(ins, row(n + 1 + i, n))
            c.commit()
        gc.collect()
        out["insert (1 row/tx)"] = interleave(conns, Work(write_reps, insert))
        upd = items.update().where(items.c.id == sa.bindparam("k")).values(size=items.c.size + 1)
        keys = [rnd.randint(1, n) for _ in range(write_reps)]

        def update(c, i, j):
            c.execute(upd, {"k": keys[i]})
            c.commit()
        gc.collect()
        out["update (1 row/tx)"] = interleave(conns, Work(write_reps, update))
    finally:
        for c in conns:
            c.close()
    return out


def measure(peer_template, template, tmp, sizes, reps, write_reps):
    """(peer, candidate): {size: {op: us, 'bulk insert rows/s': r}} for one URL template."""
    peer, res = {}, {}
    # warm up (imports, first compilations) before timing loads
    for eng, _ in load([t.format(tmp=tmp, n="warmup") for t in (peer_template, template)], BATCH):
        eng.dispose()
    for n in sizes:
        (peer_eng, peer_rate), (eng, rate) = load(
            [peer_template.format(tmp=tmp, n=n), template.format(tmp=tmp, n=n)], n)
        ops = run_ops([peer_eng, eng], n, reps, write_reps, seed=n)
        peer[n] = {op: v[0] for op, v in ops.items()}
        res[n] = {op: v[1] for op, v in ops.items()}
        peer[n]["bulk insert rows/s"] = peer_rate
        res[n]["bulk insert rows/s"] = rate
        eng.dispose()
        peer_eng.dispose()
    return peer, res


def label(template):
    return template.split(":", 1)[0]


def report(template, res, peer, sizes):
    small, large = sizes[0], sizes[-1]
    name = label(template)
    print("\n== %s  (vs sqlite peer)" % template)
    print("%-24s %11s %11s %11s %11s %8s %8s %8s %8s" % (
        "op (median us)", "sqlite@%s" % _k(small), "url@%s" % _k(small), "sqlite@%s" % _k(large),
        "url@%s" % _k(large), "ratio@%s" % _k(small), "ratio@%s" % _k(large), "growth", "sq.grow"))
    worst_ratio, worst_growth, misses = (0, ""), (0, ""), []
    for op in READ_OPS + WRITE_OPS:
        s1, u1, s2, u2 = peer[small][op], res[small][op], peer[large][op], res[large][op]
        r1, r2, g, sg = u1 / s1, u2 / s2, u2 / u1, s2 / s1
        print("%-24s %11.0f %11.0f %11.0f %11.0f %8.2f %8.2f %8.2f %8.2f" % (op, s1, u1, s2, u2, r1, r2, g, sg))
        worst_ratio = max(worst_ratio, (max(r1, r2), op))
        if op in GROWTH_OPS:
            worst_growth = max(worst_growth, (g, op))
            if g > 2.0:
                misses.append("growth of %s is %.2f (floor 2, aim 1.3)" % (op, g))
        if max(r1, r2) > 2.0:
            misses.append("%s takes %.2fx sqlite's time (floor 2, aim 1.2)" % (op, max(r1, r2)))
    bulk = res[large]["bulk insert rows/s"] / peer[large]["bulk insert rows/s"]
    print("%-24s %11.0f %11.0f %11.0f %11.0f %8.2f %8.2f   (rows/s; ratio: higher is better)" % (
        "bulk insert rows/s", peer[small]["bulk insert rows/s"], res[small]["bulk insert rows/s"],
        peer[large]["bulk insert rows/s"], res[large]["bulk insert rows/s"],
        res[small]["bulk insert rows/s"] / peer[small]["bulk insert rows/s"], bulk))
    if bulk < 0.5:
        misses.append("bulk insert at %.2fx sqlite's rows/s (floor 0.5)" % bulk)
    for m in misses:
        print("  MISSED FLOOR: " + m)
    print("bench %s: worst ratio %.2f (%s), worst growth %.2f (%s), bulk insert %.2fx sqlite, %s" % (
        name, worst_ratio[0], worst_ratio[1], worst_growth[0], worst_growth[1], bulk,
        "floors met" if not misses else "%d floor(s) missed" % len(misses)))
    return not misses


def _k(n):
    return "%dk" % (n // 1000) if n % 1000 == 0 else str(n)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", action="append", help="URL template to measure (repeatable)")
    ap.add_argument("--peer", default="sqlite:///{tmp}/sqlite-{n}.db", help="the reference URL template")
    ap.add_argument("--sizes", default="1000,50000")
    ap.add_argument("--reps", type=int, default=200, help="timed executions per read op")
    ap.add_argument("--write-reps", type=int, default=200, help="timed transactions per write op")
    ap.add_argument("--quick", action="store_true", help="sizes 1000,10000 and 50 reps (a smoke run)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a floor is missed")
    a = ap.parse_args(argv)
    urls = a.url or ["rome+lmdb:///{tmp}/rome-{n}", "rome+memory:///bench-{n}"]
    if a.quick:
        a.sizes, a.reps, a.write_reps = "1000,10000", 50, 50
    sizes = sorted(int(s) for s in a.sizes.split(","))
    tmp = tempfile.mkdtemp(prefix="rome-bench-")
    print("ROME bench: python %s, SQLAlchemy %s, %s; sizes %s; %d reads / %d write transactions per op; "
          "tmp %s" % (platform.python_version(), sa.__version__, platform.machine(),
                      "/".join(map(str, sizes)), a.reps, a.write_reps, tmp))
    print("peer: %s (measured again beside each URL, operations interleaved)" % a.peer)
    ok = True
    for template in urls:
        try:
            peer, res = measure(a.peer, template, tmp, sizes, a.reps, a.write_reps)
        except Exception as e:  # one URL failing must not hide the others
            print("\n== %s\n  FAILED: %s: %s" % (template, type(e).__name__, e))
            ok = False
            continue
        ok = report(template, res, peer, sizes) and ok
    return 0 if ok or not a.check else 1


if __name__ == "__main__":
    sys.exit(main())

"""Glance's DB API operations on ROME (LMDB) against a sqlite file, in the same run: per-operation ratio.

Runs ``../shared/checks/glance_dbops.py`` (Glance's own ``glance.db.sqlalchemy.api``: image_get, list
pages, property filter, update, create; median microseconds over 100 calls after 300 images) on
``rome+lmdb`` and on ``sqlite``, alternating the two ``--rounds`` times in fresh folders, and prints,
per operation, each engine's best median and the ratio ROME/sqlite (below 1: ROME faster). The issue's
bar is <= 2x per operation (aim <= 1.2x). The machine's other load moves absolute times; the best of
several alternating rounds keeps the ratio meaningful.

``--redis`` adds rome+redis on a throwaway redis-server (tests/redis_server.py), through the check's
TCP proxy, which counts the requests sent to the store per operation: the issue's floor is 3 round
trips per operation (aim: 1 per read, 2 per write); PostgreSQL 15 needs 4-10 here.

usage (from the repository root, with the peers venv, which has Glance):
    .peers-venv/bin/python bench/glance_dbops.py [--rounds 3] [--images 300] [--checks ../shared/checks] [--redis]
Last lines: 'glance-dbops ratio rome+lmdb/sqlite: worst R (OPERATION)', and with --redis
'glance-dbops rome+redis: worst N round trips (OPERATION)'.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = re.compile(r"^(?P<op>\S.*?)\s+(?P<us>\d+) us(\s+(?P<rt>[\d.]+) round trips)?")
ENGINES = [("rome+lmdb", "rome+lmdb:///rome"), ("sqlite", "sqlite:///glance.db")]


def run_once(script, url, images, python, timeout, store=()):
    """One glance_dbops.py run in a fresh folder (its URLs are relative): {operation: median us}, and
    with ``store`` (host, port: the proxied store) {operation: median round trips} too."""
    with tempfile.TemporaryDirectory(prefix="glance-dbops-") as d:
        proc = subprocess.run([python, script, url, *map(str, store), "--images", str(images)], cwd=d,
                              timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit("glance_dbops.py %s failed (%d):\n%s" % (url, proc.returncode, proc.stderr[-3000:]))
    out, trips = {}, {}
    for line in proc.stdout.splitlines():
        m = LINE.match(line)
        if m and not line.startswith("glance-dbops"):
            out[m.group("op")] = int(m.group("us"))
            if m.group("rt"):
                trips[m.group("op")] = float(m.group("rt"))
    return (out, trips) if store else out


def redis_round_trips(script, images, python, timeout):
    """The operations on rome+redis through the check's proxy: {operation: (median us, round trips)}."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from redis_server import RedisServer
    with tempfile.TemporaryDirectory(prefix="glance-dbops-redis-") as d, RedisServer(d) as server:
        url = "rome+redis://127.0.0.1:{port}/0?prefix=dbops"
        times, trips = run_once(script, url, images, python, timeout, ("127.0.0.1", server.port))
    return {op: (times[op], trips[op]) for op in times}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs per engine (default 3)")
    ap.add_argument("--images", type=int, default=300, help="images created first (default 300)")
    ap.add_argument("--checks", default=os.path.join(ROOT, "..", "shared", "checks"),
                    help="folder of glance_dbops.py (default ../shared/checks)")
    ap.add_argument("--python", default=sys.executable, help="interpreter with Glance (the peers venv)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per run (default 600)")
    ap.add_argument("--redis", action="store_true", help="also count round trips on rome+redis")
    a = ap.parse_args()
    script = os.path.abspath(os.path.join(a.checks, "glance_dbops.py"))
    if not os.path.exists(script):
        raise SystemExit("no %s (pass --checks)" % script)

    runs = {name: [] for name, _ in ENGINES}
    t0 = time.time()
    for r in range(a.rounds):
        for name, url in (ENGINES if r % 2 == 0 else ENGINES[::-1]):
            res = run_once(script, url, a.images, a.python, a.timeout)
            runs[name].append(res)
            print("round %d %-9s %s" % (r + 1, name, "  ".join("%s=%d" % (op.split(" (")[0], us)
                                                                for op, us in res.items())), flush=True)
    ops = list(runs["sqlite"][0])
    best = {name: {op: min(run[op] for run in rs) for op in ops} for name, rs in runs.items()}
    print()
    print("%-34s %12s %12s %8s" % ("operation (best median of %d)" % a.rounds, "rome+lmdb", "sqlite",
                                   "ratio"))
    worst = (0, None)
    for op in ops:
        ratio = best["rome+lmdb"][op] / best["sqlite"][op]
        worst = max(worst, (ratio, op))
        print("%-34s %9d us %9d us %7.2fx" % (op, best["rome+lmdb"][op], best["sqlite"][op], ratio))
    print("(%d rounds in %.0f s; ratio = ROME / sqlite, below 1 is ROME faster; the bar is 2x, the aim 1.2x)"
          % (a.rounds, time.time() - t0))
    print("glance-dbops ratio rome+lmdb/sqlite: worst %.2f (%s)" % worst)
    if a.redis:
        res = redis_round_trips(script, a.images, a.python, a.timeout)
        print()
        print("%-34s %12s %12s" % ("operation on rome+redis", "median", "round trips"))
        for op, (us, rt) in res.items():
            print("%-34s %9d us %12.1f" % (op, us, rt))
        rt, op = max((rt, op) for op, (_us, rt) in res.items())
        print("glance-dbops rome+redis: worst %.1f round trips (%s); the floor is 3" % (rt, op))


if __name__ == "__main__":
    main()

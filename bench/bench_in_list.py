"""One statement with a long IN list of parameters, ROME against sqlite3, measured in the same run.

    python bench/bench_in_list.py                    # 100,000 parameters, 3 rounds, rome+memory
    python bench/bench_in_list.py --params 10000 --rounds 5 --url 'rome+lmdb:///{tmp}/db'
    python bench/bench_in_list.py --column k         # a column without an index: a filter per row
    python bench/bench_in_list.py --literals         # IN (0, 2, 4, ...): constants written in the text

Each round runs `SELECT id FROM t WHERE <column> IN (?, ?, ...)` once on each side, alternating which
goes first, as a new SQL text each time (a trailing space per round: no cached parse or plan, as with
SQLAlchemy's expanding IN, which makes a new text per list length). The column is the INTEGER PRIMARY
KEY (`id`, probed by key) or `k`, an INTEGER column without an index. Prints each side's median and
the ratio of the medians.
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rome  # noqa: E402


def setup(conn, rows):
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v TEXT)")
    cur.executemany("INSERT INTO t (id, k, v) VALUES (?, ?, ?)", [(i, i, "v%d" % i) for i in range(rows)])
    conn.commit()


def timed(conn, sql, params):
    t = time.perf_counter()
    n = len(conn.cursor().execute(sql, params).fetchall())
    conn.commit()
    return time.perf_counter() - t, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", type=int, default=100000)
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--url", default="rome+memory:///bench-in-list")
    ap.add_argument("--column", choices=("id", "k"), default="id", help="id: the primary key; k: no index")
    ap.add_argument("--literals", action="store_true", help="the values as constants in the text")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rome-bench-")
    ref = sqlite3.connect(os.path.join(tmp, "ref.db"))
    sut = rome.connect(a.url.replace("{tmp}", tmp))
    setup(ref, a.rows)
    setup(sut, a.rows)
    params = list(range(0, 2 * a.params, 2))
    items = ", ".join(map(str, params)) if a.literals else ", ".join("?" * a.params)
    base = "SELECT id FROM t WHERE %s IN (%s)" % (a.column, items)
    params = () if a.literals else params
    times = {"sqlite3": [], "rome": []}
    for r in range(a.rounds):
        sql = base + " " * r
        sides = [("sqlite3", ref), ("rome", sut)]
        for name, conn in (sides if r % 2 == 0 else sides[::-1]):
            dt, n = timed(conn, sql, params)
            times[name].append(dt)
        print("round %d: sqlite3 %.3f s, rome %.3f s (%d rows)" % (r + 1, times["sqlite3"][-1], times["rome"][-1], n))
    m = {k: statistics.median(v) for k, v in times.items()}
    print("IN list of %d %s on %s, %d rounds: median sqlite3 %.4f s, rome %.4f s, ratio rome/sqlite3 %.1f"
          % (a.params, "literals" if a.literals else "parameters", a.column, a.rounds, m["sqlite3"], m["rome"],
             m["rome"] / m["sqlite3"]))
    ref.close()
    sut.close()
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

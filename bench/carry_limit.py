"""What an index entry's copy of its row costs and saves, by row size: the measurement behind
rome.encoding.entrycode.ROW_LIMIT.

For each row size, two LMDB databases with the same table (an indexed column, a payload column) and
rows: one whose entries carry rows (the limit raised above every row), one whose entries hold the
primary key only (limit 0: the layout before). Alternated over ``--rounds``, each times an index range
read (SELECT * of 40 rows through the index) and an UPDATE of the payload (one row per transaction),
and prints per size the medians and the ratio carrying / pk-only (below 1: carrying is faster).

usage: python bench/carry_limit.py [--sizes 200,1000,1500,4000] [--rounds 3] [--rows 2000]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import rome  # noqa: E402
from rome.encoding import entrycode  # noqa: E402


def build(path, size, rows, carry):
    entrycode.ROW_LIMIT = 1 << 30 if carry else 0
    c = rome.connect("rome+lmdb:///" + path)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, payload TEXT)")
    c.execute("CREATE INDEX ix_k ON t (k)")
    c.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, i, "x" * size) for i in range(rows)])
    c.commit()
    return c


def measure(c, size, rows, carry, reps=200):
    entrycode.ROW_LIMIT = 1 << 30 if carry else 0
    t0 = time.perf_counter()
    for i in range(reps):
        lo = (i * 7919) % (rows - 40)
        assert len(c.execute("SELECT * FROM t WHERE k BETWEEN ? AND ?", (lo, lo + 39)).fetchall()) == 40
        c.commit()
    read = (time.perf_counter() - t0) / reps * 1e6
    t0 = time.perf_counter()
    for i in range(reps):
        c.execute("UPDATE t SET payload = ? WHERE id = ?", ("%d" % i + "y" * (size - 8), (i * 31) % rows))
        c.commit()
    write = (time.perf_counter() - t0) / reps * 1e6
    return read, write


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="200,1000,1500,4000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", type=int, default=2000)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rome-carry-")
    print("size  read us carrying / pk-only (ratio)   update us carrying / pk-only (ratio)")
    for size in map(int, a.sizes.split(",")):
        conns = {carry: build(os.path.join(tmp, "%d-%s" % (size, carry)), size, a.rows, carry)
                 for carry in (True, False)}
        for carry, c in conns.items():   # warm up (imports, plans, the first pages of LMDB)
            measure(c, size, a.rows, carry, 20)
        got = {True: [], False: []}
        for r in range(a.rounds):
            for carry in ((True, False) if r % 2 == 0 else (False, True)):
                got[carry].append(measure(conns[carry], size, a.rows, carry))
        med = {carry: [statistics.median(x[i] for x in got[carry]) for i in (0, 1)] for carry in got}
        print("%5d  %7.0f / %7.0f (%.2f)            %7.0f / %7.0f (%.2f)" % (
            size, med[True][0], med[False][0], med[True][0] / med[False][0],
            med[True][1], med[False][1], med[True][1] / med[False][1]))
        for c in conns.values():
            c.close()


if __name__ == "__main__":
    main()

"""Connections in different threads are independent (PEP 249 threadsafety 1): several threads, each
with its own connection to one store, run the differential test's queries at once and must each get
sqlite3's rows and column names.

Sessions on one catalog share its planner and cached plans, so any per-statement state kept on them
shows up here as another statement's result or column names. Most items are written without AS, so
that their names are SQLite's text of them (the column names come from planning); each query is sent
in several copies that differ in trailing spaces, so that the threads plan many statements at once.
Thread switches are made frequent to give every interleaving a chance.
"""
import os
import sys
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .generators import queries, schemas
from .harness import open_under_test, rows_equal
from .test_differential import SETTINGS, Pair, url  # noqa: F401 (url: the fixture)

EXAMPLES = int(os.environ.get("ROME_DIFF_THREAD_EXAMPLES", "4"))

pytestmark = pytest.mark.differential

THREADS = 4
PER_THREAD = int(os.environ.get("ROME_DIFF_THREAD_QUERIES", "8"))
VARIANTS = 12   # copies of each query differing in trailing spaces: planned anew, concurrently
FAMILY = 150    # per thread: "SELECT t0.id + N, 'AN' || t0.id FROM t0", N distinct, names the text
ROUNDS = 2


def run_in_threads(url, work):
    """work[i]: [(sql, params, ordered, expected rows, expected names)] for thread i; -> failures."""
    failures = []
    start = threading.Barrier(len(work))

    def thread(items):
        side = open_under_test(url)
        try:
            start.wait()
            for _ in range(ROUNDS):
                for sql, params, ordered, rows, names in items:
                    try:
                        got, _, got_names = side.execute(sql, params)
                    except Exception as e:
                        failures.append("%s raised %r" % (sql, e))
                        continue
                    if got_names != names:
                        failures.append("%s: column names %r, sqlite3 %r" % (sql, got_names, names))
                    elif not rows_equal(rows, got, ordered):
                        failures.append("%s: rows %r, sqlite3 %r" % (sql, got[:5], rows[:5]))
                side.rollback()
        finally:
            side.close()

    threads = [threading.Thread(target=thread, args=(items,)) for items in work]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(5e-5)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    return failures


@settings(SETTINGS, max_examples=EXAMPLES)
@given(data=st.data())
def test_threads_get_sqlite_rows_and_names(url, data):
    schema = data.draw(schemas(), label="schema")
    with Pair(url, schema) as pair:
        pair.create()
        pair.load(data)
        pool = pair.pool()
        work = []
        for i in range(THREADS):
            items = []
            for j in range(PER_THREAD):
                sql, params, ordered = data.draw(queries(schema, pool, unnamed=True),
                                                 label="thread %d query %d" % (i, j))
                rows, _, names = pair.ref.execute(sql, params)
                items += [(sql + " " * (1 + i + THREADS * k), params, ordered, rows, names)
                          for k in range(VARIANTS)]
            family = []
            for k in range(FAMILY):
                n = 1000 + i * FAMILY + k    # same length: a name cut from another statement fits
                sql = "SELECT t0.id + %d, 'A%d' || t0.id FROM t0" % (n, n)
                rows, _, names = pair.ref.execute(sql)
                family.append((sql, (), False, rows, names))
            work.append(family + items)
        failures = run_in_threads(url, work)
        assert not failures, "%d of %d statements differ, e.g.\n  %s" % (
            len(failures), sum(map(len, work)) * ROUNDS, "\n  ".join(failures[:5]))

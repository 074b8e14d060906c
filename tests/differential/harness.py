"""The two sides of the differential test: sqlite3 (the reference) and the engine under test.

The engine under test is chosen by ``ROME_TEST_URL`` (default ``rome+memory://``):

- ``rome+...`` URLs are opened with ``rome.connect(url)`` (ROME's PEP 249 module);
- ``sqlite://`` (in memory) or ``sqlite:///path`` open Python's sqlite3 as the "engine under test",
  which validates the harness itself (every comparison must then pass).

``{tmp}`` in the URL is replaced by a per-session temporary folder, e.g.
``ROME_TEST_URL='rome+lmdb:///{tmp}/diff'``.

Both sides get SQL text compiled by SQLAlchemy's SQLite compiler (qmark parameters), run through their
own PEP 249 ``Cursor.execute``/``executemany``, and are compared with :func:`rows_equal`.
"""
import math
import os
import sqlite3

from sqlalchemy.dialects import sqlite as sqlite_dialect

DIALECT = sqlite_dialect.dialect()
DEFAULT_URL = "rome+memory://"
TABLE_NAMES = ("t0", "t1", "t2")  # what the generators create; dropped child-first


def url_under_test(tmpdir=None):
    url = os.environ.get("ROME_TEST_URL", DEFAULT_URL)
    if "{tmp}" in url:
        if tmpdir is None:
            raise ValueError("ROME_TEST_URL uses {tmp} but no temporary folder was given")
        url = url.replace("{tmp}", str(tmpdir))
    return url


def _sqlite_path(url):
    """sqlite:// -> :memory:, sqlite:///rel -> rel, sqlite:////abs -> /abs (as SQLAlchemy reads them)."""
    rest = url.split("://", 1)[1]
    if rest in ("", "/", "/:memory:"):
        return ":memory:"
    return rest[1:] if rest.startswith("/") else rest


class Side:
    """One PEP 249 connection plus the module it came from (for its exception classes)."""

    def __init__(self, name, module, conn):
        self.name = name
        self.module = module
        self.conn = conn

    def execute(self, sql, params=()):
        """Run one statement; return (rows or None, rowcount, column names or None)."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params)
            if cur.description is not None:
                names = [d[0] for d in cur.description]
                return [tuple(r) for r in cur.fetchall()], cur.rowcount, names
            return None, cur.rowcount, None
        finally:
            cur.close()

    def executemany(self, sql, seq):
        cur = self.conn.cursor()
        try:
            cur.executemany(sql, seq)
            return cur.rowcount
        finally:
            cur.close()

    def table_rows(self, table):
        rows, _, _ = self.execute("SELECT * FROM %s ORDER BY id" % table)
        return rows

    def commit(self):
        self.conn.commit()

    def rollback(self):
        self.conn.rollback()

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass

    def reset(self, tables=TABLE_NAMES):
        """Drop the generators' tables (child first), so each example starts from an empty database."""
        try:
            self.conn.rollback()
        except Exception:
            pass
        for t in reversed(tables):
            self.execute("DROP TABLE IF EXISTS %s" % t)
        self.conn.commit()


def open_reference():
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA foreign_keys=ON")
    return Side("sqlite3", sqlite3, conn)


def open_under_test(url):
    if url.startswith("sqlite"):
        conn = sqlite3.connect(_sqlite_path(url))
        conn.execute("PRAGMA foreign_keys=ON")
        # To check the harness itself: sqlite under other settings must still pass where the
        # difference is allowed (reverse_unordered_selects=ON: row order without ORDER BY) and fail
        # where it is not (case_sensitive_like=ON).
        for pragma in filter(None, os.environ.get("ROME_DIFF_SQLITE_PRAGMAS", "").split(",")):
            conn.execute("PRAGMA " + pragma)
        return Side("sqlite3[%s]" % url, sqlite3, conn)
    import rome
    return Side(url, rome, rome.connect(url))


# ---------------------------------------------------------------------------------------------------
# comparing results

REL_TOL = 1e-9
ABS_TOL = 1e-9


def values_equal(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        # booleans are 0/1 and int/float compare by value (SQLite's REAL affinity turns 3 into 3.0).
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(a, (bytes, bytearray, memoryview)) and isinstance(b, (bytes, bytearray, memoryview)):
        return bytes(a) == bytes(b)
    return type(a) is type(b) and a == b


def row_equal(r1, r2):
    return len(r1) == len(r2) and all(values_equal(a, b) for a, b in zip(r1, r2))


def _sort_key(row):
    out = []
    for v in row:
        if v is None:
            out.append((0, 0))
        elif isinstance(v, (int, float)):
            out.append((1, round(float(v), 6)))
        elif isinstance(v, str):
            out.append((2, v))
        else:
            out.append((3, bytes(v)))
    return out


def rows_equal(expected, actual, ordered):
    """Row-for-row comparison; without a total ORDER BY the results are compared as multisets."""
    if len(expected) != len(actual):
        return False
    if not ordered:
        expected = sorted(expected, key=_sort_key)
        actual = sorted(actual, key=_sort_key)
    return all(row_equal(a, b) for a, b in zip(expected, actual))


def show_rows(rows, limit=30):
    if rows is None:
        return "None"
    s = "\n".join("    %r" % (r,) for r in rows[:limit])
    if len(rows) > limit:
        s += "\n    ... (%d rows)" % len(rows)
    return s or "    (no rows)"

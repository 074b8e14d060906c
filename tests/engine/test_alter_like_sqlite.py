"""ALTER TABLE ... DROP COLUMN / ADD COLUMN refused or accepted as by sqlite3: same class and message,
and afterwards the same rows, the same answers through the remaining indexes and the same outcome
of writes that the table's constraints judge."""
import sqlite3

import pytest

import rome

DROP = [
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c)", "CREATE INDEX ia ON t (a)"),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c)", "CREATE INDEX iba ON t (b, a)"),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c)", "CREATE UNIQUE INDEX ua ON t (a)"),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a UNIQUE, b, c)",),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a CONSTRAINT ua UNIQUE, b, c)",),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c, UNIQUE (b, a))",),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c, CHECK (a < b))",),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a CHECK (a > 0), b, c CHECK (c > 0))",),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c, FOREIGN KEY (a) REFERENCES t (id))",),
    ("CREATE TABLE t (id, a, b, c, PRIMARY KEY (id, a))",),
    ("CREATE TABLE t (a)",),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c)", "CREATE INDEX ib ON t (b)"),
]

ADD = [
    "ALTER TABLE t ADD COLUMN d UNIQUE",
    "ALTER TABLE t ADD COLUMN d INTEGER CONSTRAINT ud UNIQUE",
    "ALTER TABLE t ADD COLUMN d INTEGER UNIQUE DEFAULT 1",
    "ALTER TABLE t ADD COLUMN d PRIMARY KEY",
    "ALTER TABLE t ADD COLUMN d INTEGER DEFAULT 1",
    "ALTER TABLE t ADD COLUMN d",
    "ALTER TABLE t ADD d",
]


def _try(conn, module, sql, params=()):
    try:
        cur = conn.execute(sql, params)
    except module.Error as e:
        return type(e).__name__, str(e)
    return cur.fetchall() if cur.description else "ok"


def _probe(conn, module, sql, params):
    """What a statement after the change answers: its rows, or its error's class (the names of
    unknown columns and wrong value counts are ProgrammingError on ROME, see rome/errors.py)."""
    out = _try(conn, module, sql, params)
    if isinstance(out, tuple):
        unknown = "no such column" in out[1] or "values" in out[1] or "has no column" in out[1]
        return "ProgrammingError" if unknown else out[0]
    return out


def _state(conn, module, probes):
    cur = conn.execute("SELECT * FROM t ORDER BY 1")
    return ([d[0] for d in cur.description], cur.fetchall(),
            [_probe(conn, module, sql, params) for sql, params in probes])


def _both(url, setup, change, rows, probes):
    ref = sqlite3.connect(":memory:")
    conn = rome.connect(url)
    try:
        out = []
        for c, m in ((ref, sqlite3), (conn, rome)):
            c.execute("PRAGMA foreign_keys = ON")
            for sql in setup:
                c.execute(sql)
            for r in rows:
                c.execute("INSERT INTO t VALUES (%s)" % ", ".join("?" * len(r)), r)
            c.commit()
            outcome = _try(c, m, change)
            c.commit()
            out.append((outcome, _state(c, m, probes)))
        assert out[1] == out[0]
    finally:
        conn.close()
        ref.close()


@pytest.mark.parametrize("column", ["a", "b", "c", "id"])
@pytest.mark.parametrize("setup", DROP, ids=lambda s: " ; ".join(s))
def test_drop_column_as_sqlite(url, setup, column):
    """An index, UNIQUE, PRIMARY KEY, foreign key or CHECK that needs the column makes DROP COLUMN
    fail, leaving table, rows and index as they were; when it succeeds, what is left keeps working
    (inserts judged by the remaining constraints, lookups through the remaining indexes)."""
    one = setup[0] == "CREATE TABLE t (a)"
    rows = [(1,), (5,)] if one else [(1, 1, 2, 3), (5, 5, 6, 7)]
    probes = [("SELECT * FROM t WHERE %s = ?" % c, (5,)) for c in ("a", "b", "id")] + [
        ("INSERT INTO t VALUES (%s)" % ", ".join("?" * n), (3,) + (-1,) * (n - 1))
        for n in range(1, 5)] + [("SELECT * FROM t ORDER BY 1", ())]
    _both(url, setup, "ALTER TABLE t DROP COLUMN %s" % column, rows, probes)


@pytest.mark.parametrize("change", ADD)
def test_add_column_as_sqlite(url, change):
    """ADD COLUMN with UNIQUE or PRIMARY KEY is refused (sqlite3: "Cannot add a UNIQUE column"),
    leaving the table as it was; later writes then behave the same."""
    probes = [("UPDATE t SET d = 5", ()), ("SELECT * FROM t WHERE d = 5", ()),
              ("INSERT INTO t (id, a) VALUES (9, 9)", ())]
    _both(url, ("CREATE TABLE t (id INTEGER PRIMARY KEY, a)",), change, [(1, 1), (2, 2)], probes)


def test_dropped_column_added_again_is_empty(url):
    """A column dropped and added again under the same name reads its default, not the values the
    dropped one held (they stay in the rows' bytes but belong to no column)."""
    probes = [("SELECT a FROM t ORDER BY id", ()), ("SELECT id FROM t WHERE a IS NULL", ())]
    _both(url, ("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b)", "INSERT INTO t VALUES (1, 'x', 1)",
                "ALTER TABLE t DROP COLUMN a"), "ALTER TABLE t ADD COLUMN a", [], probes)


RENAME = [
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c, CHECK (a <> 'z'))",),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a CHECK (a > b), b, c CHECK (c IS NOT 'z'))",),
    ('CREATE TABLE t (id INTEGER PRIMARY KEY, "a" CHECK ("A" <> \'z\'), b, c)', "CREATE INDEX ia ON t (a)"),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c, CONSTRAINT ok CHECK (length(a) < 3 AND b <> 'z'))",),
]


@pytest.mark.parametrize("new", ["q", "A", "my col"])
@pytest.mark.parametrize("setup", RENAME, ids=lambda s: " ; ".join(s))
def test_rename_column_renames_it_in_checks(url, setup, new):
    """RENAME COLUMN renames the column where CHECK constraints read it, as SQLite does: writes are
    judged as before (they failed with "no such column" on every INSERT and UPDATE)."""
    q = '"%s"' % new
    probes = [("INSERT INTO t (id, %s, b) VALUES (?, ?, ?)" % q, p) for p in
              [(3, "x", "y"), (4, "z", "a"), (5, "long", "a"), (6, "a", "z")]] + [
        ("UPDATE t SET %s = 'z' WHERE id = 1" % q, ()), ("UPDATE t SET c = 'z'", ()),
        ("SELECT id FROM t WHERE %s = 'x'" % q, ())]
    _both(url, setup, 'ALTER TABLE t RENAME COLUMN a TO "%s"' % new, [(1, "b", "a", "c")], probes)

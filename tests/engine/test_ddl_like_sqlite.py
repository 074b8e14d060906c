"""DDL refused or accepted as by sqlite3, with the same class and message, and afterwards the same
rows, the same answers through the remaining indexes and the same outcome of writes that the
table's constraints judge: ALTER TABLE DROP / ADD / RENAME COLUMN, column definitions (a CHECK on a
column without a type, a DEFAULT that is a bare name or not constant), the names of tables and
indexes."""
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


CHECKS = ["a", "0", "abs(a)", "(a > 0)", "coalesce(a, 1)", "a > 0", "a IS NOT 'z'", "a IN (SELECT 1)",
          "EXISTS (SELECT 1)", "(SELECT 1) = a"]
DEFAULTS = ['"x"', "x", "[x]", "(x)", '("x")', "(a + 1)", "(t.a)", "(EXISTS (SELECT 1))", "-1",
            "('a' || 'b')", "(CASE WHEN 1 THEN 'y' END)", "NULL"]


def _same(url, create, writes):
    ref = sqlite3.connect(":memory:", isolation_level=None)
    conn = rome.connect(url, autocommit=True)
    try:
        out = []
        for c, m in ((ref, sqlite3), (conn, rome)):
            made = _try(c, m, create)
            done = [_try(c, m, sql, p)[0] if made == "ok" else None for sql, p in writes]
            rows = _try(c, m, "SELECT a, b, typeof(b) FROM t ORDER BY a") if made == "ok" else None
            out.append((made, done, rows))
        assert out[1] == out[0]
    finally:
        conn.close()
        ref.close()


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("typ", ["", " INTEGER"])
def test_column_check_as_sqlite(url, check, typ):
    """CHECK on a column, with or without a declared type: enforced on every write (without a type
    some were dropped: sqlglot read CHECK(...) as the type's name); a subquery is refused."""
    writes = [("INSERT INTO t (a, b) VALUES (?, ?)", p) for p in [(1, 1), (0, 2), (-3, 3), ("z", 4)]]
    _same(url, "CREATE TABLE t (a%s CHECK (%s), b)" % (typ, check), writes)


@pytest.mark.parametrize("default", DEFAULTS)
def test_column_default_as_sqlite(url, default):
    """DEFAULT x and DEFAULT "x" are the string 'x' (they were read as a column, and every INSERT
    leaving the column out failed with "no such column"); a DEFAULT reading a column or a table is
    refused when the table is created."""
    _same(url, "CREATE TABLE t (a, b DEFAULT %s)" % default,
          [("INSERT INTO t (a) VALUES (1)", ()), ("INSERT INTO t (a, b) VALUES (2, 3)", ())])


@pytest.mark.parametrize("sql, what", [
    ("CREATE TABLE t (a, b AS (a * 2))", "generated columns"),
    ("CREATE TABLE t (a, b INTEGER GENERATED ALWAYS AS (a * 2) STORED)", "generated columns"),
    ("CREATE TABLE t (a INTEGER, b) STRICT", "STRICT tables"),
])
def test_refused_rather_than_ignored(url, sql, what):
    """Generated columns and STRICT tables, which ROME does not implement, are refused: they were
    accepted and ignored (a generated column read NULL and took any value written to it; a STRICT
    INTEGER column stored text)."""
    conn = rome.connect(url, autocommit=True)
    try:
        with pytest.raises(rome.NotSupportedError, match=what):
            conn.execute(sql)
        conn.execute("CREATE TABLE u (a)")
        with pytest.raises(rome.NotSupportedError, match=what):
            conn.execute("ALTER TABLE u ADD COLUMN b AS (a * 2)" if "AS" in sql else sql.replace(" t ", " t2 "))
        assert [d[0] for d in conn.execute("SELECT * FROM u").description] == ["a"]
        with pytest.raises(rome.ProgrammingError, match="no such table"):
            conn.execute("SELECT * FROM t")
    finally:
        conn.close()


NAMES = [
    ["CREATE TABLE t (a)", "CREATE INDEX t ON t (a)", "CREATE INDEX IF NOT EXISTS t ON t (a)"],
    ["CREATE TABLE t (a)", "CREATE INDEX i ON t (a)", "CREATE TABLE i (a)", "CREATE TABLE IF NOT EXISTS I (a)"],
    ["CREATE TABLE t (a)", "CREATE INDEX i ON t (a)", "CREATE TABLE u (a)", "ALTER TABLE u RENAME TO i"],
    ["CREATE TABLE sqlite_t (a)", "CREATE TABLE SQLite_t (a)", "CREATE TABLE t (a)",
     "CREATE INDEX sqlite_autoindex_t_1 ON t (a)", "ALTER TABLE t RENAME TO sqlite_u"],
]


@pytest.mark.parametrize("statements", NAMES, ids=" ; ".join)
def test_one_namespace_for_tables_and_indexes(url, statements):
    """Tables and indexes share one namespace, and names starting with sqlite_ are SQLite's own:
    refused as by sqlite3 (a table and an index could have the same name, and a user's index the
    name of a UNIQUE constraint's), the schema left as it was."""
    ref = sqlite3.connect(":memory:", isolation_level=None)
    conn = rome.connect(url, autocommit=True)
    try:
        for sql in statements:
            assert _try(conn, rome, sql) == _try(ref, sqlite3, sql), sql
        names = ref.execute("SELECT lower(name) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
        cat = conn.catalog()
        ours = list(cat.tables) + [ix.name.lower() for t in cat.tables.values() for ix in t.indexes]
        assert sorted(ours) == sorted(n for (n,) in names)
    finally:
        conn.close()
        ref.close()

"""Column definitions read as sqlite3 reads them: a CHECK on a column without a type, a DEFAULT that
is a bare name or not constant, a CHECK with a subquery. Same outcome of the CREATE (class and
message) and, when it succeeds, the same rows and the same refusals afterwards."""
import sqlite3

import pytest

import rome

CHECKS = ["a", "0", "abs(a)", "(a > 0)", "coalesce(a, 1)", "a > 0", "a IS NOT 'z'", "a IN (SELECT 1)",
          "EXISTS (SELECT 1)", "(SELECT 1) = a"]
DEFAULTS = ['"x"', "x", "[x]", "(x)", '("x")', "(a + 1)", "(t.a)", "(EXISTS (SELECT 1))", "-1",
            "('a' || 'b')", "(CASE WHEN 1 THEN 'y' END)", "NULL"]


def _outcome(conn, module, sql, params=()):
    try:
        cur = conn.execute(sql, params)
    except module.Error as e:
        return type(e).__name__, str(e)
    return cur.fetchall() if cur.description else "ok"


def _same(url, create, writes):
    ref = sqlite3.connect(":memory:", isolation_level=None)
    conn = rome.connect(url, autocommit=True)
    try:
        out = []
        for c, m in ((ref, sqlite3), (conn, rome)):
            made = _outcome(c, m, create)
            done = [_outcome(c, m, sql, p)[0] if made == "ok" else None for sql, p in writes]
            rows = _outcome(c, m, "SELECT a, b, typeof(b) FROM t ORDER BY a") if made == "ok" else None
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
            assert _outcome(conn, rome, sql) == _outcome(ref, sqlite3, sql), sql
        names = ref.execute("SELECT lower(name) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
        cat = conn.catalog()
        ours = list(cat.tables) + [ix.name.lower() for t in cat.tables.values() for ix in t.indexes]
        assert sorted(ours) == sorted(n for (n,) in names)
    finally:
        conn.close()
        ref.close()

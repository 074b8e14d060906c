"""Statements sqlite3 answers or refuses in a particular way: ROME answers the same rows and column
names, or refuses with the same PEP 249 class. One deliberate difference: a syntax error is
ProgrammingError on ROME where sqlite3 says OperationalError (see rome/errors.py)."""
import sqlite3

import pytest

import rome

SETUP = ["CREATE TABLE t (a INTEGER)", "INSERT INTO t VALUES (1), (2), (3)",
         "CREATE TABLE m (id INTEGER PRIMARY KEY, v)", "CREATE TABLE b (id BIGINT PRIMARY KEY)"]

CASES = [
    ("SELECT " + "(" * 50 + "1" + ")" * 50, ()),
    ("SELECT " + "(" * 150 + "1" + ")" * 150, ()),
    ("SELECT a FROM t ORDER BY a LIMIT ?", ("2",)),
    ("SELECT a FROM t ORDER BY a LIMIT ? OFFSET ?", (" 2", "1")),
    ("SELECT a FROM t LIMIT 2.5", ()),
    ("SELECT a FROM t LIMIT NULL", ()),
    ("SELECT a FROM t LIMIT ?", (2.5,)),
    ("SELECT a FROM t LIMIT ?", (None,)),
    ("SELECT a FROM t LIMIT 'a'", ()),
    ("SELECT a FROM t ORDER BY a LIMIT 2.0", ()),
    ("SELECT a FROM t LIMIT 1 OFFSET 'x'", ()),
    ("SELECT a FROM t UNION SELECT 5 ORDER BY 1 LIMIT ?", ("3",)),
    ("SELECT a FROM t OFFSET 1", ()),
    ("SELECT abs(-9223372036854775808)", ()),
    ("SELECT sum(x) FROM (SELECT 9223372036854775807 AS x UNION ALL SELECT 1)", ()),
    ("SELECT 9223372036854775807 + 1", ()),
    ("SELECT 1e3+1, 1e3-1, 2e3+1e3, .5e1*2, 1E+2-1e-1", ()),
    ("SELEC * FRM t", ()),
    ("SELEC 1", ()),
    ("(SELECT 1)", ()),
    ("INSERT INTO m (id) VALUES (3.5)", ()),
    ("INSERT INTO m (id, v) VALUES (4.0, 'x'), ('5', x'00')", ()),
    ("INSERT INTO m (id) VALUES (x'01')", ()),
    ("INSERT INTO b (id) VALUES (3.5)", ()),
    # a ? inside a comment or a literal is not a parameter
    ("SELECT 1 AS x /* ? */", ()),
    ("SELECT ? /* ?, ? */ + 1 AS x", (1,)),
    ("SELECT '?' AS x, a AS \"?\" FROM t -- ?\n WHERE a = ?", (2,)),
    ("SELECT ? AS x /* ? */", ()),
    ("SELECT 1 IN (?, ?) AS x /* ? */", (1, 2)),
    ("SELECT 1 /* IN (?,?) */ IN (?,?) AS x -- ?", (1, 2)),
    # result names of numbered parameters: as written
    ("SELECT ?1, ?2 + 1, ?", (5, 6, 7)),
    ("SELECT ?2, ?1 || 'x'", (1, 2)),
    # result names of items with subqueries: the text as written
    ("SELECT (SELECT 1), (SELECT a FROM t WHERE a > 2) + 1, 2", ()),
    ("SELECT exists (select 1), NOT EXISTS(SELECT a FROM t WHERE a = 0), 5 IN (SELECT a FROM t)", ()),
    ("SELECT (SELECT (SELECT max(a) FROM t)) * 2, ((SELECT 1 UNION SELECT 2)) FROM t", ()),
]


def _run(conn, module, sql, params):
    cur = conn.cursor()
    try:
        cur.execute(sql, params)
    except module.Error as e:
        conn.rollback()
        name = type(e).__name__
        if module is sqlite3 and name == "OperationalError" and "syntax error" in str(e):
            name = "ProgrammingError"   # ROME's class for every syntax error
        return "error", name
    out = ("rows", cur.fetchall(), [d[0] for d in cur.description]) if cur.description else ("done",)
    conn.commit()
    return out + (conn.cursor().execute("SELECT * FROM m ORDER BY id").fetchall(),)


@pytest.mark.parametrize("sql, params", CASES, ids=lambda c: str(c)[:50])
def test_same_outcome_as_sqlite(db, sql, params):
    ref = sqlite3.connect(":memory:")
    for s in SETUP:
        ref.execute(s)
        db.cursor().execute(s)
    ref.commit()
    db.commit()
    want = _run(ref, sqlite3, sql, params)
    got = _run(db, rome, sql, params)
    assert [list(map(tuple, x)) if isinstance(x, list) and x and isinstance(x[0], (tuple, list))
            else x for x in got] == [list(map(tuple, x)) if isinstance(x, list) and x and
                                     isinstance(x[0], (tuple, list)) else x for x in want]


def test_changes_and_total_changes(db):
    ref = sqlite3.connect(":memory:")
    for conn in (ref, db):
        cur = conn.cursor()
        cur.execute("CREATE TABLE t (a INTEGER)")
        out = []
        for sql in ("INSERT INTO t VALUES (1), (2), (3)", "UPDATE t SET a = a + 1 WHERE a > 1",
                    "DELETE FROM t WHERE a = 1", "SELECT 1"):
            cur.execute(sql)
            out.append(tuple(cur.execute("SELECT changes(), total_changes()").fetchone()))
        conn.commit()
        if conn is ref:
            want = out
    assert out == want == [(3, 3), (2, 5), (1, 6), (1, 6)]

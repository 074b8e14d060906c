"""ORDER BY / GROUP BY terms by number, LIMIT / OFFSET at the ends of their range, and columns read
through a name two sources share, compared with sqlite3: the same rows, or, where sqlite3 refuses the
statement, ProgrammingError (ROME's class for a statement that names what is not there or names it
ambiguously, see rome/errors.py); never InternalError, never other rows."""
import sqlite3

import pytest

import rome

BIG = 9223372036854775807
CASES = [
    "SELECT a, b FROM t LIMIT %d OFFSET %d" % (BIG, BIG),
    "SELECT a, b FROM t ORDER BY a, b LIMIT %d OFFSET 1" % BIG,
    "SELECT a FROM t UNION SELECT 7 ORDER BY 1 LIMIT %d OFFSET %d" % (BIG, BIG - 1),
    "SELECT a FROM t UNION ALL SELECT 7 LIMIT 2 OFFSET %d" % BIG,
    "SELECT a, count(*) FROM t GROUP BY 3",
    "SELECT a, count(*) FROM t GROUP BY 0",
    "SELECT a, count(*) FROM t GROUP BY 1 ORDER BY 2, 1",
    "SELECT a, count(*) FROM t GROUP BY 1.5",
    "SELECT a, b FROM t ORDER BY 1.5, 2",
    "SELECT a FROM t ORDER BY 0",
    "SELECT a FROM t UNION SELECT 7 ORDER BY 2",
    "SELECT a FROM t UNION SELECT 7 ORDER BY 1.5",
    "SELECT a FROM t UNION SELECT 7 ORDER BY 0",
    "SELECT a AS x FROM t UNION SELECT 7 ORDER BY x DESC",
    # two sources with one name: a column read through it is ambiguous (it read the first source's)
    "SELECT * FROM t, t",
    "SELECT t.a FROM t, t",
    "SELECT x.b FROM t AS x JOIN t AS x ON 1",
    "SELECT t.* FROM t JOIN t",
    "SELECT 1 FROM t AS x JOIN t AS x",
    "SELECT count(*) FROM t JOIN t",
    "SELECT * FROM t AS x, t AS y ORDER BY 1, 2, 3, 4",
]


def _outcome(conn, module, sql):
    try:
        return conn.execute(sql).fetchall()
    except module.Error as e:
        return type(e)


@pytest.mark.parametrize("sql", CASES)
def test_terms_and_limits_as_sqlite(db, sql):
    ref = sqlite3.connect(":memory:")
    for c in (ref, db):
        c.execute("CREATE TABLE t (a, b)")
        c.execute("INSERT INTO t VALUES (1, 2), (3, 4), (1, 5)")
    want = _outcome(ref, sqlite3, sql)
    got = _outcome(db, rome, sql)
    if isinstance(want, list):
        assert got == want
    else:
        assert got is rome.ProgrammingError, (want, got)

"""`x IN (?, ?, ..., ?)`: a run of positional placeholders is one list parameter (rome.sql.parse).

Results are compared with sqlite3: lists of every length and mixed types against columns of each
affinity and collation, in WHERE, in select lists, in UPDATE/DELETE, between other parameters, in
executemany; each table is built twice in ROME, with and without indexes (an index never changes a
result). Then what the list parameter is for: every length shares one parse and one plan, and a
list is still read as sorted point probes of the key.
"""
import itertools
import sqlite3

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import rome
from rome.sql.parse import PARSED

_n = itertools.count()
COLUMNS = {"i": "INTEGER", "r": "REAL", "n": "NUMERIC", "x": "TEXT", "b": "BLOB", "u": "",
           "tn": "TEXT COLLATE NOCASE", "tr": "TEXT COLLATE RTRIM"}
VALUES = [None, 0, 1, -1, 2, 7, 1.0, 1.5, 2.0, -0.5, "1", "1.0", "2", " 2", "7e0", "a", "A", "a ", "b", "B ",
          "", b"a", b"1", b"", 2 ** 53 + 1, float(2 ** 53)]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.reuse, Phase.generate])   # a failure names its case


def _ddl():
    return "CREATE TABLE t (id INTEGER PRIMARY KEY, %s)" % ", ".join("%s %s" % kv for kv in COLUMNS.items())


def _connect(url, rows, indexed):
    conn = rome.connect(url) if url else sqlite3.connect(":memory:")
    cur = conn.cursor()
    cur.execute(_ddl())
    if indexed:
        for c in COLUMNS:
            cur.execute("CREATE INDEX ix_%s ON t (%s)" % (c, c))
        cur.execute("CREATE INDEX ix_x_nocase ON t (x COLLATE NOCASE)")
    cur.executemany("INSERT INTO t VALUES (?, %s)" % ", ".join("?" * len(COLUMNS)), rows)
    conn.commit()
    return conn


def _run(conn, sql, params=(), many=False):
    cur = conn.cursor()
    try:
        if many:
            cur.executemany(sql, params)
            return cur.rowcount
        cur.execute(sql, params)
        if cur.description is None:
            return cur.rowcount
        return [d[0] for d in cur.description], cur.fetchall()
    except Exception as e:   # noqa: BLE001 - the class is what is compared
        return type(e).__name__


def _marks(n):
    return ", ".join("?" * n)


def _statements(col, vals, other, probe):
    """(sql, params, many) covering the places a list can stand, for the list ``vals``."""
    k, L = len(vals), tuple(vals)
    m = _marks(k)
    return [
        ("SELECT id FROM t WHERE %s IN (%s) ORDER BY id" % (col, m), L, False),
        ("SELECT id FROM t WHERE %s NOT IN (%s) ORDER BY id" % (col, m), L, False),
        ("SELECT id, %s IN (%s), %s not in (%s) FROM t ORDER BY id" % (col, m, col, "?," * (k - 1) + "?"),
         L + L, False),
        ("SELECT id FROM t WHERE id > ? AND %s IN (%s) AND id < ? ORDER BY id" % (col, m), (1,) + L + (9,), False),
        ("SELECT id FROM t WHERE id IN (%s) ORDER BY id" % m, L, False),
        ("SELECT id FROM t WHERE %s COLLATE NOCASE IN (%s) ORDER BY id" % (col, m), L, False),
        ("SELECT id FROM t WHERE %s IN (%s) OR %s NOT IN (%s) ORDER BY id" % (col, m, other, _marks(2)),
         L + (probe, None), False),
        ("SELECT ? IN (%s) AS a, ? NOT IN (%s) AS b, NULL IN (%s) AS c" % (m, m, m), (probe,) + L + (probe,) + L + L, False),
        ("SELECT count(*) FROM t WHERE id IN (SELECT id FROM t WHERE %s IN (%s))" % (col, m), L, False),
        ("SELECT x.id, y.id FROM t x JOIN t y ON y.id = x.id + 1 AND y.%s IN (%s) WHERE x.%s NOT IN (%s) "
         "ORDER BY 1" % (col, m, other, m), L + L, False),
        ("SELECT id FROM t x WHERE EXISTS (SELECT 1 FROM t y WHERE y.id = x.id - 1 AND y.%s IN (%s)) ORDER BY id"
         % (col, m), L, False),
        ("UPDATE t SET u = 'hit' WHERE %s IN (%s)" % (col, m), L, False),
        ("UPDATE t SET i = coalesce(i, 0) + 1 WHERE %s IN (?, ?) AND id <> ?" % other,
         [(vals[j % k], probe, j) for j in range(3)], True),
        ("DELETE FROM t WHERE %s NOT IN (%s) AND id > ?" % (col, m), L + (5,), False),
        ("SELECT * FROM t ORDER BY id", (), False),
    ]


def _compare(rows, col, vals, other, probe, url="rome+memory:///in-list-%d"):
    ref = _connect(None, rows, False)
    sides = [_connect(url % next(_n) if "%d" in url else url, rows, indexed) for indexed in (False, True)]
    try:
        for sql, params, many in _statements(col, vals, other, probe):
            want = _run(ref, sql, params, many)
            for indexed, conn in zip((False, True), sides):
                assert _run(conn, sql, params, many) == want, (sql, params, "indexed" if indexed else "no index")
    finally:
        for c in sides + [ref]:
            c.close()


@st.composite
def cases(draw):
    rows = draw(st.lists(st.tuples(*[st.sampled_from(VALUES)] * len(COLUMNS)), min_size=1, max_size=12))
    rows = [(i + 1,) + r for i, r in enumerate(rows)]
    n = draw(st.sampled_from([1, 1, 2, 3, 5, 40, 300]))
    vals = draw(st.lists(st.sampled_from(VALUES + list(range(1, 13))), min_size=n, max_size=n))
    col, other = draw(st.permutations(list(COLUMNS)))[:2]
    return rows, col, vals, other, draw(st.sampled_from(VALUES))


@SETTINGS
@given(cases())
def test_in_lists_of_parameters_match_sqlite(case):
    _compare(*case)


def test_each_store_matches_sqlite(url):
    """One fixed case per store (memory, LMDB, Redis): a list read as point probes of the store."""
    if url.startswith("rome+memory"):
        url += "-%d"
    else:  # the indexed and unindexed copies need a database each
        url = url.replace("engine-test-", "engine-test-%d-") if "engine-test-" in url else url + "%d"
    rows = [(i,) + tuple(VALUES[(i * (j + 3)) % len(VALUES)] for j in range(len(COLUMNS))) for i in range(1, 30)]
    for col in COLUMNS:
        _compare(rows, col, VALUES[:12] + [3, 4, 5], "x", "a", url)


def test_in_with_no_parameters_is_empty_as_in_sqlite(db):
    ref = sqlite3.connect(":memory:")
    for conn in (db, ref):
        conn.execute("CREATE TABLE e (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO e VALUES (1)")
    for sql in ("SELECT id FROM e WHERE id IN ()", "SELECT id FROM e WHERE id NOT IN ()",
                "SELECT NULL IN () AS a, NULL NOT IN () AS b"):
        assert _run(db, sql) == _run(ref, sql), sql


@pytest.mark.parametrize("sql, params", [
    ("SELECT 1 WHERE 1 IN (?, ?, ?)", (1, 2)),
    ("SELECT 1 WHERE 1 IN (?, ?, ?)", (1, 2, 3, 4)),
    ("SELECT 1 WHERE ? = 1 AND 1 IN (?, ?)", (1, 2)),
    ("SELECT 1 WHERE 1 IN (?, ?)", None),
])
def test_a_wrong_number_of_values_is_refused_as_by_sqlite(sql, params):
    conn = rome.connect("rome+memory:///in-list-count-%d" % next(_n))
    with pytest.raises(rome.ProgrammingError, match="Incorrect number of bindings supplied"):
        conn.execute(sql, params)
    with pytest.raises(sqlite3.ProgrammingError, match="Incorrect number of bindings supplied"):
        sqlite3.connect(":memory:").execute(sql, params or ())


@pytest.mark.parametrize("sql, params", [
    # ? inside literals, quoted names and comments is not a parameter, and not part of a list
    ("SELECT 'x IN (?, ?)', 2 IN (?, ?) -- IN (?, ?)\n", (2, 3)),
    ('SELECT 1 AS "IN (?, ?)", 1 IN (?, ?, ?)', (0, 1, None)),
    ("SELECT [IN (?)], 3 IN (?, ?) FROM (SELECT 1 AS [IN (?)])", (3, 4)),
    ("SELECT 1 IN (?, '?', ?)", (0, 1)),
    # numbered parameters keep their meaning: a plain ? is one past the largest number so far
    ("SELECT ?2, ? IN (?, ?), ?1", (1, 2, 3, 4, 3)),
    ("SELECT ? IN (?, ?), ?1", (5, 6, 5)),
    ("SELECT 1 IN (?1, ?, ?)", (1, 2, 3)),
    ("SELECT 4 IN (?,?)in(?)", (4, 5, 1)),
    ("SELECT 2 IN(?\n,\t?)", (1, 2)),
])
def test_lists_next_to_quotes_and_numbered_parameters_match_sqlite(sql, params):
    conn = rome.connect("rome+memory:///in-list-text-%d" % next(_n))
    assert conn.execute(sql, params).fetchall() == sqlite3.connect(":memory:").execute(sql, params).fetchall()


def test_every_length_shares_one_parse_and_one_plan():
    conn = rome.connect("rome+memory:///in-list-cache-%d" % next(_n))
    cur = conn.cursor()
    cur.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, v TEXT)")
    cur.executemany("INSERT INTO c VALUES (?, ?)", [(i, "v%d" % i) for i in range(100)])
    sql = "SELECT id FROM c WHERE id IN (%s) AND v <> ? ORDER BY id"
    cur.execute(sql % _marks(1), (3, "z"))
    parsed, plans = len(PARSED), len(conn.session.planner().plans)
    for n in (2, 3, 50, 5000):
        got = cur.execute(sql % _marks(n), tuple(range(0, 2 * n, 2)) + ("v4",)).fetchall()
        assert got == [(i,) for i in range(0, min(2 * n, 100), 2) if i != 4]
    assert (len(PARSED), len(conn.session.planner().plans)) == (parsed, plans)


def test_a_list_is_read_as_sorted_distinct_key_probes(db):
    cur = db.cursor()
    cur.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE, score REAL)")
    cur.execute("CREATE INDEX ix_name ON k (name)")
    cur.execute("CREATE INDEX ix_score ON k (score)")
    cur.executemany("INSERT INTO k VALUES (?, ?, ?)", [(i, "N%d" % i, i) for i in range(20)])
    plan = cur.execute("EXPLAIN SELECT id FROM k WHERE id IN (?, ?, ?)", (1, 2, 3)).fetchall()
    assert plan == [("SEARCH k USING PRIMARY KEY (id IN (...))",)]
    plan = cur.execute("EXPLAIN SELECT id FROM k WHERE name IN (?, ?)", ("a", "b")).fetchall()
    assert plan == [("SEARCH k USING INDEX ix_name (name IN (...))",)]
    # values converted to the key's affinity ('3' and 3.0 probe the INTEGER key 3, '7' the REAL
    # score 7.0) and collation (n5 finds N5), NULLs and repeats probe nothing twice
    assert cur.execute("SELECT id FROM k WHERE id IN (?, ?, ?, ?, ?, ?)", ("3", 3.0, 9, None, 1, 9)).fetchall() \
        == [(1,), (3,), (9,)]
    assert cur.execute("SELECT id FROM k WHERE name IN (?, ?, ?, ?) ORDER BY id", ("n5", "N5", "x", 2)).fetchall() \
        == [(5,)]
    assert cur.execute("SELECT id FROM k WHERE score IN (?, ?, ?) ORDER BY id", ("7", 2, b"7")).fetchall() \
        == [(2,), (7,)]


@pytest.mark.parametrize("sql", ["CREATE TABLE c (x CHECK (x IN (?, ?)))",
                                 "CREATE TABLE c (x, CHECK (x = ? OR x IN (?)))"])
def test_a_check_constraint_with_parameters_is_refused_as_by_sqlite(db, sql):
    """A parameter is a value of one statement: a CHECK that kept it could not be evaluated again."""
    with pytest.raises(sqlite3.OperationalError, match="parameters prohibited in CHECK constraints"):
        sqlite3.connect(":memory:").execute(sql, (1, 2))
    with pytest.raises(rome.OperationalError, match="parameters prohibited in CHECK constraints"):
        db.execute(sql, (1, 2))
    db.execute("CREATE TABLE c (x)")   # nothing of the refused statement is left
    db.execute("INSERT INTO c VALUES (3)")
    assert db.execute("SELECT x FROM c").fetchall() == [(3,)]

"""Upserts and conflict clauses (ON CONFLICT, REPLACE INTO, INSERT/UPDATE OR ...), numbered
parameters, min/max read from an index and scalar subqueries as index keys: compared with sqlite3."""
import itertools
import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

import rome

_n = itertools.count()

SCRIPT = [
    "CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER DEFAULT 0)",
    "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER, v TEXT)",
    "CREATE INDEX b_a ON b (a_id)",
    "INSERT INTO a (id, name) VALUES (1, 'x'), (2, 'y')",
    "INSERT INTO b (a_id, v) VALUES (1, 'p'), (2, 'q'), (2, 'r')",
    "INSERT INTO a (id, name) VALUES (3, 'x') ON CONFLICT (name) DO UPDATE SET n = n + 1",
    "INSERT INTO a (id, name) VALUES (3, 'x') ON CONFLICT (name) DO UPDATE SET n = excluded.id + a.n",
    "INSERT INTO a AS t (id, name) VALUES (3, 'x') ON CONFLICT (name) DO UPDATE SET n = t.n * 2",
    "INSERT INTO a (id, name) VALUES (1, 'z') ON CONFLICT DO NOTHING",
    "INSERT INTO a (id, name) VALUES (1, 'z') ON CONFLICT (id) DO NOTHING",
    "INSERT INTO a (id, name) VALUES (9, 'x') ON CONFLICT (id) DO NOTHING",
    "INSERT INTO a (id, name) VALUES (4, 'w') ON CONFLICT (name) DO UPDATE SET n = 99 WHERE a.n > 100",
    "INSERT INTO a (id, name) VALUES (5, 'x') ON CONFLICT (name) DO UPDATE SET n = 7 WHERE a.n > 100",
    "INSERT INTO a (id, name) VALUES (6, 'v'), (7, 'v') ON CONFLICT (name) DO UPDATE SET n = excluded.id",
    "INSERT INTO a (id, name) VALUES (8, 'u') ON CONFLICT (n) DO NOTHING",
    "INSERT INTO a (id, name) VALUES (8, 'y') ON CONFLICT (name) DO UPDATE SET id = 1",
    "SELECT * FROM a ORDER BY id",
    "REPLACE INTO a (id, name) VALUES (2, 'yy')",
    "INSERT OR REPLACE INTO a (id, name) VALUES (10, 'yy')",
    "INSERT OR IGNORE INTO a (id, name) VALUES (10, 'zz')",
    "UPDATE OR IGNORE a SET name = 'x' WHERE id >= 6",
    "SELECT * FROM a ORDER BY id",
    "UPDATE OR REPLACE a SET name = 'x' WHERE id = 10",
    "SELECT * FROM a ORDER BY id",
    "SELECT ?2, ?1, ?2",
    "SELECT ?1, ?, ?3",
    "SELECT ?0",
    "SELECT max(id), min(id) FROM a",
    "SELECT max(name) AS m FROM a WHERE n < 10",
    "SELECT min(v) FROM b WHERE a_id = 42",
    "SELECT v FROM b WHERE b.a_id = (SELECT min(id) FROM a) ORDER BY v",
    "SELECT id, (SELECT max(v) FROM b WHERE b.a_id = a.id) AS mv FROM a ORDER BY id",
]
PARAMS = {"SELECT ?2, ?1, ?2": (10, 20), "SELECT ?1, ?, ?3": (1, 2, 3), "SELECT ?0": (1,)}


def _run(conn, sql):
    cur = conn.cursor()
    try:
        cur.execute(sql, PARAMS.get(sql, ()))
    except Exception as e:   # noqa: BLE001 - the class is compared
        # an SQL error: sqlite3 says OperationalError, ROME ProgrammingError (its class for bad SQL)
        return "SQL error" if type(e).__name__ in ("OperationalError", "ProgrammingError") else type(e).__name__
    if cur.description is None:
        return cur.rowcount
    # (a numbered parameter's column is named "?" here, "?2" by sqlite3)
    return cur.fetchall(), None if sql in PARAMS else [d[0] for d in cur.description]


def test_script_matches_sqlite(url):
    ref, db = sqlite3.connect(":memory:"), rome.connect(url)
    for sql in SCRIPT:
        assert _run(db, sql) == _run(ref, sql), sql


def test_a_failed_upsert_leaves_the_data_as_it_was(db):
    db.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, k TEXT UNIQUE, o TEXT UNIQUE)")
    db.execute("INSERT INTO u VALUES (1, 'a', 'p'), (2, 'b', 'q')")
    db.commit()
    with pytest.raises(rome.IntegrityError, match="UNIQUE constraint failed: u.o"):
        db.execute("INSERT INTO u VALUES (3, 'c', 'r'), (4, 'a', 'q') ON CONFLICT (k) DO UPDATE SET o = excluded.o")
    assert db.execute("SELECT * FROM u ORDER BY id").fetchall() == [(1, "a", "p"), (2, "b", "q")]


def test_sqlalchemy_on_conflict_do_update():
    """SQLAlchemy's sqlite insert().on_conflict_do_update / do_nothing, through a rome engine."""
    engine = sa.create_engine("rome+memory:///upsert-%d" % next(_n))
    md = sa.MetaData()
    t = sa.Table("kv", md, sa.Column("k", sa.String(20), primary_key=True), sa.Column("v", sa.Integer),
                 sa.Column("hits", sa.Integer, server_default="0"))
    md.create_all(engine)
    with engine.begin() as conn:
        for v in (1, 2, 3):
            stmt = sqlite_insert(t).values(k="a", v=v)
            conn.execute(stmt.on_conflict_do_update(index_elements=[t.c.k],
                                                    set_={"v": stmt.excluded.v, "hits": t.c.hits + 1}))
        conn.execute(sqlite_insert(t).values(k="a", v=9).on_conflict_do_nothing())
        conn.execute(sqlite_insert(t).values(k="b", v=5).on_conflict_do_nothing())
    with engine.connect() as conn:
        assert conn.execute(sa.select(t).order_by(t.c.k)).all() == [("a", 3, 2), ("b", 5, 0)]


def test_min_max_read_one_entry(db):
    """min/max of an indexed column come from the first entry of the index, not from a scan."""
    db.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)")
    db.execute("CREATE INDEX mv ON m (v)")
    rows = [(i, None if i % 3 == 0 else "v%04d" % (i * 7 % 997)) for i in range(1, 1001)]
    db.executemany("INSERT INTO m VALUES (?, ?)", rows)
    values = [v for _i, v in rows if v is not None]
    db.commit()
    plan = [r[0] for r in db.execute("EXPLAIN SELECT min(v) FROM m").fetchall()]
    assert plan[:2] == ["MIN/MAX FROM THE FIRST ROW OF", "  SEARCH m USING COVERING INDEX mv (v IS NOT NULL)"]
    assert "DESC" in db.execute("EXPLAIN SELECT max(id) FROM m").fetchall()[1][0]
    assert db.execute("SELECT min(v), max(v) FROM m").fetchall() == [(min(values), max(values))]
    assert db.execute("SELECT min(v) FROM m").fetchall() == [(min(values),)]
    assert db.execute("SELECT max(v) FROM m").fetchall() == [(max(values),)]
    assert db.execute("SELECT max(v) FROM m WHERE id < 0").fetchall() == [(None,)]


def test_scalar_subquery_probes_an_index(db):
    db.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER)")
    db.execute("CREATE INDEX c_p ON c (p_id)")
    plan = db.execute("EXPLAIN SELECT id FROM c WHERE p_id = (SELECT max(id) FROM p)").fetchall()
    assert plan[0][0] == "SEARCH c USING COVERING INDEX c_p (p_id=?)"
    plan = db.execute("EXPLAIN SELECT id FROM c WHERE p_id = (SELECT max(id) FROM p WHERE p.id < c.id)").fetchall()
    assert plan[0][0] == "SCAN c USING PRIMARY KEY"   # correlated: a value per row, no probe


@pytest.mark.parametrize("sql", [
    "REPLACE INTO r (a, b, d, e) VALUES (1, 'y', NULL, 5)",
    "INSERT OR REPLACE INTO r (a, b, e) VALUES (2, 'z', 6)",
    "INSERT OR REPLACE INTO r VALUES (5, 'q', NULL, NULL)",
    "UPDATE OR REPLACE r SET d = NULL WHERE a = 1",
    "UPDATE OR REPLACE r SET d = NULL, b = 'y'",
    "UPDATE OR REPLACE r SET e = NULL WHERE a = 1",
    "UPDATE OR IGNORE r SET d = NULL",
])
def test_replace_puts_the_default_for_a_null_in_a_not_null_column(db, sql):
    """OR REPLACE and NULL in a NOT NULL column with a default: the default, as SQLite (it failed the
    NOT NULL constraint); a column without a default still fails it, leaving the rows as they were."""
    ref = sqlite3.connect(":memory:")
    for c in (ref, db):
        c.execute("CREATE TABLE r (a INTEGER PRIMARY KEY, b UNIQUE, d NOT NULL DEFAULT (7 * 2), e NOT NULL)")
        c.execute("INSERT INTO r VALUES (1, 'x', 1, 1), (2, 'y', 2, 2)")
        c.commit()
    assert _run(db, sql) == _run(ref, sql)
    rows = "SELECT * FROM r ORDER BY a"
    assert db.execute(rows).fetchall() == ref.execute(rows).fetchall()

"""SQLite's type affinity for every declared type, compared with sqlite3: text that is not a number
stays text in a column of any type (a UUID into INTEGER), and an INTEGER PRIMARY KEY (the rowid
alias) refuses what is not an integer with IntegrityError "datatype mismatch"."""
import sqlite3

import pytest
import sqlalchemy as sa

import rome

DECLARED = ["INTEGER", "INT", "BIGINT", "SMALLINT", "TINYINT", "VARCHAR(36)", "CHAR(4)", "TEXT", "CLOB",
            "BLOB", "REAL", "FLOAT", "DOUBLE", "DOUBLE PRECISION", "NUMERIC", "DECIMAL(10,2)",
            "BOOLEAN", "DATE", "DATETIME", "JSON", "STRING", "BIGINT UNSIGNED", "POINT"]
VALUES = ["0e8c1f8e-6a5d-4c8e-9f4a-2b7d3c1e5f60", "12", " 12 ", "1e3", "3.0", "3.5", "-0", "0x10",
          "12abc", "", 7, -2, 2.0, 2.5, b"\x00\x01", None]


def test_every_declared_type_stores_as_sqlite(both):
    cols = ", ".join('"c%d" %s' % (i, t) for i, t in enumerate(DECLARED))
    both.run("CREATE TABLE t (id INTEGER PRIMARY KEY, %s)" % cols)
    marks = ", ".join("?" * (len(DECLARED) + 1))
    for n, v in enumerate(VALUES):
        both.same("INSERT INTO t VALUES (%s)" % marks, (n,) + (v,) * len(DECLARED))
    typed = ", ".join('"c%d", typeof("c%d")' % (i, i) for i in range(len(DECLARED)))
    both.same("SELECT id, %s FROM t ORDER BY id" % typed)
    uuid = VALUES[0]
    both.same("SELECT id FROM t WHERE c0 = ? ORDER BY id", (uuid,))
    both.same("SELECT id, typeof(c2) FROM t WHERE c2 > 5 ORDER BY id")
    both.same("UPDATE t SET c0 = ?, c2 = 'x' || c2 WHERE id < 4", (uuid,))
    both.same("SELECT id, c0, typeof(c0), c2, typeof(c2) FROM t ORDER BY id")


def test_uuid_in_an_indexed_integer_column(both):
    both.run("CREATE TABLE r (id INTEGER NOT NULL, ref INTEGER, PRIMARY KEY (id))")
    both.run("CREATE INDEX ix_r_ref ON r (ref)")
    ids = ["8d4b5a3e-0f1c-4a7b-b6d2-9e3f1a2c4b5d", 5, "17", None]
    for i, v in enumerate(ids):
        both.same("INSERT INTO r (id, ref) VALUES (?, ?)", (i, v))
    both.same("SELECT id, ref, typeof(ref) FROM r WHERE ref = ?", (ids[0],))
    both.same("SELECT id FROM r WHERE ref = 17")
    both.same("SELECT id FROM r WHERE ref >= 5 ORDER BY ref")


@pytest.mark.parametrize("sql, params", [
    ("INSERT INTO k (id, v) VALUES (?, 1)", ("abc",)),
    ("INSERT INTO k (id, v) VALUES (?, 1)", (1.5,)),
    ("INSERT INTO k (id, v) VALUES (?, 1)", (b"\x01",)),
    ("INSERT INTO k (id, v) VALUES (1, 1), (?, 2)", ("x",)),
    ("UPDATE k SET id = ? WHERE id = 10", ("abc",)),
    ("UPDATE k SET id = id || 'x'", ()),
])
def test_rowid_alias_refuses_non_integers(both, sql, params):
    both.run("CREATE TABLE k (id INTEGER PRIMARY KEY, v INT)")
    both.same("INSERT INTO k (id, v) VALUES (10, 0)")
    both.rome.commit()
    both.ref.commit()
    err = both.run(sql, params)
    assert type(err).__name__ == "IntegrityError" and "datatype mismatch" in str(err)
    both.same("SELECT id, v, typeof(id) FROM k")
    both.same("INSERT INTO k (id, v) VALUES (?, 2)", ("11",))      # a numeric text is an integer
    both.same("SELECT id, typeof(id) FROM k ORDER BY id")


def test_other_integer_primary_keys_keep_text(both):
    both.run("CREATE TABLE b (id BIGINT NOT NULL, v INT, PRIMARY KEY (id))")
    both.same("INSERT INTO b (id, v) VALUES (?, 1)", ("abc",))
    both.same("SELECT id, typeof(id) FROM b")


def test_orm_stores_a_uuid_in_an_integer_column(url):
    """What Nova's tests do: a UUID string bound to an Integer column through SQLAlchemy."""
    md = sa.MetaData()
    t = sa.Table("inst", md, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("host_id", sa.Integer, index=True))
    results = []
    for u in (url, "sqlite://"):
        engine = sa.create_engine(u)
        md.create_all(engine)
        with engine.begin() as c:
            c.execute(t.insert(), [{"host_id": "5a0f3c1e-0000-4a7b-b6d2-9e3f1a2c4b5d"}, {"host_id": 3}])
            results.append(c.execute(sa.select(t.c.id, t.c.host_id, sa.func.typeof(t.c.host_id))
                                     .order_by(t.c.id)).all())
        engine.dispose()
    assert results[0] == results[1]
    assert results[0][0][2] == "text"


@pytest.mark.parametrize("sql, params", [
    ("SELECT id FROM u WHERE b = ? ORDER BY id", (1,)), ("SELECT id FROM u WHERE b = ? ORDER BY id", (1.0,)),
    ("SELECT id FROM u WHERE b >= ? ORDER BY id", (1,)), ("SELECT id FROM u WHERE b > ? ORDER BY id", (1.0,)),
    ("SELECT id FROM u WHERE b <= ? ORDER BY id", (1.0,)), ("SELECT id FROM u WHERE b < ? ORDER BY id", (1,)),
    ("SELECT id FROM u WHERE b BETWEEN ? AND ? ORDER BY id", (1, 2)),
    ("SELECT id FROM u WHERE b IN (?, ?) ORDER BY id", (1, 2.0)),
    ("SELECT id FROM u WHERE c = ? AND b = ? ORDER BY id", (5, 2.0)),
    ("SELECT id FROM u WHERE c = ? AND b > ? ORDER BY id DESC", (5, 1)),
    ("SELECT b FROM u WHERE b = ? ORDER BY id", (2,)),
    ("SELECT id FROM u WHERE b = ? ORDER BY id DESC LIMIT 2", (1,)),
    ("SELECT id FROM u WHERE c = ? AND b = ? ORDER BY id LIMIT 3", (5, 1)),
])
def test_numbers_in_a_column_without_affinity_are_found_through_its_index(db, sql, params):
    """A column without affinity keeps 1 and 1.0 as they were inserted, two keys of its index that
    both equal 1 (and 2, and 2.0...): every key equal to a probe is read, as without the index, and
    rows read from the two keys are sorted for ORDER BY (each key's rows are in id order, not both)."""
    ref = sqlite3.connect(":memory:")
    for conn, indexed in ((ref, False), (db, True)):
        conn.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, b BLOB, c)")
        if indexed:
            conn.execute("CREATE INDEX ix_b ON u (b)")
            conn.execute("CREATE INDEX ix_cb ON u (c, b)")
        conn.executemany("INSERT INTO u VALUES (?, ?, 5)", [(1, 1.0), (2, 1), (3, 2.0), (4, 2), (5, 0.5),
                                                             (6, 1.5), (7, 3), (8, "1"), (9, b"\x01"),
                                                             (10, 1.0), (11, 2)])
    assert db.execute(sql, params).fetchall() == ref.execute(sql, params).fetchall()


@pytest.mark.parametrize("ddl", [
    "CREATE TABLE k (id INTEGER PRIMARY KEY, b UNIQUE)",
    "CREATE TABLE k (id INTEGER PRIMARY KEY, b BLOB UNIQUE)",
    "CREATE TABLE k (b PRIMARY KEY, id INTEGER)",
    "CREATE TABLE k (id INTEGER PRIMARY KEY, a INTEGER, b, UNIQUE (a, b))",
])
def test_unique_keys_without_affinity_hold_1_and_1_0_as_one_value(db, ddl):
    """1 and 1.0 are equal: a unique or primary key on a column without affinity takes one of them,
    as in sqlite, whether inserted one by one, in one executemany, or by an UPDATE; the data stays
    exactly as it was after the refusal."""
    cols = "(id, a, b)" if " a INTEGER" in ddl else "(id, b)"
    row = (lambda i, b: (i, 5, b)) if " a INTEGER" in ddl else (lambda i, b: (i, b))
    marks = "(?, ?, ?)" if " a INTEGER" in ddl else "(?, ?)"
    steps = [("one", [row(1, 1)]), ("one", [row(2, 1.0)]), ("one", [row(3, 2.0)]), ("one", [row(4, 2)]),
             ("many", [row(5, 7), row(6, 7.0)]), ("many", [row(7, 8.5), row(8, 9)]),
             ("update", "UPDATE k SET b = 1.0 WHERE id = 7"), ("update", "UPDATE k SET b = 9.0 WHERE id = 8"),
             ("update", "UPDATE k SET b = 3 WHERE id = 1")]
    outcomes = []
    ref = sqlite3.connect(":memory:")
    for conn in (ref, db):
        conn.execute(ddl)
        conn.commit()
        out = []
        for kind, arg in steps:
            try:
                if kind == "update":
                    conn.execute(arg)
                elif kind == "one":
                    conn.execute("INSERT INTO k %s VALUES %s" % (cols, marks), arg[0])
                else:
                    conn.executemany("INSERT INTO k %s VALUES %s" % (cols, marks), arg)
                conn.commit()
                out.append("ok")
            except (sqlite3.IntegrityError, rome.IntegrityError):
                conn.rollback()
                out.append("unique")
        out.append(sorted(map(tuple, conn.execute("SELECT id, b, typeof(b) FROM k").fetchall())))
        outcomes.append(out)
    assert outcomes[1] == outcomes[0]

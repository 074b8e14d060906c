"""executemany of an INSERT and multi-row VALUES: rows checked and written as one batch
(TableRows.insert_batch), with the errors, atomicity and results of inserting them one by one, as
sqlite3 gives them."""
import sqlite3

import pytest

import rome

SCHEMA = [
    "CREATE TABLE p (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(20) NOT NULL UNIQUE, n INTEGER, "
    "at DATETIME, CHECK (n IS NULL OR n >= 0))",
    "CREATE INDEX ix_p_at ON p (at, n)",
    "CREATE TABLE c (pid INTEGER NOT NULL REFERENCES p (id), k VARCHAR(5) NOT NULL, PRIMARY KEY (pid, k))",
]


@pytest.fixture
def pair(db):
    ref = sqlite3.connect(":memory:")
    ref.execute("PRAGMA foreign_keys = ON")
    for conn in (db, ref):
        for s in SCHEMA:
            conn.execute(s)
        conn.execute("INSERT INTO p (name, n, at) VALUES ('first', 1, '2024-01-01 00:00:00')")
        conn.commit()
    return db, ref


def both_many(pair, sql, seq):
    """executemany on both: the same error class (or none) and, without an error, the same tables;
    -> ROME's (error class name or None, rowcount), tables. With an error ROME keeps nothing of the
    call (an executemany is one atomic statement), where sqlite3 keeps the rows before the failing one."""
    out = []
    for conn, err in ((pair[0], rome.Error), (pair[1], sqlite3.Error)):
        try:
            cur = conn.cursor()
            cur.executemany(sql, seq)
            e = None, cur.rowcount
        except err as ex:
            e = type(ex).__name__, None
        rows = [conn.execute("SELECT * FROM %s ORDER BY 1, 2" % t).fetchall() for t in ("p", "c")]
        out.append((e, [[tuple(r) for r in rs] for rs in rows]))
    assert out[0][0][0] == out[1][0][0]
    if out[0][0][0] is None:
        assert out[0] == out[1]
    return out[0]


INS = "INSERT INTO p (name, n, at) VALUES (?, ?, ?)"


def test_a_batch_is_inserted_whole(pair):
    (err, rowcount), (p, _c) = both_many(pair, INS, [("r%03d" % i, i, "2024-02-01 %02d:00:00" % (i % 24))
                                                   for i in range(300)])
    assert err is None and rowcount == 300 and len(p) == 301
    db = pair[0]
    assert db.execute("SELECT id FROM p WHERE at = '2024-02-01 05:00:00' AND n = 5").fetchall() == [(7,)]
    cur = db.cursor()
    cur.executemany(INS, [("x1", 1, None), ("x2", 2, None)])
    assert cur.lastrowid == db.execute("SELECT id FROM p WHERE name = 'x2'").fetchall()[0][0]


@pytest.mark.parametrize("bad", [
    [("a", 1, None), ("first", 2, None), ("b", 3, None)],          # unique taken by a committed row
    [("a", 1, None), ("b", 2, None), ("a", 3, None)],              # twice in the batch
    [("a", 1, None), (None, 2, None), ("b", 3, None)],             # NOT NULL
    [("a", 1, None), ("b", -2, None), ("c", 3, None)],             # CHECK
])
def test_a_failing_row_leaves_nothing(pair, bad):
    (err, _n), (p, _c) = both_many(pair, INS, bad)
    assert err == "IntegrityError" and p == [(1, "first", 1, "2024-01-01 00:00:00")]


def test_the_first_failing_row_gives_the_error(pair):
    """Row 2 breaks NOT NULL and row 3 holds a value its column cannot take: the error is row 2's,
    as when the rows go in one by one."""
    db = pair[0]
    with pytest.raises(rome.IntegrityError, match="NOT NULL"):
        db.executemany("INSERT INTO c (pid, k) VALUES (?, ?)", [(1, "a"), (1, None), ("x", "b")])
    assert db.execute("SELECT count(*) FROM c").fetchall() == [(0,)]


def test_foreign_keys_are_checked_per_row(pair):
    (err, _n), (_p, c) = both_many(pair, "INSERT INTO c (pid, k) VALUES (?, ?)", [(1, "a"), (1, "b"), (99, "c")])
    assert err == "IntegrityError" and c == []
    for conn in pair:
        conn.rollback()   # sqlite3 kept the rows before the failing one
    (err, _n), (_p, c) = both_many(pair, "INSERT INTO c (pid, k) VALUES (?, ?)", [(1, "a"), (1, "b")])
    assert err is None and c == [(1, "a"), (1, "b")]


def test_a_savepoint_undoes_a_batch(db):
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    db.execute("INSERT INTO t VALUES (1, 'keep')")
    db.execute("SAVEPOINT s")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x") for i in range(2, 50)])
    db.execute("INSERT INTO t VALUES (50, 'y')")
    assert db.execute("SELECT count(*) FROM t").fetchall() == [(50,)]
    db.execute("ROLLBACK TO SAVEPOINT s")
    assert db.execute("SELECT * FROM t").fetchall() == [(1, "keep")]
    db.executemany("INSERT INTO t VALUES (?, ?)", [(i, "z") for i in range(2, 5)])
    db.commit()
    assert db.execute("SELECT id, v FROM t ORDER BY id").fetchall() == [(1, "keep"), (2, "z"), (3, "z"), (4, "z")]


def test_multi_row_values(pair):
    db, ref = pair
    sql = "INSERT INTO p (name, n) VALUES ('m1', 1), ('m2', NULL), ('m3', 3)"
    for conn in (db, ref):
        conn.execute(sql)
    q = "SELECT id, name, n FROM p ORDER BY id"
    assert [tuple(r) for r in db.execute(q).fetchall()] == ref.execute(q).fetchall()

"""Transactions through the driver, compared with sqlite3 doing the same: explicit BEGIN in
autocommit mode, and DDL undone by ROLLBACK."""
import sqlite3

import pytest

import rome


def _count(conn, table="t"):
    return conn.execute("SELECT count(*) FROM %s" % table).fetchone()[0]


@pytest.mark.parametrize("end, kept", [("ROLLBACK", 0), ("COMMIT", 1)])
def test_begin_in_autocommit_mode_holds_the_transaction(url, end, kept):
    """In autocommit mode (sqlite3's autocommit=True / isolation_level=None) a BEGIN opens a
    transaction that lasts until COMMIT or ROLLBACK: what ROLLBACK ends is undone, also for
    another connection."""
    ref = sqlite3.connect(":memory:", isolation_level=None)
    conn = rome.connect(url, autocommit=True)
    other = rome.connect(url, autocommit=True)
    try:
        for c in (ref, conn):
            c.execute("CREATE TABLE t (a)")
            c.execute("BEGIN")
            c.execute("INSERT INTO t VALUES (1)")
            c.execute("CREATE TABLE u (a)")
            c.execute("INSERT INTO u VALUES (1)")
        assert conn.in_transaction
        assert _count(other) == 0, "another connection saw an uncommitted row"
        for c in (ref, conn):
            c.execute(end)
        assert not conn.in_transaction
        assert _count(conn) == _count(ref) == kept
        assert _count(other) == kept
        if kept:
            assert _count(other, "u") == 1
        else:
            with pytest.raises(rome.ProgrammingError, match="no such table: u"):
                other.execute("SELECT * FROM u")
    finally:
        conn.close()
        other.close()


@pytest.mark.parametrize("ddl", ["DROP TABLE t", "ALTER TABLE t ADD COLUMN b DEFAULT 5",
                                 "ALTER TABLE t RENAME TO v", "ALTER TABLE t RENAME COLUMN a TO z",
                                 "CREATE INDEX i ON t (a)", "DELETE FROM t"])
def test_rollback_undoes_ddl_after_begin_in_autocommit_mode(url, ddl):
    conn = rome.connect(url, autocommit=True)
    try:
        conn.execute("CREATE TABLE t (a)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("BEGIN")
        conn.execute(ddl)
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT * FROM t WHERE a = 1").fetchall() == [(1,)]
        assert [d[0] for d in conn.execute("SELECT * FROM t").description] == ["a"]
    finally:
        conn.close()


def test_add_references_column_with_a_default_is_refused_as_sqlite(both):
    """Each existing row would reference parent 3, which does not exist: SQLite refuses the column
    (OperationalError) and the table stays as it was."""
    for sql in ["CREATE TABLE p (id INTEGER PRIMARY KEY)", "CREATE TABLE t (a)", "INSERT INTO t VALUES (1)"]:
        both.run(sql)
    both.rome.commit()
    both.ref.commit()
    e = both.run("ALTER TABLE t ADD COLUMN b REFERENCES p (id) DEFAULT 3")
    assert isinstance(e, rome.OperationalError) and "non-NULL default" in str(e)
    both.same("SELECT * FROM t")
    both.run("ALTER TABLE t ADD COLUMN c REFERENCES p (id) DEFAULT NULL")
    both.same("SELECT * FROM t")
    both.same("INSERT INTO t VALUES (2, NULL)")
    assert isinstance(both.run("INSERT INTO t VALUES (3, 3)"), rome.IntegrityError)


def test_no_generated_key_left_is_an_operational_error_as_sqlite(url):
    """Past the largest 64-bit key, SQLite's AUTOINCREMENT fails with 'database or disk is full'
    (OperationalError); the table stays as it was and explicit keys still go in."""
    ref = sqlite3.connect(":memory:", isolation_level=None)
    conn = rome.connect(url, autocommit=True)
    try:
        for c in (ref, conn):
            c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v)")
            c.execute("INSERT INTO t VALUES (?, 'last')", (2 ** 63 - 1,))
        errors = []
        for c in (ref, conn):
            with pytest.raises(Exception) as e:
                c.execute("INSERT INTO t (v) VALUES ('next')")
            errors.append(e.value)
        assert type(errors[1]).__name__ == type(errors[0]).__name__ == "OperationalError"
        assert isinstance(errors[1], rome.OperationalError)
        assert "database or disk is full" in str(errors[0]) and "database or disk is full" in str(errors[1])
        for c in (ref, conn):
            c.execute("INSERT INTO t VALUES (5, 'explicit')")
        q = "SELECT * FROM t ORDER BY id"
        assert conn.execute(q).fetchall() == ref.execute(q).fetchall() == [(5, "explicit"), (2 ** 63 - 1, "last")]
    finally:
        conn.close()


@pytest.mark.parametrize("sql", ["SELECT * FROM t WHERE id = ?", "SELECT ?", "SELECT ? + 1",
                                 "SELECT * FROM t WHERE v = ?", "DELETE FROM t WHERE id = ?",
                                 "UPDATE t SET v = ?"])
@pytest.mark.parametrize("value", [2 ** 64, -2 ** 63 - 1, 2 ** 63])
def test_integer_parameter_beyond_64_bits_is_a_data_error(db, sql, value):
    """sqlite3 refuses to bind such an integer (OverflowError, whatever the statement); ROME says
    DataError, where a primary-key lookup said InternalError and SELECT ? returned it as is."""
    ref = sqlite3.connect(":memory:")
    for c in (ref, db):
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")
        c.execute("INSERT INTO t VALUES (1, 'one')")
        c.commit()
    with pytest.raises(OverflowError):
        ref.execute(sql, (value,))
    with pytest.raises(rome.DataError, match="64-bit"):
        db.execute(sql, (value,))
    db.rollback()
    assert db.execute("SELECT * FROM t").fetchall() == [(1, "one")]


def test_index_of_a_unique_constraint_cannot_be_dropped(both):
    """DROP INDEX of the index behind a UNIQUE constraint dropped the constraint: duplicates went
    in. SQLite refuses it (OperationalError) and the constraint holds."""
    both.run("CREATE TABLE t (a UNIQUE, b, c, UNIQUE (b, c))")
    both.same("INSERT INTO t VALUES (1, 1, 1)")
    for name in ("sqlite_autoindex_t_1", "sqlite_autoindex_t_2"):
        e = both.run("DROP INDEX %s" % name)
        assert isinstance(e, rome.OperationalError) and "cannot be dropped" in str(e)
    assert isinstance(both.run("INSERT INTO t VALUES (1, 2, 2)"), rome.IntegrityError)
    assert isinstance(both.run("INSERT INTO t VALUES (2, 1, 1)"), rome.IntegrityError)
    both.same("SELECT * FROM t")


def _outcome(conn, module, sql):
    try:
        conn.execute(sql)
    except module.Error as e:
        return type(e).__name__, str(e)
    return "ok", None


TRANSACTION_CONTROL = [
    ["BEGIN", "BEGIN"],
    ["BEGIN", "INSERT INTO t VALUES (2)", "BEGIN TRANSACTION"],
    ["SAVEPOINT s", "BEGIN"],
    ["INSERT INTO t VALUES (2)", "BEGIN"],
    ["COMMIT"],
    ["ROLLBACK"],
    ["END TRANSACTION"],
    ["BEGIN", "COMMIT", "COMMIT"],
    ["BEGIN", "ROLLBACK", "ROLLBACK"],
    ["SELECT * FROM t", "COMMIT"],
    ["SELECT * FROM t", "BEGIN", "INSERT INTO t VALUES (2)", "ROLLBACK"],
    ["INSERT INTO t VALUES (2)", "COMMIT", "COMMIT"],
    ["SAVEPOINT s", "RELEASE s", "ROLLBACK"],
    ["PRAGMA user_version", "BEGIN", "INSERT INTO t VALUES (2)", "COMMIT"],
    ["PRAGMA table_info(t)", "COMMIT"],
]


@pytest.mark.parametrize("autocommit", [False, True])
@pytest.mark.parametrize("statements", TRANSACTION_CONTROL, ids=" ; ".join)
def test_transaction_control_refused_as_by_sqlite(url, statements, autocommit):
    """BEGIN inside a transaction and COMMIT/ROLLBACK outside one are refused as by sqlite3
    (OperationalError, same message), in its default mode and in autocommit mode; the data
    afterwards is the same."""
    ref = sqlite3.connect(":memory:", isolation_level=None if autocommit else "")
    conn = rome.connect(url, autocommit=autocommit)
    try:
        for c in (ref, conn):
            c.execute("CREATE TABLE t (a)")
            c.execute("INSERT INTO t VALUES (1)")
            c.commit()
        for sql in statements:
            assert _outcome(conn, rome, sql) == _outcome(ref, sqlite3, sql), sql
        ref.rollback()
        conn.rollback()
        rows = "SELECT a FROM t ORDER BY a"
        assert conn.execute(rows).fetchall() == ref.execute(rows).fetchall()
    finally:
        conn.close()
        ref.close()


def test_begin_after_reads_starts_a_fresh_transaction(url):
    """A transaction that has only read is not open for BEGIN (as in sqlite3's default mode): BEGIN
    starts one that sees what others committed since those reads."""
    conn = rome.connect(url)
    other = rome.connect(url, autocommit=True)
    try:
        conn.execute("CREATE TABLE t (a)")
        conn.commit()
        assert _count(conn) == 0
        other.execute("INSERT INTO t VALUES (1)")
        conn.execute("BEGIN")
        assert _count(conn) == 1
        conn.execute("INSERT INTO t VALUES (2)")
        conn.execute("COMMIT")
        assert _count(other) == 2
    finally:
        conn.close()
        other.close()


def test_quoted_savepoint_names_as_sqlite(url):
    """Savepoint names quoted as SQLite allows ("a b", [a b], 'a b', `x`, a doubled quote inside),
    matched without case: ROLLBACK TO undoes to the right one and the rows end as in sqlite3 (they
    were refused as unsupported statements, and what they meant to undo stayed)."""
    statements = ['SAVEPOINT "a b"', "INSERT INTO t VALUES (1)", "SAVEPOINT [C D]",
                  "INSERT INTO t VALUES (2)", 'ROLLBACK TO "c D"', "RELEASE SAVEPOINT 'a b'",
                  "SAVEPOINT `x`", "INSERT INTO t VALUES (3)", 'SAVEPOINT "q""q"',
                  "INSERT INTO t VALUES (4)", 'ROLLBACK TRANSACTION TO SAVEPOINT "Q""Q"', "RELEASE x"]
    ref = sqlite3.connect(":memory:", isolation_level=None)
    conn = rome.connect(url, autocommit=True)
    try:
        for c, m in ((ref, sqlite3), (conn, rome)):
            c.execute("CREATE TABLE t (a)")
        for sql in statements:
            assert _outcome(conn, rome, sql) == _outcome(ref, sqlite3, sql), sql
        assert not conn.in_transaction and not ref.in_transaction
        rows = "SELECT a FROM t ORDER BY a"
        assert conn.execute(rows).fetchall() == ref.execute(rows).fetchall() == [(1,), (3,)]
    finally:
        conn.close()
        ref.close()


@pytest.mark.parametrize("failing", [
    "INSERT OR ROLLBACK INTO t VALUES (3, 1, NULL)",
    "INSERT OR ROLLBACK INTO t VALUES (3, NULL, NULL)",
    "INSERT OR ROLLBACK INTO t VALUES (3, -5, NULL)",
    "UPDATE OR ROLLBACK t SET b = 1",
    "INSERT OR ROLLBACK INTO t VALUES (3, 3, 99)",
    "INSERT OR ABORT INTO t VALUES (3, 1, NULL)",
    "UPDATE OR FAIL t SET b = 2 WHERE a = 1",
])
def test_or_rollback_ends_the_transaction_as_sqlite(url, failing):
    """OR ROLLBACK: a UNIQUE, NOT NULL or CHECK failure rolls the whole transaction back, as in
    SQLite (it acted as ABORT: what the transaction wrote before stayed, and COMMIT kept it); a
    foreign key failure only fails the statement (the clause does not apply to foreign keys)."""
    ref = sqlite3.connect(":memory:", isolation_level=None)
    conn = rome.connect(url, autocommit=True)
    try:
        for c in (ref, conn):
            c.execute("PRAGMA foreign_keys = ON")
            c.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
            c.execute("CREATE TABLE t (a PRIMARY KEY, b UNIQUE NOT NULL CHECK (b > 0), "
                      "c REFERENCES p (id))")
            c.execute("INSERT INTO t VALUES (1, 1, NULL)")
        for sql in ["BEGIN", "INSERT INTO t VALUES (2, 2, NULL)", failing, "INSERT INTO t VALUES (4, 4, NULL)",
                    "COMMIT"]:
            assert _outcome(conn, rome, sql)[0] == _outcome(ref, sqlite3, sql)[0], sql
        rows = "SELECT * FROM t ORDER BY a"
        assert conn.execute(rows).fetchall() == ref.execute(rows).fetchall()
    finally:
        conn.close()
        ref.close()

"""Connection.iterdump() and executescript(), against sqlite3's.

A dump from ROME replays in sqlite3 to the same schema and rows; sqlite3's own dump of that database
replays in ROME to the same rows again; ROME replays its own dump (Nova's Database fixture caches its
migrated schema that way). executescript follows sqlite3's: a pending transaction is committed first,
and a failing script leaves the data of its open transaction exactly as it was.
"""
import sqlite3

import pytest

import rome

SCHEMA = """
CREATE TABLE account (
    id INTEGER NOT NULL,
    name VARCHAR(40) NOT NULL DEFAULT 'it''s; -- not a comment',
    created DATETIME DEFAULT CURRENT_TIMESTAMP,
    quota INTEGER DEFAULT (2 * 50),
    PRIMARY KEY (id),
    CONSTRAINT uq_account_name UNIQUE (name)
);
/* a block comment; with a semicolon */
CREATE TABLE node (
    id VARCHAR(36) NOT NULL,
    account_id INTEGER NOT NULL,
    parent_id VARCHAR(36),
    weight FLOAT,
    data BLOB,
    CONSTRAINT pk_node PRIMARY KEY (id),
    CONSTRAINT fk_node_account FOREIGN KEY (account_id) REFERENCES account (id) ON DELETE CASCADE,
    FOREIGN KEY (parent_id) REFERENCES node (id),
    CONSTRAINT ck_weight CHECK (weight IS NULL OR weight >= 0)
);
CREATE INDEX ix_node_account ON node (account_id, parent_id);
CREATE UNIQUE INDEX ux_node_weight ON node (weight);
CREATE TABLE log (msg TEXT, n NUMERIC);  -- no primary key: rowid table
"""

TEXTS = ["plain", "quote ' and \"double\"", "semi;colon", "new\nline", "nul\x00byte", "ünï©ødé ✓",
         "-- dashes", "/* star */", ""]
FLOATS = [0.1, 2.5, 1e100, 5e-324, float("inf"), 123456789.125, 3.0]


def fill(conn):
    conn.executescript(SCHEMA)
    cur = conn.cursor()
    cur.executemany("INSERT INTO account (id, name, created) VALUES (?, ?, '2020-01-02 03:04:05')",
                    [(i + 1, t) for i, t in enumerate(TEXTS)] + [(2 ** 62, "big")])
    # the child row first, its parent after: the dump must order them parents first
    cur.execute("INSERT INTO node VALUES ('c', 1, NULL, NULL, NULL)")
    cur.execute("INSERT INTO node VALUES ('a', 1, NULL, 0.0, X'')")
    cur.execute("UPDATE node SET parent_id = 'a' WHERE id = 'c'")
    cur.executemany("INSERT INTO node VALUES (?, ?, ?, ?, ?)",
                    [("n%d" % i, 2, "c", f, bytes(range(i, i + 5))) for i, f in enumerate(FLOATS)])
    cur.executemany("INSERT INTO log VALUES (?, ?)", [(t, i) for i, t in enumerate(TEXTS)]
                    + [(None, 1.5), (None, float("-inf")), (-2.5, None)])
    conn.commit()


def contents(conn):
    out = {}
    for table in ("account", "node", "log"):
        out[table] = sorted(conn.execute("SELECT * FROM %s" % table).fetchall(), key=repr)
    return out


def indexes(conn):
    """(name, unique, columns) of the indexes the sqlite3 connection has (what ROME's dump created)."""
    out = set()
    for table in ("account", "node", "log"):
        for _, name, unique, *_ in conn.execute("PRAGMA index_list(%s)" % table):
            cols = tuple(r[2] for r in conn.execute("PRAGMA index_info(%s)" % name))
            out.add((table, name if not name.startswith("sqlite_autoindex") else "auto", unique, cols))
    return out


@pytest.fixture
def ref():
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA foreign_keys = ON")
    yield conn
    conn.close()


def test_rome_dump_replays_in_sqlite_and_back(db, ref, url):
    fill(db)
    expected = sqlite3.connect(":memory:")
    fill(expected)
    assert contents(db) == contents(expected)

    dump = list(db.iterdump())
    assert dump[0] == "BEGIN TRANSACTION;" and dump[-1] == "COMMIT;"
    assert all(line.endswith(";") for line in dump)
    ref.executescript("".join(dump))            # as Nova joins them: no separator
    assert contents(ref) == contents(expected)
    assert indexes(ref) == indexes(expected)
    # constraints came along: unique, check, foreign keys (with ON DELETE CASCADE)
    with pytest.raises(sqlite3.IntegrityError):
        ref.execute("INSERT INTO account (id, name) VALUES (99, 'plain')")
    with pytest.raises(sqlite3.IntegrityError):
        ref.execute("INSERT INTO node VALUES ('x', 1, NULL, -1.0, NULL)")
    with pytest.raises(sqlite3.IntegrityError):
        ref.execute("INSERT INTO node VALUES ('y', 12345, NULL, NULL, NULL)")
    ref.execute("DELETE FROM account WHERE id = 2")
    assert ref.execute("SELECT count(*) FROM node WHERE account_id = 2").fetchone() == (0,)
    ref.rollback()

    # sqlite3's dump of it, replayed in a fresh ROME database (sqlite3 writes infinities as Inf, which
    # it cannot read back itself, and cuts text at a NUL: those values stay out)
    for conn in (ref, expected):
        conn.execute("DELETE FROM log WHERE n = -9e999 OR msg = ?", ("nul\x00byte",))
        conn.execute("DELETE FROM account WHERE name = ?", ("nul\x00byte",))
        conn.execute("UPDATE node SET weight = NULL WHERE weight = 9e999")
        conn.commit()
    back = rome.connect(url + "-back" if url.startswith("rome+memory") else url + "_back")
    try:
        back.executescript("".join(ref.iterdump()))
        assert contents(back) == contents(expected)
        with pytest.raises(rome.IntegrityError):
            back.execute("INSERT INTO account (id, name) VALUES (99, 'plain')")
    finally:
        back.close()


def test_rome_replays_its_own_dump_with_foreign_keys_enforced(db, url):
    fill(db)
    copy = rome.connect(url + "-copy" if url.startswith("rome+memory") else url + "_copy")
    try:
        copy.executescript("".join(db.iterdump()))
        assert contents(copy) == contents(db)
        assert list(copy.iterdump()) == list(db.iterdump())
        with pytest.raises(rome.IntegrityError):
            copy.execute("INSERT INTO node VALUES ('y', 12345, NULL, NULL, NULL)")
    finally:
        copy.close()


def test_iterdump_of_an_empty_database(db):
    assert list(db.iterdump()) == ["BEGIN TRANSACTION;", "COMMIT;"]


def test_iterdump_sees_the_connections_own_uncommitted_writes_and_keeps_them_pending(db):
    db.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
    db.commit()
    db.execute("INSERT INTO t VALUES (7)")
    assert 'INSERT INTO "t" VALUES(7);' in list(db.iterdump())
    db.rollback()
    assert 'INSERT INTO "t" VALUES(7);' not in list(db.iterdump())


def test_iterdump_shows_what_others_committed_after_this_connection_only_read(db, url):
    db.execute("SELECT 1").fetchall()            # a pool's pre-ping: a read, no write
    other = rome.connect(url)
    try:
        other.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
        other.execute("INSERT INTO t VALUES (1)")
        other.commit()
    finally:
        other.close()
    dump = list(db.iterdump())
    assert 'INSERT INTO "t" VALUES(1);' in dump    # as sqlite3 shows it


def test_executescript_commits_a_pending_transaction_first(db, url):
    db.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
    db.execute("INSERT INTO t VALUES (1)")
    db.executescript("INSERT INTO t VALUES (2);")
    db.rollback()                                 # nothing left to roll back
    other = rome.connect(url)
    try:
        assert other.execute("SELECT a FROM t ORDER BY a").fetchall() == [(1,), (2,)]
    finally:
        other.close()


@pytest.mark.parametrize("bad, error", [
    ("INSERT INTO t VALUES (1);", (rome.IntegrityError, sqlite3.IntegrityError)),
    ("INSERT INTO nowhere VALUES (1);", (rome.ProgrammingError, rome.OperationalError,
                                         sqlite3.OperationalError)),
    ("INSERT INTO t VALUES (;", (rome.ProgrammingError, rome.OperationalError, sqlite3.OperationalError)),
])
def test_a_failing_script_leaves_the_data_as_it_was(db, ref, bad, error):
    script = "BEGIN; INSERT INTO t VALUES (5); CREATE TABLE u (x TEXT); %s INSERT INTO t VALUES (6); COMMIT;" % bad
    for conn in (db, ref):
        conn.executescript("CREATE TABLE t (a INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);")
        with pytest.raises(error):
            conn.executescript(script)
        if conn is ref:
            conn.rollback()  # sqlite3 leaves the script's transaction open; ROME rolls it back
        else:
            assert not db.in_transaction
        assert conn.execute("SELECT a FROM t").fetchall() == [(1,)]
        with pytest.raises((rome.ProgrammingError, rome.OperationalError, sqlite3.OperationalError)):
            conn.execute("SELECT * FROM u")


def test_statements_outside_begin_commit_commit_one_by_one(db, url):
    with pytest.raises(rome.IntegrityError):
        db.executescript("CREATE TABLE t (a INTEGER PRIMARY KEY); INSERT INTO t VALUES (1); "
                         "INSERT INTO t VALUES (1);")
    other = rome.connect(url)
    try:
        assert other.execute("SELECT a FROM t").fetchall() == [(1,)]   # as sqlite3 keeps them
    finally:
        other.close()


def test_executescript_needs_a_string(db, ref):
    for conn in (db, ref):                        # the same error as sqlite3's
        with pytest.raises(TypeError, match="argument must be str, not bytes"):
            conn.executescript(b"SELECT 1;")
    db.close()
    with pytest.raises(rome.ProgrammingError):
        db.executescript("SELECT 1;")
    with pytest.raises(rome.ProgrammingError):
        db.iterdump()

"""Index entries that carry their row (rome.encoding.entrycode): reads through an index give the same
rows as sqlite3, every write keeps each entry's copy exactly the row's value (the stress test's
consistency check), an index written by an earlier version (pk-only entries) keeps working and stays
pk-only, rows too large to carry are read by their key, and a read through a carrying entry conflicts
with a concurrent UPDATE of the row."""
import json
import os
import sys
import threading

import pytest

import rome
from rome.encoding.entrycode import MARK, ROW_LIMIT
from rome.encoding.keycode import prefix_end
from rome.sql import keys
from rome.storage import Transaction

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import redis_stress  # noqa: E402  (its check_consistency: every entry exactly what its row makes)


def _entries(db, table, index):
    t = db.catalog().table(table)
    ix = next(i for i in t.indexes if i.name == index)
    p = keys.index_prefix(t.id, ix.id)
    txn = Transaction(db.store)
    try:
        return list(txn.scan(p, prefix_end(p)))
    finally:
        txn.rollback()


def _consistent(db):
    assert redis_stress.check_consistency(db.store) == []


SCHEMA = ["CREATE TABLE img (id TEXT PRIMARY KEY, owner TEXT, name TEXT, size INTEGER, data BLOB)",
          "CREATE INDEX ix_owner ON img (owner)",
          "CREATE UNIQUE INDEX ix_name ON img (name)",
          "CREATE INDEX ix_owner_size ON img (owner, size)"]
QUERIES = ["SELECT * FROM img WHERE owner = 'p1' ORDER BY id",
           "SELECT id, size FROM img WHERE owner = 'p2' AND size > 2 ORDER BY size DESC",
           "SELECT * FROM img WHERE name = 'n3'",
           "SELECT * FROM img WHERE name IN ('n1', 'n4', 'nx') ORDER BY id",
           "SELECT a.id, b.id FROM img a JOIN img b ON b.owner = a.owner AND b.id > a.id ORDER BY 1, 2",
           "SELECT owner, count(*), sum(size) FROM img WHERE owner >= 'p1' GROUP BY owner ORDER BY owner"]


def _load(both, n=8):
    for s in SCHEMA:
        both.run(s)
    for i in range(n):
        both.run("INSERT INTO img VALUES (?, ?, ?, ?, ?)", ("i%d" % i, "p%d" % (i % 3), "n%d" % i, i, b"x" * i))
    both.rome.commit()
    both.ref.commit()


def _same(both):
    for q in QUERIES:
        both.same(q)


def test_new_indexes_carry_rows_and_answer_as_sqlite(both):
    _load(both)
    assert all(ix.rows for ix in both.rome.catalog().table("img").indexes)
    assert {v[0] for _k, v in _entries(both.rome, "img", "ix_owner")} == {MARK}
    _same(both)
    _consistent(both.rome)


def test_every_write_keeps_the_carried_rows_exact(both):
    _load(both)
    for sql in ["UPDATE img SET size = size + 10 WHERE owner = 'p1'",      # a column no index holds...
                "UPDATE img SET data = x'00ff' WHERE id = 'i2'",          # ...and one that none holds
                "UPDATE img SET owner = 'p9' WHERE name = 'n4'",          # an indexed column
                "UPDATE img SET id = 'j5' WHERE id = 'i5'",               # the primary key
                "DELETE FROM img WHERE owner = 'p2' AND size < 3",
                "INSERT INTO img VALUES ('k1', 'p1', 'nk', 7, NULL)",
                "INSERT OR REPLACE INTO img VALUES ('k2', 'p2', 'nk', 8, x'01')",
                "UPDATE img SET name = 'n4' WHERE id = 'i1'"]:            # a UNIQUE failure: nothing
        both.run(sql)
        _same(both)
        _consistent(both.rome)
    both.rome.commit()
    _same(both)
    _consistent(both.rome)


def test_ddl_keeps_carried_rows_right(both):
    _load(both)
    both.run("ALTER TABLE img ADD COLUMN tag TEXT DEFAULT 'none'")   # rows and entries lack it: its fill
    _same(both)
    both.same("SELECT tag, id FROM img WHERE owner = 'p1' ORDER BY id")
    both.run("UPDATE img SET tag = 'set' WHERE id = 'i1'")
    both.run("CREATE INDEX ix_size ON img (size)")                    # backfilled with rows
    both.same("SELECT * FROM img WHERE size BETWEEN 1 AND 4 ORDER BY size")
    both.run("ALTER TABLE img DROP COLUMN data")
    both.same("SELECT * FROM img WHERE owner = 'p1' ORDER BY id")
    both.same("SELECT * FROM img WHERE size > 2 ORDER BY size")
    both.run("ALTER TABLE img RENAME COLUMN name TO title")
    both.same("SELECT * FROM img WHERE title = 'n1'")
    both.rome.commit()
    both.ref.commit()
    _consistent(both.rome)
    inserts = [[x for x in c.iterdump() if x.startswith("INSERT")] for c in (both.rome, both.ref)]
    assert inserts[0] == inserts[1] and len(inserts[0]) == 8
    both.run("DROP TABLE img")
    both.rome.commit()
    txn = Transaction(both.rome.store)
    try:
        assert list(txn.scan(b"\x01", None)) == []
    finally:
        txn.rollback()


def test_an_unchanged_row_writes_nothing(url):
    """UPDATE to the same values writes no entry: a transaction that read the row through an index
    commits after it."""
    a, b = rome.connect(url), rome.connect(url)
    try:
        a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v TEXT)")
        a.execute("CREATE INDEX ix_k ON t (k)")
        a.execute("INSERT INTO t VALUES (1, 'a', 'x')")
        a.commit()
        assert a.execute("SELECT v FROM t WHERE k = 'a'").fetchall() == [("x",)]
        b.execute("UPDATE t SET v = 'x' WHERE id = 1")
        b.commit()
        a.execute("INSERT INTO t VALUES (2, 'b', 'y')")
        a.commit()
    finally:
        a.close()
        b.close()


def _to_pk_only(db, table):
    """Make table's indexes what an earlier ROME wrote: entries holding the primary key only, and
    the catalog without ``rows`` (its header's version moved on, as after DDL)."""
    t = db.catalog().table(table)
    txn = Transaction(db.store)
    for ix in t.indexes:
        p = keys.index_prefix(t.id, ix.id)
        for k, v in list(txn.scan(p, prefix_end(p))):
            txn.put(k, v[3:3 + (v[1] << 8 | v[2])])
    d = json.loads(txn.get(keys.table_def_key(t.id)))
    for ix in d["indexes"]:
        del ix["rows"]
    txn.put(keys.table_def_key(t.id), json.dumps(d).encode())
    h = json.loads(txn.get(keys.CATALOG))
    h["version"] += 1
    txn.put(keys.CATALOG, json.dumps(h).encode())
    txn.commit()


def test_an_index_written_before_keeps_pk_only_entries(both, url):
    _load(both)
    both.rome.close()
    plain = rome.connect(url)
    _to_pk_only(plain, "img")
    plain.close()
    both.rome = rome.connect(url)
    _same(both)
    assert not any(ix.rows for ix in both.rome.catalog().table("img").indexes)
    both.run("UPDATE img SET size = 40 WHERE owner = 'p1'")
    both.run("UPDATE img SET owner = 'p2' WHERE id = 'i3'")
    both.run("DELETE FROM img WHERE id = 'i4'")
    both.run("INSERT INTO img VALUES ('k1', 'p1', 'nk', 7, NULL)")
    both.run("CREATE INDEX ix_size ON img (size)")                  # a new index carries rows
    both.rome.commit()
    _same(both)
    both.same("SELECT * FROM img WHERE size > 5 ORDER BY size, id")
    _consistent(both.rome)   # the old indexes' entries all pk-only, the new one's carrying
    assert all(v[0] != MARK for _k, v in _entries(both.rome, "img", "ix_owner"))
    assert all(v[0] == MARK for _k, v in _entries(both.rome, "img", "ix_size"))
    assert [ix.rows for ix in both.rome.catalog().table("img").indexes] == [False] * 3 + [True]
    both.rome.close()


def test_large_rows_are_not_carried(both):
    """Rows past ROW_LIMIT: their entries hold the primary key; one range mixes both kinds; a row
    that grows or shrinks across the limit changes kind."""
    _load(both)
    big = b"b" * ROW_LIMIT
    both.run("INSERT INTO img VALUES ('big1', 'p1', 'nb1', 50, ?)", (big,))
    both.run("INSERT INTO img VALUES ('big2', 'p1', 'nb2', 51, ?)", (big,))
    both.rome.commit()
    kinds = {v[0] == MARK for _k, v in _entries(both.rome, "img", "ix_owner")}
    assert kinds == {True, False}
    _same(both)
    both.same("SELECT * FROM img WHERE name = 'nb1'")
    both.run("UPDATE img SET data = x'01' WHERE id = 'big1'")
    both.run("UPDATE img SET data = ? WHERE id = 'i1'", (big,))
    both.rome.commit()
    _same(both)
    _consistent(both.rome)


def concurrent_update_conflicts(url, read):
    """A transaction reads a row through an index (``read``, a query), another updates a column of
    that row no index holds and commits; the first one's commit then fails with ConflictError, and
    its write is not applied. Threads with a connection each (threadsafety 1)."""
    setup = rome.connect(url)
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, u TEXT, v TEXT)")
    setup.execute("CREATE INDEX ix_k ON t (k)")
    setup.execute("CREATE UNIQUE INDEX ix_u ON t (u)")
    setup.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(i, "k%d" % (i % 2), "u%d" % i, "v") for i in range(6)])
    setup.execute("CREATE TABLE log (x TEXT)")
    setup.commit()
    read_done, updated = threading.Event(), threading.Event()
    out = {}

    def reader():
        c = rome.connect(url)
        try:
            out["seen"] = c.execute(read).fetchall()
            read_done.set()
            updated.wait(30)
            c.execute("INSERT INTO log VALUES ('reader')")
            try:
                c.commit()
                out["commit"] = "ok"
            except rome.Error as e:
                out["commit"] = e
                c.rollback()
        finally:
            c.close()

    def writer():
        c = rome.connect(url)
        try:
            read_done.wait(30)
            c.execute("UPDATE t SET v = 'changed' WHERE id = 2")
            c.commit()
        finally:
            updated.set()
            c.close()
    ts = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert ("v",) in [r[-1:] for r in out["seen"]]
    assert isinstance(out["commit"], rome.ConflictError), out.get("commit")
    assert setup.execute("SELECT count(*) FROM log").fetchone() == (0,)
    assert setup.execute("SELECT v FROM t WHERE u = 'u2'").fetchone() == ("changed",)
    setup.rollback()
    setup.close()


@pytest.mark.parametrize("read", ["SELECT id, v FROM t WHERE k = 'k0'", "SELECT id, v FROM t WHERE u = 'u2'"])
def test_a_read_through_an_entry_conflicts_with_an_update_of_its_row(url, read):
    concurrent_update_conflicts(url, read)

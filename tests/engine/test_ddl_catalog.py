"""The catalog kept as one key per table plus a small header: DDL writes what it changes (its cost does
not grow with the schema), keeps its guarantees (a transaction that read the schema fails at commit
when DDL committed meanwhile, parsed catalogs shared, published catalogs never changed), and a store
written with the whole catalog in one key (an earlier ROME) is read and converted."""
import threading

import pytest

import rome
from rome.sql import keys
from rome.sql.catalog import Catalog
from rome.storage import Transaction

TABLE = ("CREATE TABLE %s (id INTEGER NOT NULL, uuid VARCHAR(36) NOT NULL, name VARCHAR(255), "
         "parent_id INTEGER, deleted INTEGER, created_at DATETIME, PRIMARY KEY (id), "
         "UNIQUE (uuid, deleted), FOREIGN KEY(parent_id) REFERENCES base (id))")


def _written(conn, sql):
    """Bytes the statement writes (keys and values), seen in the transaction before it commits."""
    txn = conn.session.txn
    before = dict(txn.writes) if txn is not None else {}
    conn.execute(sql)
    after = conn.session.txn.writes
    total = sum(len(k) + len(v or b"") for k, v in after.items() if before.get(k, object()) != v)
    conn.rollback()
    return total


@pytest.mark.parametrize("sql", [
    TABLE % "newtable",
    "CREATE INDEX ix_new ON t3 (name)",
    "DROP INDEX ix_t3_name0",
    "ALTER TABLE t3 ADD COLUMN extra TEXT",
    "ALTER TABLE t3 RENAME COLUMN name TO label",
    "DROP TABLE t3",
])
def test_ddl_cost_does_not_grow_with_the_schema(url, sql):
    sizes = []
    for n in (4, 120):
        conn = rome.connect(url + "-%d" % n if url.startswith("rome+memory") else url)
        if url.startswith("rome+memory") or n == 4:
            conn.execute("CREATE TABLE base (id INTEGER PRIMARY KEY)")
            for i in range(n if n == 4 else 4):
                conn.execute(TABLE % ("t%d" % i))
                conn.execute("CREATE INDEX ix_t%d_name0 ON t%d (name)" % (i, i))
        if n == 120:
            for i in range(4, 120):
                conn.execute(TABLE % ("t%d" % i))
                conn.execute("CREATE INDEX ix_t%d_name0 ON t%d (name)" % (i, i))
        conn.commit()
        sizes.append(_written(conn, sql))
        conn.close()
    small, large = sizes
    assert large <= small + 16, (sql, sizes)   # the header's numbers may take a few more digits


def test_ddl_committed_elsewhere_fails_a_transaction_that_read_the_schema(url):
    a, b = rome.connect(url), rome.connect(url)
    a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
    a.execute("CREATE TABLE other (id INTEGER PRIMARY KEY)")
    a.commit()
    assert a.execute("SELECT count(*) FROM t").fetchall() == [(0,)]   # a's transaction reads the schema
    b.execute("CREATE INDEX ix_other ON other (id)")                   # DDL on another table
    b.commit()
    a.execute("INSERT INTO t (v) VALUES (1)")
    with pytest.raises(rome.OperationalError, match="conflict"):
        a.commit()
    a.execute("INSERT INTO t (v) VALUES (2)")                          # the retry sees the new schema
    a.commit()
    assert b.execute("SELECT v FROM t").fetchall() == [(2,)]
    assert [ix for ix in a.catalog().table("other").indexes if ix.name == "ix_other"]
    a.close()
    b.close()


def test_published_catalogs_are_never_changed(url):
    """A connection keeps the catalog its transaction began with while another renames a parent
    table and a column: the first one's tables (shared with later versions) keep their names."""
    a, b = rome.connect(url), rome.connect(url)
    a.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY, code VARCHAR(8) UNIQUE)")
    a.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent (id))")
    a.execute("CREATE TABLE unrelated (id INTEGER PRIMARY KEY)")
    a.commit()
    old = a.catalog()
    b.execute("ALTER TABLE parent RENAME TO mother")
    b.execute("ALTER TABLE mother RENAME COLUMN id TO mid")
    b.execute("CREATE INDEX ix_child_pid ON child (pid)")
    b.commit()
    assert [fk.ref_table for fk in old.table("child").foreign_keys] == ["parent"]
    assert [fk.ref_columns for fk in old.table("child").foreign_keys] == [["id"]]
    assert old.table("parent").column("id") is not None and old.table("child").indexes == []
    new = b.catalog()
    assert new.table("unrelated") is old.table("unrelated")       # unchanged tables are shared
    assert [(fk.ref_table, fk.ref_columns) for fk in new.table("child").foreign_keys] == [("mother", ["mid"])]
    a.rollback()
    assert a.catalog() is new                                      # one parsed catalog per store
    a.execute("INSERT INTO mother (mid, code) VALUES (1, 'x')")
    a.execute("INSERT INTO child (id, pid) VALUES (1, 1)")
    with pytest.raises(rome.IntegrityError):
        a.execute("INSERT INTO child (id, pid) VALUES (2, 99)")
    a.commit()
    assert [r[0] for r in a.execute("EXPLAIN SELECT * FROM child WHERE pid = 1")] == \
        ["SEARCH child USING INDEX ix_child_pid (pid=?)"]
    a.close()
    b.close()


def test_concurrent_ddl_from_threads(url):
    """Threads creating and dropping their own tables at once, retrying conflicts: every table that
    was committed is there, with its rows, for every connection."""
    errors = []

    def worker(k):
        conn = rome.connect(url)
        try:
            for i in range(6):
                for _attempt in range(200):
                    try:
                        conn.execute("CREATE TABLE w%d_%d (id INTEGER PRIMARY KEY, v TEXT)" % (k, i))
                        conn.execute("CREATE INDEX ix_w%d_%d ON w%d_%d (v)" % (k, i, k, i))
                        conn.execute("INSERT INTO w%d_%d (v) VALUES ('x')" % (k, i))
                        if i % 2:
                            conn.execute("DROP TABLE w%d_%d" % (k, i - 1))
                        conn.commit()
                        break
                    except rome.OperationalError:
                        conn.rollback()
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            conn.close()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    conn = rome.connect(url)
    names = sorted(t.name for t in conn.catalog().tables.values())
    assert names == sorted("w%d_%d" % (k, i) for k in range(3) for i in (1, 3, 5))
    for n in names:
        assert conn.execute("SELECT v FROM %s WHERE v = 'x'" % n).fetchall() == [("x",)]
    conn.close()


def test_a_store_with_the_whole_catalog_in_one_key_is_read_and_converted(tmp_path):
    url = "rome+lmdb:///" + str(tmp_path / "old")
    conn = rome.connect(url)
    conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("CREATE INDEX ix_a_name ON a (name)")
    conn.execute("CREATE TABLE b (id INTEGER PRIMARY KEY, aid INTEGER REFERENCES a (id))")
    conn.execute("INSERT INTO a VALUES (1, 'one'), (2, 'two')")
    conn.execute("INSERT INTO b VALUES (10, 1)")
    conn.commit()
    store = conn.store
    conn.close()
    # rewrite the catalog as an earlier ROME stored it: the whole catalog under the one key
    txn = Transaction(store)
    cat = Catalog.read(txn, txn.get(keys.CATALOG))
    txn.put(keys.CATALOG, cat.to_bytes())
    for k, _v in list(txn.scan(keys.TABLE_DEFS, keys.prefix_end(keys.TABLE_DEFS))):
        txn.delete(k)
    txn.commit()
    store._rome_catalog = None   # as a process that starts on that store

    conn = rome.connect(url)
    assert conn.execute("SELECT a.name FROM a JOIN b ON b.aid = a.id").fetchall() == [("one",)]
    assert [r[0] for r in conn.execute("EXPLAIN SELECT id FROM a WHERE name = 'two'")] == \
        ["SEARCH a USING COVERING INDEX ix_a_name (name=?)"]
    with pytest.raises(rome.IntegrityError):
        conn.execute("INSERT INTO b VALUES (11, 42)")
    conn.rollback()
    conn.execute("CREATE TABLE c (id INTEGER PRIMARY KEY)")      # the first DDL converts it
    conn.commit()
    txn = Transaction(store)
    header = txn.get(keys.CATALOG)
    defs = list(txn.scan(keys.TABLE_DEFS, keys.prefix_end(keys.TABLE_DEFS)))
    txn.rollback()
    assert b"tables" not in header and len(defs) == 3
    store._rome_catalog = None
    conn.close()
    conn = rome.connect(url)
    assert sorted(t.name for t in conn.catalog().tables.values()) == ["a", "b", "c"]
    assert conn.execute("SELECT id, name FROM a ORDER BY id").fetchall() == [(1, "one"), (2, "two")]
    conn.close()

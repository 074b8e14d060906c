"""SQL statements on ROME (memory and LMDB) against sqlite3 as the reference."""
import pytest

import rome

SCHEMA = [
    "CREATE TABLE owners (id INTEGER NOT NULL, name VARCHAR(20) NOT NULL, PRIMARY KEY (id), UNIQUE (name))",
    "CREATE TABLE items (id INTEGER NOT NULL, owner_id INTEGER, title VARCHAR(40), size FLOAT, "
    "created DATETIME, PRIMARY KEY (id), FOREIGN KEY(owner_id) REFERENCES owners (id) ON DELETE CASCADE)",
    "CREATE INDEX ix_items_owner ON items (owner_id, created)",
    "CREATE TABLE tags (item_id INTEGER NOT NULL, tag VARCHAR(10) NOT NULL, PRIMARY KEY (item_id, tag), "
    "FOREIGN KEY(item_id) REFERENCES items (id) ON DELETE CASCADE)",
]


@pytest.fixture
def loaded(both):
    for s in SCHEMA:
        both.run(s)
    for i in range(1, 6):
        both.same("INSERT INTO owners (id, name) VALUES (?, ?)", (i, "o%d" % i))
    for i in range(1, 41):
        both.same("INSERT INTO items (owner_id, title, size, created) VALUES (?, ?, ?, ?)",
                  (None if i % 9 == 0 else i % 5 + 1, "t%02d" % (i % 13) if i % 7 else None,
                   i * 1.5, "2024-01-%02d 10:00:00" % (i % 28 + 1)))
    for i in range(1, 41, 3):
        both.same("INSERT INTO tags (item_id, tag) VALUES (?, ?)", (i, "a"))
        both.same("INSERT INTO tags (item_id, tag) VALUES (?, ?)", (i, "b%d" % (i % 4)))
    both.rome.commit()
    both.ref.commit()
    return both


QUERIES = [
    "SELECT * FROM items ORDER BY id",
    "SELECT id, title FROM items WHERE owner_id = 3 ORDER BY created DESC, id DESC LIMIT 5",
    "SELECT id FROM items WHERE owner_id IS NULL ORDER BY id",
    "SELECT id FROM items WHERE title LIKE 't1%' ORDER BY id",
    "SELECT id FROM items WHERE id BETWEEN 5 AND 9 ORDER BY id DESC",
    "SELECT id FROM items WHERE id IN (3, 1, 99, NULL) ORDER BY id",
    "SELECT id FROM items WHERE owner_id NOT IN (1, 2) ORDER BY id",
    "SELECT owner_id, count(*), sum(size), avg(size), min(title), max(title) FROM items GROUP BY owner_id ORDER BY owner_id",
    "SELECT owner_id, count(DISTINCT title) AS n FROM items GROUP BY owner_id HAVING count(*) > 6 ORDER BY n DESC, owner_id",
    "SELECT count(*) FROM items WHERE 1 = 0",
    "SELECT o.name, i.id FROM owners AS o JOIN items AS i ON i.owner_id = o.id WHERE o.id < 3 ORDER BY o.name, i.id",
    "SELECT o.name, i.id FROM owners AS o LEFT OUTER JOIN items AS i ON i.owner_id = o.id AND i.size > 50 ORDER BY o.name, i.id",
    "SELECT i.id, t.tag FROM items i LEFT OUTER JOIN tags t ON t.item_id = i.id WHERE i.id < 12 ORDER BY i.id, t.tag",
    "SELECT i.id, t.tag, o.name FROM items i JOIN tags t ON t.item_id = i.id LEFT JOIN owners o ON o.id = i.owner_id ORDER BY 1, 2",
    "SELECT id FROM items WHERE owner_id IN (SELECT id FROM owners WHERE name > 'o3') ORDER BY id",
    "SELECT id FROM items i WHERE EXISTS (SELECT 1 FROM tags t WHERE t.item_id = i.id AND t.tag = 'b1') ORDER BY id",
    "SELECT id, (SELECT count(*) FROM tags t WHERE t.item_id = items.id) AS n FROM items ORDER BY n DESC, id LIMIT 7",
    "SELECT anon_1.id, anon_1.title FROM (SELECT id, title FROM items WHERE size > 10 ORDER BY size DESC LIMIT 5 OFFSET 2) AS anon_1 ORDER BY anon_1.id",
    "SELECT a.id, t.tag FROM (SELECT id FROM items ORDER BY id LIMIT 10) AS a LEFT OUTER JOIN tags AS t ON a.id = t.item_id ORDER BY a.id, t.tag",
    "SELECT id FROM items WHERE owner_id = 1 UNION SELECT item_id FROM tags WHERE tag = 'a' ORDER BY 1",
    "SELECT title FROM items UNION ALL SELECT name FROM owners ORDER BY 1 LIMIT 10 OFFSET 3",
    "SELECT DISTINCT owner_id FROM items ORDER BY owner_id DESC",
    "SELECT CASE WHEN size > 30 THEN 'big' WHEN size > 10 THEN 'mid' ELSE 'small' END AS k, count(*) FROM items GROUP BY k ORDER BY k",
    "SELECT id, coalesce(title, 'none') || '-' || id, size * 2, id / 3, id % 4 FROM items ORDER BY id LIMIT 8",
    "SELECT 1, 'a', NULL, 2.5",
    "SELECT max(id), min(created) FROM items",
    "SELECT lower(name), upper(name), length(name) FROM owners ORDER BY 1",
    "SELECT id FROM items ORDER BY title, id",
    "SELECT id FROM items ORDER BY title DESC, id LIMIT 12",
    "SELECT o.id, (SELECT max(i.size) FROM items i WHERE i.owner_id = o.id) FROM owners o ORDER BY o.id",
    "SELECT count(*) FROM items, owners WHERE items.owner_id = owners.id AND owners.name = 'o2'",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_query_matches_sqlite(loaded, sql):
    loaded.same(sql)


def test_params_and_limit(loaded):
    loaded.same("SELECT id FROM items WHERE owner_id = ? ORDER BY created DESC, id LIMIT ? OFFSET ?", (2, 3, 1))
    loaded.same("SELECT id FROM items WHERE title = :t ORDER BY id", {"t": "t01"})


def test_writes_match_sqlite(loaded):
    b = loaded
    b.same("UPDATE items SET size = size + 1, title = upper(title) WHERE owner_id = 2")
    b.same("SELECT * FROM items ORDER BY id")
    b.same("DELETE FROM items WHERE id > 35")
    b.same("SELECT * FROM items ORDER BY id")
    b.same("DELETE FROM owners WHERE id = 3")    # cascades to items, then tags
    b.same("SELECT count(*) FROM items")
    b.same("SELECT count(*) FROM tags")
    b.same("INSERT INTO owners (id, name) SELECT id + 100, name || 'x' FROM owners WHERE id < 3")
    b.same("SELECT * FROM owners ORDER BY id")


@pytest.mark.parametrize("sql,params", [
    ("INSERT INTO owners (id, name) VALUES (?, ?)", (1, "dup-pk")),
    ("INSERT INTO owners (id, name) VALUES (?, ?)", (99, "o1")),
    ("INSERT INTO owners (id, name) VALUES (?, ?)", (99, None)),
    ("INSERT INTO items (id, owner_id) VALUES (?, ?)", (999, 42)),
    ("UPDATE owners SET name = 'o2' WHERE id = 1", ()),
    ("INSERT INTO owners (id, name) VALUES (50, 'ok'), (51, 'o4')", ()),
])
def test_integrity_errors_leave_data(loaded, sql, params):
    err = loaded.run(sql, params)
    assert isinstance(err, rome.IntegrityError)
    loaded.same("SELECT * FROM owners ORDER BY id")
    loaded.same("SELECT count(*) FROM items")


def test_programming_errors(db):
    for sql in ["SELEC 1", "SELECT * FROM nope", "SELECT nope FROM (SELECT 1 AS a)"]:
        with pytest.raises(rome.ProgrammingError):
            db.cursor().execute(sql)


def test_autoincrement_and_lastrowid(db):
    c = db.cursor()
    c.execute("CREATE TABLE a (id BIGINT NOT NULL, v TEXT, PRIMARY KEY (id))")
    ids = []
    for v in "xyz":
        c.execute("INSERT INTO a (v) VALUES (?)", (v,))
        ids.append(c.lastrowid)
    assert ids == [1, 2, 3]
    c.execute("INSERT INTO a (id, v) VALUES (10, 'w')")
    c.execute("INSERT INTO a (v) VALUES ('after')")
    assert c.lastrowid == 11
    assert c.execute("SELECT id, v FROM a ORDER BY id").fetchall() == [
        (1, "x"), (2, "y"), (3, "z"), (10, "w"), (11, "after")]


def test_savepoints_and_rollback(db):
    c = db.cursor()
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    db.commit()
    c.execute("INSERT INTO t (v) VALUES ('a')")
    c.execute("SAVEPOINT s1")
    c.execute("INSERT INTO t (v) VALUES ('b')")
    c.execute("ROLLBACK TO SAVEPOINT s1")
    c.execute("INSERT INTO t (v) VALUES ('c')")
    c.execute("RELEASE SAVEPOINT s1")
    assert [r[0] for r in c.execute("SELECT v FROM t ORDER BY id")] == ["a", "c"]
    db.rollback()
    assert c.execute("SELECT count(*) FROM t").fetchall() == [(0,)]


def test_ddl_is_transactional_and_alter(db):
    c = db.cursor()
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')")
    db.commit()
    c.execute("ALTER TABLE t ADD COLUMN n INTEGER NOT NULL DEFAULT 7")
    assert c.execute("SELECT id, v, n FROM t ORDER BY id").fetchall() == [(1, "a", 7), (2, "b", 7)]
    c.execute("ALTER TABLE t RENAME COLUMN v TO w")
    c.execute("ALTER TABLE t RENAME TO u")
    assert c.execute("SELECT w FROM u WHERE id = 2").fetchall() == [("b",)]
    db.rollback()
    assert c.execute("SELECT * FROM t ORDER BY id").fetchall() == [(1, "a"), (2, "b")]
    with pytest.raises(rome.ProgrammingError):
        c.execute("SELECT * FROM u")
    c.execute("ALTER TABLE t DROP COLUMN v")
    assert c.execute("SELECT * FROM t ORDER BY id").fetchall() == [(1,), (2,)]


def test_unique_index_creation_checks_existing_rows(db):
    c = db.cursor()
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("INSERT INTO t (v) VALUES ('a'), ('a')")
    with pytest.raises(rome.IntegrityError):
        c.execute("CREATE UNIQUE INDEX ux ON t (v)")
    c.execute("CREATE INDEX ix ON t (v)")
    assert c.execute("SELECT count(*) FROM t WHERE v = 'a'").fetchall() == [(2,)]


def test_data_survives_reopen(tmp_path):
    url = "rome+lmdb:///" + str(tmp_path / "persist")
    c = rome.connect(url)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("INSERT INTO t (v) VALUES ('kept')")
    c.commit()
    c.execute("INSERT INTO t (v) VALUES ('lost')")
    c.close()
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "import rome; c = rome.connect(%r); "
                          "print(c.execute('SELECT v FROM t').fetchall())" % url],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[('kept',)]"


def test_drop_table_and_index(db):
    c = db.cursor()
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("CREATE INDEX ix_v ON t (v)")
    c.execute("INSERT INTO t (v) VALUES ('a')")
    c.execute("DROP INDEX ix_v")
    c.execute("CREATE INDEX ix_v ON t (v)")
    assert c.execute("SELECT id FROM t WHERE v = 'a'").fetchall() == [(1,)]
    c.execute("DROP TABLE t")
    with pytest.raises(rome.ProgrammingError):
        c.execute("SELECT * FROM t")
    c.execute("DROP TABLE IF EXISTS t")
    with pytest.raises(rome.OperationalError):
        c.execute("DROP TABLE t")
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    assert c.execute("SELECT count(*) FROM t").fetchall() == [(0,)]


def test_in_list_of_parameters_is_read_per_statement(both):
    """An IN list of parameters is built once per statement: each execution sees its own values, and a
    correlated subquery's list, which reads the outer row, is built again for each outer row."""
    both.same("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, n INTEGER)")
    both.rome.cursor().executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, str(i % 5), i % 3) for i in range(30)])
    both.ref.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, str(i % 5), i % 3) for i in range(30)])
    for params in [("1", 2, None, 1), ("3", 4, "0", 0), (None, None, None, 2)]:
        both.same("SELECT id FROM t WHERE s IN (?, ?, ?) AND n IN (?, 7) ORDER BY id", params)
        both.same("SELECT id, s NOT IN (?, ?, ?), n IN (?, NULL) FROM t ORDER BY id", params)
    for k in (0, 1, 2):
        both.same("SELECT id FROM t AS a WHERE EXISTS (SELECT 1 FROM t AS b WHERE b.id = a.id + 3 "
                  "AND b.n IN (a.n, ?)) ORDER BY id", (k,))
        both.same("SELECT id, (SELECT count(*) FROM t AS b WHERE b.s IN (a.s, ?)) FROM t AS a ORDER BY id",
                  (str(k),))

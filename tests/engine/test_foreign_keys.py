"""Foreign keys as SQLite does them: ``PRAGMA foreign_keys`` per connection (ON by default on ROME, see
docs/limitations.md), and NO ACTION keys checked at the end of the statement, so a statement may break
a key on its way as long as it ends with every key whole; compared with sqlite3 (foreign_keys ON)."""
import threading

import pytest

import rome

TREE = [
    "CREATE TABLE project (id VARCHAR(64) NOT NULL, parent_id VARCHAR(64), domain_id VARCHAR(64), "
    "PRIMARY KEY (id), FOREIGN KEY(parent_id) REFERENCES project (id))",
    "CREATE INDEX ix_project_parent ON project (parent_id)",
    "INSERT INTO project VALUES ('root', NULL, NULL), ('p', 'root', NULL), ('c', 'p', NULL), "
    "('g', 'c', NULL), ('other', 'root', NULL)",
]


@pytest.fixture
def tree(both):
    for s in TREE:
        both.run(s)
    both.rome.commit()
    both.ref.commit()
    return both


@pytest.mark.parametrize("sql", [
    "DELETE FROM project WHERE id IN ('p', 'c', 'g')",               # Keystone's delete of a subtree
    "DELETE FROM project WHERE id IN ('g', 'c', 'p')",
    "DELETE FROM project WHERE id IN ('p', 'c')",                    # leaves g's parent missing
    "DELETE FROM project WHERE id <> 'root'",
    "DELETE FROM project",
    "DELETE FROM project WHERE id = 'root'",
    "UPDATE project SET id = id || '2', parent_id = parent_id || '2'",  # every key renamed at once
    "UPDATE project SET id = id || '2' WHERE id <> 'root'",
    "UPDATE project SET id = 'x' WHERE id = 'g'",                   # a leaf: nobody refers to it
    "UPDATE project SET parent_id = 'nope' WHERE id = 'g'",
    "INSERT INTO project VALUES ('k2', 'k1', NULL), ('k1', 'root', NULL)",  # the child first
    "INSERT INTO project VALUES ('k2', 'k1', NULL), ('k1', 'k3', NULL)",
    "INSERT INTO project VALUES ('self', 'self', NULL)",
    "INSERT INTO project SELECT id || 'x', CASE WHEN parent_id IS NULL THEN NULL ELSE parent_id || 'x' END, "
    "NULL FROM project",
])
def test_keys_are_checked_at_the_end_of_the_statement(tree, sql):
    tree.run(sql)
    tree.same("SELECT * FROM project ORDER BY id")


def test_executemany_checks_each_parameter_set(tree):
    """Each parameter set of an executemany is a statement: a child before its parent fails."""
    tree.run("INSERT INTO project (id, parent_id) VALUES (?, ?)", ("n1", "root"))
    for seq in ([("m2", "m1"), ("m1", "root")], [("m1", "root"), ("m2", "m1")]):
        a = b = None
        try:
            tree.rome.executemany("INSERT INTO project (id, parent_id) VALUES (?, ?)", seq)
        except rome.IntegrityError as e:
            a = str(e)
        try:
            tree.ref.executemany("INSERT INTO project (id, parent_id) VALUES (?, ?)", seq)
        except Exception as e:
            b = str(e)
        assert a == b
        tree.same("SELECT * FROM project ORDER BY id")


def test_cascades_and_set_null_at_once(both):
    both.run("CREATE TABLE node (id INTEGER PRIMARY KEY, up INTEGER REFERENCES node (id) ON DELETE CASCADE "
             "ON UPDATE CASCADE, side INTEGER REFERENCES node (id) ON DELETE SET NULL)")
    both.same("INSERT INTO node VALUES (1, NULL, NULL), (2, 1, NULL), (3, 2, 1), (4, NULL, 3), (5, 4, 1)")
    both.same("UPDATE node SET id = 20 WHERE id = 2")
    both.same("SELECT * FROM node ORDER BY id")
    both.same("DELETE FROM node WHERE id IN (1, 4)")
    both.same("SELECT * FROM node ORDER BY id")


def test_restrict_is_immediate(both):
    both.run("CREATE TABLE r (id INTEGER PRIMARY KEY, up INTEGER REFERENCES r (id) ON DELETE RESTRICT)")
    both.same("INSERT INTO r VALUES (1, NULL), (2, 1)")
    err = both.run("DELETE FROM r")
    assert type(err).__name__ == "IntegrityError"
    both.same("SELECT * FROM r ORDER BY id")


def test_pragma_foreign_keys(url):
    a, b = rome.connect(url), rome.connect(url)
    try:
        assert a.execute("PRAGMA foreign_keys").fetchall() == [(1,)]           # ROME's default
        assert [d[0] for d in a.execute("PRAGMA foreign_keys").description] == ["foreign_keys"]
        a.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
        a.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p (id) ON DELETE CASCADE)")
        a.execute("INSERT INTO p VALUES (1)")
        a.execute("INSERT INTO c VALUES (1, 1)")
        a.commit()
        for off in ("OFF", "0", "false", "no"):
            a.execute("PRAGMA foreign_keys = %s" % off)
            assert a.execute("PRAGMA foreign_keys").fetchall() == [(0,)]
            a.rollback()
            a.execute("PRAGMA foreign_keys = ON")
            assert a.execute("PRAGMA main.foreign_keys").fetchall() == [(1,)]
        a.execute("PRAGMA foreign_keys = OFF")
        a.execute("INSERT INTO c VALUES (2, 99)")        # no parent: accepted with the keys off
        a.execute("DELETE FROM p WHERE id = 1")          # and no cascade, as SQLite
        a.execute("PRAGMA foreign_keys = ON")            # a no-op inside a transaction that wrote
        assert a.execute("PRAGMA foreign_keys").fetchall() == [(0,)]
        a.commit()
        assert a.execute("SELECT id, pid FROM c ORDER BY id").fetchall() == [(1, 1), (2, 99)]
        assert b.execute("PRAGMA foreign_keys").fetchall() == [(1,)]           # per connection
        with pytest.raises(rome.IntegrityError, match="FOREIGN KEY constraint failed"):
            b.execute("INSERT INTO c VALUES (3, 77)")
        with pytest.raises(rome.ProgrammingError):
            b.execute("PRAGMA foreign_keys = maybe")
        assert b.execute("PRAGMA foreign_keys").fetchall() == [(1,)]
    finally:
        a.close()
        b.close()


def test_the_setting_belongs_to_the_connection_across_threads(url):
    """Two threads, one connection each, one with foreign keys off: each sees its own setting."""
    setup = rome.connect(url)
    setup.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
    setup.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p (id))")
    setup.commit()
    setup.close()
    barrier = threading.Barrier(2)
    outcome = {}

    def worker(name, pragma, first_id):
        conn = rome.connect(url)
        conn.execute("PRAGMA foreign_keys = %s" % pragma)
        barrier.wait()
        refused = 0
        for i in range(first_id, first_id + 20):
            try:
                conn.execute("INSERT INTO c VALUES (?, ?)", (i, 1000 + i))
                conn.commit()
            except rome.IntegrityError:
                conn.rollback()
                refused += 1
            barrier.wait()
        outcome[name] = (refused, conn.execute("PRAGMA foreign_keys").fetchone()[0])
        conn.close()
    threads = [threading.Thread(target=worker, args=("on", "ON", 0)),
               threading.Thread(target=worker, args=("off", "OFF", 100))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcome == {"on": (20, 1), "off": (0, 0)}


@pytest.mark.parametrize("action", ["", "ON DELETE CASCADE", "ON DELETE SET NULL", "ON DELETE RESTRICT"])
def test_drop_table_deletes_its_rows_first(both, action):
    """With foreign keys on, DROP TABLE deletes the table's rows first, as SQLite: the children's
    ON DELETE actions run, and a child row left without its parent fails the DROP, which then
    leaves everything as it was (the table, its rows and the children's)."""
    both.run("CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT)")
    both.run("CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent (id) %s)" % action)
    both.same("INSERT INTO parent VALUES (1, 'a'), (2, 'b')")
    both.same("INSERT INTO child VALUES (10, 1), (11, NULL), (12, 2)")
    both.rome.commit()
    both.ref.commit()
    both.run("DROP TABLE parent")
    both.same("SELECT * FROM child ORDER BY id")
    assert _parent_rows(both.rome) == _parent_rows(both.ref)
    if _parent_rows(both.ref) != "no such table":   # refused: once the children are gone, it drops
        both.same("DELETE FROM child WHERE pid IS NOT NULL")
        both.run("DROP TABLE parent")
        assert _parent_rows(both.rome) == _parent_rows(both.ref) == "no such table"


def _parent_rows(conn):
    try:
        return conn.execute("SELECT * FROM parent ORDER BY id").fetchall()
    except Exception as e:
        assert "no such table" in str(e)
        return "no such table"


def test_drop_table_with_foreign_keys_off_leaves_the_children_alone(both):
    both.run("PRAGMA foreign_keys = OFF")
    both.run("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    both.run("CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent (id))")
    both.same("INSERT INTO parent VALUES (1)")
    both.same("INSERT INTO child VALUES (10, 1)")
    both.run("DROP TABLE parent")
    both.same("SELECT * FROM child")


@pytest.mark.parametrize("parent, child", [
    ("k INTEGER PRIMARY KEY", "k TEXT"),
    ("k INTEGER PRIMARY KEY", "k"),
    ("k TEXT PRIMARY KEY", "k INTEGER"),
    ("k TEXT COLLATE NOCASE PRIMARY KEY", "k TEXT"),
    ("k TEXT COLLATE NOCASE PRIMARY KEY", "k TEXT COLLATE NOCASE"),
    ("id INTEGER PRIMARY KEY, k TEXT COLLATE RTRIM UNIQUE", "k TEXT"),
])
@pytest.mark.parametrize("action", ["", " ON DELETE CASCADE", " ON UPDATE SET NULL"])
def test_keys_compare_as_the_parent_column_does(both, parent, child, action):
    """A child key is compared with its parent's with the parent column's affinity and collation,
    as in SQLite: '1' in a TEXT column references 1 (it was refused), and deleting or changing the
    parent 'A' of a NOCASE key finds the child 'a' (it was deleted, leaving the child orphaned)."""
    both.same("CREATE TABLE p (%s)" % parent)
    both.same("CREATE TABLE c (id INTEGER PRIMARY KEY, %s REFERENCES p (k)%s)" % (child, action))
    both.same("CREATE INDEX ck ON c (k)")
    key = "id, k" if parent.startswith("id") else "k"
    for n, v in enumerate([1, "2", "A", "b ", "3.0"]):
        both.run("INSERT INTO p (%s) VALUES (%s)" % (key, "?, ?" if key == "id, k" else "?"),
                 (n + 1, v) if key == "id, k" else (v,))
    for n, v in enumerate([1, "1", "2", 2, "a", "A", "b", "b ", 3, "3.0", "01", "z"]):
        both.run("INSERT INTO c VALUES (?, ?)", (n + 1, v))
    both.same("SELECT id, k, typeof(k) FROM c ORDER BY id")
    for sql in ["UPDATE p SET k = 'B' WHERE k = 'A'", "DELETE FROM p WHERE k = 'A'", "DELETE FROM p WHERE k = 1",
                "UPDATE p SET k = 7 WHERE k = '2'", "DELETE FROM p WHERE k = 'b '", "DELETE FROM p WHERE k = 3",
                "DELETE FROM p"]:
        both.run(sql)
        both.same("SELECT * FROM p ORDER BY 1")
        both.same("SELECT id, k, typeof(k) FROM c ORDER BY id")

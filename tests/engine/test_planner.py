"""The planner's choices, read through EXPLAIN."""
import pytest


@pytest.fixture
def items(db):
    c = db.cursor()
    c.execute("CREATE TABLE items (id VARCHAR(36) NOT NULL, owner VARCHAR(32) NOT NULL, status VARCHAR(16), "
              "created_at DATETIME NOT NULL, PRIMARY KEY (id))")
    c.execute("CREATE INDEX ix_status ON items (status)")
    c.execute("CREATE INDEX ix_owner_created ON items (owner, created_at)")
    c.execute("CREATE TABLE props (id INTEGER PRIMARY KEY, item_id VARCHAR(36) NOT NULL, name TEXT, "
              "FOREIGN KEY(item_id) REFERENCES items (id))")
    c.execute("CREATE INDEX ix_props_item ON props (item_id)")
    return c


def plan(c, sql):
    return "\n".join(r[0] for r in c.execute("EXPLAIN " + sql).fetchall())


def test_pk_point(items):
    assert "USING PRIMARY KEY (id=?)" in plan(items, "SELECT * FROM items WHERE id = ?")


def test_index_equality_and_order_without_sort(items):
    p = plan(items, "SELECT * FROM items WHERE owner = ? ORDER BY created_at DESC LIMIT 25")
    assert "INDEX ix_owner_created (owner=?)" in p and "DESC" in p
    assert "TEMP B-TREE" not in p


def test_order_by_index_alone(items):
    p = plan(items, "SELECT id FROM items ORDER BY owner, created_at LIMIT 5")
    assert "ix_owner_created" in p and "TEMP B-TREE" not in p


def test_covering_index(items):
    assert "COVERING INDEX ix_status" in plan(items, "SELECT id FROM items WHERE status = ?")


def test_range_on_pk(items):
    assert "PRIMARY KEY (id>=? AND id<=?)" in plan(items, "SELECT id FROM items WHERE id BETWEEN ? AND ?")


def test_join_uses_index_on_inner_table(items):
    p = plan(items, "SELECT * FROM items LEFT OUTER JOIN props ON props.item_id = items.id WHERE items.owner = ?")
    assert "INDEX ix_owner_created (owner=?)" in p
    assert "LEFT JOIN SEARCH props USING INDEX ix_props_item (item_id=?)" in p


def test_full_scan_when_no_index(items):
    assert plan(items, "SELECT * FROM props WHERE name = ?").startswith("SCAN props")


def test_correlated_subquery_uses_index(items):
    p = plan(items, "SELECT id FROM items WHERE EXISTS (SELECT 1 FROM props WHERE props.item_id = items.id)")
    assert p.startswith("SCAN items")


def test_inner_join_starts_from_the_selective_table(items):
    """Written items-first, but only props has an index for the constant: props drives, and items
    is reached by its primary key. SELECT * keeps the written column order."""
    items.execute("CREATE INDEX ix_props_name ON props (name)")
    sql = "SELECT * FROM items JOIN props ON props.item_id = items.id WHERE props.name = ?"
    p = plan(items, sql)
    assert p.splitlines()[0].startswith("SEARCH props USING INDEX ix_props_name (name=?)")
    assert "SEARCH items USING PRIMARY KEY (id=?)" in p
    items.execute("INSERT INTO items VALUES ('i1', 'o', 's', '2024-01-01')")
    items.execute("INSERT INTO props (item_id, name) VALUES ('i1', 'n')")
    cols = [d[0] for d in items.execute(sql, ("n",)).description]
    assert cols == ["id", "owner", "status", "created_at", "id", "item_id", "name"]
    assert items.execute(sql, ("n",)).fetchall() == [("i1", "o", "s", "2024-01-01", 1, "i1", "n")]


@pytest.fixture
def flagged(db):
    c = db.cursor()
    c.execute("CREATE TABLE f (id VARCHAR(36) PRIMARY KEY, deleted BOOLEAN NOT NULL, owner VARCHAR(32), "
              "vis VARCHAR(16), status VARCHAR(16), created_at DATETIME)")
    c.execute("CREATE INDEX ix_f_deleted ON f (deleted)")
    c.execute("CREATE INDEX ix_f_owner ON f (owner)")
    c.execute("CREATE INDEX ix_f_vis ON f (vis)")
    c.execute("CREATE INDEX ix_f_status ON f (status)")
    c.execute("CREATE INDEX ix_f_created ON f (created_at)")
    rows = [("i%03d" % i, i % 9 == 0, "o%d" % (i % 4), ["public", "private", "shared"][i % 3],
             ["active", "queued"][i % 2], "2024-01-%02d %02d:00:00" % (i % 28 + 1, i % 24)) for i in range(200)]
    c.executemany("INSERT INTO f VALUES (?, ?, ?, ?, ?, ?)", rows)
    return c


def test_a_boolean_equality_is_not_selective(flagged):
    """deleted = 0 keeps most rows: an equality on another index is preferred, as is a short IN list."""
    assert "INDEX ix_f_owner (owner=?)" in plan(flagged, "SELECT * FROM f WHERE deleted = 0 AND owner = ?")
    assert "INDEX ix_f_vis (vis IN (...))" in \
        plan(flagged, "SELECT * FROM f WHERE deleted = 0 AND vis IN ('public', 'shared')")


def test_a_longer_in_list_costs_more(flagged):
    p = plan(flagged, "SELECT * FROM f WHERE status IN ('a', 'b', 'c', 'd', 'e', 'f') AND vis IN ('x', 'y')")
    assert "INDEX ix_f_vis (vis IN (...))" in p


def test_or_of_equalities_on_one_column_is_an_in_list(flagged):
    sql = "SELECT id FROM f WHERE deleted = 0 AND (vis = 'public' OR vis = 'shared') ORDER BY id"
    assert "ix_f_vis (vis IN (...))" in plan(flagged, sql)
    got = flagged.execute(sql).fetchall()
    assert got == [("i%03d" % i,) for i in range(200) if i % 9 != 0 and i % 3 != 1]
    # not on two columns, nor with other operators
    assert "vis IN" not in plan(flagged, "SELECT id FROM f WHERE vis = 'a' OR owner = 'b'")
    assert "vis IN" not in plan(flagged, "SELECT id FROM f WHERE vis = 'a' OR vis > 'b'")


def test_index_order_continues_with_the_primary_key(flagged):
    """An index entry's key ends with the primary key: ORDER BY created_at DESC, id DESC needs no sort,
    and with a LIMIT that beats a non-selective equality."""
    sql = "SELECT id, created_at FROM f WHERE deleted = 0 ORDER BY created_at DESC, id DESC LIMIT 7"
    p = plan(flagged, sql)
    assert "ix_f_created DESC" in p and "TEMP B-TREE" not in p
    got = flagged.execute(sql).fetchall()
    want = sorted(((r[0], r[5]) for r in flagged.execute("SELECT * FROM f WHERE deleted = 0").fetchall()),
                  key=lambda r: (r[1], r[0]), reverse=True)[:7]
    assert got == want
    # without a LIMIT the equality still wins (every row is read either way)
    assert "ix_f_deleted" in plan(flagged, "SELECT id FROM f WHERE deleted = 0 ORDER BY created_at DESC, id DESC")

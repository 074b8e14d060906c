"""The planner's choices, read through EXPLAIN."""
import pytest

import rome


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

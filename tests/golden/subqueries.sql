-- Subqueries: EXPLAIN shows each one's plan under the block that uses it; a correlated subquery runs
-- once per outer row with the outer columns as constants (so it can use an index on them), an
-- uncorrelated one once per statement.
CREATE TABLE items (id VARCHAR(36) PRIMARY KEY, owner VARCHAR(32), created_at DATETIME);
CREATE INDEX ix_items_owner ON items (owner);
CREATE TABLE props (id INTEGER PRIMARY KEY, item_id VARCHAR(36) NOT NULL, name TEXT);
CREATE INDEX ix_props_item ON props (item_id);
INSERT INTO items VALUES ('i1', 'alice', '2024-01-01'), ('i2', 'bob', '2024-01-02'), ('i3', 'alice', '2024-01-03');
INSERT INTO props (item_id, name) VALUES ('i1', 'k'), ('i1', 'os'), ('i3', 'k');

SELECT id FROM items WHERE EXISTS (SELECT 1 FROM props WHERE props.item_id = items.id) ORDER BY id;
-- plan: SCAN items USING PRIMARY KEY
-- plan: ORDER BY FROM INDEX (no sort)
-- plan: CORRELATED SUBQUERY
-- plan:   SEARCH props USING COVERING INDEX ix_props_item (item_id=?)
-- columns: id
-- row: 'i1'
-- row: 'i3'

SELECT id FROM items WHERE id IN (SELECT item_id FROM props WHERE name = 'k') ORDER BY id;
-- plan: SCAN items USING PRIMARY KEY
-- plan: ORDER BY FROM INDEX (no sort)
-- plan: SUBQUERY
-- plan:   SCAN props USING PRIMARY KEY
-- columns: id
-- row: 'i1'
-- row: 'i3'

SELECT id, (SELECT count(*) FROM props WHERE props.item_id = items.id) AS n FROM items ORDER BY id;
-- plan: SCAN items USING PRIMARY KEY
-- plan: ORDER BY FROM INDEX (no sort)
-- plan: CORRELATED SUBQUERY
-- plan:   SEARCH props USING COVERING INDEX ix_props_item (item_id=?)
-- plan:   AGGREGATE
-- columns: id, n
-- row: 'i1', 2
-- row: 'i2', 0
-- row: 'i3', 1

SELECT owner, count(*) FROM items WHERE created_at > (SELECT min(created_at) FROM items) GROUP BY owner
ORDER BY owner;
-- plan: SCAN items USING PRIMARY KEY
-- plan: AGGREGATE BY 1 KEYS
-- plan: USE TEMP B-TREE FOR ORDER BY
-- plan: SUBQUERY
-- plan:   MIN/MAX FROM THE FIRST ROW OF
-- plan:     SCAN items USING PRIMARY KEY
-- plan:     USE TEMP B-TREE FOR ORDER BY
-- plan:     LIMIT
-- columns: owner, count(*)
-- row: 'alice', 1
-- row: 'bob', 1

-- a derived table with ORDER BY and LIMIT inside, joined to an index
SELECT t.id, props.name FROM (SELECT id, created_at FROM items ORDER BY created_at DESC LIMIT 2) AS t
LEFT OUTER JOIN props ON props.item_id = t.id ORDER BY t.created_at DESC, props.name;
-- plan: SCAN SUBQUERY t
-- plan:   SCAN items USING PRIMARY KEY
-- plan:   USE TEMP B-TREE FOR ORDER BY
-- plan:   LIMIT
-- plan: LEFT JOIN SEARCH props USING INDEX ix_props_item (item_id=?)
-- plan: USE TEMP B-TREE FOR ORDER BY
-- columns: id, name
-- row: 'i3', 'k'
-- row: 'i2', None

-- a compound query: each branch planned on its own
SELECT id FROM items WHERE owner = 'alice' UNION SELECT item_id FROM props WHERE name = 'os' ORDER BY 1;
-- plan: COMPOUND UNION
-- plan:   SEARCH items USING COVERING INDEX ix_items_owner (owner=?)
-- plan:   SCAN props USING PRIMARY KEY
-- columns: id
-- row: 'i1'
-- row: 'i3'

-- Access paths on one table: primary key, index equality and range, ORDER BY from an index, covering
-- indexes, full scans. There are no statistics: the choice follows the schema alone.
CREATE TABLE items (id VARCHAR(36) NOT NULL, owner VARCHAR(32) NOT NULL, status VARCHAR(16),
    created_at DATETIME NOT NULL, PRIMARY KEY (id));
CREATE INDEX ix_status ON items (status);
CREATE INDEX ix_owner_created ON items (owner, created_at);
INSERT INTO items VALUES ('i1', 'alice', 'active', '2024-01-03'), ('i2', 'alice', 'queued', '2024-01-01'),
    ('i3', 'bob', 'active', '2024-01-02'), ('i4', 'alice', NULL, '2024-01-04'), ('i5', 'carol', 'active', '2024-01-05');

-- a primary-key point lookup
SELECT * FROM items WHERE id = 'i3';
-- plan: SEARCH items USING PRIMARY KEY (id=?)
-- columns: id, owner, status, created_at
-- row: 'i3', 'bob', 'active', '2024-01-02'

-- an equality on the index's first column, rows in the index's order: no sort, LIMIT stops the scan
SELECT * FROM items WHERE owner = 'alice' ORDER BY created_at DESC LIMIT 2;
-- plan: SEARCH items USING INDEX ix_owner_created (owner=?) DESC
-- plan: ORDER BY FROM INDEX (no sort)
-- plan: LIMIT
-- columns: id, owner, status, created_at
-- row: 'i4', 'alice', None, '2024-01-04'
-- row: 'i1', 'alice', 'active', '2024-01-03'

-- the index alone gives the order
SELECT id FROM items ORDER BY owner, created_at LIMIT 3;
-- plan: SCAN items USING COVERING INDEX ix_owner_created
-- plan: ORDER BY FROM INDEX (no sort)
-- plan: LIMIT
-- columns: id
-- row: 'i2'
-- row: 'i1'
-- row: 'i4'

-- the index holds every column read: no row is fetched
SELECT id FROM items WHERE status = 'active';
-- plan: SEARCH items USING COVERING INDEX ix_status (status=?)
-- columns: id
-- row: 'i1'
-- row: 'i3'
-- row: 'i5'

-- a range on the primary key
SELECT id FROM items WHERE id BETWEEN 'i2' AND 'i4';
-- plan: SEARCH items USING PRIMARY KEY (id>=? AND id<=?)
-- columns: id
-- row: 'i2'
-- row: 'i3'
-- row: 'i4'

-- no index on the column: a full scan
SELECT id FROM items WHERE created_at > '2024-01-03';
-- plan: SCAN items USING PRIMARY KEY
-- columns: id
-- row: 'i4'
-- row: 'i5'

-- Which index wins when several could serve: an equality on a BOOLEAN column keeps about half the
-- table, a longer IN list costs more probes, an OR of equalities on one column is an IN list, and an
-- index in ORDER BY order beats a poor equality when a LIMIT stops the scan early.
CREATE TABLE f (id VARCHAR(36) PRIMARY KEY, deleted BOOLEAN NOT NULL, owner VARCHAR(32), vis VARCHAR(16),
    status VARCHAR(16), created_at DATETIME);
CREATE INDEX ix_f_deleted ON f (deleted);
CREATE INDEX ix_f_owner ON f (owner);
CREATE INDEX ix_f_vis ON f (vis);
CREATE INDEX ix_f_status ON f (status);
CREATE INDEX ix_f_created ON f (created_at);
INSERT INTO f VALUES ('a', 0, 'o1', 'public', 'active', '2024-01-01 10:00:00'),
    ('b', 1, 'o1', 'private', 'queued', '2024-01-02 10:00:00'), ('c', 0, 'o2', 'shared', 'active', '2024-01-02 11:00:00'),
    ('d', 0, 'o2', 'public', 'queued', '2024-01-03 09:00:00'), ('e', 0, 'o1', 'shared', 'active', '2024-01-03 09:00:00'),
    ('f', 1, 'o3', 'public', 'active', '2024-01-04 12:00:00'), ('g', 0, 'o3', 'private', 'queued', '2024-01-05 08:00:00');

SELECT id FROM f WHERE deleted = 0 AND owner = 'o1';
-- plan: SEARCH f USING INDEX ix_f_owner (owner=?)
-- columns: id
-- row: 'a'
-- row: 'e'

SELECT id FROM f WHERE deleted = 0 AND vis IN ('public', 'shared');
-- plan: SEARCH f USING INDEX ix_f_vis (vis IN (...))
-- columns: id
-- row: 'a'
-- row: 'd'
-- row: 'c'
-- row: 'e'

SELECT id FROM f WHERE status IN ('a', 'b', 'c', 'd', 'e', 'active') AND vis IN ('public', 'y');
-- plan: SEARCH f USING INDEX ix_f_vis (vis IN (...))
-- columns: id
-- row: 'a'
-- row: 'f'

SELECT id FROM f WHERE deleted = 0 AND (vis = 'public' OR vis = 'shared') ORDER BY id;
-- plan: SEARCH f USING INDEX ix_f_vis (vis IN (...))
-- plan: USE TEMP B-TREE FOR ORDER BY
-- columns: id
-- row: 'a'
-- row: 'c'
-- row: 'd'
-- row: 'e'

-- not an IN list: two columns, or another operator
SELECT id FROM f WHERE vis = 'public' OR owner = 'o3';
-- plan: SCAN f USING PRIMARY KEY
-- columns: id
-- row: 'a'
-- row: 'd'
-- row: 'f'
-- row: 'g'
SELECT id FROM f WHERE vis = 'public' OR vis > 'r';
-- plan: SCAN f USING PRIMARY KEY
-- columns: id
-- row: 'a'
-- row: 'c'
-- row: 'd'
-- row: 'e'
-- row: 'f'

-- an index entry's key ends with the primary key: this ORDER BY needs no sort, and with a LIMIT
-- that beats the equality on deleted
SELECT id, created_at FROM f WHERE deleted = 0 ORDER BY created_at DESC, id DESC LIMIT 3;
-- plan: SCAN f USING INDEX ix_f_created DESC
-- plan: ORDER BY FROM INDEX (no sort)
-- plan: LIMIT
-- columns: id, created_at
-- row: 'g', '2024-01-05 08:00:00'
-- row: 'e', '2024-01-03 09:00:00'
-- row: 'd', '2024-01-03 09:00:00'

-- without a LIMIT the equality wins (every row is read either way)
SELECT id FROM f WHERE deleted = 0 ORDER BY created_at DESC, id DESC;
-- plan: SEARCH f USING INDEX ix_f_deleted (deleted=?)
-- plan: USE TEMP B-TREE FOR ORDER BY
-- columns: id
-- row: 'g'
-- row: 'e'
-- row: 'd'
-- row: 'c'
-- row: 'a'

-- Join order and join methods. EXPLAIN lists the levels of the nested loop in the order they run.
CREATE TABLE items (id VARCHAR(36) NOT NULL, owner VARCHAR(32) NOT NULL, vis VARCHAR(16) NOT NULL,
    deleted BOOLEAN NOT NULL, PRIMARY KEY (id));
CREATE INDEX ix_owner ON items (owner);
CREATE INDEX ix_vis ON items (vis);
CREATE TABLE props (id INTEGER PRIMARY KEY, item_id VARCHAR(36) NOT NULL, name TEXT, value TEXT,
    FOREIGN KEY(item_id) REFERENCES items (id));
CREATE INDEX ix_props_item ON props (item_id);
CREATE TABLE members (id INTEGER PRIMARY KEY, item_id VARCHAR(36) NOT NULL, member VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL, deleted BOOLEAN NOT NULL, deleted_at DATETIME, UNIQUE (item_id, member, deleted_at));
CREATE INDEX ix_members_deleted ON members (deleted);
CREATE TABLE notes (id INTEGER PRIMARY KEY, owner VARCHAR(32), text TEXT);
INSERT INTO items VALUES ('i1', 'alice', 'shared', 0), ('i2', 'alice', 'shared', 0), ('i3', 'bob', 'public', 0),
    ('i4', 'bob', 'shared', 1);
INSERT INTO props (item_id, name, value) VALUES ('i1', 'k', 'v1'), ('i1', 'os', 'linux'), ('i3', 'k', 'v3');
INSERT INTO members (item_id, member, status, deleted) VALUES ('i2', 'carol', 'accepted', 0),
    ('i4', 'carol', 'accepted', 0), ('i1', 'dave', 'pending', 0);
INSERT INTO notes (owner, text) VALUES ('alice', 'a note'), ('bob', 'b note'), ('alice', 'another');

-- a LEFT JOIN probes the inner table's index once per outer row
SELECT items.id, props.name FROM items LEFT OUTER JOIN props ON props.item_id = items.id
WHERE items.owner = 'alice' ORDER BY items.id, props.name;
-- plan: SEARCH items USING COVERING INDEX ix_owner (owner=?)
-- plan: LEFT JOIN SEARCH props USING INDEX ix_props_item (item_id=?)
-- plan: USE TEMP B-TREE FOR ORDER BY
-- columns: id, name
-- row: 'i1', 'k'
-- row: 'i1', 'os'
-- row: 'i2', None

-- written items first, but only props has an index for the constant: props drives, and items is
-- reached by its primary key; SELECT * keeps the written column order
CREATE INDEX ix_props_name ON props (name);
SELECT * FROM items JOIN props ON props.item_id = items.id WHERE props.name = 'os';
-- plan: SEARCH props USING INDEX ix_props_name (name=?)
-- plan: SEARCH items USING PRIMARY KEY (id=?)
-- columns: id, owner, vis, deleted, id, item_id, name, value
-- row: 'i1', 'alice', 'shared', 0, 2, 'i1', 'os', 'linux'

-- Glance's shared-images branch: items by vis = ? looks selective, but each of its rows would then
-- probe members; members first reaches each item by its primary key (as sqlite3 plans it)
SELECT items.id FROM items JOIN members ON items.id = members.item_id
WHERE items.deleted = 0 AND members.deleted = 0 AND items.vis = 'shared' AND members.member = 'carol'
    AND members.status = 'accepted';
-- plan: SEARCH members USING INDEX ix_members_deleted (deleted=?)
-- plan: SEARCH items USING PRIMARY KEY (id=?)
-- columns: id
-- row: 'i2'

-- no index on the join key: the inner table is read once into a hash table (also when its primary
-- key could be scanned in order: a full read all the same)
SELECT items.id, notes.text FROM items JOIN notes ON notes.owner = items.owner WHERE items.vis = 'public'
ORDER BY notes.text;
-- plan: SEARCH items USING INDEX ix_vis (vis=?)
-- plan: SCAN notes (HASH JOIN ON owner)
-- plan: USE TEMP B-TREE FOR ORDER BY
-- columns: id, text
-- row: 'i3', 'b note'

-- a derived table is run once and probed through a hash table
SELECT items.id, n.c FROM items JOIN (SELECT item_id, count(*) AS c FROM props GROUP BY item_id) AS n
    ON n.item_id = items.id ORDER BY items.id;
-- plan: SCAN items USING PRIMARY KEY
-- plan: SCAN SUBQUERY n (HASH JOIN ON item_id)
-- plan:   SCAN props USING PRIMARY KEY
-- plan:   AGGREGATE BY 1 KEYS
-- plan: ORDER BY FROM INDEX (no sort)
-- columns: id, c
-- row: 'i1', 2
-- row: 'i3', 1

-- with ORDER BY and LIMIT (Glance's property filter): images stays first, read in created_at order
-- from an index so that the LIMIT stops the scan early, each image probing its properties by
-- (image_id, name); without the LIMIT, the properties drive (only a BOOLEAN equality to start from)
CREATE TABLE images (id VARCHAR(36) PRIMARY KEY, created_at DATETIME NOT NULL, deleted BOOLEAN NOT NULL);
CREATE INDEX ix_images_created ON images (created_at);
CREATE INDEX ix_images_deleted ON images (deleted);
CREATE TABLE image_properties (id INTEGER PRIMARY KEY, image_id VARCHAR(36) NOT NULL, name TEXT NOT NULL,
    value TEXT, deleted BOOLEAN NOT NULL);
CREATE INDEX ix_image_properties_image_id_name ON image_properties (image_id, name);
CREATE INDEX ix_image_properties_deleted ON image_properties (deleted);
INSERT INTO images VALUES ('a', '2024-01-01', 0), ('b', '2024-01-02', 0), ('c', '2024-01-03', 0), ('d', '2024-01-04', 1);
INSERT INTO image_properties (image_id, name, value, deleted) VALUES ('a', 'k1', 'v3', 0), ('b', 'k1', 'v1', 0),
    ('c', 'k1', 'v3', 0), ('d', 'k1', 'v3', 0), ('c', 'k2', 'v3', 0);
SELECT images.id FROM images JOIN image_properties AS p ON images.id = p.image_id
WHERE images.deleted = 0 AND p.name = 'k1' AND p.value = 'v3' AND p.deleted = 0
ORDER BY images.created_at DESC LIMIT 2;
-- plan: SCAN images USING INDEX ix_images_created DESC
-- plan: SEARCH image_properties AS p USING INDEX ix_image_properties_image_id_name (image_id=? AND name=?)
-- plan: ORDER BY FROM INDEX (no sort)
-- plan: LIMIT
-- columns: id
-- row: 'c'
-- row: 'a'
SELECT images.id FROM images JOIN image_properties AS p ON images.id = p.image_id
WHERE images.deleted = 0 AND p.name = 'k1' AND p.value = 'v3' AND p.deleted = 0
ORDER BY images.created_at DESC;
-- plan: SEARCH image_properties AS p USING INDEX ix_image_properties_deleted (deleted=?)
-- plan: SEARCH images USING PRIMARY KEY (id=?)
-- plan: USE TEMP B-TREE FOR ORDER BY
-- columns: id
-- row: 'c'
-- row: 'a'

"""Requests per Glance-shaped operation on rome+etcd, counted on the store, results compared with
sqlite3's: reads are batched Txns served by the preferred member (here a follower), a write costs its
reads and exactly one commit request (the only one that needs the leader)."""
import os
import sqlite3
import sys
import time

import pytest

import rome
from rome.dbapi.connection import parse_url
from rome.storage.etcd import CARRY_FOR
from rome.storage import drop_store

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "redis"))
pytest.importorskip("redis", reason="(the shared schema lives in the Redis round-trip tests)")
import test_redis_round_trips as shapes  # noqa: E402


@pytest.fixture
def dbs(cluster, prefix):
    first = (cluster.wait_leader() + 1) % cluster.n    # a follower: reads must not need the leader
    url = cluster.url(prefix=prefix, first=first)
    c = rome.connect(url)
    ref = sqlite3.connect(":memory:")
    images, props, members, locs = shapes._data()
    _fill((c, ref), shapes.SCHEMA, images=images, props=props, members=members, locs=locs)
    yield c, ref, first
    c.close()
    drop_store(*parse_url(url))


def _fill(conns, schema, **tables):
    """Create the schema on each connection and insert each table's rows, committed."""
    for conn in conns:
        for ddl in schema:
            conn.execute(ddl)
        for name, rows in tables.items():
            conn.executemany("INSERT INTO %s VALUES (%s)" % (name, ", ".join("?" * len(rows[0]))), rows)
        conn.commit()


def _requests(c, first, fn):
    store = c.store
    before, commits = store.requests, store.commits_sent
    out = fn()
    after = store.requests
    assert [a - b for i, (a, b) in enumerate(zip(after, before)) if i != 0] == [0] * (len(after) - 1)
    return out, after[0] - before[0], store.commits_sent - commits


def test_reads(dbs):
    c, ref, first = dbs
    want = [tuple(r) for r in ref.execute(shapes.GET + " ORDER BY props.name", ("im005",)).fetchall()]
    rows, n, commits = _requests(c, first, lambda: (c.execute(shapes.GET + " ORDER BY props.name", ("im005",)).fetchall(),
                                                    c.rollback())[0])
    assert [tuple(r) for r in rows] == want and len(want) == 3
    assert n <= 1 and commits == 0, n
    sql = ("SELECT images.id, members.status FROM images JOIN members ON images.id = members.image_id "
           "WHERE images.visibility = 'shared' AND members.member = ? ORDER BY images.id")
    rows, n, _ = _requests(c, first, lambda: (c.execute(sql, ("p1",)).fetchall(), c.rollback())[0])
    assert [tuple(r) for r in rows] == [tuple(r) for r in ref.execute(sql, ("p1",)).fetchall()] and rows
    assert n <= 3, n


def test_create_is_reads_and_one_commit(dbs):
    c, ref, first = dbs
    c.execute("INSERT INTO props (image_id, name, value) VALUES ('im000', 'first', 'x')")   # a block of ids
    c.commit()

    def create():
        c.execute("INSERT INTO images VALUES ('new', 'n', 'p1', 'private', 0, '2024-02-01 00:00:00')")
        assert c.execute("SELECT * FROM props WHERE image_id = 'new'").fetchall() == []
        c.execute("INSERT INTO props (image_id, name, value) VALUES ('new', 'a', 'b')")
        c.commit()
    _, n, commits = _requests(c, first, create)
    assert commits == 1 and n <= 3, (n, commits)
    assert c.execute("SELECT name, value FROM props WHERE image_id = 'new'").fetchall() == [("a", "b")]
    c.commit()


# Glance's own statement shapes (glance.db.sqlalchemy.api, logged from its DB API on rome+etcd), on the
# shared schema: props for image_properties, locs for image_locations.
GLANCE_GET = ("SELECT images.id, images.name, images.owner, images.visibility, images.deleted, images.created_at, "
              "props_1.id, props_1.image_id, props_1.name, props_1.value, locs_1.id, locs_1.image_id, locs_1.url "
              "FROM images LEFT OUTER JOIN props AS props_1 ON images.id = props_1.image_id "
              "LEFT OUTER JOIN locs AS locs_1 ON images.id = locs_1.image_id WHERE images.id = ?")
GLANCE_PROPS = "SELECT props.id, props.image_id, props.name, props.value FROM props WHERE ? = props.image_id"


def _both(c, ref, sql, params=()):
    """Run on both; the rows (sorted: Glance's joins have no ORDER BY) must be equal."""
    got = sorted(tuple(r) for r in c.execute(sql, params).fetchall())
    want = sorted(tuple(r) for r in ref.execute(sql, params).fetchall())
    assert got == want, (sql, params)
    return got


def test_glance_image_update_then_reread(dbs):
    """image_update as Glance runs it: the image with its joins, the row again, the UPDATE, a new
    property, the image again, COMMIT; then image_get in a transaction of its own. Its requests: the
    first read (the image, its join ranges), the join's rows, the commit; the re-read costs none (the
    commit's own state, see etcd.Carried), and shows the new name and property as sqlite3 does."""
    c, ref, first = dbs
    im = "im005"
    for conn in (c, ref):   # a block of ids
        conn.execute("INSERT INTO props (image_id, name, value) VALUES ('im000', 'first', 'x')")
        conn.commit()

    def update():
        assert len(_both(c, ref, GLANCE_GET + " AND images.deleted = 0", (im,))) == 3
        _both(c, ref, "SELECT images.id FROM images WHERE images.id = ?", (im,))
        for conn in (c, ref):
            conn.execute("UPDATE images SET name = ?, created_at = ? WHERE images.id = ?",
                         ("renamed", "2024-03-01 00:00:00", im))
            conn.execute("INSERT INTO props (image_id, name, value) VALUES (?, ?, ?)", (im, "k9", "x"))
        _both(c, ref, GLANCE_GET, (im,))
        c.commit()
        ref.commit()
        rows = _both(c, ref, GLANCE_GET + " AND images.deleted = 0", (im,))
        c.commit()
        return rows
    rows, n, commits = _requests(c, first, update)
    assert {r[1] for r in rows} == {"renamed"} and ("k9", "x") in {(r[8], r[9]) for r in rows} and len(rows) == 4
    assert commits == 1 and n <= 3, (n, commits)


def test_glance_image_create_then_reread(dbs):
    """image_create as Glance runs it: INSERT the image, read its properties (none), INSERT them,
    COMMIT; then image_get. At most 4 requests (reads, one commit, the re-read's locations range),
    the re-read as sqlite3's."""
    c, ref, first = dbs
    c.execute("INSERT INTO props (image_id, name, value) VALUES ('im000', 'first', 'x')")   # a block of ids
    c.commit()
    ref.execute("INSERT INTO props (image_id, name, value) VALUES ('im000', 'first', 'x')")

    def create():
        for conn in (c, ref):
            conn.execute("INSERT INTO images VALUES ('new', 'n', 'p1', 'private', 0, '2024-02-01 00:00:00')")
        assert _both(c, ref, GLANCE_PROPS, ("new",)) == []
        for conn in (c, ref):
            conn.execute("INSERT INTO props (image_id, name, value) VALUES ('new', 'a', 'b')")
            conn.execute("INSERT INTO props (image_id, name, value) VALUES ('new', 'c', 'd')")
            conn.commit()
        rows = _both(c, ref, GLANCE_GET + " AND images.deleted = 0", ("new",))
        c.commit()
        return rows
    rows, n, commits = _requests(c, first, create)
    assert [(r[0], r[8], r[9]) for r in rows] == [("new", "a", "b"), ("new", "c", "d")]
    assert commits == 1 and n <= 3, (n, commits)


def test_reread_after_commit_stays_serializable(dbs, cluster, prefix):
    """The transaction after a commit reads at the commit's revision (etcd.Carried): when another
    process changed a row since, a write based on what it read there fails its commit, never lost."""
    c, ref, first = dbs
    other = rome.connect(cluster.url(prefix=prefix, first=(first + 1) % cluster.n, sequence_block=7))
    try:
        c.execute("UPDATE images SET name = 'a' WHERE id = 'im001'")
        c.commit()
        # other reads from another member, which may not have c's commit yet: its write then loses
        # at commit, as it must, and is retried as an application would
        rome.retry(other, lambda conn: conn.execute("UPDATE images SET name = 'b' WHERE id = 'im001'"))
        name = c.execute("SELECT name FROM images WHERE id = 'im001'").fetchone()[0]
        c.execute("UPDATE images SET name = ? WHERE id = 'im001'", (name + "+",))
        if name == "a":   # read at the commit's revision: the other's write is not seen, so this loses
            with pytest.raises(rome.OperationalError, match="conflict"):
                c.commit()
        else:
            c.commit()
        c.rollback()
        assert c.execute("SELECT name FROM images WHERE id = 'im001'").fetchone()[0] in ("b", "b+")
        c.commit()
    finally:
        other.close()


def test_commit_state_is_carried_briefly(dbs, cluster, prefix):
    """After its own commit, a thread reads at that commit's revision only within CARRY_FOR (0.1 s):
    another process's later commit is seen by the transactions that start after it."""
    c, ref, first = dbs
    other = rome.connect(cluster.url(prefix=prefix, first=(first + 1) % cluster.n, sequence_block=7))
    try:
        c.execute("UPDATE images SET name = 'mine' WHERE id = 'im002'")
        c.commit()
        rome.retry(other, lambda conn: conn.execute("UPDATE images SET name = 'changed' WHERE id = 'im002'"))
        t = time.monotonic()
        while c.execute("SELECT name FROM images WHERE id = 'im002'").fetchone() != ("changed",):
            c.commit()
            assert time.monotonic() - t < 0.1 + 0.3
            time.sleep(0.02)
        c.commit()
    finally:
        other.close()


def test_retry_after_a_conflict_reads_afresh(dbs, cluster, prefix):
    """A commit that fails with a conflict carries nothing: the retry (what oslo.db and Glance do on
    a deadlock) reads the latest state and commits."""
    c, ref, first = dbs
    other = rome.connect(cluster.url(prefix=prefix, first=(first + 1) % cluster.n, sequence_block=7))
    try:
        n = c.execute("SELECT name FROM images WHERE id = 'im003'").fetchone()[0]
        rome.retry(other, lambda conn: conn.execute("UPDATE images SET name = 'theirs' WHERE id = 'im003'"))
        c.execute("UPDATE images SET name = ? WHERE id = 'im003'", (n + "-mine",))
        with pytest.raises(rome.OperationalError, match="conflict"):
            c.commit()
        c.rollback()

        def append(conn):   # the local member may apply the other's commit a moment later: retried
            n = conn.execute("SELECT name FROM images WHERE id = 'im003'").fetchone()[0]
            conn.execute("UPDATE images SET name = ? WHERE id = 'im003'", (n + "-mine",))
        rome.retry(c, append)
        assert c.execute("SELECT name FROM images WHERE id = 'im003'").fetchone() == ("theirs-mine",)
        c.commit()
    finally:
        other.close()


# -- Glance's list pages, on Glance's own tables and indexes (glance.db.sqlalchemy.models, as created
# on sqlite) and its own statements (glance.db.sqlalchemy.api.image_get_all, logged from its DB API on
# rome+etcd by ../shared/checks/glance_dbops.py), selecting fewer columns.

GLANCE_SCHEMA = [
    "CREATE TABLE images (id VARCHAR(36) NOT NULL, name VARCHAR(255), size INTEGER, status VARCHAR(30) NOT NULL, "
    "visibility VARCHAR(9) DEFAULT 'shared' NOT NULL, owner VARCHAR(255), created_at DATETIME NOT NULL, "
    "deleted BOOLEAN NOT NULL, PRIMARY KEY (id))",
    "CREATE INDEX ix_images_deleted ON images (deleted)",
    "CREATE INDEX owner_image_idx ON images (owner)",
    "CREATE INDEX created_at_image_idx ON images (created_at)",
    "CREATE INDEX visibility_image_idx ON images (visibility)",
    "CREATE TABLE image_properties (id INTEGER NOT NULL, image_id VARCHAR(36) NOT NULL, name VARCHAR(255) NOT NULL, "
    "value TEXT, deleted BOOLEAN NOT NULL, PRIMARY KEY (id), CONSTRAINT ix_image_properties_image_id_name "
    "UNIQUE (image_id, name), FOREIGN KEY(image_id) REFERENCES images (id))",
    "CREATE INDEX ix_image_properties_deleted ON image_properties (deleted)",
    "CREATE INDEX ix_image_properties_image_id ON image_properties (image_id)",
    "CREATE TABLE image_locations (id INTEGER NOT NULL, image_id VARCHAR(36) NOT NULL, value TEXT NOT NULL, "
    "deleted BOOLEAN NOT NULL, PRIMARY KEY (id), FOREIGN KEY(image_id) REFERENCES images (id))",
    "CREATE INDEX ix_image_locations_image_id ON image_locations (image_id)",
    "CREATE INDEX ix_image_locations_deleted ON image_locations (deleted)",
    "CREATE TABLE image_members (id INTEGER NOT NULL, image_id VARCHAR(36) NOT NULL, member VARCHAR(255) NOT NULL, "
    "status VARCHAR(20) DEFAULT 'pending' NOT NULL, deleted BOOLEAN NOT NULL, PRIMARY KEY (id), "
    "FOREIGN KEY(image_id) REFERENCES images (id))",
    "CREATE INDEX ix_image_members_deleted ON image_members (deleted)",
    "CREATE INDEX ix_image_members_image_id_member ON image_members (image_id, member)",
    "CREATE INDEX ix_image_members_image_id ON image_members (image_id)",
]
STATUSES = ("active", "saving", "queued", "pending_delete", "deleted", "deactivated", "importing", "uploading")


def _columns(ref, alias):
    """The image columns as SQLAlchemy labels them: ``<ref>id AS <alias>id, ...``."""
    return ", ".join("%s%s AS %s%s" % (ref, c, alias, c)
                     for c in ("id", "name", "size", "status", "visibility", "owner", "created_at", "deleted"))


JOINED = ("image_properties_1.id, image_properties_1.name, image_properties_1.value, image_locations_1.id, "
          "image_locations_1.value")
IN_STATUS = "images.status IN (%s)" % ", ".join("?" * len(STATUSES))
BRANCHES = (
    "SELECT {c} FROM images WHERE images.deleted = 0 AND {s} AND (images.visibility = ? OR images.visibility = ?) "
    "UNION SELECT {c} FROM images WHERE images.owner = ? AND images.deleted = 0 AND {s} "
    "UNION SELECT {c} FROM images JOIN image_members ON images.id = image_members.image_id WHERE images.deleted = 0 "
    "AND {s} AND image_members.deleted = 0 AND images.visibility = ? AND image_members.member = ? "
    "AND image_members.status = ?").format(c=_columns("images.", "images_"), s=IN_STATUS)
PAGE_OF = (
    "SELECT " + _columns("anon_1.anon_2_images_", "anon_1_anon_2_images_") + ", " + JOINED
    + " FROM (SELECT " + _columns("anon_2.images_", "anon_2_images_") + " FROM (" + BRANCHES + ") AS anon_2 WHERE %s "
    "ORDER BY anon_2.images_created_at DESC, anon_2.images_id DESC LIMIT ? OFFSET ?) AS anon_1 "
    "LEFT OUTER JOIN image_properties AS image_properties_1 ON anon_1.anon_2_images_id = image_properties_1.image_id "
    "LEFT OUTER JOIN image_locations AS image_locations_1 ON anon_1.anon_2_images_id = image_locations_1.image_id "
    "ORDER BY anon_1.anon_2_images_created_at DESC, anon_1.anon_2_images_id DESC")
LIST = PAGE_OF % "anon_2.images_owner = ? OR anon_2.images_visibility != ?"
MARKER_PAGE = PAGE_OF % (
    "(anon_2.images_owner = ? OR anon_2.images_visibility != ?) AND "
    "(CASE WHEN (anon_2.images_created_at IS NOT NULL) THEN anon_2.images_created_at END < ? OR "
    "CASE WHEN (anon_2.images_created_at IS NOT NULL) THEN anon_2.images_created_at END = ? AND "
    "CASE WHEN (anon_2.images_id IS NOT NULL) THEN anon_2.images_id ELSE ? END < ?)")
LIST_ARGS = (STATUSES + ("public", "community", "p1") + STATUSES + STATUSES
             + ("shared", "p1", "accepted", "p1", "community"))
MARKER = ("SELECT " + _columns("images.", "images_") + ", " + JOINED + " FROM images "
          "LEFT OUTER JOIN image_properties AS image_properties_1 ON images.id = image_properties_1.image_id "
          "LEFT OUTER JOIN image_locations AS image_locations_1 ON images.id = image_locations_1.image_id "
          "WHERE images.id = ? AND images.deleted = 0")
PROPERTY_FILTER = (
    "SELECT " + _columns("anon_1.images_", "anon_1_images_") + ", " + JOINED
    + " FROM (SELECT " + _columns("images.", "images_") + " FROM images "
    "JOIN image_properties AS image_properties_2 ON images.id = image_properties_2.image_id "
    "WHERE images.deleted = 0 AND " + IN_STATUS + " AND images.visibility != ? AND image_properties_2.deleted = 0 "
    "AND image_properties_2.name = ? AND image_properties_2.value = ? "
    "ORDER BY images.created_at DESC, images.id DESC LIMIT ? OFFSET ?) AS anon_1 "
    "LEFT OUTER JOIN image_properties AS image_properties_1 ON anon_1.images_id = image_properties_1.image_id "
    "LEFT OUTER JOIN image_locations AS image_locations_1 ON anon_1.images_id = image_locations_1.image_id "
    "ORDER BY anon_1.images_created_at DESC, anon_1.images_id DESC")


@pytest.fixture
def glance_dbs(cluster, prefix):
    """Glance's tables with what glance_dbops.py creates (100 images of 4 owners, 3 properties each),
    plus a location on every 5th image and p1 a pending member of some shared images."""
    first = (cluster.wait_leader() + 1) % cluster.n
    url = cluster.url(prefix=prefix, first=first)
    c = rome.connect(url)
    ref = sqlite3.connect(":memory:")
    ids = ["%08x-0000-4000-8000-%012x" % (i * 2654435761 % 2 ** 32, i) for i in range(100)]
    images = [(ids[i], "img-%d" % i, i * 1000, "active", ["public", "private", "shared", "community"][i % 4],
               "p%d" % (i % 4), "2024-01-01 10:%02d:%02d" % (i // 60, i % 60), 0) for i in range(100)]
    props = [(i * 3 + j + 1, ids[i], "k%d" % j, "v%d" % (i % 7), 0) for i in range(100) for j in range(3)]
    locs = [(i + 1, ids[i], "file:///%d" % i, 0) for i in range(0, 100, 5)]
    members = [(i + 1, ids[i], "p1", "pending", 0) for i in range(2, 100, 8)]
    _fill((c, ref), GLANCE_SCHEMA, images=images, image_properties=props, image_locations=locs, image_members=members)
    time.sleep(CARRY_FOR)   # a page starts afresh, as in Glance: nothing carried from the loading commit
    yield c, ref, first
    c.close()
    drop_store(*parse_url(url))


def _page(c, ref, sql, params):
    """Run a page on both: the same rows, the images in the same order -> (rows, image ids in order)."""
    got = _both(c, ref, sql, params)
    order = list(dict.fromkeys(r[0] for r in c.execute(sql, params).fetchall()))
    assert order == list(dict.fromkeys(r[0] for r in ref.execute(sql, params).fetchall()))
    return got, order


def test_glance_list_page(glance_dbs):
    """A list page (tenant p1, 25): the branches' index ranges (with the catalog, the images' rows
    carried by the entries) in one request, the page's join ranges (chained on the branches' reads:
    prefetch.push_chains, their rows carried too) in a second."""
    c, ref, first = glance_dbs

    def page():
        out = _page(c, ref, LIST, LIST_ARGS + (25, 0))
        c.rollback()
        return out
    page()   # statements compiled, the catalog read, as in a running Glance
    (rows, order), n, commits = _requests(c, first, page)
    assert len(order) == 25 and len(rows) >= 75 and any(r[11] is not None for r in rows)
    assert n <= 2 and commits == 0, n


def test_glance_list_page_with_shared_images(glance_dbs):
    """The same page when p1 accepted shared images (the UNION's third branch: image_members, then
    those images by primary key): the images in one request, never one per member row (it was 11
    requests: the 7 images read one by one), with the page's join ranges for them (pushed down to
    that level: prefetch.push_chains), their rows in one more: 5."""
    c, ref, first = glance_dbs
    for conn in (c, ref):
        conn.execute("UPDATE image_members SET status = 'accepted' WHERE id % 16 = 3")
        conn.commit()
    time.sleep(CARRY_FOR)

    def page():
        out = _page(c, ref, LIST, LIST_ARGS + (25, 0))
        c.rollback()
        return out
    page()
    (rows, order), n, commits = _requests(c, first, page)
    shared = {r[0] for r in ref.execute("SELECT image_id FROM image_members WHERE status = 'accepted'")}
    assert len(order) == 25 and shared & set(order) and shared - {r[0] for r in ref.execute(
        "SELECT id FROM images WHERE owner = 'p1' OR visibility IN ('public', 'community')")}
    assert n <= 5 and commits == 0, n


def test_glance_property_filter_page(glance_dbs):
    """The property filter (admin: k1 = v3, 25): the images by created_at (their rows carried by the
    entries); the filter's property (its row carried) with the page's join ranges: 2 (it was 4: the
    rows of the entries read had requests of their own)."""
    c, ref, first = glance_dbs

    def page():
        out = _page(c, ref, PROPERTY_FILTER, STATUSES + ("community", "k1", "v3", 25, 0))
        c.rollback()
        return out
    page()   # statements compiled, the catalog read, as in a running Glance
    (rows, order), n, _ = _requests(c, first, page)
    assert len(order) == 10 and len(rows) >= 30
    assert n <= 2, n


def test_glance_image_get(glance_dbs):
    """image_get (Glance's statement: the image, its properties and locations): one request, the
    image by its key and the two join ranges together, their rows carried by the index entries."""
    c, ref, first = glance_dbs
    im = ref.execute("SELECT id FROM images WHERE id IN (SELECT image_id FROM image_locations) LIMIT 1").fetchone()

    def get():
        out = _both(c, ref, MARKER, im)
        c.rollback()
        return out
    get()   # statements compiled, the catalog read, as in a running Glance
    time.sleep(CARRY_FOR)
    rows, n, commits = _requests(c, first, get)
    assert len(rows) == 3 and rows[0][11] is not None and commits == 0
    assert n <= 1, n


def test_glance_marker_page(glance_dbs):
    """The page after a marker as Glance reads it, in one transaction: the marker image (image_get's
    statement, 1 request), then the page after it, which costs what a first page costs (2)."""
    c, ref, first = glance_dbs
    marker = ref.execute("SELECT id, created_at FROM images WHERE owner = 'p1' ORDER BY created_at DESC, id DESC "
                         "LIMIT 1 OFFSET 10").fetchone()

    def page():
        got = _both(c, ref, MARKER, marker[:1])
        assert got and got[0][6] == marker[1]
        out = _page(c, ref, MARKER_PAGE, LIST_ARGS + (marker[1], marker[1], "", marker[0], 25, 0))
        c.rollback()
        return out
    page()   # statements compiled, the catalog read, as in a running Glance
    (rows, order), n, commits = _requests(c, first, page)
    assert len(order) == 25 and marker[0] not in order and commits == 0
    assert n <= 3, n

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
    for conn in (c, ref):
        for ddl in shapes.SCHEMA:
            conn.execute(ddl)
        conn.executemany("INSERT INTO images VALUES (?, ?, ?, ?, ?, ?)", images)
        conn.executemany("INSERT INTO props VALUES (?, ?, ?, ?)", props)
        conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?)", members)
        conn.executemany("INSERT INTO locs VALUES (?, ?, ?)", locs)
        conn.commit()
    yield c, ref, first
    c.close()
    drop_store(*parse_url(url))


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
    assert n <= 2 and commits == 0, n
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
        other.execute("UPDATE images SET name = 'b' WHERE id = 'im001'")
        other.commit()
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
        other.execute("UPDATE images SET name = 'changed' WHERE id = 'im002'")
        other.commit()
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
        other.execute("UPDATE images SET name = 'theirs' WHERE id = 'im003'")
        other.commit()
        c.execute("UPDATE images SET name = ? WHERE id = 'im003'", (n + "-mine",))
        with pytest.raises(rome.OperationalError, match="conflict"):
            c.commit()
        c.rollback()
        for _attempt in range(3):   # the local member may apply the other's commit a moment later
            n = c.execute("SELECT name FROM images WHERE id = 'im003'").fetchone()[0]
            c.execute("UPDATE images SET name = ? WHERE id = 'im003'", (n + "-mine",))
            try:
                c.commit()
                break
            except rome.OperationalError:
                c.rollback()
        assert c.execute("SELECT name FROM images WHERE id = 'im003'").fetchone() == ("theirs-mine",)
        c.commit()
    finally:
        other.close()

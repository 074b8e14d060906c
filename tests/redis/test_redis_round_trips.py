"""Round trips of SQL statements on rome+redis, counted on the store, with results compared to
sqlite3's: the reads a plan can know before its first row go together (equalities followed through
joins), UNION branches go together, joins keyed by the first table's primary key run in the store
(chains), a single-row INSERT brings its children's ranges along, generated keys are checked at
commit."""
import itertools
import os
import sqlite3
import subprocess
import sys

import pytest

pytest.importorskip("redis", reason="the redis client (pip install redis) is not installed")

import rome  # noqa: E402
from rome.dbapi.connection import parse_url  # noqa: E402
from rome.storage import drop_store  # noqa: E402

_n = itertools.count()

SCHEMA = [
    "CREATE TABLE images (id VARCHAR(36) PRIMARY KEY, name VARCHAR(64), owner VARCHAR(32), "
    "visibility VARCHAR(16), deleted BOOLEAN NOT NULL, created_at DATETIME)",
    "CREATE INDEX ix_images_owner ON images (owner)",
    "CREATE INDEX ix_images_vis ON images (visibility)",
    "CREATE INDEX ix_images_created ON images (created_at)",
    "CREATE TABLE props (id INTEGER PRIMARY KEY AUTOINCREMENT, image_id VARCHAR(36) NOT NULL "
    "REFERENCES images (id), name VARCHAR(64), value TEXT, UNIQUE (image_id, name))",
    "CREATE TABLE members (id INTEGER PRIMARY KEY AUTOINCREMENT, image_id VARCHAR(36) NOT NULL "
    "REFERENCES images (id), member VARCHAR(32), status VARCHAR(16))",
    "CREATE INDEX ix_members_image_member ON members (image_id, member)",
    "CREATE TABLE locs (id INTEGER PRIMARY KEY AUTOINCREMENT, image_id VARCHAR(36) NOT NULL "
    "REFERENCES images (id), url TEXT)",
    "CREATE INDEX ix_locs_image ON locs (image_id)",
]


def _data():
    images = [("im%03d" % i, "n%d" % i, "p%d" % (i % 4), ["public", "private", "shared"][i % 3], int(i % 10 == 0),
               "2024-01-%02d 10:%02d:00" % (i % 28 + 1, i % 60)) for i in range(150)]
    props = [(i * 3 + j + 1, "im%03d" % i, "k%d" % j, "v%d" % (i % 7)) for i in range(150) for j in range(3)]
    members = [(i + 1, "im%03d" % i, "p%d" % ((i + 1) % 4), "accepted" if i % 2 else "pending")
               for i in range(150) if i % 3 == 2]
    locs = [(i + 1, "im%03d" % i, "file:///%d" % i) for i in range(0, 150, 5)]
    return images, props, members, locs


def _loaded(redis_server, options="", members=True):
    """(ROME connection, sqlite3 reference) holding _data(), and the store's URL."""
    url = redis_server.url(prefix="rt-%d-%d" % (os.getpid(), next(_n))) + options
    c = rome.connect(url)
    ref = sqlite3.connect(":memory:")
    images, props, member_rows, locs = _data()
    for conn in (c, ref):
        for ddl in SCHEMA:
            conn.execute(ddl)
        conn.executemany("INSERT INTO images VALUES (?, ?, ?, ?, ?, ?)", images)
        conn.executemany("INSERT INTO props VALUES (?, ?, ?, ?)", props)
        if members:
            conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?)", member_rows)
        conn.executemany("INSERT INTO locs VALUES (?, ?, ?)", locs)
        conn.commit()
    return c, ref, url


@pytest.fixture
def dbs(redis_server):
    c, ref, url = _loaded(redis_server)
    yield c, ref
    c.close()
    drop_store(*parse_url(url))


def run(c, sql, params=()):
    """(rows, round trips) of a statement in a transaction of its own."""
    store = c.store
    n = store.round_trips
    rows = c.execute(sql, params).fetchall()
    c.rollback()
    return rows, store.round_trips - n


def same(dbs, sql, params=(), ordered=True):
    """The statement's rows on ROME (equal to sqlite's) and its round trips."""
    c, ref = dbs
    rows, rt = run(c, sql, params)
    want = [tuple(r) for r in ref.execute(sql, params).fetchall()]
    got = [tuple(r) for r in rows]
    assert (got if ordered else sorted(got, key=repr)) == (want if ordered else sorted(want, key=repr))
    return got, rt


GET = ("SELECT images.id, images.name, props.name, props.value, locs.url FROM images "
       "LEFT OUTER JOIN props ON images.id = props.image_id "
       "LEFT OUTER JOIN locs ON images.id = locs.image_id WHERE images.id = ? AND images.deleted = 0")


def test_a_get_with_its_joins_is_one_round_trip(dbs):
    """images.id = ? and props.image_id = images.id: props' probe is known before the image is read."""
    rows, rt = same(dbs, GET + " ORDER BY props.name", ("im005",))
    assert len(rows) == 3 and rows[0][4] == "file:///5" and rt == 1
    rows, rt = same(dbs, GET, ("im001",), ordered=False)   # no location: the LEFT JOIN null-extends
    assert len(rows) == 3 and rows[0][4] is None and rt == 1
    rows, rt = same(dbs, GET, ("nope",))
    assert rows == [] and rt == 1


def test_joins_keyed_by_the_first_tables_pk_run_in_the_store(dbs):
    """An index range on images, and for each image a probe of members by (image_id, member): the
    store runs the probes in the round trip that reads the images (a chain)."""
    sql = ("SELECT images.id, members.status FROM images JOIN members ON images.id = members.image_id "
           "WHERE images.visibility = 'shared' AND members.member = ? ORDER BY images.id")
    rows, rt = same(dbs, sql, ("p1",))
    assert rows and rt == 1
    # a point probe (the unique (image_id, name) of props), with a filter on the row it finds
    sql = ("SELECT images.id FROM images JOIN props ON props.image_id = images.id "
           "WHERE images.owner = ? AND props.name = 'k1' AND props.value = 'v3' ORDER BY images.id")
    rows, rt = same(dbs, sql, ("p2",))
    assert rows and rt == 1


@pytest.fixture
def unfollowed(redis_server):
    """dbs with ``follow_rows=false``: the script returns what was asked for, no rows along."""
    c, ref, url = _loaded(redis_server, "&follow_rows=false", members=False)
    yield c, ref
    c.close()
    drop_store(*parse_url(url))


def test_index_reads_need_no_following(unfollowed):
    """Index entries carry their rows: without the script following entries to rows, a get with its
    joins, an index range with a chained point probe, and an ordered index scan with a LIMIT are still
    one round trip each (they were two: the entries, then their rows)."""
    rows, rt = same(unfollowed, GET + " ORDER BY props.name", ("im005",))
    assert len(rows) == 3 and rows[0][4] == "file:///5" and rt == 1
    sql = ("SELECT images.id, props.value FROM images JOIN props ON props.image_id = images.id "
           "WHERE images.owner = ? AND props.name = 'k1' ORDER BY images.id")
    rows, rt = same(unfollowed, sql, ("p2",))
    assert len(rows) == 37 and rt == 1
    sql = "SELECT * FROM images WHERE visibility = 'public' ORDER BY created_at DESC, id DESC LIMIT 10"
    rows, rt = same(unfollowed, sql)
    assert len(rows) == 10 and rt == 1


def test_a_limited_ordered_scan_stops_with_its_chained_filter(dbs):
    sql = ("SELECT images.id, images.created_at FROM images JOIN props AS p ON images.id = p.image_id "
           "WHERE images.deleted = 0 AND p.name = 'k1' AND p.value = ? "
           "ORDER BY images.created_at DESC, images.id DESC LIMIT 5")
    rows, rt = same(dbs, sql, ("v3",))
    assert len(rows) == 5 and rt == 1


def test_union_branches_go_together(dbs):
    """The Glance list shape: three branches (one a chained join), then a page of them with their
    properties: one round trip, the page's join ranges chained on the branches' reads (keyed by
    images.id, which the page's column is in every branch: prefetch.push_chains)."""
    branches = ("SELECT images.id AS id, images.created_at AS created_at FROM images "
                "WHERE images.deleted = 0 AND (images.visibility = 'public' OR images.visibility = 'x') "
                "UNION SELECT images.id, images.created_at FROM images WHERE images.owner = ? AND images.deleted = 0 "
                "UNION SELECT images.id, images.created_at FROM images JOIN members ON images.id = members.image_id "
                "WHERE images.visibility = 'shared' AND members.member = ? AND members.status = 'accepted'")
    sql = ("SELECT page.id, props.name, props.value FROM (SELECT u.id AS id, u.created_at AS created_at FROM (%s) AS u "
           "ORDER BY u.created_at DESC, u.id DESC LIMIT 10) AS page "
           "LEFT OUTER JOIN props ON page.id = props.image_id ORDER BY page.created_at DESC, page.id DESC, props.name"
           % branches)
    rows, rt = same(dbs, sql, ("p1", "p1"))
    assert len(rows) == 30 and rt == 1


def test_chains_see_the_transactions_own_writes(dbs):
    c, _ref = dbs
    c.execute("INSERT INTO members (image_id, member, status) VALUES ('im000', 'p9', 'accepted')")
    c.execute("DELETE FROM members WHERE image_id = 'im002'")
    sql = ("SELECT images.id, members.member FROM images JOIN members ON images.id = members.image_id "
           "WHERE images.owner = 'p0' ORDER BY images.id, members.member")
    got = c.execute(sql).fetchall()
    c.rollback()
    assert ("im000", "p9") in [tuple(r) for r in got]
    assert all(r[0] != "im002" for r in got)


def test_creating_an_image_with_a_property(dbs):
    """INSERT a parent alone (its key checked, its children's ranges brought along), read its
    children (known: none), INSERT a child (its unique key falls in the range just read; its
    generated key is checked at commit), COMMIT: two round trips (once this process holds a block of
    AUTOINCREMENT values: taking one costs a round trip per block)."""
    c, _ref = dbs
    store = c.store
    c.execute("INSERT INTO props (image_id, name, value) VALUES ('im000', 'first', 'x')")
    c.commit()
    n = store.round_trips
    c.execute("INSERT INTO images VALUES ('new', 'n', 'p1', 'private', 0, '2024-02-01 00:00:00')")
    assert c.execute("SELECT * FROM props WHERE image_id = 'new'").fetchall() == []
    c.execute("INSERT INTO props (image_id, name, value) VALUES ('new', 'a', 'b')")
    assert c.execute("SELECT name, value FROM props WHERE image_id = 'new'").fetchall() == [("a", "b")]
    c.commit()
    assert store.round_trips - n == 2
    assert run(c, "SELECT name FROM props WHERE image_id = 'new'")[0] == [("a",)]


def test_checks_served_from_a_range_still_find_duplicates(dbs):
    c, _ref = dbs
    c.execute("INSERT INTO props (image_id, name, value) VALUES ('im000', 'first', 'x')")  # a block of ids
    c.commit()
    assert len(c.execute("SELECT * FROM props WHERE image_id = 'im004'").fetchall()) == 3
    assert len(c.execute("SELECT * FROM images WHERE id = 'im004'").fetchall()) == 1  # the parent
    n = c.store.round_trips
    with pytest.raises(rome.IntegrityError, match="UNIQUE constraint failed: props.image_id, props.name"):
        c.execute("INSERT INTO props (image_id, name, value) VALUES ('im004', 'k2', 'x')")
    c.execute("INSERT INTO props (image_id, name, value) VALUES ('im004', 'k9', 'x')")
    assert c.store.round_trips == n       # both answered by the reads above
    c.rollback()
    with pytest.raises(rome.IntegrityError, match="UNIQUE constraint failed: images.id"):
        c.execute("INSERT INTO images VALUES ('im001', 'n', 'p1', 'private', 0, NULL)")
    c.rollback()


def test_a_generated_key_taken_elsewhere_is_a_conflict_at_commit(dbs, redis_server):
    """AUTOINCREMENT keys are not read at insert on Redis: one that another connection took with an
    explicit value fails the commit as a conflict (retryable), and the retry takes the next value."""
    c, _ref = dbs
    c.execute("INSERT INTO locs (image_id, url) VALUES ('im000', 'a')")
    c.commit()
    taken = c.execute("SELECT max(id) FROM locs").fetchall()[0][0] + 1
    c.rollback()
    url = redis_server.url(prefix=c.store.prefix)
    subprocess.run([sys.executable, "-c", "import rome, sys; c = rome.connect(sys.argv[1]); "
                    "c.execute(\"INSERT INTO locs (id, image_id, url) VALUES (?, 'im000', 'explicit')\", "
                    "(int(sys.argv[2]),)); c.commit()", url, str(taken)], check=True)   # another process
    c.execute("INSERT INTO locs (image_id, url) VALUES ('im000', 'b')")
    with pytest.raises(rome.OperationalError, match="conflict"):
        c.commit()
    c.execute("INSERT INTO locs (image_id, url) VALUES ('im000', 'b')")
    c.commit()
    got = c.execute("SELECT id, url FROM locs WHERE id >= ? ORDER BY id", (taken,)).fetchall()
    assert [tuple(r) for r in got] == [(taken, "explicit"), (taken + 1, "b")]


def test_an_executemany_checks_its_rows_in_one_round_trip(dbs):
    c, ref = dbs
    rows = [("x%03d" % i, "n", "p1", "private", 0, None) for i in range(200)] + [("im003", "dup", "p1", "x", 0, None)]
    n = c.store.round_trips
    with pytest.raises(rome.IntegrityError, match="UNIQUE constraint failed: images.id"):
        c.executemany("INSERT INTO images VALUES (?, ?, ?, ?, ?, ?)", rows)
    assert c.store.round_trips - n == 1   # every key at once; then row by row, from what came back
    n = c.store.round_trips
    c.executemany("INSERT INTO images VALUES (?, ?, ?, ?, ?, ?)", rows[:200])
    c.commit()
    assert c.store.round_trips - n == 1   # the keys were read: the commit only
    assert run(c, "SELECT count(*) FROM images")[0] == [(350,)]


def test_a_list_parameter_is_probed_in_one_round_trip(dbs):
    """``images.id IN (?, ?, ...)`` of any length: one plan, all its keys read in one round trip
    (their joined rows in a second); on an index, the entries and rows in one too."""
    for n in (1, 3, 25, 150):
        ids = tuple("im%03d" % i for i in range(0, 2 * n, 2)) + ("nope", "im000")
        marks = ", ".join("?" * len(ids))
        rows, rt = same(dbs, "SELECT id, name FROM images WHERE id IN (%s) ORDER BY id" % marks, ids)
        assert len(rows) == min(n, 75) and rt == 1
        sql = ("SELECT images.id, props.name FROM images LEFT OUTER JOIN props ON images.id = props.image_id "
               "WHERE images.id IN (%s) ORDER BY images.id, props.name" % marks)
        rows, rt = same(dbs, sql, ids)
        assert len(rows) == 3 * min(n, 75) and rt == (2 if n <= 25 else 3)
    owners = ("p1", "p3", "p1", "zz")
    rows, rt = same(dbs, "SELECT id FROM images WHERE owner IN (?, ?, ?, ?) ORDER BY id", owners)
    assert len(rows) == 75 and rt == 1

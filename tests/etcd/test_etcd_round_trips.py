"""Requests per Glance-shaped operation on rome+etcd, counted on the store, results compared with
sqlite3's: reads are batched Txns served by the preferred member (here a follower), a write costs its
reads and exactly one commit request (the only one that needs the leader)."""
import os
import sqlite3
import sys

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

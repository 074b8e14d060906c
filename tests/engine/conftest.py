import itertools
import os
import sqlite3

import pytest

import rome
from rome.dbapi.connection import parse_url
from rome.storage import drop_store

_n = itertools.count()


@pytest.fixture(params=["memory", "lmdb", "redis"])
def url(request, tmp_path):
    if request.param == "memory":
        yield "rome+memory:///engine-test-%d" % next(_n)
    elif request.param == "lmdb":   # closed afterwards: each open environment holds file descriptors
        u = "rome+lmdb:///" + str(tmp_path / "db")
        yield u
        drop_store(*parse_url(u))
    else:  # a fresh prefix on the session's redis-server, dropped afterwards
        u = request.getfixturevalue("redis_server").url(prefix="engine-test-%d-%d" % (os.getpid(), next(_n)))
        yield u
        drop_store(*parse_url(u))


@pytest.fixture
def db(url):
    conn = rome.connect(url)
    yield conn
    conn.close()


class Both:
    """The same statements on ROME and on sqlite3; compare() asserts equal results."""

    def __init__(self, conn):
        self.rome = conn
        self.ref = sqlite3.connect(":memory:")
        self.ref.execute("PRAGMA foreign_keys = ON")

    def run(self, sql, params=()):
        a = b = None
        ea = eb = None
        try:
            cur = self.rome.cursor().execute(sql, params)
            a = cur.fetchall() if cur.description else cur.rowcount
        except rome.Error as e:
            ea = e
        try:
            cur = self.ref.execute(sql, params)
            b = cur.fetchall() if cur.description else cur.rowcount
        except sqlite3.Error as e:
            eb = e
        assert (ea is None) == (eb is None), (sql, ea, eb)
        if ea is not None:
            assert type(ea).__name__ == type(eb).__name__, (sql, ea, eb)
            return ea
        return a, b

    def same(self, sql, params=(), ordered=True):
        a, b = self.run(sql, params)
        if not ordered and isinstance(a, list):
            a, b = sorted(a, key=repr), sorted(b, key=repr)
        assert a == b, (sql, a, b)
        return a


@pytest.fixture
def both(db):
    return Both(db)

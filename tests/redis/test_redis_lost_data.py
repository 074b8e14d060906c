"""rome+redis when the server loses data or room: a restart that comes back empty under a running
transaction, a server that may evict keys, structure keys gone, maxmemory reached, values over the
server's limits. Each on a real redis-server of the test's own."""
import socket
import threading
import time

import pytest

pytest.importorskip("redis", reason="the redis client (pip install redis) is not installed")

import redis  # noqa: E402

import rome  # noqa: E402
from redis_server import BINARY, RedisServer  # noqa: E402

if BINARY is None:
    pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)", allow_module_level=True)


@pytest.fixture
def server(tmp_path, request):
    extra = getattr(request, "param", ())
    s = RedisServer(tmp_path, extra=list(extra)).start()
    yield s
    s.stop()


def restart_empty(server):
    """kill -9 and start again on the same port, without persistence: the data is gone."""
    server.proc.kill()
    server.proc.wait()
    server.proc = None
    server.start()


def fill(c, n, width=10):
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    for i in range(0, n, 5000):
        c.executemany("INSERT INTO t VALUES (?, ?)", [(j, "v" * width) for j in range(i, min(n, i + 5000))])
    c.commit()


def test_restart_empty_between_statements_is_an_error(server):
    c = rome.connect(server.url(prefix="lost"))
    fill(c, 3000)
    assert c.execute("SELECT count(*) FROM t WHERE id < 100").fetchall() == [(100,)]
    restart_empty(server)
    with pytest.raises(rome.OperationalError, match="store changed under a running transaction: redis at "
                       "127.0.0.1:%d is not the store" % server.port) as e:
        c.execute("SELECT count(*) FROM t").fetchall()  # not 0
    assert not isinstance(e.value, rome.ConflictError)
    c.rollback()
    with pytest.raises(rome.DatabaseError, match="no such table: t"):  # a new transaction: empty store
        c.execute("SELECT count(*) FROM t")
    c.close()


class Switch:
    """A TCP forwarder in front of redis-servers: switch() cuts every connection and sends the next
    ones to another server, as a server restarted empty at once would look to a client."""

    def __init__(self, port):
        self.port = port
        self.pairs = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.port))
            self.pairs.append((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def switch(self, port):
        self.port = port
        pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()
        self.switch(self.port)


def test_restart_empty_during_a_long_select_never_truncates(server, tmp_path):
    """The server is replaced by an empty one while a SELECT reads it (its read in flight is resent,
    on a fresh connection, to the empty one): an error, never fewer rows."""
    empty = RedisServer(tmp_path / "empty").start()
    switch = Switch(server.port)
    try:
        c = rome.connect("rome+redis://127.0.0.1:%d/0?prefix=long" % switch.address[1])
        n = 60000
        fill(c, n)
        store = c.store
        start = store.round_trips
        got = []

        def select():
            try:
                got.append(len(c.execute("SELECT id, v FROM t").fetchall()))
            except rome.OperationalError as e:
                got.append(e)

        t = threading.Thread(target=select)
        t.start()
        while store.round_trips < start + 3 and t.is_alive():
            time.sleep(0.0005)
        switch.switch(empty.port)
        t.join()
        assert isinstance(got[0], rome.OperationalError), got   # before: a shorter count, no error
        assert "store changed under a running transaction" in str(got[0]), got
        c.rollback()
        with pytest.raises(rome.DatabaseError, match="no such table"):
            c.execute("SELECT count(*) FROM t")
        c.close()
    finally:
        switch.close()
        empty.stop()


def test_version_going_back_is_an_error(server):
    """A server restarted from an older copy (same identity, older commit version)."""
    url = server.url(prefix="back")
    c = rome.connect(url)
    fill(c, 10)
    raw = redis.Redis(port=server.port)
    raw.incrby(b"{back}:v", 5)
    assert c.execute("SELECT count(*) FROM t").fetchall() == [(10,)]
    raw.decrby(b"{back}:v", 3)
    with pytest.raises(rome.OperationalError, match="went back from commit version"):
        c.execute("SELECT count(*) FROM t WHERE id > 3").fetchall()
    c.rollback()
    assert c.execute("SELECT count(*) FROM t").fetchall() == [(10,)]
    c.close()


@pytest.mark.parametrize("server", [("--maxmemory-policy", "allkeys-lru")], indirect=True)
def test_evicting_server_is_refused_at_connect(server):
    sa = pytest.importorskip("sqlalchemy")
    url = server.url(prefix="evict")
    with pytest.raises(rome.OperationalError, match="maxmemory-policy allkeys-lru.*set maxmemory-policy "
                       "noeviction") as e:
        rome.connect(url)
    assert "store unavailable" not in str(e.value)
    with pytest.raises(sa.exc.OperationalError, match="allkeys-lru"):
        sa.create_engine(url).connect()
    raw = redis.Redis(port=server.port)
    raw.config_set("maxmemory-policy", "noeviction")
    c = rome.connect(url)
    fill(c, 5)
    c.close()


@pytest.mark.parametrize("server", [("--user", "default", "off", "--user", "app", "on", ">s3cret", "~*", "&*",
                                      "+@all", "-config")], indirect=True)
def test_config_not_allowed_says_what_to_do(server):
    url = "rome+redis://app:s3cret@127.0.0.1:%d/0?prefix=acl" % server.port
    with pytest.raises(rome.OperationalError, match=r"cannot read its maxmemory-policy.*\+config\|get.*"
                       "policy_check=false") as e:
        rome.connect(url)
    assert "s3cret" not in str(e.value)
    c = rome.connect(url + "&policy_check=false")
    fill(c, 5)
    assert c.execute("SELECT count(*) FROM t").fetchall() == [(5,)]
    c.close()


@pytest.mark.parametrize("lost", ["z", "h", "v", "i", "n"])
def test_a_lost_structure_key_is_corruption_not_an_empty_database(server, lost):
    url = server.url(prefix="gone")
    c = rome.connect(url)
    fill(c, 50)
    raw = redis.Redis(port=server.port)
    before = {k: raw.dump(k) for k in raw.keys(b"{gone}:*") if b":t:" not in k}
    raw.delete(b"{gone}:" + lost.encode())  # what an eviction does
    for sql in ("SELECT count(*) FROM t", "SELECT v FROM t WHERE id = 5", "INSERT INTO t VALUES (99, 'x')",
                "DELETE FROM t"):
        with pytest.raises(rome.DatabaseError, match="database disk image is malformed: redis at "
                           "127.0.0.1:%d, prefix gone: .*restore it from a backup" % server.port) as e:
            c.execute(sql).fetchall()
            c.commit()
        assert not isinstance(e.value, rome.OperationalError)
        c.rollback()
    after = {k: raw.dump(k) for k in raw.keys(b"{gone}:*") if b":t:" not in k}
    assert after == {k: v for k, v in before.items() if k != b"{gone}:" + lost.encode()}  # nothing written
    c.close()


@pytest.mark.parametrize("server", [("--maxmemory", "3mb", "--maxmemory-policy", "noeviction")], indirect=True)
def test_full_server_lets_deletes_through(server):
    c = rome.connect(server.url(prefix="full"))
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, v TEXT)")
    c.commit()
    n = 0
    with pytest.raises(rome.OperationalError, match="database or disk is full: redis at .* over its "
                       "maxmemory.*DELETE, DROP TABLE") as e:
        for n in range(0, 10 ** 6, 200):
            c.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 500) for i in range(n, n + 200)])
            c.executemany("INSERT INTO u VALUES (?, ?)", [(i, "y" * 100) for i in range(n, n + 200)])
            c.commit()
    assert "store unavailable" not in str(e.value) and n > 0
    c.rollback()
    rows = c.execute("SELECT count(*) FROM t").fetchall()[0][0]
    assert rows == n  # the failed commit left nothing
    with pytest.raises(rome.OperationalError, match="database or disk is full"):
        c.execute("UPDATE t SET v = v || 'more' WHERE id < 500")  # grows: refused
        c.commit()
    c.rollback()
    c.execute("DELETE FROM t WHERE id < 1000")
    c.commit()
    c.execute("UPDATE u SET v = 'short'")  # shrinks: let through
    c.commit()
    c.execute("DROP TABLE t")
    c.commit()
    assert c.execute("SELECT count(*), max(v) FROM u").fetchall() == [(rows, "short")]
    c.execute("INSERT INTO u VALUES (?, 'after')", (10 ** 7,))  # room again
    c.commit()
    c.close()


@pytest.mark.parametrize("server", [("--proto-max-bulk-len", "1mb")], indirect=True)
def test_value_over_the_server_limit_is_a_data_error(server):
    c = rome.connect(server.url(prefix="big"))
    fill(c, 3)
    c.execute("INSERT INTO t VALUES (10, ?)", ("x" * (2 << 20),))
    with pytest.raises(rome.DataError, match="string or blob too big: a value of .* over the proto-max-bulk-len"):
        c.commit()
    c.rollback()
    assert c.execute("SELECT count(*) FROM t").fetchall() == [(3,)]
    c.execute("INSERT INTO t VALUES (10, ?)", ("x" * (500 << 10),))
    c.commit()
    assert c.execute("SELECT length(v) FROM t WHERE id = 10").fetchall() == [(500 << 10,)]
    c.close()

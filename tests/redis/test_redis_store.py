"""What is particular to the Redis store: locations and URLs, prefixes, transports (TCP, unix socket,
TLS), isolation (read committed per call, repeatable point reads, serializable writers), round trips,
scripts and receipts. The store contract itself runs on Redis in tests/storage (parametrized)."""
import itertools
import os
import shutil
import socket
import subprocess
import threading

import pytest

pytest.importorskip("redis", reason="the redis client (pip install redis) is not installed")

import rome  # noqa: E402
from rome.dbapi.connection import parse_url  # noqa: E402
from rome.storage import Conflict, StoreError, Transaction, drop_store, open_store  # noqa: E402
from rome.storage.redis import (CHUNK, COMMIT, FIRST_BATCH, RedisStore, format_location,  # noqa: E402
                                parse_location)

_n = itertools.count()


def location(server, **query):
    q = {"prefix": "t-%d-%d" % (os.getpid(), next(_n))}
    q.update(query)
    return "127.0.0.1:%d/0?%s" % (server.port, "&".join("%s=%s" % kv for kv in q.items()))


@pytest.fixture
def store(redis_server):
    s = RedisStore(location(redis_server))
    yield s
    s._delete_all()
    s.close()


def load(store, items):
    t = Transaction(store)
    for k, v in items.items():
        t.put(k, v) if v is not None else t.delete(k)
    t.commit()


# -- locations, URLs, registry

@pytest.mark.parametrize("url, kind, loc", [
    ("rome+redis://127.0.0.1:6379/0", "redis", "127.0.0.1:6379/0?prefix=rome"),
    ("rome+redis://localhost", "redis", "localhost:6379/0?prefix=rome"),
    ("rome+redis://h:7000/3?prefix=glance", "redis", "h:7000/3?prefix=glance"),
    ("rome+redis://:s%40cret@h/1", "redis", ":s%40cret@h:6379/1?prefix=rome"),
    ("rome+redis://user:pw@h:1/2", "redis", "user:pw@h:1/2?prefix=rome"),
    ("rome+redis:///4?unix_socket=/run/redis.sock", "redis", "/4?prefix=rome&unix_socket=%2Frun%2Fredis.sock"),
    ("rome+rediss://h/0?ssl_ca_certs=/ca.crt", "rediss", "h:6379/0?prefix=rome&ssl=true&ssl_ca_certs=%2Fca.crt"),
    ("rome+redis://h/0?ssl=true&ssl_cert_reqs=none", "redis", "h:6379/0?prefix=rome&ssl=true&ssl_cert_reqs=none"),
    ("rome+redis://[::1]:7000/0", "redis", "[::1]:7000/0?prefix=rome"),
])
def test_urls(url, kind, loc):
    assert parse_url(url) == (kind, loc)
    s = parse_location(loc, kind == "rediss")
    assert format_location(s) == loc  # canonical: parsing the canonical spelling gives it back


@pytest.mark.parametrize("url, message", [
    ("rome+redis://h/x", "must be a number"),
    ("rome+redis://h/0?nope=1", "unknown redis option 'nope'"),
    ("rome+redis://h/0?ssl_ca_certs=/x", "needs TLS"),
    ("rome+redis://h/0?unix_socket=/x", "no host or port"),
    ("rome+redis:///0?unix_socket=relative", "absolute"),
    ("rome+redis://h/0?prefix={x}", "bad prefix"),
    ("rome+redis://:secret@h:port/0", "bad port"),
])
def test_bad_urls(url, message):
    with pytest.raises(rome.InterfaceError, match=message) as info:
        rome.connect(url)
    assert "secret" not in str(info.value)


def test_registry_shares_one_store_per_location(redis_server):
    loc = location(redis_server)
    a = open_store("redis", loc)
    b = open_store("redis", loc.replace("127.0.0.1:%d/0" % redis_server.port, "127.0.0.1:%d" % redis_server.port))
    assert a is b
    drop_store("redis", loc)
    assert open_store("redis", loc) is not a
    drop_store("redis", loc)


def test_prefixes_are_separate_databases(redis_server):
    a, b = (rome.connect("rome+redis://127.0.0.1:%d/0?prefix=%s-%d" % (redis_server.port, p, os.getpid()))
            for p in ("pa", "pb"))
    a.execute("CREATE TABLE t (x INTEGER)")
    a.execute("INSERT INTO t VALUES (1)")
    a.commit()
    with pytest.raises(rome.ProgrammingError, match="no such table"):
        b.execute("SELECT * FROM t")
    b.rollback()
    b.execute("CREATE TABLE t (y TEXT)")  # same name, other database
    b.commit()
    assert a.execute("SELECT * FROM t").fetchall() == [(1,)]
    drop_store(*parse_url("rome+redis://127.0.0.1:%d/0?prefix=pb-%d" % (redis_server.port, os.getpid())))
    assert a.execute("SELECT * FROM t").fetchall() == [(1,)]  # dropping one prefix leaves the other
    a.close(), b.close()
    drop_store(*parse_url("rome+redis://127.0.0.1:%d/0?prefix=pa-%d" % (redis_server.port, os.getpid())))


def test_databases_are_separate(redis_server):
    u0 = "rome+redis://127.0.0.1:%d/0?prefix=dbs-%d" % (redis_server.port, os.getpid())
    u5 = "rome+redis://127.0.0.1:%d/5?prefix=dbs-%d" % (redis_server.port, os.getpid())
    with rome.connect(u0) as c:
        c.execute("CREATE TABLE t (x INTEGER)")
    with rome.connect(u5) as c:
        assert c.catalog().tables == {}
    drop_store(*parse_url(u0))


def test_unix_socket(redis_server):
    url = "rome+redis:///0?unix_socket=%s&prefix=unix-%d" % (redis_server.socket, os.getpid())
    with rome.connect(url) as c:
        c.execute("CREATE TABLE t (x INTEGER)")
        c.execute("INSERT INTO t VALUES (42)")
    tcp = "rome+redis://127.0.0.1:%d/0?prefix=unix-%d" % (redis_server.port, os.getpid())
    with rome.connect(tcp) as c:  # the same data over TCP
        assert c.execute("SELECT x FROM t").fetchall() == [(42,)]
    drop_store(*parse_url(url))


def test_password(tmp_path):
    from redis_server import RedisServer
    with RedisServer(tmp_path, extra=["--requirepass", "s3cret"]) as server:
        good = "rome+redis://:s3cret@127.0.0.1:%d/0" % server.port
        with rome.connect(good) as c:
            c.execute("CREATE TABLE t (x INTEGER)")
        bad = "rome+redis://:wrong@127.0.0.1:%d/0" % server.port
        c = rome.connect(bad)
        with pytest.raises(rome.OperationalError, match="redis at 127.0.0.1:%d" % server.port) as info:
            c.execute("SELECT 1")
        assert "wrong" not in str(info.value)
        c.close()
        drop_store(*parse_url(good))


def _make_certs(d):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=rome-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
        "/CN=localhost")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "server.crt", "-days", "2", "-extfile", "ext.cnf")


def test_tls(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl (to make test certificates) is not installed")
    from redis_server import RedisServer, free_port
    _make_certs(tmp_path)
    tls_port = free_port()
    extra = ["--tls-port", str(tls_port), "--tls-cert-file", str(tmp_path / "server.crt"),
             "--tls-key-file", str(tmp_path / "server.key"), "--tls-ca-cert-file", str(tmp_path / "ca.crt"),
             "--tls-auth-clients", "no"]
    server = RedisServer(tmp_path / "data", extra=extra)
    try:
        server.start()
    except RuntimeError:
        pytest.skip("this redis-server was built without TLS")
    try:
        url = "rome+rediss://127.0.0.1:%d/0?ssl_ca_certs=%s" % (tls_port, tmp_path / "ca.crt")
        with rome.connect(url) as c:
            c.execute("CREATE TABLE t (x INTEGER)")
            c.execute("INSERT INTO t VALUES (7)")
        with rome.connect(url) as c:
            assert c.execute("SELECT x FROM t").fetchall() == [(7,)]
        # not trusting the server's certificate: refused, and said so
        untrusted = "rome+rediss://127.0.0.1:%d/0?prefix=other" % tls_port
        c = rome.connect(untrusted)
        with pytest.raises(rome.OperationalError, match="redis at 127.0.0.1:%d" % tls_port):
            c.execute("SELECT 1")
        c.close()
        drop_store(*parse_url(url))
    finally:
        server.stop()


# -- data

def test_binary_keys_and_values(store):
    keys = [b"", b"\x00", b"\x00\x00", b"\x01", b"\xff", b"\xff\xff", b"a\x00b", b"[", b"(", b"-", b"+"]
    load(store, {k: k * 3 + b"\x00v" for k in keys})
    snap = store.snapshot()
    assert [k for k, _ in snap.scan(b"", None)] == sorted(keys)
    assert [k for k, _ in snap.scan(b"", None, reverse=True)] == sorted(keys, reverse=True)
    assert list(snap.scan(b"\x00", b"\x01")) == [(b"\x00", b"\x00\x00\x00\x00v"),
                                                 (b"\x00\x00", b"\x00" * 6 + b"\x00v")]
    assert snap.get_many(keys) == [k * 3 + b"\x00v" for k in keys]
    big = os.urandom(3 << 20)
    load(store, {b"big": big, b"empty": b""})
    assert store.snapshot().get_many([b"big", b"empty"]) == [big, b""]


def test_long_scans_in_growing_batches(store):
    load(store, {b"k%05d" % i: b"%d" % i for i in range(6000)})
    n = store.round_trips
    got = list(store.snapshot().scan(b"k", b"l"))
    assert [k for k, _ in got] == [b"k%05d" % i for i in range(6000)]
    assert store.round_trips - n == 5  # batches of 64, 256, 1024, 4096, 4096
    n = store.round_trips
    rev = store.snapshot().scan(b"k", b"l", reverse=True)
    assert [next(rev)[0] for _ in range(FIRST_BATCH)] == [b"k%05d" % i for i in range(5999, 5999 - 64, -1)]
    assert store.round_trips - n == 1
    many = [b"k%05d" % i for i in range(0, 6000, 1)] + [b"nope"]
    n = store.round_trips
    assert store.snapshot().get_many(many)[-2:] == [b"5999", None]
    assert store.round_trips - n == 1


def test_range_digest_matches_the_server(store):
    """A writer that scanned ranges of every size (chunk boundaries included) commits: the digest the
    Python side computed is the one the commit script computes."""
    load(store, {b"r%04d" % i: os.urandom(i % 7) for i in range(3 * CHUNK + 5)})
    for n in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5):
        t = Transaction(store)
        got = list(t.scan(b"r", b"r%04d" % n))
        assert len(got) == n
        t.put(b"w", b"%d" % n)
        t.commit()
        t = Transaction(store)
        list(t.scan(b"r", b"r%04d" % n, reverse=True))
        t.put(b"w", b"")
        if n:
            load(store, {b"r%04d" % (n - 1): b"changed %d" % n})
            with pytest.raises(Conflict, match="range"):
                t.commit()


def test_allocate_is_exact_for_64_bit_values(store):
    assert store.allocate(b"\x00seq1", 5, at_least=2 ** 62) == 2 ** 62
    assert store.allocate(b"\x00seq1") == 2 ** 62 + 5
    assert store.allocate(b"\x00seq1", 1, at_least=2 ** 63 - 10) == 2 ** 63 - 10
    assert store.allocate(b"\x00seq2", 1, at_least=-5) == 1


# -- isolation

def test_each_read_call_sees_one_committed_state(store):
    """No snapshots, but every call is atomic: a batch of gets, or one scan batch, never sees half a
    commit."""
    keys = [b"k%02d" % i for i in range(50)]
    load(store, {k: b"0" for k in keys})
    stop, bad = threading.Event(), []

    def reader():
        while not stop.is_set():
            snap = store.snapshot()
            if len(set(snap.get_many(keys))) != 1:
                bad.append("get_many")
            if len({v for _, v in snap.scan(b"k", b"l")}) != 1:  # 50 pairs: one batch
                bad.append("scan")
            snap.close()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for th in threads:
        th.start()
    for i in range(1, 40):
        load(store, {k: b"%d" % i for k in keys})
    stop.set()
    for th in threads:
        th.join()
    assert not bad


def test_point_reads_are_repeatable_and_ranges_re_read(store):
    load(store, {b"a": b"1", b"r1": b"x"})
    t = Transaction(store)
    assert t.get(b"a") == b"1"
    assert list(t.scan(b"r", b"s")) == [(b"r1", b"x")]
    load(store, {b"a": b"2", b"r2": b"y"})
    n = store.round_trips
    assert t.get(b"a") == b"1" and t.get_many([b"a"]) == [b"1"]  # remembered: no round trip
    assert list(t.scan(b"r", b"s")) == [(b"r1", b"x")]             # a complete small range: remembered
    assert store.round_trips == n
    assert list(t.scan(b"r", b"r3")) == [(b"r1", b"x"), (b"r2", b"y")]  # another range: read committed
    assert not t._snap.stable
    t.put(b"w", b"")
    with pytest.raises(Conflict):  # a writer is validated: its reads are stale
        t.commit()


def test_read_only_transaction_costs_no_commit(store):
    load(store, {b"a": b"1"})
    t = Transaction(store)
    t.get(b"a")
    n = store.round_trips
    t.commit()
    assert store.round_trips == n


def test_commit_is_one_round_trip(store):
    load(store, {b"a": b"1", b"r1": b""})
    t = Transaction(store)
    t.get(b"a"), t.get(b"zz"), list(t.scan(b"r", b"s")), list(t.scan(b"q", b"r", reverse=True))
    for i in range(500):
        t.put(b"w%03d" % i, b"v")
    t.delete(b"a")
    n = store.round_trips
    t.commit()
    assert store.round_trips - n == 1


def test_index_entries_bring_their_rows(redis_server):
    """One round trip for an index scan and the rows it points to (the rows come with the entries)."""
    url = "rome+redis://127.0.0.1:%d/0?prefix=follow-%d" % (redis_server.port, os.getpid())
    c = rome.connect(url)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, u VARCHAR(10) UNIQUE, pad TEXT)")
    c.execute("CREATE INDEX ix_k ON t (k)")
    c.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(i, i % 10, "u%d" % i, "x" * 50) for i in range(200)])
    c.commit()
    store = c.store

    def cost(sql, params=()):
        n = store.round_trips
        rows = c.execute(sql, params).fetchall()
        c.rollback()
        return rows, store.round_trips - n

    # The catalog rides along with the statement's first read (Session.begin), so a whole read-only
    # statement is one round trip.
    rows, rt = cost("SELECT id, pad FROM t WHERE k = ? ORDER BY id", (3,))
    assert len(rows) == 20 and rt == 1   # catalog + index entries + their rows
    rows, rt = cost("SELECT pad FROM t WHERE u = ?", ("u7",))
    assert len(rows) == 1 and rt == 1    # catalog + unique index get + its row
    rows, rt = cost("SELECT pad FROM t WHERE id = ?", (7,))
    assert len(rows) == 1 and rt == 1    # catalog + the row
    c.close()
    drop_store(*parse_url(url))


def test_reads_of_a_transaction_cost_round_trips_once(redis_server):
    url = "rome+redis://127.0.0.1:%d/0?prefix=rt-%d" % (redis_server.port, os.getpid())
    c = rome.connect(url)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("INSERT INTO t VALUES (1, 'a')")
    c.commit()
    store = c.store
    n = store.round_trips
    c.execute("SELECT v FROM t WHERE id = 1").fetchall()
    c.execute("SELECT v FROM t WHERE id = 1").fetchall()
    assert store.round_trips - n == 1      # the row, once (the catalog came along)
    c.execute("UPDATE t SET v = 'b' WHERE id = 1")  # the row is known: no round trip
    assert store.round_trips - n == 1
    c.commit()
    assert store.round_trips - n == 2      # the commit: one
    c.close()
    drop_store(*parse_url(url))


# -- scripts, receipts, partial commands

def test_script_cache_flushed(store):
    load(store, {b"a": b"1"})
    store._client.execute_command("SCRIPT", "FLUSH")
    t = Transaction(store)
    assert t.get(b"a") == b"1"             # NOSCRIPT -> EVAL, transparently
    t.put(b"a", b"2")
    store._client.execute_command("SCRIPT", "FLUSH")
    n = store.round_trips
    t.commit()
    assert store.round_trips - n == 2      # EVALSHA refused, then EVAL
    assert store.snapshot().get(b"a") == b"2"


def _captured_commit(store, writes, reads=None):
    """The (keys, args) of the commit script a transaction would send."""
    box = {}
    real = store._eval

    def capture(script, keys, args, resend):
        if script is COMMIT:
            box["call"] = (list(keys), list(args))
            return 0
        return real(script, keys, args, resend)
    store._eval = capture
    try:
        t = Transaction(store)
        for k in reads or ():
            t.get(k)
        for k, v in writes.items():
            t.put(k, v)
        t.commit()
    finally:
        del store._eval
    return box["call"]


def test_a_resent_commit_runs_once(store):
    load(store, {b"n": b"0"})
    keys, args = _captured_commit(store, {b"n": b"1", b"m": b"x"}, reads=[b"n"])
    v1 = store._eval(COMMIT, keys, args, False)
    assert isinstance(v1, int)
    v2 = store._eval(COMMIT, keys, args, False)  # the same commit again (a lost reply, resent)
    assert v2 == v1                              # its receipt: not validated (it would conflict) nor applied
    assert store.snapshot().get_many([b"n", b"m"]) == [b"1", b"x"]


def _resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += [b"$%d\r\n" % len(a), a, b"\r\n"]
    return b"".join(out)


def test_a_client_dying_while_sending_a_commit_leaves_nothing(store, redis_server):
    load(store, {b"a": b"0"})
    writes = {b"w%03d" % i: os.urandom(100) for i in range(300)}
    writes[b"a"] = b"1"
    keys, args = _captured_commit(store, writes, reads=[b"a"])
    command = _resp("EVAL", COMMIT.text, len(keys), *keys, *args)
    for cut in (1, len(command) // 2, len(command) - 1):  # the client dies having sent this much
        with socket.create_connection(("127.0.0.1", redis_server.port)) as s:
            s.sendall(command[:cut])
        assert store.snapshot().get(b"a") == b"0"
        assert list(store.snapshot().scan(b"w", b"x")) == []
    with socket.create_connection(("127.0.0.1", redis_server.port)) as s:  # the whole command: applied
        s.sendall(command)
        assert s.recv(100).startswith(b":")
    assert store.snapshot().get(b"a") == b"1" and len(list(store.snapshot().scan(b"w", b"x"))) == 300


def test_closed_store(redis_server):
    s = RedisStore(location(redis_server))
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.snapshot().get(b"x")


def test_scan_many_is_one_round_trip(store):
    load(store, {b"a%d" % i: b"%d" % i for i in range(10)})
    load(store, {b"b%03d" % i: b"" for i in range(100)})
    snap = store.snapshot()
    n = store.round_trips
    got = snap.scan_many([(b"a", b"a5", False), (b"a", b"b", True), (b"b", b"c", False), (b"x", b"y", False),
                          (b"b", b"a", False)], limit=64)
    assert store.round_trips - n == 1
    assert got[0] == ([(b"a%d" % i, b"%d" % i) for i in range(5)], True)
    assert got[1] == ([(b"a%d" % i, b"%d" % i) for i in range(9, -1, -1)], True)
    assert got[2][1] is False and [k for k, _ in got[2][0]] == [b"b%03d" % i for i in range(64)]
    assert got[3] == ([], True) and got[4] == ([], True)
    n = store.round_trips  # whole ranges are remembered, and so are the values read
    assert snap.scan_many([(b"a", b"a5", True)]) == [([(b"a%d" % i, b"%d" % i) for i in range(4, -1, -1)], True)]
    assert list(snap.scan(b"x", b"y")) == [] and snap.get(b"b010") == b""
    assert store.round_trips == n


def test_chains_read_what_pairs_lead_to_in_the_same_round_trip(store):
    """A chain derives a key from each pair a range read returns (prefix + the pair's primary key +
    suffix) and reads it as a point or as the range it starts, in the same round trip; the results are
    remembered as point values and whole ranges."""
    rows = {b"\x01T\x00\x00\x00\x00r%d" % i: b"row%d" % i for i in range(5)}      # table rows by pk r<i>
    entries = {b"\x01T\x00\x00\x00\x01I\x00\x00\x00x%d" % i: b"r%d" % i for i in range(5)}  # entries -> pk
    kids = {b"K:r%d:s:%d" % (i, j): b"kid%d.%d" % (i, j) for i in range(5) for j in range(i)}
    points = {b"P:r%d:s" % i: b"p%d" % i for i in (1, 3)}
    load(store, {**rows, **entries, **kids, **points})
    snap = store.snapshot()
    specs_v = [(b"v", b"K:", b":s:", 3), (b"v", b"P:", b":s", 0)]
    lo, hi = b"\x01T\x00\x00\x00\x01I\x00\x00\x00", b"\x01T\x00\x00\x00\x01I\x00\x00\x01"
    snap.chain([(lo, hi)], specs_v)
    n = store.round_trips
    got = snap.scan_many([(lo, hi, False)], limit=64)
    assert store.round_trips - n == 1 and [v for _k, v in got[0][0]] == [b"r%d" % i for i in range(5)]
    n = store.round_trips
    for i in range(5):
        pairs = list(snap.scan(b"K:r%d:s:" % i, b"K:r%d:s;" % i))
        assert pairs == [(b"K:r%d:s:%d" % (i, j), b"kid%d.%d" % (i, j)) for j in range(i)][:3] + \
            ([] if i <= 3 else [(b"K:r4:s:3", b"kid4.3")])
        assert snap.get(b"P:r%d:s" % i) == points.get(b"P:r%d:s" % i)
    assert store.round_trips - n == 2     # r3's and r4's kids reach the chain's limit (3): each read on
    assert snap.get_many(list(rows)) == list(rows.values()) and store.round_trips - n == 2  # followed
    # a chain from row keys (the pk is the key's tail) on a plain scan, and reverse
    snap = store.snapshot()
    lo, hi = b"\x01T\x00\x00\x00\x00", b"\x01T\x00\x00\x00\x01"
    snap.chain([(lo, hi)], [(b"k", b"P:", b":s", 0)])
    n = store.round_trips
    assert [v for _k, v in snap.scan(lo, hi, reverse=True)] == [b"row%d" % i for i in range(4, -1, -1)]
    assert [snap.get(b"P:r%d:s" % i) for i in range(5)] == [None, b"p1", None, b"p3", None]
    assert store.round_trips - n == 1


def test_keys_inside_a_whole_range_are_known(store):
    load(store, {b"a1": b"1", b"a3": b"3", b"b1": b"x"})
    snap = store.snapshot()
    assert snap.scan_many([(b"a", b"b", False)]) == [([(b"a1", b"1"), (b"a3", b"3")], True)]
    n = store.round_trips
    assert snap.get(b"a2") is None and snap.get(b"a3") == b"3" and snap.get_many([b"a0", b"a1"]) == [None, b"1"]
    assert store.round_trips == n
    assert snap.get(b"b1") == b"x" and store.round_trips == n + 1   # outside: read


def test_prefetch_rides_along(store):
    load(store, {b"\x00catalog": b"{...}", b"row": b"r", b"s1": b"1"})
    snap = store.snapshot()
    snap.prefetch([b"\x00catalog", b"missing"])
    n = store.round_trips
    assert list(snap.scan(b"s", b"t")) == [(b"s1", b"1")]
    assert snap.get_many([b"\x00catalog", b"missing"]) == [b"{...}", None]
    assert store.round_trips - n == 1
    snap.prefetch([b"row"])
    assert snap.get(b"row") == b"r" and store.round_trips - n == 2  # a get of a prefetched key: one trip


def test_catalog_changed_by_another_process_is_seen(redis_server):
    """The catalog is assumed from the cache and checked against the copy that comes with the first
    read: DDL made elsewhere re-plans the statement instead of failing or reading a stale schema."""
    url = "rome+redis://127.0.0.1:%d/0?prefix=ddl-%d" % (redis_server.port, os.getpid())
    c = rome.connect(url)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    c.execute("INSERT INTO t (id) VALUES (1)")
    c.commit()
    assert c.execute("SELECT * FROM t").fetchall() == [(1,)]
    c.rollback()
    import subprocess
    import sys
    subprocess.run([sys.executable, "-c", "import rome; c = rome.connect(%r); "
                    "c.execute('ALTER TABLE t ADD COLUMN v TEXT DEFAULT \\'new\\''); "
                    "c.execute('CREATE TABLE u (id INTEGER PRIMARY KEY)'); c.commit()" % url], check=True)
    assert c.execute("SELECT * FROM t").fetchall() == [(1, "new")]
    c.rollback()
    assert c.execute("SELECT count(*) FROM u").fetchall() == [(0,)]
    c.close()

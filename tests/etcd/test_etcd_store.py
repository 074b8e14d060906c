"""rome+etcd on a real 3-member cluster: URLs, SQL through the DBAPI and SQLAlchemy, serializable
commits (a delete inside a scanned range included), snapshots at one revision read from the preferred
member, the size limit, auth and TLS."""
import shutil
import subprocess
import threading

import pytest
import sqlalchemy as sa

import rome
import rome.dialect  # noqa: F401  (registers the dialects in a source checkout)
from rome.dbapi.connection import parse_url
from rome.storage import drop_store


@pytest.mark.parametrize("url, kind, location", [
    ("rome+etcd://h:2379", "etcd", "h:2379/?prefix=rome"),
    ("rome+etcd://h", "etcd", "h:2379/?prefix=rome"),
    ("rome+etcd://h:1/?endpoint=h2:2&endpoint=h3&prefix=g", "etcd", "h:1/?endpoint=h2%3A2&endpoint=h3%3A2379&prefix=g"),
    ("rome+etcd://u:p%40w@h:1/?reads=linearizable&timeout=2", "etcd", "u:p%40w@h:1/?prefix=rome&reads=linearizable&timeout=2.0"),
    ("rome+etcds://h:1/?ssl_ca_certs=/ca", "etcds", "h:1/?prefix=rome&ssl=true&ssl_ca_certs=%2Fca"),
])
def test_urls(url, kind, location):
    assert parse_url(url) == (kind, location)
    assert parse_url("rome+%s://%s" % (kind, location)) == (kind, location)   # canonical


@pytest.mark.parametrize("url, message", [
    ("rome+etcd://h:1/?prefx=a", "unknown etcd option 'prefx'"),
    ("rome+etcd://h:1/db", "no path"),
    ("rome+etcd://h:1/?reads=fresh", "reads must be"),
    ("rome+etcd://h:1/?ssl_ca_certs=/x", "needs TLS"),
    ("rome+etcd://u:secret@h:port/", "bad port"),
    ("rome+etcd://h:1/?endpoint=a:b", "bad endpoint"),
    ("rome+etcd://h:1/?max_txn_ops=x", "must be a number"),
])
def test_bad_urls(url, message):
    with pytest.raises(rome.InterfaceError, match=message) as info:
        rome.connect(url)
    assert "secret" not in str(info.value)
    if message != "bad port":   # (SQLAlchemy's own URL parser refuses that one first)
        with pytest.raises(sa.exc.ArgumentError, match=message):
            sa.create_engine(url).connect()


def test_sql_round_trip(cluster, prefix):
    url = cluster.url(prefix=prefix)
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(20), v INT)"))
        c.execute(sa.text("CREATE INDEX ix_name ON t (name)"))
        c.execute(sa.text("INSERT INTO t (name, v) VALUES (:n, :v)"), [{"n": "n%02d" % i, "v": i} for i in range(60)])
    with engine.begin() as c:
        c.execute(sa.text("UPDATE t SET v = v * 10 WHERE name >= 'n50'"))
        c.execute(sa.text("DELETE FROM t WHERE v < 5"))
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT name, v FROM t WHERE name > 'n54' ORDER BY name DESC")).all()
        assert rows == [("n%02d" % i, i * 10) for i in range(59, 54, -1)]
        assert c.execute(sa.text("SELECT count(*), min(id), max(id) FROM t")).one() == (55, 6, 60)
    engine.dispose()
    drop_store(*parse_url(url))


def test_lost_update_is_a_conflict(cluster, prefix):
    url = cluster.url(prefix=prefix)
    a, b = rome.connect(url), rome.connect(url)
    a.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, n INT)")
    a.execute("INSERT INTO c VALUES (1, 0)")
    a.commit()
    na = a.execute("SELECT n FROM c WHERE id = 1").fetchone()[0]
    nb = b.execute("SELECT n FROM c WHERE id = 1").fetchone()[0]
    a.execute("UPDATE c SET n = ? WHERE id = 1", (na + 1,))
    b.execute("UPDATE c SET n = ? WHERE id = 1", (nb + 1,))
    a.commit()
    with pytest.raises(rome.ConflictError):
        b.commit()
    assert b.execute("SELECT n FROM c").fetchall() == [(1,)]
    b.commit()
    drop_store(*parse_url(url))


@pytest.mark.parametrize("write", ["delete", "insert", "update"])
def test_write_inside_a_scanned_range_is_a_conflict(cluster, prefix, write):
    """A transaction scans a range and writes elsewhere; another deletes (inserts, updates) a row
    inside that range and commits first: the first one's commit must fail (write skew otherwise).
    etcd's range compare sees no deleted key: the tombstones make the delete visible."""
    url = cluster.url(prefix=prefix)
    a, b = rome.connect(url), rome.connect(url)
    a.execute("CREATE TABLE oncall (id INTEGER PRIMARY KEY, shift INT, name TEXT)")
    a.execute("CREATE INDEX ix_shift ON oncall (shift)")
    a.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, n INT)")
    a.executemany("INSERT INTO oncall VALUES (?, ?, ?)", [(1, 1, "x"), (2, 1, "y"), (3, 2, "z")])
    a.commit()
    assert a.execute("SELECT count(*) FROM oncall WHERE shift = 1").fetchone() == (2,)
    a.execute("INSERT INTO log VALUES (1, 2)")
    {"delete": lambda: b.execute("DELETE FROM oncall WHERE id = 2"),
     "insert": lambda: b.execute("INSERT INTO oncall VALUES (4, 1, 'w')"),
     "update": lambda: b.execute("UPDATE oncall SET shift = 3 WHERE id = 2")}[write]()
    b.commit()
    with pytest.raises(rome.ConflictError):
        a.commit()
    assert a.execute("SELECT count(*) FROM log").fetchone() == (0,)
    a.commit()
    drop_store(*parse_url(url))


def test_write_outside_the_scanned_range_commits(cluster, prefix):
    url = cluster.url(prefix=prefix)
    a, b = rome.connect(url), rome.connect(url)
    a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k INT)")
    a.execute("CREATE INDEX ix_k ON t (k)")
    a.executemany("INSERT INTO t VALUES (?, ?)", [(1, 1), (2, 5)])
    a.commit()
    a.execute("SELECT count(*) FROM t WHERE k < 3").fetchall()
    a.execute("INSERT INTO t VALUES (10, 1)")
    b.execute("DELETE FROM t WHERE id = 2")   # k = 5: outside a's range [.., 3)
    b.commit()
    a.commit()
    assert b.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (10,)]
    b.commit()
    drop_store(*parse_url(url))


def test_read_only_transaction_reads_one_revision_from_its_member(cluster, prefix):
    url = cluster.url(prefix=prefix)
    a, b = rome.connect(url), rome.connect(url)
    a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INT)")
    a.executemany("INSERT INTO t VALUES (?, ?)", [(i, i) for i in range(10)])
    a.commit()
    store = a.store
    before = store.requests
    assert a.execute("SELECT sum(v) FROM t").fetchone() == (45,)
    b.execute("UPDATE t SET v = 100 WHERE id = 0")
    b.execute("INSERT INTO t VALUES (50, 50)")
    b.commit()
    assert a.execute("SELECT sum(v) FROM t").fetchone() == (45,)      # the same revision
    assert a.execute("SELECT v FROM t WHERE id = 50").fetchall() == []
    a.commit()
    assert a.execute("SELECT sum(v) FROM t").fetchone() == (195,)     # a new transaction: a new revision
    a.commit()
    after = store.requests
    # reads went to the preferred member only (b's commit did too: it is the member in use)
    assert after[1:] == before[1:]
    drop_store(*parse_url(url))


def test_too_large_transaction_fails_before_anything_is_written(own_cluster):
    c = own_cluster(max_txn_ops=128, max_request_bytes=1572864)
    url = c.url(prefix="big", max_txn_ops=128)
    conn = rome.connect(url)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.commit()
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x") for i in range(200)])
    with pytest.raises(rome.OperationalError, match="too large for one etcd Txn.*max-txn-ops") as info:
        conn.commit()
    assert "store unavailable" not in str(info.value)
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    conn.commit()
    # bytes: one 2 MB value
    conn.execute("INSERT INTO t VALUES (1, ?)", ("y" * 2000000,))
    with pytest.raises(rome.OperationalError, match="max-request-bytes"):
        conn.commit()
    # a URL that claims more than the cluster takes: the cluster's refusal, as clear
    big = rome.connect(c.url(prefix="big", max_txn_ops=1000))
    with pytest.raises(rome.OperationalError, match="etcd refused the transaction.*too many operations") as info:
        big.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x") for i in range(200)])  # its reads, or
        big.commit()                                                                       # its commit
    assert "store unavailable" not in str(info.value)
    assert big.execute("SELECT count(*) FROM t").fetchone() == (0,)
    big.commit()
    # the same with the limits raised on both sides: one Txn
    c2 = own_cluster(max_txn_ops=1000)
    ok = rome.connect(c2.url(prefix="big", max_txn_ops=1000))
    ok.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    ok.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x") for i in range(200)])
    ok.commit()
    assert ok.execute("SELECT count(*) FROM t").fetchone() == (200,)
    ok.commit()


def _certs(d):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=rome-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf")


def test_tls(own_cluster, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl (to make test certificates) is not installed")
    _certs(tmp_path)
    c = own_cluster(tls={"cert_file": str(tmp_path / "server.crt"), "key_file": str(tmp_path / "server.key"),
                         "ca_file": str(tmp_path / "ca.crt")})
    url = c.url(prefix="tls", ssl_ca_certs=str(tmp_path / "ca.crt"))
    assert url.startswith("rome+etcds://")
    conn = rome.connect(url)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    conn.execute("INSERT INTO t VALUES (7)")
    conn.commit()
    assert conn.execute("SELECT id FROM t").fetchall() == [(7,)]
    conn.commit()
    # not trusting the server's certificate: refused, and said so
    untrusted = rome.connect(c.url(prefix="tls", timeout=2))
    with pytest.raises(rome.OperationalError, match="(?i)certificate"):
        untrusted.execute("SELECT id FROM t")
    # plain HTTP to a TLS member: no answer it can read
    with pytest.raises(rome.OperationalError):
        rome.connect(c.url(prefix="tls", scheme="rome+etcd", timeout=2)).execute("SELECT id FROM t")


def test_auth(own_cluster):
    c = own_cluster()
    ep = c.endpoint(0)
    for args in (["user", "add", "root:s3cret-pw"], ["user", "add", "glance:g-pw"],
                 ["role", "add", "rome"], ["role", "grant-permission", "rome", "--prefix=true", "readwrite", "gl/"],
                 ["user", "grant-role", "glance", "rome"], ["auth", "enable"]):
        subprocess.run(["etcdctl", "--endpoints", ep, *args], check=True, capture_output=True,
                       env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"}, input=b"")
    url = c.url(prefix="gl").replace("://", "://glance:g-pw@", 1)
    conn = rome.connect(url)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    assert conn.execute("SELECT id FROM t").fetchall() == [(1,)]
    conn.commit()
    # wrong password, no credentials, a prefix outside the role: errors that never show the password
    for bad in (c.url(prefix="gl").replace("://", "://glance:wrong-pw@", 1), c.url(prefix="gl"),
                c.url(prefix="other").replace("://", "://glance:g-pw@", 1)):
        with pytest.raises(rome.OperationalError) as info:
            rome.connect(bad).execute("SELECT 1 FROM t")
        assert "pw" not in str(info.value)


def test_threads_use_connections_independently(cluster, prefix):
    url = cluster.url(prefix=prefix)
    setup = rome.connect(url)
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, w INT)")
    setup.commit()
    errors = []

    def work(w):
        try:
            c = rome.connect(url)
            for i in range(20):
                c.execute("INSERT INTO t VALUES (?, ?)", (w * 100 + i, w))
                c.commit()
                assert c.execute("SELECT count(*) FROM t WHERE w = ?", (w,)).fetchone() == (i + 1,)
                c.commit()
        except Exception as e:   # reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert setup.execute("SELECT count(*) FROM t").fetchone() == (80,)
    setup.commit()
    drop_store(*parse_url(url))


def test_rome_copy_into_etcd(cluster, tmp_path):
    """`rome copy` from a sqlite file into etcd, on the command line: batches of rows, each batch one
    commit (one Txn), counts checked at the end; then the copy reads back the same rows."""
    import os
    import sqlite3
    import sys
    src = tmp_path / "src.db"
    db = sqlite3.connect(src)
    db.execute("CREATE TABLE images (id VARCHAR(36) PRIMARY KEY, name VARCHAR(255), size INTEGER)")
    db.execute("CREATE INDEX ix_images_name ON images (name)")
    db.executemany("INSERT INTO images VALUES (?, ?, ?)", [("id-%04d" % i, "img %d" % i, i * 10) for i in range(700)])
    db.commit()
    dst = cluster.url(prefix="copy-%d" % os.getpid())
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", "import rome.dialect, rome.cli; rome.cli.main()", "copy",
                          "sqlite:///%s" % src, dst, "--batch-size", "200", "--no-progress"],
                         capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=root), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    conn = rome.connect(dst)
    assert conn.execute("SELECT count(*), sum(size) FROM images").fetchone() == (700, sum(i * 10 for i in range(700)))
    assert conn.execute("SELECT id FROM images WHERE name = 'img 42'").fetchall() == [("id-0042",)]
    conn.commit()
    drop_store(*parse_url(dst))


def test_read_your_writes_across_connections_preferring_other_members(cluster, prefix):
    """Read your writes holds for the whole process, whichever member a connection's URL prefers: a
    row committed through the leader is seen at once by connections reading from the followers
    (each its own store), never an older state of a member that has not applied it yet."""
    leader = cluster.wait_leader()
    writer = rome.connect(cluster.url(prefix=prefix, first=leader))
    readers = [rome.connect(cluster.url(prefix=prefix, first=(leader + k) % cluster.n, sequence_block=k + 1))
               for k in (1, 2)]
    try:
        for i in range(100):
            writer.execute("CREATE TABLE t%d (a INTEGER)" % i)
            writer.execute("INSERT INTO t%d VALUES (?)" % i, (i,))
            writer.commit()
            for r in readers:
                assert r.execute("SELECT a FROM t%d" % i).fetchall() == [(i,)]
                r.rollback()
    finally:
        for c in [writer] + readers:
            c.close()
        drop_store(*parse_url(cluster.url(prefix=prefix)))

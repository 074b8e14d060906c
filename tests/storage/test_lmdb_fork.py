"""rome+lmdb across fork(): an LMDB environment belongs to the process that opened it. A forked
child that used its parent's environment shared the parent's reader slots: children failed with
MDB_BAD_RSLOT, and the parent's snapshots could lose the protection of their pages. In the child,
the inherited connections and new ones to a database the parent has open are refused with a clear
OperationalError; the parent carries on untouched; other databases open in the child."""
import json
import os

import pytest

import rome


def _in_child(fn):
    """Run fn() in a forked child; its return value (JSON) or its error (class name, message)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = {"ok": fn()}
        except Exception as e:   # reported to the parent
            out = {"error": [type(e).__name__, str(e)]}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data)


@pytest.fixture
def url(tmp_path):
    return "rome+lmdb:///" + str(tmp_path / "db")


def _fill(url):
    c = rome.connect(url)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 200,)] * 500)
    c.commit()
    return c


def test_a_forked_child_does_not_use_its_parents_environment(url):
    parent = _fill(url)
    assert parent.execute("SELECT count(*) FROM t").fetchall() == [(500,)]   # a transaction with reads

    def use_inherited():
        return parent.execute("SELECT count(*) FROM t").fetchall()

    def connect_again():
        c = rome.connect(url)
        c.execute("INSERT INTO t (v) VALUES ('child')")
        c.commit()
        return "written"

    for fn in (use_inherited, connect_again):
        out = _in_child(fn)
        assert out.get("error", [None])[0] == "OperationalError", out
        assert "forked" in out["error"][1] and "spawn" in out["error"][1], out
    # the parent's transaction and later ones are as they were
    assert parent.execute("SELECT count(*), min(v) FROM t").fetchall() == [(500, "x" * 200)]
    parent.rollback()
    for i in range(50):
        parent.execute("UPDATE t SET v = ? WHERE id = ?", ("y%d" % i, i + 1))
        parent.commit()
        assert parent.execute("SELECT count(*) FROM t").fetchall() == [(500,)]
        parent.rollback()
    assert parent.execute("SELECT count(*) FROM t WHERE v = 'child'").fetchall() == [(0,)]
    parent.close()


def test_a_child_opens_the_databases_its_parent_did_not(url, tmp_path):
    _fill(url)
    other = "rome+lmdb:///" + str(tmp_path / "other")

    def write():
        c = rome.connect(other)
        c.execute("CREATE TABLE u (id INTEGER PRIMARY KEY)")
        c.execute("INSERT INTO u VALUES (7)")
        c.commit()
        return c.execute("SELECT id FROM u").fetchall()

    assert _in_child(write) == {"ok": [[7]]}
    c = rome.connect(other)
    assert c.execute("SELECT id FROM u").fetchall() == [(7,)]

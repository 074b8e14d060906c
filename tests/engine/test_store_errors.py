"""Store failures other than an unreachable store are not "store unavailable" (which oslo.db takes for
a dead connection to retry): a full LMDB store is "database or disk is full" (OperationalError, as
SQLITE_FULL) and leaves the data as it was; a damaged file is "database disk image is malformed"
(DatabaseError, as SQLITE_CORRUPT)."""
import os
import subprocess
import sys

import pytest

import rome

PROGRAM = r"""
import sys, rome
c = rome.connect("rome+lmdb:///" + sys.argv[1])
c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
c.commit()
n = 0
try:
    while True:
        c.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 1000) for i in range(n, n + 100)])
        c.commit()
        n += 100
except rome.Error as e:
    print(type(e).__name__, n, e)
c.rollback()
print(c.execute("SELECT count(*) FROM t").fetchall()[0][0])
c.execute("DELETE FROM t WHERE id < 100")
c.commit()
print(c.execute("SELECT count(*) FROM t").fetchall()[0][0])
"""


def test_full_lmdb_is_database_or_disk_is_full(tmp_path):
    env = dict(os.environ, ROME_LMDB_MAP_SIZE=str(1 << 20), PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", PROGRAM, str(tmp_path / "db")], env=env, text=True,
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr
    error, count, after = out.stdout.splitlines()
    name, n, message = error.split(" ", 2)
    assert name == "OperationalError" and message.startswith("database or disk is full: LMDB store at "), error
    assert "ROME_LMDB_MAP_SIZE" in message and "store unavailable" not in message
    assert int(count) == int(n) > 0          # the failed commit left nothing
    assert int(after) == int(n) - 100


def test_damaged_lmdb_file_is_malformed(tmp_path):
    path = tmp_path / "db"
    path.mkdir()
    (path / "data.mdb").write_bytes(b"not an LMDB file" * 1000)
    with pytest.raises(rome.DatabaseError, match="database disk image is malformed: LMDB store at") as e:
        rome.connect("rome+lmdb:///" + str(path))
    assert not isinstance(e.value, rome.OperationalError)

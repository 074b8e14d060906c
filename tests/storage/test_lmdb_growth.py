"""LMDB's file does not grow without bound behind readers: a connection idle inside a transaction
after a SELECT, a reader process killed with -9. Real processes, real file sizes."""
import os
import signal
import subprocess
import sys
import time

import pytest

import rome
from rome.storage.lmdb import READER_CHECK

ROWS, WIDTH, REWRITES = 400, 2000, 30   # ~0.8 MB of rows, rewritten 30 times


def data_size(path):
    return os.path.getsize(os.path.join(path, "data.mdb"))


def setup(path):
    c = rome.connect("rome+lmdb:///" + path)
    c.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT)")
    c.executemany("INSERT INTO a VALUES (?, ?)", [(i, "a%d" % i) for i in range(10)])
    c.executemany("INSERT INTO b VALUES (?, ?)", [(i, "x" * WIDTH) for i in range(ROWS)])
    c.commit()
    c.close()


def rewrite(path, times):
    """Another process rewrites every row of b, one commit each time."""
    code = ("import rome, sys\nc = rome.connect(sys.argv[1])\nfor n in range(%d):\n"
            "    c.execute(\"UPDATE b SET v = ? \", (str(n %% 10) * %d,))\n    c.commit()\n" % (times, WIDTH))
    subprocess.run([sys.executable, "-c", code, "rome+lmdb:///" + path], check=True,
                   env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))


def test_idle_transaction_pins_no_pages(tmp_path):
    path = str(tmp_path / "db")
    setup(path)
    start = data_size(path)
    idle = rome.connect("rome+lmdb:///" + path)
    assert idle.execute("SELECT count(*) FROM a").fetchall() == [(10,)]   # a transaction is open
    rewrite(path, REWRITES)
    grown = data_size(path) - start
    assert grown < 8 * ROWS * WIDTH, grown   # without giving the snapshot back: ~30 x 0.8 MB
    # the transaction goes on, on a state where what it read still holds
    assert idle.execute("SELECT count(*), min(v) FROM a").fetchall() == [(10, "a0")]
    assert idle.execute("SELECT count(*) FROM b WHERE v = ?", ("9" * WIDTH,)).fetchall() == [(ROWS,)]
    rewrite(path, 1)
    with pytest.raises(rome.OperationalError, match="write conflict"):  # what it read of b changed
        idle.execute("SELECT count(*) FROM a").fetchall()
    idle.rollback()
    assert idle.execute("SELECT count(*) FROM b WHERE v = ?", ("0" * WIDTH,)).fetchall() == [(ROWS,)]
    idle.close()


def test_reader_killed_with_sigkill_is_cleared_while_running(tmp_path):
    path = str(tmp_path / "db")
    setup(path)
    writer = rome.connect("rome+lmdb:///" + path)   # this process has the environment open already
    writer.execute("UPDATE b SET v = 'y' || v")
    writer.commit()
    reader = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom rome.storage.lmdb import LmdbStore\n"
         "snap = LmdbStore(sys.argv[1]).snapshot()\nsnap.get(b'x')\nprint('ready', flush=True)\ntime.sleep(600)\n",
         path], stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), text=True)
    try:
        assert reader.stdout.readline() == "ready\n"
    finally:
        reader.send_signal(signal.SIGKILL)
        reader.wait()
    time.sleep(READER_CHECK + 0.1)
    start = data_size(path)
    for n in range(REWRITES):
        writer.execute("UPDATE b SET v = ?", (str(n % 10) * WIDTH,))
        writer.commit()
    grown = data_size(path) - start
    assert grown < 8 * ROWS * WIDTH, grown
    writer.close()

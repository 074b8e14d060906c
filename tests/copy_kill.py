"""`rome copy` killed with SIGKILL half-way through a table, for the tests of interrupted copies."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

import rome


def rows_so_far(dst, table, strict=False):
    """Rows of ``table`` on the destination of a running copy (0 before the table exists; with
    ``strict``, a destination that cannot be read is an error, not 0)."""
    if dst.startswith("rome+"):
        conn = rome.connect(dst)
        try:
            conn.execute("PRAGMA rome_open_unfinished = ON")
            return conn.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
        except rome.ProgrammingError:
            if strict:
                raise
            return 0
        finally:
            conn.close()
    path = dst[len("sqlite:///"):]
    if not os.path.exists(path):
        return 0
    try:
        # read-write, as any later user opens it: a killed writer's hot journal is rolled back
        db = sqlite3.connect(path, timeout=10)
        try:
            return db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:
        if strict:
            raise
        return 0


def kill_mid_copy(src, dst, table, total, batch_size=5):
    """Start `rome copy SRC DST`, SIGKILL it once some but not all ``total`` rows of ``table`` are in.
    Small batches (a commit each) keep the copy of ``table`` long enough to be caught half-way on a
    fast destination (sqlite) and a busy machine; the process is stopped (SIGSTOP) as soon as rows
    are seen, then killed."""
    p = subprocess.Popen([sys.executable, "-m", "rome.cli", "copy", src, dst, "--batch-size", str(batch_size),
                          "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and p.poll() is None:
            if rows_so_far(dst, table) > 0:
                os.kill(p.pid, signal.SIGSTOP)
                break
            time.sleep(0.02)
        os.kill(p.pid, signal.SIGKILL)
    finally:
        rc = p.wait()
    assert rc == -signal.SIGKILL, "the copy ended before it could be killed"
    assert 0 < rows_so_far(dst, table, strict=True) < total

"""Many writers on one key, retrying on Conflict: no update is lost (threads, and LMDB processes)."""
import multiprocessing
import threading

import pytest

from rome.storage import Conflict, Transaction
from rome.storage.lmdb import LmdbStore
from rome.storage.memory import MemoryStore

COUNTER = b"counter"


def increment(store, times, scan_based=False):
    """Read-modify-write ``times`` times, retrying each until it commits; returns the conflicts seen."""
    conflicts = 0
    for _ in range(times):
        while True:
            t = Transaction(store)
            if scan_based:  # read through a range scan, so only range validation guards it
                items = list(t.scan(COUNTER, COUNTER + b"\x00"))
                n = int(items[0][1]) if items else 0
            else:
                raw = t.get(COUNTER)
                n = int(raw) if raw else 0
            t.put(COUNTER, b"%d" % (n + 1))
            try:
                t.commit()
                break
            except Conflict:
                conflicts += 1
    return conflicts


def run_threads(store, n, times, scan_based=False):
    conflicts = []
    threads = [threading.Thread(target=lambda: conflicts.append(increment(store, times, scan_based)))
               for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sum(conflicts)


@pytest.mark.parametrize("scan_based", [False, True])
def test_memory_threads(scan_based):
    store = MemoryStore()
    run_threads(store, 4, 100, scan_based)
    assert store.snapshot().get(COUNTER) == b"400"
    assert not store._active


@pytest.mark.parametrize("scan_based", [False, True])
def test_lmdb_threads(tmp_path, scan_based):
    store = LmdbStore(str(tmp_path))
    try:
        run_threads(store, 4, 50, scan_based)
        assert store.snapshot().get(COUNTER) == b"200"
    finally:
        store.close()


def _process_worker(path, times, start):
    start.wait()
    store = LmdbStore(path)
    try:
        return increment(store, times)
    finally:
        store.close()


def _read(path, key):
    store = LmdbStore(path)
    try:
        return store.snapshot().get(key)
    finally:
        store.close()


def test_lmdb_processes(tmp_path):
    path = str(tmp_path / "db")
    store = LmdbStore(path)  # this process keeps it open too
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Event()
        with ctx.Pool(4) as pool:
            results = [pool.apply_async(_process_worker, (path, 100, start)) for _ in range(4)]
            start.set()
            conflicts = sum(r.get(timeout=300) for r in results)
    assert store.snapshot().get(COUNTER) == b"400"
    store.close()
    with ctx.Pool(1) as pool:  # durable: a fresh process opening the directory sees it
        assert pool.apply(_read, (path, COUNTER)) == b"400"
    print("conflicts retried:", conflicts)

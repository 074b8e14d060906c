"""On etcd, a read through an index entry that carries its row is validated by the entry: a concurrent
UPDATE of the row (of a column no index holds) makes the reader's commit fail with ConflictError."""
import importlib.util
import os
import sys

import pytest

import rome
from rome.dbapi.connection import parse_url
from rome.storage import drop_store

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "engine"))
import test_carrying_entries as carrying  # noqa: E402
from test_carrying_entries import concurrent_update_conflicts  # noqa: E402


@pytest.mark.parametrize("read", ["SELECT id, v FROM t WHERE k = 'k0'", "SELECT id, v FROM t WHERE u = 'u2'"])
def test_a_read_through_an_entry_conflicts_with_an_update_of_its_row(cluster, prefix, read):
    url = cluster.url(prefix=prefix, first=(cluster.wait_leader() + 1) % cluster.n)
    try:
        concurrent_update_conflicts(url, read)
    finally:
        drop_store(*parse_url(url))



@pytest.fixture
def etcd_both(cluster, prefix):
    """tests/engine's Both (the same statements on ROME and sqlite3) on this cluster."""
    spec = importlib.util.spec_from_file_location(
        "engine_conftest", os.path.join(os.path.dirname(__file__), "..", "engine", "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    url = cluster.url(prefix=prefix)
    c = rome.connect(url)
    yield mod.Both(c)
    c.close()
    drop_store(*parse_url(url))


@pytest.mark.parametrize("test", [carrying.test_every_write_keeps_the_carried_rows_exact,
                                  carrying.test_large_rows_are_not_carried,
                                  carrying.test_ddl_keeps_carried_rows_right])
def test_carried_rows_on_etcd(etcd_both, test):
    """Every write, DDL and rows too large to carry (followed to their row keys), on etcd, as
    sqlite3 answers, every entry exactly what its row makes."""
    test(etcd_both)

"""On etcd, a read through an index entry that carries its row is validated by the entry: a concurrent
UPDATE of the row (of a column no index holds) makes the reader's commit fail with ConflictError."""
import os
import sys

import pytest

from rome.dbapi.connection import parse_url
from rome.storage import drop_store

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "engine"))
from test_carrying_entries import concurrent_update_conflicts  # noqa: E402


@pytest.mark.parametrize("read", ["SELECT id, v FROM t WHERE k = 'k0'", "SELECT id, v FROM t WHERE u = 'u2'"])
def test_a_read_through_an_entry_conflicts_with_an_update_of_its_row(cluster, prefix, read):
    url = cluster.url(prefix=prefix, first=(cluster.wait_leader() + 1) % cluster.n)
    try:
        concurrent_update_conflicts(url, read)
    finally:
        drop_store(*parse_url(url))

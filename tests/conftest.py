"""Project-wide pytest configuration.

Markers are registered here rather than in pytest.ini/pyproject.toml: pytest reads only the FIRST
configuration file it finds (pytest.ini > pyproject.toml > tox.ini > setup.cfg), and SQLAlchemy's
compliance suite under tests/sqla is wired through setup.cfg ([tool:pytest], [sqla_testing], [db]),
which must stay the one pytest finds.
"""

MARKERS = {
    "slow": "long-running (multi-process concurrency, big example counts); skipped by scripts/test.sh --quick",
    "differential": "Hypothesis differential test against sqlite3 (tests/differential)",
    "concurrency": "concurrent connections, threads and processes (tests/concurrency)",
}


def pytest_configure(config):
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", "%s: %s" % (name, doc))


# -- a live redis-server for the tests of rome+redis (tests/redis, tests/storage, tests/engine) -------

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One redis-server per test session (per xdist worker) on a free loopback port, no persistence;
    its tests are skipped when the redis-server binary or the redis client is missing."""
    pytest.importorskip("redis", reason="the redis client (pip install redis) is not installed")
    from redis_server import BINARY, RedisServer
    if BINARY is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()

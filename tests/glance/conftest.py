"""Fixtures for the Glance tests (helpers in glance_helpers.py).

The server tests are marked ``glance`` (leave them out of a quick run with ``-m 'not glance'``) and skip
only when Glance itself is not importable. ROME_GLANCE_URL picks the database (see glance_helpers.py).
"""
import pytest

from glance_helpers import GlanceServer, glance_url


def pytest_configure(config):
    config.addinivalue_line("markers", "glance: starts `rome glance serve` (slow; needs the peers venv)")


@pytest.fixture(scope="module")
def glance_server(tmp_path_factory):
    pytest.importorskip("glance.common.wsgi_app", reason="Glance is not installed (build the peers venv: "
                                         "bash ../shared/checks/peers-venv.sh)")
    d = tmp_path_factory.mktemp("glance")
    srv = GlanceServer(d / "data", connection=glance_url(d))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()

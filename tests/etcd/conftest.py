"""rome+etcd tests: a throwaway 3-member etcd cluster on loopback ports (tests/etcd_cluster.py); skipped
when the etcd binary or the etcd3gw client is missing (CI installs both: .ci/run)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def _need_etcd():
    pytest.importorskip("etcd3gw", reason="the etcd3gw client (pip install etcd3gw) is not installed")
    from etcd_cluster import BINARY
    if BINARY is None:
        pytest.skip("etcd is not installed (Debian: apt-get install etcd-server)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One cluster per test module (tests that break members start their own: own_cluster)."""
    _need_etcd()
    from etcd_cluster import EtcdCluster
    c = EtcdCluster(tmp_path_factory.mktemp("etcd")).start()
    yield c
    c.stop()


@pytest.fixture
def own_cluster(tmp_path):
    """A cluster of this test's own, to kill, pause or cut members of."""
    _need_etcd()
    from etcd_cluster import EtcdCluster
    clusters = []

    def make(**kw):
        c = EtcdCluster(tmp_path / ("c%d" % len(clusters)), **kw).start()
        clusters.append(c)
        return c
    yield make
    for c in clusters:
        c.stop()


@pytest.fixture
def prefix(request):
    """A prefix of this test's own in the shared cluster."""
    return "t%d-%s" % (os.getpid(), request.node.name.replace("[", "-").replace("]", "")[:40])

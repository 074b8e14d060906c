"""Tests that need Keystone, Nova and Glance installed: the venv scripts/openstack_suites.sh builds."""
import os
import sys

# the Glance tests' server helper (a `rome ... serve` subprocess), shared
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "glance"))


def pytest_configure(config):
    config.addinivalue_line("markers", "glance: starts `rome glance serve` (slow; needs the peers venv)")

"""Nova's Database fixture on ROME: it migrates once, caches the schema with ``iterdump()`` and replays
it with ``executescript()`` into each later test's fresh database.

Nova's own test base class runs in a child process (it monkey-patches eventlet), with its engines
redirected to ROME through oslo.db as scripts/openstack_suites.sh does (scripts/openstack/
sitecustomize.py): every ``sqlite://`` engine a fresh ``rome+memory`` or ``rome+lmdb`` store.
"""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("nova.tests.fixtures", reason="Nova is not installed (scripts/openstack_suites.sh)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROGRAM = r'''
import json, sys, unittest
from nova import monkey_patch; monkey_patch.patch()
from nova import objects; objects.register_all()
from nova import context, test
from nova.db.api import api as api_db
from nova.db.main import api as db
from nova.tests import fixtures as nova_fixtures

seen = []

class OnRome(test.TestCase):
    def check(self, host):
        engines = (db.get_engine(), api_db.get_engine())
        # setUp inserted cell mappings into the API database: its tables are there
        ctxt = context.get_admin_context()
        cells = objects.CellMappingList.get_all(ctxt)
        db.service_create(ctxt, {"host": host, "binary": "nova-compute", "topic": "compute"})
        got = db.service_get_by_host_and_binary(ctxt, host, "nova-compute")
        seen.append({"dialects": [e.dialect.name for e in engines], "urls": [str(e.url) for e in engines],
                     "cells": len(cells), "service": got.host,
                     "others": [s.host for s in db.service_get_all(ctxt)],
                     "cached": sorted("%s:%d" % (k[0], len(v)) for k, v in nova_fixtures.DB_SCHEMA.items()),
                     "instances_in_dump": 'CREATE TABLE "instances"' in nova_fixtures.DB_SCHEMA[("main", None)]})

    def test_1_migrates_and_dumps(self):
        self.check("first")

    def test_2_replays_the_dump(self):
        self.check("second")

result = unittest.TextTestRunner(stream=sys.stderr).run(unittest.defaultTestLoader.loadTestsFromTestCase(OnRome))
print(json.dumps({"ok": result.wasSuccessful(), "seen": seen,
                  "errors": [e[1][-2000:] for e in result.errors + result.failures]}))
'''


@pytest.mark.parametrize("base", ["rome+memory://", "rome+lmdb:///{tmp}"])
def test_nova_database_fixture_dumps_and_replays_its_schema_on_rome(tmp_path, base):
    env = dict(os.environ, ROME_OSLO_DB_URL=base.format(tmp=tmp_path),
               PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "scripts", "openstack"), ROOT]))
    proc = subprocess.run([sys.executable, "-c", PROGRAM], env=env, cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ok"], "\n".join(out["errors"])
    first, second = out["seen"]
    for run in (first, second):
        assert run["dialects"] == ["rome", "rome"]
        assert run["cells"] == 2                  # cell0 and cell1, set up by Nova's base class
        assert run["instances_in_dump"]
    assert (first["service"], second["service"]) == ("first", "second")
    # the second test's databases are new stores, filled from the cached dump, not the first's
    assert set(first["urls"]).isdisjoint(second["urls"])
    assert second["others"] == ["second"]
    assert all(int(c.split(":")[1]) > 1000 for c in second["cached"])

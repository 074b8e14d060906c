"""scripts/openstack/sitecustomize.py: how the runner points a service's tests at ROME through oslo.db.

A child Python with the runner's PYTHONPATH and ROME_OSLO_DB_URL creates engines through oslo.db's
``engines.create_engine``, as enginefacade does: each ``sqlite://`` engine is a fresh ROME store, a
sqlite file path always the same store; without ROME_OSLO_DB_URL the engines are sqlite's.
"""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("oslo_db.sqlalchemy.engines")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROGRAM = r'''
import json, sys
import sqlalchemy as sa
from oslo_db.sqlalchemy import engines, enginefacade
a, b = engines.create_engine("sqlite://"), engines.create_engine("sqlite://")
f1 = engines.create_engine("sqlite:///" + sys.argv[1])
f2 = engines.create_engine("sqlite:///" + sys.argv[1])
with a.begin() as c:
    c.exec_driver_sql("CREATE TABLE t (x INTEGER PRIMARY KEY)")
with f1.begin() as c:
    c.exec_driver_sql("CREATE TABLE f (x INTEGER PRIMARY KEY)")
    c.exec_driver_sql("INSERT INTO f VALUES (42)")
with f2.connect() as c:
    shared = c.exec_driver_sql("SELECT x FROM f").fetchall()
facade = enginefacade.transaction_context()
facade.configure(connection="sqlite://")
print(json.dumps({"dialects": [e.dialect.name for e in (a, b, f1, facade.writer.get_engine())],
                  "a": sa.inspect(a).get_table_names(), "b": sa.inspect(b).get_table_names(),
                  "shared": [list(r) for r in shared]}))
'''


def run(tmp_path, url):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "scripts", "openstack"), ROOT]))
    env.pop("ROME_OSLO_DB_URL", None)
    if url:
        env["ROME_OSLO_DB_URL"] = url
    proc = subprocess.run([sys.executable, "-c", PROGRAM, str(tmp_path / "file.db")], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("url", ["rome+memory://", "rome+lmdb:///{tmp}/stores"])
def test_sqlite_engines_become_fresh_rome_stores(tmp_path, url):
    out = run(tmp_path, url.format(tmp=tmp_path))
    assert out["dialects"] == ["rome"] * 4
    assert out["a"] == ["t"] and out["b"] == []           # two sqlite:// engines, two databases
    assert out["shared"] == [[42]]                         # one file path, one database
    assert not os.path.exists(tmp_path / "file.db")      # sqlite's file was never made
    if "lmdb" in url:
        assert len(os.listdir(tmp_path / "stores")) == 4   # a, b, f1 and f2 (one), the facade


def test_without_the_variable_engines_stay_sqlite(tmp_path):
    out = run(tmp_path, None)
    assert out["dialects"] == ["sqlite"] * 4
    assert out["a"] == ["t"] and out["b"] == [] and out["shared"] == [[42]]
    assert os.path.exists(tmp_path / "file.db")

"""Capture every distinct SQL statement Glance sends, for the engine team's reference.

Two captures, each with a SQLAlchemy ``before_cursor_execute`` listener installed on every Engine:

* ``glance_db_statements.json``: Glance 33's DB functional suite
  (``glance.tests.functional.db.test_sqlalchemy``, what ``shared/checks/glance_db_suite.py`` runs) on the
  URL given (default ``sqlite://``).
* ``glance_migration_statements.json``: ``glance-manage db sync`` (Glance's alembic migrations, run
  in-process through ``glance.cmd.manage``) on a fresh sqlite file.

Each file is a JSON list of ``{"sql": ..., "params": [...], "count": N, "executemany": bool}``, one entry
per distinct SQL string, in order of first appearance; ``params`` is the first parameter tuple seen
(for executemany, its first row), converted to JSON (datetimes as ISO strings, bytes as
``{"bytes_hex": ...}``).

To regenerate (from the project's root, after ``bash ../shared/checks/peers-venv.sh`` or
``bash /work/shared/checks/peers-venv.sh``)::

    cd .peers-venv/run && ../bin/python ../../tests/data/capture_glance_sql.py [--url sqlite://] [--only db|migrations]

It must run from ``.peers-venv/run`` (Glance's tests read glance/tests/etc/policy.yaml relative to the
working directory). The last line says how many distinct statements each capture recorded.
"""
import argparse
import collections
import datetime
import decimal
import json
import os
import sys
import tempfile
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


class Recorder:
    def __init__(self):
        self.stmts = collections.OrderedDict()

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        entry = self.stmts.get(statement)
        if entry is None:
            sample = parameters
            if executemany and isinstance(parameters, (list, tuple)) and parameters:
                sample = parameters[0]
            entry = self.stmts[statement] = {"sql": statement, "params": _jsonable(sample), "count": 0,
                                             "executemany": bool(executemany)}
        entry["count"] += 1

    def dump(self, path):
        with open(path, "w") as f:
            json.dump(list(self.stmts.values()), f, indent=1)
            f.write("\n")
        return len(self.stmts)


def _jsonable(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"bytes_hex": bytes(v).hex()}
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, uuid.UUID):
        return str(v)
    return repr(v)


def listen(recorder):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    event.listen(Engine, "before_cursor_execute", recorder)


def unlisten(recorder):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    event.remove(Engine, "before_cursor_execute", recorder)


def capture_db_suite(url):
    """glance_db_suite.py's logic, with the recorder on."""
    from oslo_config import cfg
    from oslo_db import options
    import glance.db.sqlalchemy.api
    import glance.tests.functional.db.test_sqlalchemy as tsa

    def get_db(config):
        options.set_defaults(cfg.CONF, connection=url)
        config(debug=False)
        return glance.db.sqlalchemy.api

    tsa.get_db = get_db
    rec = Recorder()
    listen(rec)
    try:
        suite = unittest.defaultTestLoader.loadTestsFromModule(tsa)
        total = suite.countTestCases()
        result = unittest.TextTestRunner(stream=sys.stderr, verbosity=0).run(suite)
    finally:
        unlisten(rec)
    bad = len(result.failures) + len(result.errors)
    print("glance-db-suite %s: %d/%d passed" % (url, total - bad - len(result.skipped), total))
    return rec


def capture_migrations():
    """`glance-manage --config-file F db sync` on a fresh sqlite file, in-process."""
    tmp = tempfile.mkdtemp(prefix="glance-migrations-")
    conf = os.path.join(tmp, "glance-manage.conf")
    with open(conf, "w") as f:
        f.write("[database]\nconnection = sqlite:///%s/glance.db\n" % tmp)
    from glance.cmd import manage
    rec = Recorder()
    listen(rec)
    argv = sys.argv
    sys.argv = ["glance-manage", "--config-file", conf, "db", "sync"]
    try:
        manage.main()
    except SystemExit as e:
        if e.code not in (0, None):
            raise
    finally:
        sys.argv = argv
        unlisten(rec)
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="sqlite://", help="database URL for the DB suite (default sqlite://)")
    ap.add_argument("--only", choices=["db", "migrations"])
    ap.add_argument("--out-dir", default=HERE)
    a = ap.parse_args()
    if a.only is None:
        # one process each: glance-manage registers a required CLI opt on the global CONF that
        # breaks the DB suite's config parsing afterwards
        import subprocess
        for only in ("migrations", "db"):
            subprocess.run([sys.executable, os.path.abspath(__file__), "--only", only, "--url", a.url,
                            "--out-dir", a.out_dir], check=True)
        return
    counts = {}
    if a.only == "migrations":
        rec = capture_migrations()
        counts["migrations"] = rec.dump(os.path.join(a.out_dir, "glance_migration_statements.json"))
    if a.only == "db":
        rec = capture_db_suite(a.url)
        counts["db"] = rec.dump(os.path.join(a.out_dir, "glance_db_statements.json"))
    print("captured distinct statements: " + ", ".join("%s %d" % kv for kv in counts.items()))


if __name__ == "__main__":
    main()

"""Glance's DB API operations timed in CPU time as well as wall time: ROME (LMDB) against a sqlite file,
and optionally ROME from another source tree (``--before``), alternated in one run.

On a machine shared with other work, wall time mostly measures the neighbours; the CPU time a process
spends on an operation (``time.process_time``) moves much less. Each run is a fresh process in a fresh
folder: it creates ``--images`` images as ``../shared/checks/glance_dbops.py`` does (Glance's own
``glance.db.sqlalchemy.api``), then times each operation ``--reps`` times and prints its median wall and
CPU microseconds. The runs of the engines alternate ``--rounds`` times (the order flips every round);
the table gives, per operation and engine, the median over rounds of the run medians and the ratio
ROME/sqlite of those medians (below 1: ROME faster). The load average is printed with each run.

``--statements`` times, instead of each operation, its SELECT statements replayed as Glance sent them on
the engine's DB-API connection: the SQL engine alone, which the operation's figure dilutes in Glance's
and SQLAlchemy's own time.

usage (from the repository root, with the peers venv, which has Glance):
    .peers-venv/bin/python bench/glance_ops_cpu.py [--rounds 5] [--images 300] [--reps 100] [--before TREE]
                                                   [--statements]
Last line: 'glance-ops-cpu ratio rome+lmdb/sqlite (cpu): worst R (OPERATION)'.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
URLS = {"rome+lmdb": "rome+lmdb:///rome", "sqlite": "sqlite:///glance.db"}


def child(url, images, reps, statements=False):
    """Runs in the measured process: prints {operation: [wall us, cpu us]} as JSON. ``statements``:
    time instead the SELECT statements each operation sends, replayed on the engine's DB-API
    connection with the parameters logged (the engine alone, without Glance and SQLAlchemy)."""
    from oslo_config import cfg
    from oslo_db import options
    import glance.db.sqlalchemy.api as api
    from glance.db.sqlalchemy import models
    from glance import context as gctx
    options.set_defaults(cfg.CONF, connection=url)
    cfg.CONF([], project="glance", default_config_files=[])
    engine = api.get_engine()
    models.unregister_models(engine)
    models.register_models(engine)
    admin = gctx.RequestContext(is_admin=True)
    tenant = gctx.RequestContext(is_admin=False, project_id="p1", user_id="u1")
    ids = []
    for i in range(images):
        img = api.image_create(admin, {
            "id": str(uuid.uuid4()), "name": "img-%d" % i, "status": "active",
            "owner": "p%d" % (i % 4), "visibility": ["public", "private", "shared", "community"][i % 4],
            "size": i * 1000, "disk_format": "raw", "container_format": "bare",
            "properties": {"k%d" % j: "v%d" % (i % 7) for j in range(3)},
        })
        api.image_tag_set_all(admin, img["id"], ["t%d" % (i % 5), "common"])
        ids.append(img["id"])
    ops = {
        "image_get": lambda: api.image_get(tenant, ids[1]),
        "image_get_all page (tenant, 25)": lambda: api.image_get_all(tenant, filters={"deleted": False}, limit=25),
        # what GET /v2/images runs (glance.db.ImageRepo.list): the page with its tags joined too
        "image_get_all page as the API (tags)": lambda: api.image_get_all(
            tenant, filters={"deleted": False}, limit=25, sort_key=["created_at"], sort_dir=["desc"],
            member_status="accepted", return_tag=True),
        "image_get_all page 2 (marker)": lambda: api.image_get_all(tenant, filters={"deleted": False}, limit=25,
                                                                   marker=ids[40]),
        "image_get_all property filter": lambda: api.image_get_all(
            admin, filters={"properties": {"k1": "v3"}, "deleted": False}, limit=25),
        "image_update (+props)": lambda: api.image_update(admin, ids[2], {"name": "renamed",
                                                                          "properties": {"k9": "x"}}),
        "image_create": lambda: api.image_create(admin, {"status": "queued", "owner": "p1", "properties": {"a": "b"}}),
    }
    if statements:
        ops = {name: _replay(engine, fn) for name, fn in ops.items()}
    out = {}
    for name, fn in ops.items():
        fn()
        walls, cpus = [], []
        for _ in range(reps):
            w, c = time.perf_counter(), time.process_time()
            fn()
            cpus.append(time.process_time() - c)
            walls.append(time.perf_counter() - w)
        out[name] = [statistics.median(walls) * 1e6, statistics.median(cpus) * 1e6]
    print(json.dumps(out))


def _replay(engine, fn):
    """A function running again, on one DB-API connection, the SELECT statements fn sends."""
    from sqlalchemy import event
    sent = []

    def log(_conn, _cursor, sql, params, _context, _many):
        if sql.lstrip().upper().startswith("SELECT"):
            sent.append((sql, params))
    event.listen(engine, "before_cursor_execute", log)
    fn()
    event.remove(engine, "before_cursor_execute", log)
    conn = engine.raw_connection()
    cur = conn.cursor()

    def replay(_conn=conn):   # the pool's connection stays checked out while replay lives
        for sql, params in sent:
            cur.execute(sql, params)
            cur.fetchall()
    return replay


def run_once(engine, tree, a):
    env = dict(os.environ, PYTHONPATH=tree)
    with tempfile.TemporaryDirectory(prefix="glance-ops-cpu-") as d:
        proc = subprocess.run([a.python, os.path.abspath(__file__), "--child", URLS[engine], "--images",
                               str(a.images), "--reps", str(a.reps)] + (["--statements"] if a.statements else []), cwd=d, env=env, timeout=a.timeout,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit("%s (%s) failed:\n%s" % (engine, tree, proc.stderr[-3000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--before", help="another source tree whose ROME is measured too (as rome-before)")
    ap.add_argument("--python", default=sys.executable, help="interpreter with Glance (the peers venv)")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--statements", action="store_true",
                    help="time each operation's SELECT statements replayed on the DB-API connection")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.images, a.reps, a.statements)
    engines = [("rome+lmdb", "rome+lmdb", ROOT), ("sqlite", "sqlite", ROOT)]
    if a.before:
        engines.append(("rome-before", "rome+lmdb", os.path.abspath(a.before)))
    runs = {label: [] for label, _e, _t in engines}
    for r in range(a.rounds):
        for label, engine, tree in (engines if r % 2 == 0 else engines[::-1]):
            res = run_once(engine, tree, a)
            runs[label].append(res)
            print("round %d %-11s load %-5s %s" % (r + 1, label, os.getloadavg()[0], "  ".join(
                "%s=%d/%d" % (op.split(" (")[0], w, c) for op, (w, c) in res.items())), flush=True)
    ops = list(runs["sqlite"][0])
    med = {label: {op: [statistics.median(run[op][k] for run in rs) for k in (0, 1)] for op in ops}
           for label, rs in runs.items()}
    labels = [label for label, _e, _t in engines if label != "sqlite"]
    print()
    print("median of %d rounds, us (wall / cpu); ratio = ROME / sqlite of the medians" % a.rounds)
    print("%-32s %17s" % ("operation", "sqlite") + "".join(" %17s %13s" % (label, "ratio w/cpu") for label in labels))
    worst = (0, None)
    for op in ops:
        s = med["sqlite"][op]
        line = "%-32s %8d / %6d" % (op, s[0], s[1])
        for label in labels:
            m = med[label][op]
            line += " %8d / %6d %5.2f / %5.2f" % (m[0], m[1], m[0] / s[0], m[1] / s[1])
        worst = max(worst, (med["rome+lmdb"][op][1] / s[1], op))
        print(line)
    print("glance-ops-cpu ratio rome+lmdb/sqlite (cpu): worst %.2f (%s)" % worst)


if __name__ == "__main__":
    main()

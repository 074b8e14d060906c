"""DDL against sqlite: metadata.create_all() and drop_all() of a large schema, ROME and sqlite in one run.

usage: python bench/ddl.py [--schema nova|generated] [--tables 100] [--rounds 9]
                           [--url URL ...] [--peer URL] [--check]

The schema is Nova's (its main and API databases' models, when ``nova`` is importable: run this with
the Keystone/Nova venv's python and PYTHONPATH pointing at this checkout) or a generated one of
--tables tables shaped like OpenStack's (an integer key, a uuid, soft-delete and timestamp columns,
indexes and unique constraints, foreign keys to earlier tables). Every round runs create_all and then
drop_all on each URL, alternating which URL goes first, on engines that stay open from round to round
(as a test suite's are). Reported: the median seconds of each and the ratio URL / peer of the medians
(1.0: as fast as sqlite). The issue's floor: create_all of Nova's main schema within 2x sqlite's.
Defaults: --url rome+memory:///bench-ddl --url rome+lmdb:///{tmp}/ddl; --peer sqlite:// (in memory,
as Keystone's and Nova's tests use it). --check: exit status 1 when a ratio is above 2.
"""
import argparse
import shutil
import statistics
import sys
import tempfile
import time

import sqlalchemy as sa


def nova_metadata():
    """Nova's main and API schemas (two MetaData), or None when nova is not importable."""
    try:
        from nova.db.api import models as api_models
        from nova.db.main import models as main_models
    except ImportError:
        return None
    return [("nova main", main_models.BASE.metadata), ("nova api", api_models.BASE.metadata)]


def generated_metadata(n):
    md = sa.MetaData()
    for i in range(n):
        cols = [sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("uuid", sa.String(36), nullable=False),
                sa.Column("created_at", sa.DateTime), sa.Column("updated_at", sa.DateTime),
                sa.Column("deleted_at", sa.DateTime), sa.Column("deleted", sa.Integer, default=0),
                sa.Column("name", sa.String(255)), sa.Column("project_id", sa.String(255)),
                sa.Column("extra", sa.Text), sa.Column("size", sa.BigInteger)]
        if i:
            cols.append(sa.Column("parent_id", sa.Integer, sa.ForeignKey("t%d.id" % (i // 2))))
        sa.Table("t%d" % i, md, *cols,
                 sa.UniqueConstraint("uuid", "deleted", name="uniq_t%d0uuid0deleted" % i),
                 sa.Index("t%d_project_id_idx" % i, "project_id"),
                 sa.Index("t%d_deleted_idx" % i, "deleted", "created_at"))
    return [("generated %d tables" % n, md)]


def measure(schemas, urls, rounds):
    """{(schema, url): {"create": [s], "drop": [s]}}, the URLs alternating which goes first."""
    engines = {u: sa.create_engine(u) for u in urls}
    times = {(name, u): {"create": [], "drop": []} for name, _md in schemas for u in urls}
    try:
        for r in range(rounds):
            order = urls if r % 2 == 0 else urls[::-1]
            for name, md in schemas:
                for u in order:
                    e = engines[u]
                    t0 = time.perf_counter()
                    md.create_all(e)
                    t1 = time.perf_counter()
                    md.drop_all(e)
                    t2 = time.perf_counter()
                    times[(name, u)]["create"].append(t1 - t0)
                    times[(name, u)]["drop"].append(t2 - t1)
    finally:
        for e in engines.values():
            e.dispose()
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--schema", choices=["nova", "generated"], default=None)
    ap.add_argument("--tables", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--url", action="append")
    ap.add_argument("--peer", default="sqlite://")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    schemas = None
    if args.schema in (None, "nova"):
        schemas = nova_metadata()
        if schemas is None and args.schema == "nova":
            sys.exit("nova is not importable: run with the Keystone/Nova venv's python")
    if schemas is None:
        schemas = generated_metadata(args.tables)
    tmp = tempfile.mkdtemp(prefix="rome-bench-ddl-")
    urls = [u.replace("{tmp}", tmp) for u in (args.url or ["rome+memory:///bench-ddl", "rome+lmdb:///{tmp}/ddl"])]
    try:
        times = measure(schemas, [args.peer] + urls, args.rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d rounds, medians in seconds; ratio = URL / %s (lower is better)" % (args.rounds, args.peer))
    print("%-22s %-8s %10s %10s %7s  %s" % ("schema", "op", "peer", "url", "ratio", "url"))
    worst = 0.0
    for name, md in schemas:
        for op in ("create", "drop"):
            peer = statistics.median(times[(name, args.peer)][op])
            for u in urls:
                mine = statistics.median(times[(name, u)][op])
                ratio = mine / peer
                worst = max(worst, ratio)
                print("%-22s %-8s %10.4f %10.4f %7.2f  %s (%d tables)"
                      % (name, op, peer, mine, ratio, u, len(md.tables)))
    if args.check and worst > 2.0:
        print("FLOOR MISSED: a ratio above 2.0 (%.2f)" % worst)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

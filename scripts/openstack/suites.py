"""Runs Keystone's and Nova's SQL test suites on sqlite and on ROME and compares them test by test.

Called by scripts/openstack_suites.sh with the Python of the OpenStack venv (Keystone, Nova, their test
requirements, python-subunit). For each suite and each backend the suite's modules run under
``python -m subunit.run`` (unittest semantics, as stestr runs them: Nova's base TestCase removes the
attributes pytest sets), split by test class over ``--jobs`` processes. The ROME backends get their
engines through ``sitecustomize.py`` in this folder (oslo.db's engine creation, wrapped).

A suite fails when a test that passes on sqlite does not pass on a ROME backend. Tests failing on
sqlite too (on this machine) are reported, not counted. Run without sqlite, a suite fails when any
test fails or does not run (a worker killed at the time limit leaves its tests not run). Exit status: 0 when no suite fails, 1
otherwise, 2 on a usage error.
"""
import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

_K = "keystone.tests.unit."
_N = "nova.tests.unit.db."
SUITES = collections.OrderedDict([
    # Keystone's 15 SQL backend test files
    ("keystone", [_K + m for m in (
        "test_backend_sql", "test_shadow_users", "test_backend_endpoint_policy_sql",
        "test_backend_federation_sql", "test_backend_id_mapping_sql", "common.test_sql_core",
        "identity.test_backend_sql", "identity.backends.test_sql", "assignment.role_backends.test_sql",
        "resource.backends.test_sql", "resource.config_backends.test_sql",
        "credential.test_backend_sql", "policy.backends.test_sql",
        "endpoint_policy.backends.test_sql", "application_credential.backends.test_sql")]),
    ("keystone-migrations", [_K + m for m in (
        "test_sql_upgrade", "test_sql_banned_operations", "common.sql.test_upgrades")]),
    ("nova", [_N + m for m in ("main.test_api", "api.test_api", "test_models", "test_utils")]),
    ("nova-migrations", [_N + m for m in ("main.test_migrations", "api.test_migrations",
                                          "test_migration")]),
])
BACKENDS = collections.OrderedDict([
    ("sqlite", None),
    ("rome+memory", "rome+memory://"),
    ("rome+lmdb", "rome+lmdb:///{dir}"),
])
PASS, FAIL, SKIP, MISSING = "pass", "fail", "skip", "not run"
_STATUS = {"success": PASS, "xfail": PASS, "fail": FAIL, "uxsuccess": FAIL, "skip": SKIP}


class Collector:
    """A testtools StreamResult keeping each test's final status and its traceback."""

    def __init__(self):
        self.results = {}
        self.details = collections.defaultdict(list)

    def startTestRun(self):
        pass

    def stopTestRun(self):
        pass

    def status(self, test_id=None, test_status=None, file_name=None, file_bytes=None, **_):
        if test_id is None:
            return
        if file_bytes and file_name in ("traceback", "reason"):
            self.details[test_id].append(bytes(file_bytes).decode("utf-8", "replace"))
        if test_status == "exists":
            self.results.setdefault(test_id, MISSING)
        elif test_status in _STATUS:
            self.results[test_id] = _STATUS[test_status]


def read_stream(path):
    import subunit
    collector = Collector()
    with open(path, "rb") as f:
        subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout").run(collector)
    return collector


def subunit_cmd(args):
    return [sys.executable, "-m", "subunit.run"] + args


def list_tests(modules, env, workdir):
    """Test ids of ``modules``, as subunit.run loads them (load_tests and scenarios applied)."""
    out = os.path.join(workdir, "list.subunit")
    with open(out, "wb") as f:
        proc = subprocess.run(subunit_cmd(["--list"] + modules), stdout=f, stderr=subprocess.PIPE,
                              env=env, cwd=workdir)
    ids = sorted(read_stream(out).results)
    if proc.returncode != 0 or not ids:
        raise RuntimeError("listing %s failed (exit %d):\n%s"
                           % (" ".join(modules), proc.returncode, proc.stderr.decode()[-3000:]))
    return ids


def partition(ids, jobs):
    """Split test ids by class (a class's tests stay together) over ``jobs`` lists of similar size."""
    by_class = collections.OrderedDict()
    for tid in ids:
        by_class.setdefault(tid.split("(")[0].rsplit(".", 1)[0], []).append(tid)
    parts = [[] for _ in range(max(1, jobs))]
    for tests in sorted(by_class.values(), key=len, reverse=True):
        min(parts, key=len).extend(tests)
    return [p for p in parts if p]


def run_backend(modules, ids, url, jobs, timeout, workdir, base_env):
    """Run ``ids`` on one backend; returns (Collector, seconds, notes)."""
    env = dict(base_env)
    env.pop("ROME_OSLO_DB_URL", None)
    if url:
        if "{dir}" in url:
            store_dir = tempfile.mkdtemp(prefix="lmdb-", dir=workdir)
            url = url.replace("{dir}", store_dir)
        env["ROME_OSLO_DB_URL"] = url
    procs = []
    t0 = time.monotonic()
    for i, part in enumerate(partition(ids, jobs)):
        load = os.path.join(workdir, "part-%d.txt" % i)
        with open(load, "w") as f:
            f.write("\n".join(part) + "\n")
        out = os.path.join(workdir, "part-%d.subunit" % i)
        err = open(os.path.join(workdir, "part-%d.log" % i), "wb")
        p = subprocess.Popen(subunit_cmd(["--load-list", load] + modules), stdout=open(out, "wb"),
                             stderr=err, env=env, cwd=workdir, start_new_session=True)
        procs.append((p, out, err))
    notes = []
    collector = Collector()
    for p, out, err in procs:
        left = max(1, timeout - (time.monotonic() - t0))
        try:
            p.wait(left)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            notes.append("a worker was killed after %ds" % timeout)
        err.close()
        part = read_stream(out)
        collector.results.update(part.results)
        collector.details.update(part.details)
    for tid in ids:
        collector.results.setdefault(tid, MISSING)
    return collector, time.monotonic() - t0, notes


_NOISE = [(re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
          (re.compile(r"0x[0-9a-f]+"), "0x.."),
          (re.compile(r"\[SQL: .*", re.S), ""),
          (re.compile(r"\(Background on this error.*", re.S), "")]


def cause(details):
    """One line naming why a test failed: the traceback's last exception line, de-noised."""
    text = "\n".join(details).strip()
    lines = [l for l in text.splitlines() if l.strip()]
    pick = ""
    for line in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception|Failure|Mismatch|Exit)\b|^[\w.]+: ", line.strip()):
            pick = line.strip()
            break
    pick = pick or (lines[-1].strip() if lines else "no traceback (the worker died or timed out)")
    for rx, repl in _NOISE:
        pick = rx.sub(repl, pick)
    return pick[:200]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suites", default=",".join(SUITES), help="comma-separated: %s" % ", ".join(SUITES))
    ap.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: %s" % ", ".join(BACKENDS))
    ap.add_argument("--jobs", type=int, default=2, help="processes per run (default 2)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per suite and backend")
    ap.add_argument("--subset", default="", metavar="[SUITE/]BACKEND=N,...",
                    help="on these backends (of this suite) run only every N-th test class, in sorted "
                         "order (deterministic), e.g. rome+lmdb=3,nova/sqlite=4; the comparison covers "
                         "the tests run on both sides")
    ap.add_argument("--failures", metavar="FILE", help="write what fails on ROME, per suite and cause "
                                                       "(markdown)")
    args = ap.parse_args(argv)
    suites = [s for s in args.suites.split(",") if s]
    backends = [b for b in args.backends.split(",") if b]
    bad = [s for s in suites if s not in SUITES] + [b for b in backends if b not in BACKENDS]
    if bad:
        ap.error("unknown suite or backend: %s" % ", ".join(bad))
    subset = {}
    for item in filter(None, args.subset.split(",")):
        name, _, n = item.partition("=")
        subset[name] = int(n)
    base_env = dict(os.environ)
    # the hook first; then the caller's PYTHONPATH (e.g. another checkout of rome to test); then this one
    base_env["PYTHONPATH"] = os.pathsep.join(
        [HERE] + [p for p in base_env.get("PYTHONPATH", "").split(os.pathsep) if p] + [ROOT])
    work = tempfile.mkdtemp(prefix="rome-openstack-")
    failed = 0
    report = []
    try:
        for suite in suites:
            failed += run_suite(suite, backends, subset, args, base_env, work, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.failures:
        with open(args.failures, "w") as f:
            f.write("\n".join(report) + "\n")
    print("openstack_suites: %d suite%s, %d failed" % (len(suites), "s" if len(suites) != 1 else "", failed))
    return 1 if failed else 0


def every_nth_class(ids, n):
    classes = sorted({tid.split("(")[0].rsplit(".", 1)[0] for tid in ids})
    keep = set(classes[::n])
    return [tid for tid in ids if tid.split("(")[0].rsplit(".", 1)[0] in keep]


def run_suite(suite, backends, subset, args, base_env, work, report):
    """Run one suite on each backend, print the comparison; returns 1 if it fails, else 0."""
    modules = SUITES[suite]
    sdir = tempfile.mkdtemp(prefix=suite + "-", dir=work)
    print("\n######## %s: %s" % (suite, " ".join(m.split(".tests.unit.")[1] for m in modules)), flush=True)
    env = dict(base_env)
    env.pop("ROME_OSLO_DB_URL", None)
    try:
        ids = list_tests(modules, env, sdir)
    except RuntimeError as e:
        print(str(e))
        report.append("## %s\n\ncould not list the tests:\n\n```\n%s\n```\n" % (suite, e))
        return 1
    results = {}
    for b in backends:
        n = subset.get("%s/%s" % (suite, b), subset.get(b, 1))
        run_ids = every_nth_class(ids, n) if n > 1 else ids
        bdir = tempfile.mkdtemp(prefix=b.replace("+", "-") + "-", dir=sdir)
        col, secs, notes = run_backend(modules, run_ids, BACKENDS[b], args.jobs, args.timeout, bdir, base_env)
        results[b] = (col, secs, notes, set(run_ids))
        counts = collections.Counter(col.results[t] for t in run_ids)
        print("  %-12s %4d tests  %4d pass  %3d fail  %3d skip  %3d not run  %6.0fs%s"
              % (b, len(run_ids), counts[PASS], counts[FAIL], counts[SKIP], counts[MISSING], secs,
                 "  (" + "; ".join(notes) + ")" if notes else ""), flush=True)
    regressions = {}
    if "sqlite" in results:
        ref, _, _, ref_ids = results["sqlite"]
        for b in backends:
            if b == "sqlite":
                continue
            col, _, _, b_ids = results[b]
            lost = sorted(t for t in ref_ids & b_ids if ref.results[t] == PASS and col.results[t] != PASS)
            if lost:
                regressions[b] = lost
        print("  pass on sqlite and not on ROME: %s"
              % (", ".join("%s %d" % (b, len(v)) for b, v in regressions.items()) or "none"))
    else:  # nothing to compare with: every test that ran must pass, and every test must run
        for b in backends:
            col, _, _, b_ids = results[b]
            lost = sorted(t for t in b_ids if col.results[t] in (FAIL, MISSING))
            if lost:
                regressions[b] = lost
    for b, lost in regressions.items():
        col = results[b][0]
        by_cause = collections.defaultdict(list)
        for t in lost:
            by_cause[cause(col.details.get(t, []))].append(t)
        what = "pass on sqlite and not on" if "sqlite" in results else "fail or do not run on"
        print("  ---- %s: %d tests %s %s" % (suite, len(lost), what, b))
        report.append("## %s: %d tests %s %s\n" % (suite, len(lost), what, b))
        for c, tests in sorted(by_cause.items(), key=lambda kv: -len(kv[1])):
            print("    %3d  %s" % (len(tests), c))
            report.append("### %d: %s\n" % (len(tests), c))
            report.extend("- %s (%s)" % (t, col.results[t]) for t in tests)
            first = col.details.get(tests[0])
            if first:
                report.append("\n<details><summary>traceback of %s</summary>\n\n```\n%s\n```\n</details>\n"
                              % (tests[0], "\n".join(first)[-4000:]))
            report.append("")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())

"""Glance under load: `rome glance serve --workers 2` on ROME's LMDB against the same server on a sqlite
file (``--connection sqlite:///...``), 4 concurrent clients (``--workers``, ``--clients``), loopback only.

Phases, each bounded by ``--duration`` seconds (and a request cap), the two servers measured one after
the other, alternating, ``--rounds`` times (the machine's other load moves the absolute figures: the
ratios printed are the ratio of the medians over rounds, and the median over rounds of ROME/sqlite
measured back to back):

- reads, "list page": ``GET /v2/images?limit=25`` (a project's first page of the seeded images);
- reads, "get": ``GET /v2/images/ID`` of a random seeded image;
- writes: each client creates an image (``POST /v2/images``) then adds a property to it (``PATCH``,
  json-patch), ``--writes`` pairs in all per round; every non-2xx answer or transport error counts as a
  failure, and an image the POST created whose PATCH did not land is "half-written".

Prints requests/s per phase and server, the ROME/sqlite ratios (the bar: reads >= 0.8x sqlite's
requests/s; writes never fail on ROME, while on sqlite many fail with 500 "database is locked").

usage (from the repository root, with the peers venv, which has Glance and gunicorn):
    .peers-venv/bin/python bench/glance_load.py [--duration 8] [--rounds 3] [--writes 100] [--seed 60]
Takes about 2.5 minutes with the defaults. Exit status 0; last line:
'glance-load ROME/sqlite: list Lx, get Gx (paired PLx, PGx), writes failed R (rome) / S (sqlite)' (L, G: ratio of
the medians over rounds; PL, PG: median of the per-round ratios).
"""
import argparse
import concurrent.futures
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

TOKEN = "alice:proj-a:member"
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
CLIENTS = 4       # default concurrent clients (--clients)
MAX_REQUESTS = 20000  # per client and phase: a bound besides the duration


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`rome glance serve --workers N` on 127.0.0.1, in its own process group."""

    def __init__(self, name, folder, connection=None, workers=2, extra_args=()):
        self.name, self.folder, self.connection, self.workers = name, folder, connection, workers
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = os.path.join(folder, "serve.log")
        self.proc = None

    def start(self, timeout=180):
        cmd = [sys.executable, "-c", "from rome.cli import main; main()", "glance", "serve",
               "--data-dir", os.path.join(self.folder, "data"), "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", str(self.workers)]
        if self.connection:
            cmd += ["--connection", self.connection]
        cmd += self.extra_args
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, cwd=self.folder)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("%s server exited:\n%s" % (self.name, self.tail()))
            try:
                if requests.get(self.url + "/healthcheck", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise SystemExit("%s server not ready after %d s:\n%s" % (self.name, timeout, self.tail()))

    def stop(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # this server's own group only
        except ProcessLookupError:
            pass
        proc.wait()

    def tail(self, n=40):
        try:
            with open(self.log) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"


# --- client processes ---------------------------------------------------------------------------

def _session():
    s = requests.Session()
    s.headers["X-Auth-Token"] = TOKEN
    return s


def read_client(url, kind, ids, duration, seed):
    """GETs for ``duration`` seconds; returns (ok, failed)."""
    rnd = random.Random(seed)
    s = _session()
    ok = failed = 0
    end = time.perf_counter() + duration
    while time.perf_counter() < end and ok + failed < MAX_REQUESTS:
        path = "/v2/images?limit=25" if kind == "list" else "/v2/images/" + rnd.choice(ids)
        try:
            r = s.get(url + path, timeout=60)
            if r.status_code == 200:
                ok += 1
            else:
                failed += 1
        except requests.RequestException:
            failed += 1
    return ok, failed


def write_client(url, first, count, deadline):
    """``count`` POST+PATCH pairs (or until ``deadline``); returns a list of per-pair outcomes:
    (post_ok, patch_ok, image_id or None, post_status, patch_status)."""
    s = _session()
    out = []
    for i in range(first, first + count):
        if time.time() > deadline:
            break
        image_id = post_status = patch_status = None
        try:
            r = s.post(url + "/v2/images", json={"name": "w-%d" % i, "disk_format": "raw",
                                                 "container_format": "bare"}, timeout=60)
            post_status = r.status_code
            if r.status_code == 201:
                image_id = r.json()["id"]
                r = s.patch(url + "/v2/images/" + image_id, headers={"Content-Type": PATCH_TYPE},
                            json=[{"op": "add", "path": "/bench_k", "value": "v%d" % i}], timeout=60)
                patch_status = r.status_code
        except requests.RequestException as e:
            patch_status = patch_status or type(e).__name__
        out.append((post_status == 201, patch_status == 200, image_id, post_status, patch_status))
    return out


# --- phases -------------------------------------------------------------------------------------

def seed_images(server, n):
    s = _session()
    ids = []
    for i in range(n):
        r = s.post(server.url + "/v2/images", json={"name": "seed-%03d" % i, "disk_format": "raw",
                                                    "container_format": "bare", "seed_k": "v%d" % (i % 5)},
                   timeout=60)
        if r.status_code != 201:
            raise SystemExit("%s: seeding failed: %d %s" % (server.name, r.status_code, r.text[:300]))
        ids.append(r.json()["id"])
    return ids


def measure_reads(pool, server, kind, ids, duration, clients=CLIENTS):
    t0 = time.perf_counter()
    futs = [pool.submit(read_client, server.url, kind, ids, duration, k) for k in range(clients)]
    res = [f.result() for f in futs]
    elapsed = time.perf_counter() - t0
    ok, failed = sum(r[0] for r in res), sum(r[1] for r in res)
    return ok / elapsed, failed


def measure_writes(pool, server, writes, duration, offset, clients=CLIENTS):
    per = -(-writes // clients)
    deadline = time.time() + duration * 4
    t0 = time.perf_counter()
    futs = [pool.submit(write_client, server.url, offset + k * per, per, deadline) for k in range(clients)]
    pairs = [p for f in futs for p in f.result()]
    elapsed = time.perf_counter() - t0
    # what the server holds now: created images whose PATCH did not land are half-written
    s = _session()
    half = 0
    for post_ok, patch_ok, image_id, _, _ in pairs:
        if post_ok and not patch_ok:
            r = s.get(server.url + "/v2/images/" + image_id, timeout=60)
            if r.status_code == 200 and "bench_k" not in r.json():
                half += 1
    failures = sum(1 for p in pairs if not (p[0] and p[1]))
    statuses = {}
    for p in pairs:
        if not (p[0] and p[1]):
            key = "POST %s" % p[3] if not p[0] else "PATCH %s" % p[4]
            statuses[key] = statuses.get(key, 0) + 1
    return {"pairs": len(pairs), "failed": failures, "half_written": half, "statuses": statuses,
            "pairs_per_s": len(pairs) / elapsed}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per read phase (default 8)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--writes", type=int, default=100, help="POST+PATCH pairs per round (default 100)")
    ap.add_argument("--seed", type=int, default=60, help="images created before the reads (default 60)")
    ap.add_argument("--workers", type=int, default=2, help="server workers (default 2)")
    ap.add_argument("--clients", type=int, default=CLIENTS, help="concurrent clients (default %d)" % CLIENTS)
    ap.add_argument("--keep", action="store_true", help="keep the data folders (printed)")
    a = ap.parse_args()
    if not (1 <= a.rounds <= 10 and 0 < a.duration <= 120 and 0 <= a.writes <= 2000 and 1 <= a.seed <= 1000
            and 1 <= a.workers <= 16 and 1 <= a.clients <= 32):
        raise SystemExit("bounds: rounds 1..10, duration 0..120 s, writes 0..2000, seed 1..1000, workers 1..16, "
                         "clients 1..32")

    top = tempfile.mkdtemp(prefix="glance-load-")
    servers = []
    for name, conn in (("rome+lmdb", None), ("sqlite", "sqlite:///%s/sqlite/glance.db" % top)):
        folder = os.path.join(top, name.split("+")[0])
        os.makedirs(folder)
        servers.append(Server(name, folder, connection=conn, workers=a.workers))
    results = {s.name: {"list": [], "get": [], "writes": []} for s in servers}
    t_start = time.time()
    try:
        for s in servers:
            s.start()
            print("%-9s serving on %s (%s), %d workers" % (s.name, s.url, s.connection or "LMDB in its "
                                                           "data folder", s.workers), flush=True)
        ids = {s.name: seed_images(s, a.seed) for s in servers}
        with concurrent.futures.ProcessPoolExecutor(a.clients) as pool:
            for s in servers:  # warm both: the workers import Glance lazily and compile statements
                measure_reads(pool, s, "list", ids[s.name], 1.0, a.clients)
                measure_reads(pool, s, "get", ids[s.name], 1.0, a.clients)
            for r in range(a.rounds):
                order = servers if r % 2 == 0 else servers[::-1]
                for kind in ("list", "get"):
                    for s in order:
                        rps, failed = measure_reads(pool, s, kind, ids[s.name], a.duration, a.clients)
                        results[s.name][kind].append(rps)
                        print("round %d %-9s %-5s %7.1f req/s%s" % (r + 1, s.name, kind, rps,
                              "  (%d failed)" % failed if failed else ""), flush=True)
                if a.writes:
                    for s in order:
                        w = measure_writes(pool, s, a.writes, a.duration, r * a.writes, a.clients)
                        results[s.name]["writes"].append(w)
                        print("round %d %-9s write %7.1f POST+PATCH/s  failed %d/%d, half-written %d %s"
                              % (r + 1, s.name, w["pairs_per_s"], w["failed"], w["pairs"], w["half_written"],
                                 w["statuses"] or ""), flush=True)
    finally:
        for s in servers:
            s.stop()
        if a.keep:
            print("data kept in", top)
        else:
            shutil.rmtree(top, ignore_errors=True)

    rome, lite = results["rome+lmdb"], results["sqlite"]
    print()
    print("%-28s %12s %12s %8s %8s" % ("%d clients, median of %d" % (a.clients, a.rounds), "rome+lmdb", "sqlite",
                                       "ratio", "paired"))
    ratios, paired = {}, {}
    for kind, label in (("list", "reads: list page (req/s)"), ("get", "reads: get (req/s)")):
        mr, ms = statistics.median(rome[kind]), statistics.median(lite[kind])
        ratios[kind] = mr / ms
        # and the median over rounds of ROME/sqlite measured back to back (less exposed to the machine's
        # load drifting between rounds)
        paired[kind] = statistics.median(r / q for r, q in zip(rome[kind], lite[kind]))
        print("%-28s %12.1f %12.1f %7.2fx %7.2fx" % (label, mr, ms, ratios[kind], paired[kind]))
    if a.writes:
        fr, fs = (sum(w["failed"] for w in x["writes"]) for x in (rome, lite))
        nr, ns = (sum(w["pairs"] for w in x["writes"]) for x in (rome, lite))
        hr, hs = (sum(w["half_written"] for w in x["writes"]) for x in (rome, lite))
        wr, ws = max(w["pairs_per_s"] for w in rome["writes"]), max(w["pairs_per_s"] for w in lite["writes"])
        print("%-28s %12.1f %12.1f %7.2fx" % ("writes: POST+PATCH pairs/s", wr, ws, wr / ws))
        print("%-28s %12s %12s" % ("writes failed", "%d/%d" % (fr, nr), "%d/%d" % (fs, ns)))
        print("%-28s %12d %12d" % ("half-written images left", hr, hs))
    print("(%.0f s; ratio = ROME / sqlite of the medians over rounds, paired = median over rounds of ROME / sqlite measured "
          "back to back; the bar: reads >= 0.8x, no failed write on ROME)" % (time.time() - t_start))
    print("glance-load ROME/sqlite: list %.2fx, get %.2fx (paired %.2fx, %.2fx), writes failed %s (rome) / %s "
          "(sqlite)" % (ratios["list"], ratios["get"], paired["list"], paired["get"],
             ("%d/%d" % (fr, nr)) if a.writes else "-", ("%d/%d" % (fs, ns)) if a.writes else "-"))


if __name__ == "__main__":
    main()

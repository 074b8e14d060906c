"""Glance on three sites over one etcd cluster, against the central database at one site.

Three "sites" on this machine, 25 ms one way between any two (loopback TCP delay proxies,
bench/delay_proxy.py; see bench/multisite_sites.py for the wiring): each site runs an etcd member and a
``rome glance serve --connection rome+etcd://<its member>/?endpoint=<the others>``. In the same run, the
usual central database: Glance + PostgreSQL 15 at site 1 and Glance + rome+redis at site 1, with a
Glance at each site reaching it through the same delay. The etcd leader is moved to site 1, so sites 2
and 3 are the non-leader sites (as they are the sites remote from the central database).

Phases:

1. latency: per database, site and operation, ``--samples`` timed requests per round, the databases in
   a different order each round (``--rounds``); a real HTTP client (requests), token auth
   ``X-Auth-Token: user:project:role``: GET one image, GET a list page (25), POST a new image, PATCH
   one (replace its name). p50 and p99 per cell.
2. round trips: at site 2, requests per operation counted at the proxies: to each etcd member's client
   port (the local member, the leader), and to the central database.
3. staleness: under write load (a writer creating images at site 1), an image is created at each site
   in turn and every site lists ``?name=<it>`` (a new connection per list, so any worker answers) until
   it shows; the time from the create's response until a list shows it, p50/p99 (an upper bound: the
   end of the first list that showed it).
4. partition: site 3 cut off (black hole, both ways) while writers run at sites 1 and 2. At site 3: a
   get and a list (served from its member on etcd), a create and an update (must fail within the
   store's bound, default 5 s). After healing: every acknowledged image at every site, the failed
   create nowhere, the failed update not applied.
5. lost site: everything at site 1 (the leader's and the central database's site) killed with
   SIGKILL while writers run at sites 2 and 3: how long until writes succeed again, and every image
   acknowledged before or after still there.

usage (the peers venv: Glance, gunicorn, psycopg2; PostgreSQL 15, etcd and redis-server installed):
    PYTHONPATH=. .peers-venv/bin/python bench/multisite.py [--quick] [--rounds R --samples N]
      [--backends etcd,postgres,redis] [--delay 0.025] [--budget SECONDS]
--quick: about 5 minutes; the full run about 10. Everything started is stopped at the end (and
on Ctrl-C). Last line: 'multisite: floors met' or 'multisite: N floor(s) missed' (exit status 1 with
--check when a floor is missed).
"""
import argparse
import concurrent.futures
import os
import random
import statistics
import sys
import threading
import time
import uuid

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from multisite_sites import BACKENDS, SITES, Sites  # noqa: E402

TOKEN = "alice:proj-a:member"
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
OPS = ("get", "list", "create", "update")
READS, WRITES = ("get", "list"), ("create", "update")
TIMEOUT = 30
LATENCY_LOAD = []   # the machine's 1-minute load average at the start and after each latency round


def session():
    s = requests.Session()
    s.headers["X-Auth-Token"] = TOKEN
    return s


def create(s, url, name, timeout=TIMEOUT, **props):
    body = {"name": name, "disk_format": "raw", "container_format": "bare"}
    body.update(props)
    return s.post(url + "/v2/images", json=body, timeout=timeout)


def rename(s, url, image_id, name, timeout=TIMEOUT):
    return s.patch(url + "/v2/images/" + image_id, headers={"Content-Type": PATCH_TYPE},
                   json=[{"op": "replace", "path": "/name", "value": name}], timeout=timeout)


def listed(url, query, timeout=TIMEOUT):
    """Images a list shows (a new connection: any worker may answer), or None on an error."""
    r = requests.get(url + "/v2/images?" + query, headers={"X-Auth-Token": TOKEN, "Connection": "close"},
                     timeout=timeout)
    return r.json()["images"] if r.status_code == 200 else None


def pct(values, q):
    v = sorted(values)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


class Cell:
    """One database at one site: its session, seeded ids, images it created."""

    def __init__(self, url, ids):
        self.url, self.ids = url, ids
        self.s = session()
        self.mine = []
        self.times = {op: [] for op in OPS}
        self.failed = {op: 0 for op in OPS}

    def run(self, op, rnd):
        t0 = time.perf_counter()
        if op == "get":
            r = self.s.get(self.url + "/v2/images/" + rnd.choice(self.ids), timeout=TIMEOUT)
            ok = r.status_code == 200
        elif op == "list":
            r = self.s.get(self.url + "/v2/images?limit=25", timeout=TIMEOUT)
            ok = r.status_code == 200 and len(r.json()["images"]) == 25
        elif op == "create":
            r = create(self.s, self.url, "ms-" + uuid.uuid4().hex[:12])
            ok = r.status_code == 201
            if ok:
                self.mine.append(r.json()["id"])
        else:
            r = rename(self.s, self.url, rnd.choice(self.mine or self.ids), "ms-up-" + uuid.uuid4().hex[:8])
            ok = r.status_code == 200
        dt = time.perf_counter() - t0
        if ok:
            self.times[op].append(dt)
        else:
            self.failed[op] += 1
        return dt


class Writer(threading.Thread):
    """Creates images at one site until stopped; records (time sent, time answered, ok, id)."""

    def __init__(self, url, tag, timeout=10):
        super().__init__(daemon=True)
        self.url, self.tag, self.timeout = url, tag, timeout
        self.done = []
        self.halt = threading.Event()

    def run(self):
        s = session()
        while not self.halt.is_set():
            t0 = time.time()
            try:
                r = create(s, self.url, "%s-%s" % (self.tag, uuid.uuid4().hex[:10]), timeout=self.timeout,
                           phase=self.tag)
                ok, image_id = r.status_code == 201, (r.json()["id"] if r.status_code == 201 else None)
            except requests.RequestException:
                ok, image_id = False, None
                s = session()
            self.done.append((t0, time.time(), ok, image_id))
            if not ok:
                time.sleep(0.1)

    def stop(self):
        self.halt.set()
        self.join(self.timeout + 5)
        return [d[3] for d in self.done if d[2]]


# --- phases ------------------------------------------------------------------------------------------

def seed(sites, backends, n):
    ids = {}
    for b in backends:
        s = session()
        ids[b] = []
        for i in range(n):
            r = create(s, sites.url(b, 1), "seed-%03d" % i)
            if r.status_code != 201:
                raise SystemExit("%s: seeding failed: %d %s" % (b, r.status_code, r.text[:300]))
            ids[b].append(r.json()["id"])
        for site in SITES:  # every site sees them before the gets start
            wait_visible(sites.url(b, site), "name=seed-%03d" % (n - 1), 1, 30)
    return ids


def wait_visible(url, query, count, bound, pause=0.05):
    """Seconds until a list ``query`` shows ``count`` images (None if not within ``bound``)."""
    return first_seen(url, query, count, bound, pause)[0]


def first_seen(url, query, count, bound, pause=0.0):
    """(seconds until the end of the first list ``query`` that shows ``count`` images or None, lists
    made)"""
    t0, lists = time.time(), 0
    while time.time() - t0 < bound:
        try:
            lists += 1
            got = listed(url, query, timeout=10)
            if got is not None and len(got) >= count:
                return time.time() - t0, lists
        except requests.RequestException:
            pass
        time.sleep(pause)
    return None, lists


def latency(sites, backends, ids, rounds, samples, deadline, log):
    cells = {(b, s): Cell(sites.url(b, s), ids[b]) for b in backends for s in SITES}
    rnd = random.Random(7)
    for c in cells.values():  # warm-up, not recorded: every worker imports Glance and compiles statements
        for op in OPS * (sites.workers + 1):
            c.run(op, rnd)
        c.times = {op: [] for op in OPS}
        c.failed = {op: 0 for op in OPS}
    took = 0.0
    cells_load = LATENCY_LOAD
    cells_load.append(os.getloadavg()[0])
    for r in range(rounds):
        if r and time.time() + took > deadline:  # the next round would not fit in the budget
            log("latency: budget reached after %d round(s)" % r)
            break
        t0 = time.time()
        order = backends[r % len(backends):] + backends[:r % len(backends)]
        for b in order:
            for site in SITES:
                for _ in range(samples):
                    for op in OPS:
                        cells[b, site].run(op, rnd)
        took = time.time() - t0
        cells_load.append(os.getloadavg()[0])
        log("latency: round %d/%d done in %.0f s (%s), load average %.1f"
            % (r + 1, rounds, took, ", ".join(order), cells_load[-1]))
    return cells


def round_trips(sites, backends, ids, site, reps=5):
    """Median requests per op at ``site``, per proxy (etcd members' client ports, the central DB), and
    for etcd the kinds of request (HTTP request line) of the median op."""
    rnd = random.Random(3)
    out = {}
    for b in backends:
        cell = Cell(sites.url(b, site), ids[b])
        names = (["s%d-etcd%d" % (site, m) for m in SITES] if b == "etcd" else ["s%d-%s" % (site, b)])
        for op in OPS:
            counts = {n: [] for n in names}
            kinds = []
            for _ in range(reps):
                before = sites.hub.stats()
                cell.run(op, rnd)
                after = sites.hub.stats()
                for n in names:
                    counts[n].append(after[n]["requests"] - before[n]["requests"])
                total = sum(after[n]["requests"] - before[n]["requests"] for n in names)
                kinds.append((total, {"%s@%s" % (k, n[-1]): v - before[n]["kinds"].get(k, 0)
                                      for n in names for k, v in after[n]["kinds"].items()
                                      if v - before[n]["kinds"].get(k, 0)}))
            out[b, op] = {n: statistics.median(v) for n, v in counts.items()}
            out[b, op, "kinds"] = sorted(kinds, key=lambda x: x[0])[len(kinds) // 2][1]
    return out


def staleness(sites, backends, probes, deadline, log):
    """{(backend, site): [seconds from a create's response until a list there shows it]}"""
    out = {(b, s): [] for b in backends for s in SITES}
    for b in backends:
        load = Writer(sites.url(b, 1), "load")
        load.start()
        try:
            with concurrent.futures.ThreadPoolExecutor(len(SITES)) as pool:
                for i in range(probes):
                    if i >= len(SITES) and time.time() > deadline:  # at least one probe per origin
                        log("staleness: budget reached")
                        break
                    origin = SITES[i % len(SITES)]
                    name = "st-" + uuid.uuid4().hex[:12]
                    r = create(session(), sites.url(b, origin), name)
                    if r.status_code != 201:
                        continue
                    seen = pool.map(lambda s: first_seen(sites.url(b, s), "name=" + name, 1, 10), SITES)
                    for s, (t, lists) in zip(SITES, seen):
                        out[b, s].append(float("inf") if t is None else t)
                        out[b, s, "first"] = out.get((b, s, "first"), 0) + (lists == 1 and t is not None)
        finally:
            writes = len(load.stop())
        log("staleness %s: %d probes, %d writes of load meanwhile" % (b, len(out[b, SITES[0]]), writes))
    return out


def probe(fn):
    """(status or exception name, seconds)"""
    t0 = time.time()
    try:
        r = fn()
        return r.status_code, time.time() - t0
    except requests.RequestException as e:
        return type(e).__name__, time.time() - t0


def partition(sites, backends, ids, log, cut_for=4.0, heal_bound=60):
    res = {}
    writers = {(b, s): Writer(sites.url(b, s), "part") for b in backends for s in (1, 2)}
    for w in writers.values():
        w.start()
    time.sleep(1.0)
    sites.cut(3)
    t_cut = time.time()
    names = {b: "cut-" + uuid.uuid4().hex[:10] for b in backends}
    target = {b: ids[b][0] for b in backends}

    def at3(job):
        b, op = job
        url, s = sites.url(b, 3), session()
        return probe({
            "get": lambda: s.get(url + "/v2/images/" + target[b], timeout=10),
            "list": lambda: s.get(url + "/v2/images?limit=25", timeout=10),
            "create": lambda: create(s, url, names[b], timeout=15),
            "update": lambda: rename(s, url, target[b], names[b] + "-up", timeout=15),
        }[op])

    jobs = [(b, op) for b in backends for op in OPS]  # all at once: a hung one costs its timeout once
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        for (b, op), r in zip(jobs, pool.map(at3, jobs)):
            res.setdefault(b, {"at3": {}})["at3"][op] = r
    time.sleep(max(0.0, cut_for - (time.time() - t_cut)))
    acked = {b: writers[b, 1].stop() + writers[b, 2].stop() for b in backends}
    for b in backends:
        res[b]["writes_during"] = sum(1 for s in (1, 2) for d in writers[b, s].done if d[0] >= t_cut and d[2])
        res[b]["failed_during"] = sum(1 for s in (1, 2) for d in writers[b, s].done if d[0] >= t_cut and not d[2])
    sites.heal()
    log("partition: site 3 cut for %.1f s, healed" % (time.time() - t_cut))
    for b in backends:
        n = len(acked[b])
        res[b]["acked"] = n
        res[b]["caught_up"] = wait_visible(sites.url(b, 3), "phase=part&limit=1000", n, heal_bound)
        missing = 0
        for site in SITES:
            got = listed(sites.url(b, site), "phase=part&limit=1000") or []
            missing += len(set(acked[b]) - {i["id"] for i in got})
        res[b]["lost"] = missing
        created = res[b]["at3"]["create"][0] == 201
        stray = listed(sites.url(b, 1), "name=" + names[b]) or []
        res[b]["stray"] = 0 if created else len(stray)
        r = session().get(sites.url(b, 1) + "/v2/images/" + target[b], timeout=TIMEOUT)
        updated = res[b]["at3"]["update"][0] == 200
        res[b]["update_leaked"] = (not updated) and r.status_code == 200 and r.json()["name"] == names[b] + "-up"
    return res


def images_across_sites(sites, log, size=1 << 20, bound=60):
    """Upload at site 2 (its own store), download at site 3 (no access to site 2's store), copy-image to
    site 3's store from site 1 (which has every site's store), download again at site 3."""
    res = {}
    data = os.urandom(size)
    s2, s3, s1 = (sites.url("etcd", k) for k in (2, 3, 1))
    s = session()
    r = create(s, s2, "across-" + uuid.uuid4().hex[:8])
    image_id = r.json()["id"]
    r = s.put(s2 + "/v2/images/%s/file" % image_id, data=data,
              headers={"Content-Type": "application/octet-stream"}, timeout=120)
    res["upload at site 2"] = r.status_code
    res["stores after upload"] = s.get(s2 + "/v2/images/" + image_id, timeout=TIMEOUT).json().get("stores")
    t0 = time.time()
    while time.time() - t0 < bound and s.get(s3 + "/v2/images/" + image_id,
                                             timeout=TIMEOUT).json().get("status") != "active":
        time.sleep(0.05)
    t = time.time() - t0
    r = s.get(s3 + "/v2/images/%s/file" % image_id, timeout=TIMEOUT)
    res["download at site 3 before the copy"] = "%d%s" % (r.status_code, " (same bytes)" if r.content == data
                                                           else "")
    admin = requests.Session()
    admin.headers["X-Auth-Token"] = "root:admin:admin"
    t0 = time.time()
    r = admin.post(s1 + "/v2/images/%s/import" % image_id, timeout=TIMEOUT,
                   json={"method": {"name": "copy-image"}, "stores": ["site3"]})
    res["copy-image to site3, asked at site 1"] = r.status_code
    stores = None
    while time.time() - t0 < bound:
        stores = s.get(s3 + "/v2/images/" + image_id, timeout=TIMEOUT).json().get("stores", "")
        if "site3" in stores.split(","):
            break
        time.sleep(0.3)
    res["stores seen at site 3 after the copy"] = "%s (after %.1f s)" % (stores, time.time() - t0)
    r = s.get(s3 + "/v2/images/%s/file" % image_id, timeout=TIMEOUT)
    res["download at site 3 after the copy"] = "%d%s" % (r.status_code, " (same bytes)" if r.content == data
                                                          else "")
    log("images across sites: done (active at site 3 after %.1f s)" % t)
    return res


def lost_site(sites, backends, log, run_for=15.0):
    """Everything at site 1 killed while writers run at sites 2 and 3. Checked after: every image the
    partition's writers and these writers had acknowledged, listed at both survivors (property
    filters: a list of everything would take long on a busy machine)."""
    res = {}
    before = {b: {i["id"] for i in listed(sites.url(b, 2), "phase=part&limit=1000", timeout=60) or ()}
              for b in backends}
    writers = {(b, s): Writer(sites.url(b, s), "lost", timeout=5) for b in backends for s in (2, 3)}
    for w in writers.values():
        w.start()
    time.sleep(1.0)
    leader = sites.leader_site() if "etcd" in backends else 1
    sites.lose(1)
    t_kill = time.time()
    log("lost site: site 1 killed (etcd leader was at site %s)" % leader)
    time.sleep(run_for)
    for b in backends:
        acked = writers[b, 2].stop() + writers[b, 3].stop()
        back = []
        for s in (2, 3):
            ok_after = [d[1] - t_kill for d in writers[b, s].done if d[0] > t_kill and d[2]]
            back.append(min(ok_after) if ok_after else None)
        missing = None
        if all(t is not None for t in back):  # the database still answers at both
            missing = 0
            for s in (2, 3):
                seen = set()
                for phase in ("part", "lost"):
                    seen |= {i["id"] for i in listed(sites.url(b, s), "phase=%s&limit=1000" % phase,
                                                     timeout=60) or ()}
                missing += len((before[b] | set(acked)) - seen)
        res[b] = {"back": back, "acked": len(acked), "lost": missing}
    return res


# --- report ---------------------------------------------------------------------------------------

def ms(x):
    return "-" if x != x or x is None else ("inf" if x == float("inf") else "%.0f" % (x * 1000))


def report(a, backends, cells, trips, stale, part, lost):
    rtt = 2 * a.delay
    floors = []
    print()
    n = min(len(c.times[op]) + c.failed[op] for c in cells.values() for op in OPS)
    print("LATENCY, ms p50/p99 per request (%d ms one way between sites; %d samples per cell; "
          "etcd leader and central databases at site 1; load average %s on %d cores meanwhile: the "
          "bench's own servers idle but for the one request measured)"
          % (a.delay * 1000, n, "-".join("%.1f" % x for x in LATENCY_LOAD), os.cpu_count()))
    print("%-7s %-5s" % ("op", "site") + "".join("%18s" % b for b in backends)
          + ("%16s" % "etcd/postgres" if "etcd" in backends and "postgres" in backends else ""))
    for op in OPS:
        for site in SITES:
            row = "%-7s %-5d" % (op, site)
            for b in backends:
                t = cells[b, site].times[op]
                f = cells[b, site].failed[op]
                row += "%18s" % ("%s/%s%s" % (ms(pct(t, .5)), ms(pct(t, .99)), " (%d err)" % f if f else ""))
            if "etcd" in backends and "postgres" in backends:
                e, p = cells["etcd", site].times[op], cells["postgres", site].times[op]
                ratio = statistics.median(e) / statistics.median(p) if e and p else float("nan")
                row += "%15.2fx" % ratio
            print(row)
    print("added by distance, ms: p50 at the site - p50 at site 1 (where the etcd leader and the central "
          "databases are; what remains at site 1 is Glance's and the engine's own time on this machine)")
    for op in OPS:
        print("%-7s " % op + "  ".join(
            "%s: %s" % (b, " ".join("site %d %+.0f" % (site, 1000 * (pct(cells[b, site].times[op], .5)
                                                              - pct(cells[b, 1].times[op], .5)))
                                    for site in SITES[1:])) for b in backends))
    if "etcd" in backends:
        for site in SITES[1:]:
            for op in OPS:
                t = cells["etcd", site].times[op]
                bound = rtt if op in READS else 2.5 * rtt
                if not t or pct(t, .5) >= bound:
                    floors.append("etcd %s at site %d: p50 %s ms, floor < %.0f ms"
                                  % (op, site, ms(pct(t, .5)), bound * 1000))
                if "postgres" in backends:
                    p = cells["postgres", site].times[op]
                    if not t or not p or statistics.median(t) >= statistics.median(p):
                        floors.append("etcd %s at site %d: p50 %s ms, not faster than postgres %s ms"
                                      % (op, site, ms(pct(t, .5)), ms(pct(p, .5))))
    if trips:
        print()
        print("ROUND TRIPS per request at site %d (median, client requests counted at the proxies)" % a.trips_site)
        for b in backends:
            for op in OPS:
                c = trips[b, op]
                if b == "etcd":
                    parts = ", ".join("member %s%s %g" % (n[-1], " (local)" if n[-1] == str(a.trips_site)
                                                          else " (leader)" if n[-1] == "1" else "", v)
                                      for n, v in sorted(c.items()))
                    parts += "; " + ", ".join("%s x%d" % kv for kv in sorted(trips[b, op, "kinds"].items()))
                else:
                    parts = "%s at site 1: %g" % (b, sum(c.values()))
                print("  %-8s %-7s %s" % (b, op, parts))
    if stale:
        print()
        print("STALENESS: ms from a create's response until a list at the site shows it, p50/p99 "
              "(under write load; an upper bound: the end of the first list that shows it), and how many "
              "probes the first list made at once showed")
        print("%-5s" % "site" + "".join("%22s" % b for b in backends))
        for site in SITES:
            print("%-5d" % site + "".join("%22s" % ("%s/%s %d/%d" % (ms(pct(stale[b, site], .5)),
                                                                    ms(pct(stale[b, site], .99)),
                                                                    stale.get((b, site, "first"), 0),
                                                                    len(stale[b, site])))
                                         for b in backends))
    if part:
        print()
        print("PARTITION: site 3 cut off (both ways), writers at sites 1-2; at site 3: status, seconds")
        for b in backends:
            r = part[b]
            at3 = "  ".join("%s %s %.1fs" % (op, st, t) for op, (st, t) in r["at3"].items())
            print("  %-8s %s" % (b, at3))
            print("  %-8s writes at sites 1-2 during the cut: %d ok, %d failed; after healing: site 3 caught up "
                  "in %s s, acknowledged lost %d of %d, failed create left %d image(s), failed update applied: %s"
                  % ("", r["writes_during"], r["failed_during"],
                     "%.1f" % r["caught_up"] if r["caught_up"] is not None else "never",
                     r["lost"], r["acked"], r["stray"], r["update_leaked"]))
        if "etcd" in part:
            r = part["etcd"]
            for op in READS:
                if r["at3"][op][0] != 200:
                    floors.append("etcd partition: %s at site 3 answered %s" % (op, r["at3"][op][0]))
            for op in WRITES:
                st, t = r["at3"][op]
                if not (isinstance(st, int) and st >= 500 and t <= a.write_bound):
                    floors.append("etcd partition: %s at site 3: %s after %.1f s (want an error within %g s)"
                                  % (op, st, t, a.write_bound))
            if r["lost"] or r["stray"] or r["update_leaked"] or r["caught_up"] is None:
                floors.append("etcd partition: lost %s, stray %s, update leaked %s, caught up %s"
                              % (r["lost"], r["stray"], r["update_leaked"], r["caught_up"]))
    if lost:
        print()
        print("LOST SITE: site 1 killed (SIGKILL: etcd leader, central databases, its Glance); writers at sites 2-3")
        for b in backends:
            r = lost[b]
            back = ", ".join("site %d %s" % (s, "writes back after %.1f s" % t if t is not None else "no write")
                             for s, t in zip((2, 3), r["back"]))
            print("  %-8s %s; acknowledged %d, lost %s" % (b, back, r["acked"],
                                                            "-" if r["lost"] is None else r["lost"]))
        if "etcd" in lost:
            r = lost["etcd"]
            if any(t is None for t in r["back"]) or r["lost"]:
                floors.append("etcd lost site: writes back %s, lost %s" % (r["back"], r["lost"]))
    floors += ["phase failed: " + f for f in FAILED_PHASES]
    print()
    for f in floors:
        print("MISSED FLOOR:", f)
    return floors


FAILED_PHASES = []


def phase(log, name, fn, *args, **kw):
    """fn's result, or None (logged, and reported as a missed floor) if it failed: the other phases'
    figures are still reported."""
    try:
        return fn(*args, **kw)
    except Exception as e:
        log("%s: FAILED: %r" % (name, e))
        FAILED_PHASES.append("%s: %r" % (name, e))
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds x 3 samples, 3 probes, 1 worker per Glance (~5 min)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--samples", type=int, default=6, help="per round, database, site and op")
    ap.add_argument("--probes", type=int, default=9, help="staleness probes per database")
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--delay", type=float, default=0.025, help="seconds one way between sites")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers per Glance")
    ap.add_argument("--write-bound", type=float, default=5.0,
                    help="seconds a cut-off write may take over HTTP (the store's 4 s, with Glance's time)")
    ap.add_argument("--trips-site", type=int, default=2)
    ap.add_argument("--budget", type=float, default=420,
                    help="seconds for the phases after start-up (latency and staleness stop early)")
    ap.add_argument("--skip", default="", help="phases to skip: trips,staleness,images,partition,lost")
    ap.add_argument("--check", action="store_true", help="exit status 1 when a floor is missed")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.samples, a.probes, a.workers, a.budget = 2, 3, 3, 1, min(a.budget, 180)
    backends = tuple(b for b in a.backends.split(",") if b)
    if not set(backends) <= set(BACKENDS) or not (0 <= a.delay <= 0.5 and 1 <= a.rounds <= 20
                                                  and 1 <= a.samples <= 200 and 30 <= a.budget <= 900):
        raise SystemExit("bounds: backends of %s, delay 0..0.5 s, rounds 1..20, samples 1..200, budget 30..900 s"
                         % ",".join(BACKENDS))
    skip = set(a.skip.split(","))
    t_start = time.time()

    def log(msg):
        print("[%5.0fs] %s" % (time.time() - t_start, msg), flush=True)

    sites = Sites(backends, delay=a.delay, workers=a.workers, seconds=a.budget + 600, log=log)
    trips = stale = part = lost = across = None
    try:
        sites.start()
        ids = seed(sites, backends, 30)
        log("seeded 30 images per database, visible at every site")
        t0 = time.time()  # the budget is for the phases; start-up is bounded by each server's own timeout
        cells = latency(sites, backends, ids, a.rounds, a.samples, t0 + 0.65 * a.budget, log)
        if "trips" not in skip:
            trips = round_trips(sites, backends, ids, a.trips_site)
        if "staleness" not in skip:
            stale = staleness(sites, backends, a.probes, t0 + 0.8 * a.budget, log)
        if "images" not in skip and "etcd" in backends:
            across = phase(log, "images across sites", images_across_sites, sites, log)
        if "partition" not in skip:
            if "etcd" in backends:
                sites.move_leader(1)
            part = phase(log, "partition", partition, sites, backends, ids, log)
        if "lost" not in skip:
            if "etcd" in backends:
                sites.move_leader(1)  # (a partition's end may have moved it)
            lost = phase(log, "lost site", lost_site, sites, backends, log, run_for=10.0 if a.quick else 15.0)
    finally:
        log("stopping everything")
        sites.stop()
    floors = report(a, backends, cells, trips, stale, part, lost)
    if across:
        print("IMAGES ACROSS SITES (etcd; a filesystem store per site, Glance's multiple stores, copy-image):")
        for k, v in across.items():
            print("  %-40s %s" % (k, v))
    print("(%.0f s; load average %.1f on %d cores at the end)" % (time.time() - t_start, os.getloadavg()[0],
                                                                   os.cpu_count()))
    print("multisite: %s" % ("floors met" if not floors else "%d floor(s) missed" % len(floors)))
    return 1 if floors and a.check else 0


if __name__ == "__main__":
    raise SystemExit(main())

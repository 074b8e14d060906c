"""Three sites on one machine for bench/multisite.py: an etcd member per site joined through delay
proxies, the central peers (PostgreSQL, redis-server) at site 1, and a ``rome glance serve`` per site and
database, each reaching its database through the proxies of its site.

Addresses (loopback only, free ports):

- etcd member m's peer port is reached by every other member through proxy ``peer-m`` (DELAY each way);
  its client port, from site s, through ``s{s}-etcd{m}`` (no delay when s == m, DELAY otherwise). The
  Glance of site s names its own member first, the others as failover endpoints.
- PostgreSQL and redis-server run at site 1; sites 2 and 3 reach them through ``s{s}-pg`` / ``s{s}-redis``.

Everything started here is stopped by ``stop()`` (members, servers, the proxy hub, PostgreSQL's
throwaway cluster), and the temporary folder is removed.
"""
import concurrent.futures
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))  # etcd_cluster.py, redis_server.py

from delay_proxy import ProxyHub  # noqa: E402
from glance_load import Server, free_port  # noqa: E402

SITES = (1, 2, 3)
BACKENDS = ("etcd", "postgres", "redis")
PG_BIN = "/usr/lib/postgresql/15/bin"


class Postgres:
    """A throwaway PostgreSQL cluster (initdb, pg_ctl) owned by the ``postgres`` user, on 127.0.0.1 only,
    no system service; trust authentication (loopback, a bench)."""

    def __init__(self, directory, user="postgres"):
        self.dir, self.user = directory, user
        self.port = free_port()
        self.started = False

    def _run(self, *args):
        return subprocess.run(["runuser", "-u", self.user, "--", *args], check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=120)

    def start(self):
        if not os.path.exists(os.path.join(PG_BIN, "initdb")):
            raise SystemExit("PostgreSQL 15 is not installed (Debian: apt-get install postgresql)")
        pw = pwd.getpwnam(self.user)
        os.makedirs(self.dir)
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.dir, "data")
        self._run(os.path.join(PG_BIN, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        self._run(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-l", os.path.join(self.dir, "pg.log"), "-w",
                  "-o", "-p %d -k %s -c listen_addresses=127.0.0.1" % (self.port, self.dir), "start")
        self.started = True
        self._run(os.path.join(PG_BIN, "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "glance")
        return self

    def kill(self):
        """SIGKILL the postmaster (a lost site); stop() still cleans up."""
        try:
            with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
                os.kill(int(f.readline()), signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def stop(self):
        if self.started:
            self.started = False
            subprocess.run(["runuser", "-u", self.user, "--", os.path.join(PG_BIN, "pg_ctl"), "-D",
                            os.path.join(self.dir, "data"), "-m", "immediate", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


class Sites:
    """The deployment: ``start()`` builds it, ``url[backend][site]`` is the Glance API of that site."""

    def __init__(self, backends=BACKENDS, delay=0.025, workers=2, heartbeat_ms=150, election_ms=1500,
                 seconds=900, log=print):
        self.backends, self.delay, self.workers = tuple(backends), delay, workers
        self.heartbeat_ms, self.election_ms = heartbeat_ms, election_ms
        self.log = log
        self.top = tempfile.mkdtemp(prefix="rome-multisite-")
        os.chmod(self.top, 0o711)  # PostgreSQL's folder inside is owned by the postgres user
        self.hub = ProxyHub(seconds=seconds)
        self.cluster = self.pg = self.redis = None
        self.servers = {}   # (backend, site) -> Server
        self.ports = {}     # proxy name -> port

    # -- building

    def _proxy(self, name, target, delay):
        self.ports[name] = self.hub.add(name, target, delay)
        return self.ports[name]

    def _etcd(self):
        from etcd_cluster import EtcdCluster
        peer_ports = [free_port() for _ in SITES]
        advertise = {}
        for m, port in enumerate(peer_ports):
            advertise[m] = "127.0.0.1:%d" % self._proxy("peer-%d" % (m + 1), port, self.delay)
        from etcd_cluster import MAX_REQUEST_BYTES, MAX_TXN_OPS
        self.cluster_limits = (MAX_TXN_OPS, MAX_REQUEST_BYTES)  # the cluster's flags, told to the store
        self.cluster = EtcdCluster(os.path.join(self.top, "etcd"), members=len(SITES),
                                   heartbeat_ms=self.heartbeat_ms, election_ms=self.election_ms,
                                   peer_ports=peer_ports, peer_advertise=advertise,
                                   # a member back from a partition must not depose the leader
                                   extra=("--pre-vote=true",))
        for s in SITES:
            for m in SITES:
                self._proxy("s%d-etcd%d" % (s, m), self.cluster.client_ports[m - 1], 0 if s == m else self.delay)
        self.cluster.start(timeout=60)
        self.move_leader(1)

    def etcd_url(self, site):
        others = "&".join("endpoint=127.0.0.1:%d" % self.ports["s%d-etcd%d" % (site, m)]
                          for m in SITES if m != site)
        return ("rome+etcd://127.0.0.1:%d/?%s&prefix=glance&max_txn_ops=%d&max_request_bytes=%d"
                % (self.ports["s%d-etcd%d" % (site, site)], others, self.cluster_limits[0], self.cluster_limits[1]))

    def _central(self, backend, site):
        """The URL of the database at site 1, from ``site`` (through its proxy unless at site 1)."""
        port = self.pg.port if backend == "postgres" else self.redis.port
        if site != 1:
            port = self.ports.get("s%d-%s" % (site, backend)) or self._proxy("s%d-%s" % (site, backend), port,
                                                                             self.delay)
        if backend == "postgres":
            return "postgresql+psycopg2://postgres@127.0.0.1:%d/glance" % port
        return "rome+redis://127.0.0.1:%d/0?prefix=glance" % port

    def _stores_conf(self, folder, site):
        """Glance's multiple stores as in a distributed (edge) layout: one filesystem store per site,
        named site1..3; site 1 (central) configures every site's store, sites 2 and 3 their own and the
        central one. An image's data is where its ``stores`` property says; the copy-image import, run
        where both stores are configured, adds a copy."""
        names = SITES if site == 1 else (1, site)
        lines = ["[DEFAULT]", "enabled_backends = " + ", ".join("site%d:file" % k for k in names), "",
                 "[glance_store]", "default_backend = site%d" % site, ""]
        for k in names:
            lines += ["[site%d]" % k, "filesystem_store_datadir = %s" % os.path.join(self.top, "stores",
                                                                                    "site%d" % k), ""]
        path = os.path.join(folder, "stores.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines))
        return path

    def connection(self, backend, site):
        return self.etcd_url(site) if backend == "etcd" else self._central(backend, site)

    def start(self):
        self.hub.start()
        if "etcd" in self.backends:
            self._etcd()
            self.log("etcd: 3 members, leader at site %d; peers through %d ms delay proxies"
                     % (self.leader_site(), self.delay * 1000))
        if "postgres" in self.backends:
            self.pg = Postgres(os.path.join(self.top, "pg")).start()
        if "redis" in self.backends:
            from redis_server import RedisServer
            self.redis = RedisServer(os.path.join(self.top, "redis")).start()
        for b in self.backends:
            for s in SITES:
                folder = os.path.join(self.top, "%s-site%d" % (b, s))
                os.makedirs(folder)
                extra = ["--glance-config", self._stores_conf(folder, s)] if b == "etcd" else []
                self.servers[b, s] = Server("%s@site%d" % (b, s), folder, self.connection(b, s), self.workers,
                                            extra)
        # site 1 first (its start creates the schema, as glance-manage db sync does), then the others
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(len(self.backends) * 2) as pool:
            list(pool.map(lambda b: self.servers[b, 1].start(), self.backends))
            list(pool.map(lambda k: self.servers[k].start(), [(b, s) for b in self.backends for s in SITES[1:]]))
        self.log("glance: %d servers up in %.0f s (%d workers each)" % (len(self.servers), time.time() - t0,
                                                                       self.workers))
        return self

    def url(self, backend, site):
        return self.servers[backend, site].url

    # -- etcd membership

    def member_status(self, site):
        return self.cluster.status(site - 1)

    def leader_site(self):
        i = self.cluster.leader()
        return None if i is None else i + 1

    def move_leader(self, site, timeout=20):
        """Make ``site``'s member the leader (etcd's transfer-leadership, sent to the current leader)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            leader = self.leader_site()
            if leader == site:
                return
            if leader is not None:
                target = self.member_status(site)["header"]["member_id"]
                req = urllib.request.Request("http://%s/v3/maintenance/transfer-leadership"
                                             % self.cluster.endpoint(leader - 1),
                                             data=json.dumps({"targetID": target}).encode(), method="POST")
                try:
                    urllib.request.urlopen(req, timeout=10).read()
                except OSError:
                    pass
            time.sleep(0.3)
        raise RuntimeError("could not move the etcd leader to site %d" % site)

    # -- faults

    def cut(self, site):
        """Cut ``site`` off: its member's peer traffic both ways, and its proxies to other sites."""
        names = ["peer-%d" % site] + [n for n in self.ports if n.startswith("s%d-" % site)
                                      and n != "s%d-etcd%d" % (site, site)]
        pids = []
        if self.cluster is not None and self.cluster.procs[site - 1] is not None:
            pids.append(self.cluster.procs[site - 1].pid)
        self.hub.cut(names=names, pids=pids)

    def heal(self):
        self.hub.heal()

    def lose(self, site):
        """SIGKILL everything at ``site``: its etcd member, its Glance servers, and at site 1 the central
        databases."""
        for b in self.backends:
            srv = self.servers.get((b, site))
            if srv is not None and srv.proc is not None:
                try:
                    os.killpg(srv.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.cluster is not None:
            self.cluster.kill(site - 1)
        if site == 1:
            if self.pg is not None:
                self.pg.kill()
            if self.redis is not None and self.redis.proc is not None:
                self.redis.proc.kill()

    # -- teardown

    def stop(self):
        def stop_server(srv):
            try:
                srv.stop()
            except Exception as e:  # keep stopping the rest
                self.log("stopping %s: %r" % (srv.name, e))
        with concurrent.futures.ThreadPoolExecutor(max(1, len(self.servers))) as pool:
            list(pool.map(stop_server, self.servers.values()))  # each may wait out its graceful timeout
        for part in (self.cluster, self.pg, self.redis, self.hub):
            if part is not None:
                try:
                    part.stop()
                except Exception as e:
                    self.log("stopping %r: %r" % (part, e))
        shutil.rmtree(self.top, ignore_errors=True)

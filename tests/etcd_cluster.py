"""A throwaway etcd cluster for tests and benches: N members on free loopback ports, data in a temporary
directory, members stopped, killed, paused (cut off) and restarted on demand.

    with EtcdCluster(tmpdir, members=3) as cluster:
        url = cluster.url(prefix="t1")     # rome+etcd://127.0.0.1:P1/?endpoint=127.0.0.1:P2&...&prefix=t1
        cluster.kill(cluster.leader())     # SIGKILL, as a crash
        cluster.start_member(i)            # back, same ports and data

Options: ``max_txn_ops`` / ``max_request_bytes`` (etcd's --max-txn-ops / --max-request-bytes, raised by
default here as docs/etcd.md advises), ``heartbeat_ms`` / ``election_ms`` (raise them for slow links),
``peer_ports`` (fixed peer ports, e.g. behind delay proxies: ``peer_advertise`` maps member -> the
host:port the others reach it at), ``tls`` (a dict of cert_file, key_file, trusted_ca_file: clients
then speak https).

Command line: ``python tests/etcd_cluster.py [--members N] [--env NAME=VALUE ...] -- COMMAND...`` runs
COMMAND with a cluster; ``{port}`` is the first member's client port and ``{endpoints}`` the others as
``endpoint=127.0.0.1:P&endpoint=...`` (scripts/test.sh runs the rome+etcd suites so).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

BINARY = shutil.which("etcd") or next(
    (p for p in ("/usr/bin/etcd", "/usr/local/bin/etcd") if os.path.exists(p)), None)
MAX_TXN_OPS = 10000
MAX_REQUEST_BYTES = 8 * 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EtcdCluster:
    def __init__(self, directory, members=3, max_txn_ops=MAX_TXN_OPS, max_request_bytes=MAX_REQUEST_BYTES,
                 heartbeat_ms=50, election_ms=500, peer_ports=None, peer_advertise=None, tls=None, extra=()):
        if BINARY is None:
            raise RuntimeError("etcd is not installed (Debian: apt-get install etcd-server)")
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.n = members
        self.client_ports = [free_port() for _ in range(members)]
        self.peer_ports = list(peer_ports) if peer_ports else [free_port() for _ in range(members)]
        self.peer_advertise = peer_advertise or {}
        self.limits = {"max_txn_ops": max_txn_ops, "max_request_bytes": max_request_bytes}
        self.opts = ["--max-txn-ops", str(max_txn_ops), "--max-request-bytes", str(max_request_bytes),
                     "--heartbeat-interval", str(heartbeat_ms), "--election-timeout", str(election_ms),
                     *extra]
        self.tls = tls
        self.procs = [None] * members
        self.started = [False] * members

    # -- addresses

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    def endpoint(self, i):
        return "127.0.0.1:%d" % self.client_ports[i]

    def url(self, prefix=None, first=0, scheme=None, **options):
        """The rome+etcd URL with member ``first`` preferred and the others as failover endpoints, and
        the cluster's limits (unless ``options`` say otherwise)."""
        scheme = scheme or ("rome+etcds" if self.tls else "rome+etcd")
        options = dict(self.limits, **options)
        q = ["endpoint=%s" % self.endpoint(i) for i in range(self.n) if i != first]
        if prefix:
            q.append("prefix=%s" % prefix)
        q += ["%s=%s" % kv for kv in options.items()]
        return "%s://%s/?%s" % (scheme, self.endpoint(first), "&".join(q))

    def _peer(self, i):
        return self.peer_advertise.get(i, "127.0.0.1:%d" % self.peer_ports[i])

    # -- lifecycle

    def start_member(self, i, wait=True):
        name = "m%d" % i
        cluster = ",".join("m%d=http://%s" % (j, self._peer(j)) for j in range(self.n))
        client = "%s://%s" % (self.scheme, self.endpoint(i))
        args = [BINARY, "--name", name, "--data-dir", os.path.join(self.dir, name),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer_ports[i],
                "--initial-advertise-peer-urls", "http://%s" % self._peer(i),
                "--initial-cluster", cluster, "--initial-cluster-token", "rome-test",
                "--initial-cluster-state", "existing" if self.started[i] else "new",
                "--logger", "zap", "--log-outputs", os.path.join(self.dir, name + ".log"),
                *self.opts]
        if self.tls:
            args += ["--cert-file", self.tls["cert_file"], "--key-file", self.tls["key_file"]]
            if self.tls.get("trusted_ca_file"):
                args += ["--trusted-ca-file", self.tls["trusted_ca_file"]]
        self.procs[i] = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        self.started[i] = True
        if wait:
            self.wait_member(i)

    def wait_member(self, i, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.procs[i].poll() is not None:
                raise RuntimeError("etcd member %d exited (see %s/m%d.log)" % (i, self.dir, i))
            if self.status(i) is not None:
                return
            time.sleep(0.05)
        raise RuntimeError("etcd member %d did not start (see %s/m%d.log)" % (i, self.dir, i))

    def start(self, timeout=30):
        for i in range(self.n):
            self.start_member(i, wait=False)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.leader() is not None and all(self.status(i) for i in range(self.n)):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("etcd cluster did not elect a leader (see %s/*.log)" % self.dir)

    def status(self, i, timeout=1.0):
        """The member's /v3/maintenance/status reply, or None if it does not answer."""
        if self.procs[i] is None or self.procs[i].poll() is not None:
            return None
        try:
            req = urllib.request.Request("%s://%s/v3/maintenance/status" % (self.scheme, self.endpoint(i)),
                                         data=b"{}", method="POST")
            ctx = None
            if self.tls:
                import ssl
                ctx = ssl.create_default_context(cafile=self.tls.get("ca_file"))
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return None

    def leader(self):
        """The index of the member that is leader, or None."""
        for i in range(self.n):
            st = self.status(i)
            if st and st.get("leader") == st.get("header", {}).get("member_id"):
                return i
        return None

    def wait_leader(self, timeout=15, exclude=()):
        deadline = time.time() + timeout
        while time.time() < deadline:
            i = self.leader()
            if i is not None and i not in exclude:
                return i
            time.sleep(0.05)
        raise RuntimeError("no etcd leader within %ss" % timeout)

    def kill(self, i):
        """SIGKILL member i (a crash); start_member(i) brings it back with its data."""
        proc, self.procs[i] = self.procs[i], None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def pause(self, i):
        """SIGSTOP member i: it neither answers nor fails, as a member behind a network cut."""
        self.procs[i].send_signal(signal.SIGSTOP)

    def resume(self, i):
        self.procs[i].send_signal(signal.SIGCONT)

    def stop(self):
        for i, proc in enumerate(self.procs):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
        for i, proc in enumerate(self.procs):
            if proc is not None:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self.procs[i] = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class FaultProxy:
    """A TCP proxy on a free loopback port in front of ``target`` (host, port), for network faults a
    test controls: ``drop_replies(n)`` forwards the next n requests but closes the client's connection
    instead of passing their replies back (a reply lost after the server acted); ``cut()`` holds every
    byte in both directions (a partition: connections neither answer nor fail), ``heal()`` ends it."""

    def __init__(self, target):
        import threading
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._drop = 0
        self._lock = threading.Lock()
        self._open = threading.Event()
        self._open.set()
        self._closed = False
        self._conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.port

    def drop_replies(self, n=1):
        with self._lock:
            self._drop = n

    def cut(self):
        self._open.clear()

    def heal(self):
        self._open.set()

    def _accept(self):
        import threading
        while not self._closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            self._conns += [client, server]
            state = {"dropping": False}
            threading.Thread(target=self._pump, args=(client, server, state, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, state, False), daemon=True).start()

    def _pump(self, src, dst, state, upstream):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self._open.wait()
                if upstream:
                    with self._lock:
                        if self._drop and (b"POST" in data[:8]):
                            self._drop -= 1
                            state["dropping"] = True
                elif state["dropping"]:
                    break   # the reply never reaches the client: both connections are shut
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self._closed = True
        self._open.set()
        self.sock.close()
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass


def main(argv=None):
    """python tests/etcd_cluster.py [--members N] [--env NAME=VALUE ...] -- COMMAND...: run COMMAND with a
    throwaway etcd cluster; '{port}' (the first member's client port) and '{endpoints}' (the others,
    as endpoint=HOST:PORT&...) in the values and in COMMAND's arguments are filled in. Exits with
    COMMAND's status."""
    import argparse
    import sys
    import tempfile
    ap = argparse.ArgumentParser(description=main.__doc__.split(":")[0])
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        ap.error("no command")
    if BINARY is None:
        print("etcd_cluster.py: etcd is not installed", file=sys.stderr)
        return 2
    # members' data in memory (/dev/shm) when there is one: these suites test SQL over etcd, not the
    # disk, and every commit is an fsync on each member (ROME_ETCD_DIR chooses another place)
    base = os.environ.get("ROME_ETCD_DIR") or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    with tempfile.TemporaryDirectory(prefix="rome-etcd-", dir=base) as d, EtcdCluster(d, members=a.members) as c:
        def fill(s):
            return (s.replace("{port}", str(c.client_ports[0]))
                    .replace("{endpoints}", "&".join("endpoint=%s" % c.endpoint(i) for i in range(1, c.n))))
        env = dict(os.environ)
        for item in a.env:
            name, _, value = item.partition("=")
            env[name] = fill(value)
        return subprocess.call([fill(x) for x in command], env=env)


if __name__ == "__main__":
    raise SystemExit(main())

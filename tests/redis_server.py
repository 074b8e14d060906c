"""A throwaway redis-server for tests and benches: a free loopback port, a temporary directory, no
persistence (``--save '' --appendonly no``), stopped (and restartable on the same port) on demand.

    with RedisServer(tmpdir) as server:
        url = server.url(prefix="t1")        # rome+redis://127.0.0.1:PORT/0?prefix=t1
"""
import os
import shutil
import socket
import subprocess
import time

BINARY = shutil.which("redis-server") or next(
    (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if os.path.exists(p)), None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, directory, port=None, extra=()):
        if BINARY is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.extra = list(extra)
        self.proc = None
        self.socket = os.path.join(self.dir, "redis.sock")

    def url(self, db=0, prefix=None, scheme="rome+redis"):
        return "%s://127.0.0.1:%d/%d%s" % (scheme, self.port, db, "?prefix=%s" % prefix if prefix else "")

    def start(self, timeout=10):
        for _ in range(5):
            port = self.port or free_port()
            self.proc = subprocess.Popen(
                [BINARY, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", self.dir, "--daemonize", "no", "--logfile", os.path.join(self.dir, "redis.log"),
                 "--unixsocket", self.socket, "--unixsocketperm", "700", *self.extra],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + timeout
            while time.time() < deadline and self.proc.poll() is None:
                if self._ping(port):
                    self.port = port
                    return self
                time.sleep(0.02)
            self.stop()
            if self.port:  # a fixed port (a restart): no other to try
                break
        raise RuntimeError("redis-server did not start (see %s/redis.log)" % self.dir)

    @staticmethod
    def _ping(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))  # up (with a password: NOAUTH)
        except OSError:
            return False

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    """python tests/redis_server.py [--env NAME=VALUE ...] -- COMMAND...: run COMMAND with a throwaway
    redis-server; '{port}' in the values and in COMMAND's arguments is the server's port. Exits with
    COMMAND's status (scripts/test.sh runs the differential and compliance suites on rome+redis so)."""
    import argparse
    import sys
    import tempfile
    ap = argparse.ArgumentParser(description=main.__doc__.split(":")[0])
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        ap.error("no command")
    if BINARY is None:
        print("redis_server.py: redis-server is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="rome-redis-") as d, RedisServer(d) as server:
        env = dict(os.environ)
        for item in a.env:
            name, _, value = item.partition("=")
            env[name] = value.replace("{port}", str(server.port))
        return subprocess.call([c.replace("{port}", str(server.port)) for c in command], env=env)


if __name__ == "__main__":
    raise SystemExit(main())

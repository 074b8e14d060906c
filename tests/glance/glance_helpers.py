"""Helpers for the Glance tests: a real `rome glance serve` in a subprocess, and the URL templates.

The database URL comes from the environment, as a template whose ``{dir}`` is the test's own folder:

    ROME_GLANCE_URL='rome+lmdb:///{dir}/rome'   (the default: what `rome glance serve` uses by default)
    ROME_GLANCE_URL='sqlite:///{dir}/glance.db' (Glance on sqlite, for comparison)

and ``ROME_COPY_DST_URL`` likewise names where the `rome copy` step moves the live database. By
default it crosses engines: off ROME onto a sqlite file (the way back) when the server runs on ROME,
onto ROME's LMDB when it runs on anything else.
"""
import os
import signal
import socket
import subprocess
import sys
import time

DEFAULT_URL = "rome+lmdb:///{dir}/rome"


def glance_url(directory, template=None):
    template = template or os.environ.get("ROME_GLANCE_URL") or DEFAULT_URL
    return template.format(dir=os.path.abspath(directory))


def copy_dst_url(directory, src_url):
    """Where the live database is copied: ROME_COPY_DST_URL, else the other kind of engine."""
    template = os.environ.get("ROME_COPY_DST_URL") or (
        "sqlite:///{dir}/copy.db" if src_url.startswith("rome+") else "rome+lmdb:///{dir}/copy-rome")
    return template.format(dir=os.path.abspath(directory))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GlanceServer:
    """`rome glance serve` in its own process group; always stopped by the fixture that made it."""

    def __init__(self, data_dir, connection=None, workers=1, extra_args=(), port=None, env=None,
                 log_dir=None):
        """``data_dir`` None: no --data-dir (the default folder; give ``log_dir`` then)."""
        self.data_dir = None if data_dir is None else str(data_dir)
        self.connection = connection
        self.workers = workers
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        self.env = env
        self.proc = None
        self.log_path = os.path.join(str(log_dir) if log_dir else self.data_dir + "-logs", "serve.log")
        self.starts = 0

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def command(self):
        cmd = [sys.executable, "-c", "from rome.cli import main; main()", "glance", "serve",
               "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        if self.data_dir is not None:
            cmd += ["--data-dir", self.data_dir]
        if self.connection:
            cmd += ["--connection", self.connection]
        return cmd + self.extra_args

    def start(self, timeout=180):
        import requests
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.starts += 1
        log = open(self.log_path, "a")
        from rome.dialect.urls import scrub
        log.write("\n===== start %d: %s\n" % (self.starts, scrub(" ".join(self.command()), self.connection or "")))
        log.flush()
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     cwd=os.path.dirname(self.log_path), env=self.env)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("rome glance serve exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                if requests.get(self.url + "/healthcheck", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("rome glance serve not ready after %ds:\n%s" % (timeout, self.log_tail()))

    def stop(self, timeout=30):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)  # gunicorn's master stops its workers gracefully
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # whatever is left of this server's own process group (workers of a killed master)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def log_tail(self, n=60):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

"""A command run on a pseudo-terminal (its controlling terminal), for what only a terminal shows:
prompts, line editing, history, Ctrl-C (SIGINT from the terminal) and Ctrl-D."""
import contextlib
import os
import pty
import re
import select
import signal
import sys
import time

CTRL_C, CTRL_D, UP = b"\x03", b"\x04", b"\x1b[A"


class PtyProcess:
    def __init__(self, argv, env=None, cwd=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal
            try:
                # as from a login shell: pytest-xdist's workers ignore SIGINT, which a child would
                # inherit, and then Ctrl-C on the terminal would do nothing
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                if cwd:
                    os.chdir(cwd)
                os.execve(argv[0], argv, env or os.environ)
            finally:
                os._exit(127)
        self.output = b""
        self.seen = 0          # expect() looks at the output after its previous match
        self.status = None

    def send(self, data):
        os.write(self.fd, data if isinstance(data, bytes) else data.encode())

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            return None
        if not chunk:
            return None
        self.output += chunk
        return True

    def expect(self, pattern, timeout=30):
        """Wait until the output after the previous match matches; returns the match."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.time() + timeout
        while True:
            m = rx.search(self.output, self.seen)
            if m:
                self.seen = m.end()
                return m
            if time.time() > deadline or self._read(min(0.5, max(0.0, deadline - time.time()))) is None:
                raise AssertionError("no %r in the terminal output:\n%s" % (pattern, self.text()))

    def wait(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self._read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
        raise AssertionError("still running after %ds:\n%s" % (timeout, self.text()))

    def alive(self):
        return os.waitpid(self.pid, os.WNOHANG)[0] == 0

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)

    def text(self):
        return self.output.decode(errors="replace")


def rome_argv(*args):
    return [sys.executable, "-m", "rome.cli"] + list(args)


@contextlib.contextmanager
def rome_prompt(url, env):
    """`rome sql URL` at its prompt on a terminal; quit with Ctrl-D at the end, which must exit 0."""
    sh = PtyProcess(rome_argv("sql", url), env=env)
    try:
        sh.expect("rome> ")
        yield sh
        sh.expect("rome> ")   # the shell reads again: Ctrl-D now is end of input
        sh.send(CTRL_D)
        assert sh.wait() == 0
    finally:
        sh.close()

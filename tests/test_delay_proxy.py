"""bench/delay_proxy.py, the WAN of the multi-site bench: a real echo server behind a real hub process;
the delay is paid once each way, requests are counted per round trip, and a cut is a black hole that
heal lifts."""
import os
import socket
import socketserver
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from delay_proxy import ProxyHub  # noqa: E402

DELAY = 0.05


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo_port():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def hub():
    with ProxyHub(seconds=120) as h:
        yield h


def _round_trip(sock, payload=b"ping"):
    t0 = time.perf_counter()
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        got += sock.recv(4096)
    return time.perf_counter() - t0, got


def test_delay_each_way_and_requests_counted(hub, echo_port):
    port = hub.add("echo", target=echo_port, delay=DELAY)
    with socket.create_connection(("127.0.0.1", port)) as s:
        times = []
        for i in range(5):
            t, got = _round_trip(s, b"msg-%d" % i)
            assert got == b"msg-%d" % i
            times.append(t)
        _round_trip(s, b'POST /v3/kv/txn HTTP/1.1\r\n\r\n{"compare": [{}], "success": [{"request_put": {}}]}')
        _round_trip(s, b"GET /health HTTP/1.1\r\n\r\n")
        s.sendall(b'POST /v3/kv/txn HTTP/1.1\r\n\r\n{"success": [')       # one request in two chunks
        time.sleep(DELAY / 5)                                                 # (before any reply)
        _round_trip(s, b'{"request_range": {}}, {"request_range": {}}]}')
        s.settimeout(2 * DELAY)
        try:  # the echo of the first chunk, if it came apart
            s.recv(4096)
        except socket.timeout:
            pass
    assert min(times) >= 2 * DELAY * 0.95, times          # both directions delayed
    assert sorted(times)[2] < 2 * DELAY + 0.04, times      # and not much more
    st = hub.stats()["echo"]
    assert st["conns"] == 1 and st["requests"] == 8
    assert st["kinds"] == {"-": 5, "POST /v3/kv/txn [compare 1, put 1]": 1, "GET /health": 1,
                           "POST /v3/kv/txn [range 2]": 1}
    assert st["bytes_up"] == st["bytes_down"]


def test_cut_is_a_black_hole_and_heal_reconnects(hub, echo_port):
    port = hub.add("echo", target=echo_port, delay=0.0)
    other = hub.add("other", target=echo_port, delay=0.0)
    with socket.create_connection(("127.0.0.1", port)) as s:
        assert _round_trip(s)[1] == b"ping"
        hub.cut(names=["echo"])
        s.settimeout(0.5)
        s.sendall(b"lost")
        with pytest.raises(socket.timeout):
            s.recv(16)                                     # no reply, no reset
        with socket.create_connection(("127.0.0.1", other), timeout=2) as o:
            assert _round_trip(o)[1] == b"ping"            # another proxy still passes
        with socket.create_connection(("127.0.0.1", port), timeout=2) as n:
            n.settimeout(0.5)
            n.sendall(b"new")
            with pytest.raises(socket.timeout):
                n.recv(16)                                 # new connections lead nowhere either
        hub.heal()
        s.settimeout(2)
        assert s.recv(16) == b""                           # the black-holed connection is closed
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        assert _round_trip(s)[1] == b"ping"


def test_cut_by_process_on_every_proxy(hub, echo_port, tmp_path):
    """Connections made by a cut process are black-holed on every proxy; others pass."""
    import subprocess
    port = hub.add("shared", target=echo_port, delay=0.0)
    script = ("import socket,sys,time\n"
              "s=socket.create_connection(('127.0.0.1',%d)); s.settimeout(1)\n"
              "sys.stdout.write('up\\n'); sys.stdout.flush(); sys.stdin.readline()\n"
              "s.sendall(b'x')\n"
              "try: print('reply', s.recv(4))\n"
              "except socket.timeout: print('timeout')\n" % port)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "up"
        hub.cut(pids=[child.pid])
        with socket.create_connection(("127.0.0.1", port), timeout=2) as mine:
            assert _round_trip(mine)[1] == b"ping"          # this process is not cut
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "timeout"
    finally:
        child.kill()
        child.wait()

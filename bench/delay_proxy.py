"""TCP proxies on loopback that delay each direction by a fixed time, count what passes, and can cut a
site off: the wide-area network of bench/multisite.py on one machine (this kernel has no netem).

One process (the "hub") holds every proxy, so that the delays do not compete with the bench's own
threads for the interpreter. It is driven by JSON lines on its stdin, one reply line each on stdout, and
exits when its stdin closes or after ``--seconds`` (whichever comes first):

    {"op": "add", "name": "peer-2", "target": 23801, "delay": 0.025}   -> {"port": 41873}
    {"op": "cut", "names": ["peer-3"], "pids": [4242]}                   -> {"ok": true}
    {"op": "heal"}                                                       -> {"ok": true}
    {"op": "stats"}                                    -> {"peer-2": {"conns": 3, "requests": 17, ...}}

A delay is applied per chunk: bytes read at time t are written at t + delay, in order, without limiting
throughput (a long fat pipe, as between sites). ``requests`` counts the client's turns: a chunk sent
by the client after a reply (or first on its connection), i.e. one per round trip of a
request/response protocol; ``kinds`` splits them by what each request was (see ``request_kind``), counted when its reply starts.

A cut is a black hole, as a real partition: data on a cut connection is dropped, new connections are
accepted but lead nowhere, nothing is reset (the ends find out by their own timeouts). It applies to
the named proxies and, on every proxy, to connections whose client socket belongs to one of ``pids``
(found through /proc, Linux only): a site cut off can neither reach nor be reached. ``heal`` lifts every
cut and closes the connections that were black-holed, so that both ends reconnect.

    with ProxyHub(seconds=600) as hub:
        port = hub.add("pg-from-2", target=5432, delay=0.025)
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading

HOST = "127.0.0.1"
TURN_KEEP = 1 << 20  # bytes of a request kept to classify it


# --- the hub process ------------------------------------------------------------------------------

def _tcp_inode(local_port, remote_port):
    """The inode of the loopback TCP socket (127.0.0.1:local_port -> 127.0.0.1:remote_port), or None."""
    want = ("0100007F:%04X" % local_port, "0100007F:%04X" % remote_port)
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                if (parts[1], parts[2]) == want:
                    return parts[9]
    except OSError:
        pass
    return None


def _socket_owner(inode, pids):
    """Which of ``pids`` holds the socket ``inode`` open (None if none)."""
    link = "socket:[%s]" % inode
    for pid in pids:
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == link:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def request_kind(data):
    """What an HTTP request is (the bytes of one client turn): its method and path, and for an etcd Txn (JSON
    gateway) what it holds, e.g. 'POST /v3/kv/txn [compare 3, put 2]'; '-' for other protocols."""
    head, _, body = data.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].split(b" ")
    if len(line) != 3 or not line[2].startswith(b"HTTP/"):
        return "-"
    kind = (line[0] + b" " + line[1]).decode("latin-1")
    try:
        txn = json.loads(body)
    except ValueError:
        return kind
    if not isinstance(txn, dict) or not ({"compare", "success"} & set(txn)):
        return kind
    parts = {"compare": len(txn.get("compare") or ())}
    for op in txn.get("success") or ():
        name = next(iter(op), "?").replace("request_", "")
        parts[name] = parts.get(name, 0) + 1
    return "%s [%s]" % (kind, ", ".join("%s %d" % kv for kv in parts.items() if kv[1]))


class Conn:
    def __init__(self, proxy, client_port):
        self.proxy, self.client_port = proxy, client_port
        self.cut = False
        self.writers = []
        self.last_up = False  # was the last chunk from the client (for counting turns)
        self.turn = None      # what the client sent in its current turn (classified when it ends)

    def end_turn(self, stats):
        if self.turn is not None:
            kind = request_kind(bytes(self.turn))
            stats["kinds"][kind] = stats["kinds"].get(kind, 0) + 1
            self.turn = None

    def owned_by(self, pids):
        if not pids:
            return False
        inode = _tcp_inode(self.client_port, self.proxy.port)
        return inode is not None and _socket_owner(inode, pids) is not None

    def close(self):
        for w in self.writers:
            w.close()


class Proxy:
    def __init__(self, hub, name, target, delay):
        self.hub, self.name, self.target, self.delay = hub, name, target, delay
        self.port = None
        self.conns = set()
        self.stats = {"conns": 0, "requests": 0, "chunks_up": 0, "chunks_down": 0,
                      "bytes_up": 0, "bytes_down": 0, "kinds": {}}

    async def start(self):
        server = await asyncio.start_server(self.handle, HOST, 0)
        self.port = server.sockets[0].getsockname()[1]

    async def handle(self, cr, cw):
        conn = Conn(self, cw.get_extra_info("peername")[1])
        conn.writers.append(cw)
        self.conns.add(conn)
        self.stats["conns"] += 1
        try:
            conn.cut = self.name in self.hub.cut_names or conn.owned_by(self.hub.cut_pids)
            if conn.cut:  # a black hole: read and drop until the client gives up or we heal
                while await cr.read(1 << 16):
                    pass
                return
            try:
                sr, sw = await asyncio.open_connection(HOST, self.target)
            except OSError:
                return
            conn.writers.append(sw)
            await asyncio.gather(self.pump(conn, cr, sw, True), self.pump(conn, sr, cw, False))
        finally:
            conn.close()
            self.conns.discard(conn)

    async def pump(self, conn, reader, writer, up):
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue()

        async def send():
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    break
                if not conn.cut:
                    writer.write(data)
                    await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(send())
        try:
            while True:
                try:
                    data = await reader.read(1 << 16)
                except (ConnectionError, OSError):
                    data = b""
                if not data:
                    break
                if conn.cut:
                    continue
                s = self.stats
                if up:
                    s["chunks_up"] += 1
                    s["bytes_up"] += len(data)
                    if not conn.last_up:
                        s["requests"] += 1
                        conn.turn = bytearray()
                    if len(conn.turn) < TURN_KEEP:
                        conn.turn += data
                else:
                    conn.end_turn(s)
                    s["chunks_down"] += 1
                    s["bytes_down"] += len(data)
                conn.last_up = up
                queue.put_nowait((loop.time() + self.delay, data))
        finally:
            conn.end_turn(self.stats)
            queue.put_nowait((loop.time() + self.delay, None))
            try:
                await sender
            except (ConnectionError, OSError):
                pass
            conn.close()


class Hub:
    def __init__(self):
        self.proxies = {}
        self.cut_names, self.cut_pids = set(), set()

    async def command(self, msg):
        op = msg.get("op")
        if op == "add":
            p = Proxy(self, msg["name"], int(msg["target"]), float(msg.get("delay", 0)))
            await p.start()
            self.proxies[p.name] = p
            return {"port": p.port}
        if op == "cut":
            self.cut_names |= set(msg.get("names", ()))
            self.cut_pids |= set(msg.get("pids", ()))
            for p in self.proxies.values():
                for c in list(p.conns):
                    if p.name in self.cut_names or c.owned_by(self.cut_pids):
                        c.cut = True
            return {"ok": True}
        if op == "heal":
            self.cut_names, self.cut_pids = set(), set()
            for p in self.proxies.values():
                for c in list(p.conns):
                    if c.cut:
                        c.close()
            return {"ok": True}
        if op == "stats":
            return {name: dict(p.stats) for name, p in self.proxies.items()}
        return {"error": "unknown op %r" % op}


async def _serve(seconds):
    hub = Hub()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def commands():
        while line := await reader.readline():
            try:
                reply = await hub.command(json.loads(line))
            except Exception as e:  # a bad command is answered, never fatal
                reply = {"error": repr(e)}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()

    try:
        await asyncio.wait_for(commands(), seconds)
    except asyncio.TimeoutError:
        print("delay_proxy: --seconds %s reached, exiting" % seconds, file=sys.stderr)
    sys.stdout.flush()
    os._exit(0)  # every connection ends with the process, without cancelling each pump


def main(argv=None):
    ap = argparse.ArgumentParser(description="TCP delay proxies on loopback, driven by JSON lines on stdin.")
    ap.add_argument("--seconds", type=float, default=900, help="exit after this long (a bound on the run)")
    a = ap.parse_args(argv)
    asyncio.run(_serve(a.seconds))


# --- the client side -------------------------------------------------------------------------------

class ProxyHub:
    """Runs the hub in a child process and talks to it; thread-safe."""

    def __init__(self, seconds=900):
        self.seconds = seconds
        self.proc = None
        self.lock = threading.Lock()

    def start(self):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--seconds", str(self.seconds)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                     start_new_session=True)
        return self

    def call(self, **msg):
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError("the delay proxy hub is not running")
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
            reply = json.loads(self.proc.stdout.readline() or "{}")
        if "error" in reply:
            raise RuntimeError("delay proxy: %s" % reply["error"])
        return reply

    def add(self, name, target, delay):
        """A proxy to 127.0.0.1:target; returns the port it listens on."""
        return self.call(op="add", name=name, target=target, delay=delay)["port"]

    def cut(self, names=(), pids=()):
        self.call(op="cut", names=list(names), pids=list(pids))

    def heal(self):
        self.call(op="heal")

    def stats(self):
        return self.call(op="stats")

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()  # the hub exits at end of input
            proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    main()

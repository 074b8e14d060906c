"""A replicated store: an etcd (v3) cluster, spoken to through its HTTP/JSON gateway with etcd3gw.

LOCATION (what follows ``rome+etcd://`` or ``rome+etcds://``):

    [user:password@]host:port[/][?endpoint=host:port&endpoint=...&option=value...]

The host in the location is the preferred member (the one at this site: reads go there); each
``endpoint=`` is another member, tried in order when the preferred one fails. Options: ``prefix``
(default ``rome``: several databases in one cluster), ``reads`` (``serializable``, the default: from
the member, no round trip to the leader; ``linearizable``: every snapshot's first read confirmed by
the leader), ``timeout`` (seconds a transaction may wait for the cluster, its reads, lease,
AUTOINCREMENT blocks, retries and commit together, before it fails: see WaitBudget; default 4),
``max_txn_ops`` / ``max_request_bytes`` (the cluster's --max-txn-ops and --max-request-bytes:
larger transactions are refused before anything is sent, defaults etcd's 128 and 1.5 MiB),
``lease_ttl`` (seconds tombstones and receipts live, default 600), ``sequence_block``
(AUTOINCREMENT values per allocation, default 64), ``follow_rows`` (default true: the rows of the
index entries a read returns are read in the next request, all at once; false for covering scans that
need no rows), TLS: ``ssl=true`` (as ``rome+etcds://``),
``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs=none``. A user and password
authenticate with etcd's auth (the token is re-asked when it expires).

LAYOUT, under P = the prefix: ``P/d/<key>`` the data; ``P/x/<key>`` a tombstone, written (with the
store's lease) by every commit that deletes the key; ``P/q/<name>`` AUTOINCREMENT counters; ``P/t/<id>``
commit receipts (with the lease).

READS. A snapshot reads at one revision: its first request reads at the member's latest revision R
(serializably: the member answers alone), every later one at R (``revision=R``), so a transaction sees
one consistent state. Every request is one Txn of range operations with no compares (many keys and
ranges in one request, see ``scan_many``; a read-only Txn of serializable ranges never leaves the
member). What a snapshot read is cached (remote.ReadCache): values at R never change. Read your
writes: the process remembers the highest revision it committed or read on the cluster (_Floor, shared
by every store of the cluster), and a first read from a member behind it is asked again linearizably
(through the leader). After a commit, the same
thread's next transaction may start at the commit's revision with what that commit knew (Carried).

COMMIT: exactly one Txn. Compares: the receipt is absent; every point read is unchanged since R
(``mod_revision < R+1``, and still present if it was: ``version > 0``); every scanned range saw no
insert or update (``mod_revision < R+1`` over the range) and no delete (the same over its tombstone
range: etcd's range compare cannot see a key that is gone). Success: the writes, a tombstone per
delete, the receipt. Failure: read the receipt. A commit whose reply is lost is resent (same receipt)
to the next members until ``timeout``: an earlier attempt that was applied makes the resend fail its
receipt compare and read the receipt, so it is reported applied, and it is applied once. Tombstones
live ``lease_ttl``: a transaction older than half of it fails with a conflict (retry it).

LIMITS. etcd refuses a Txn with more than --max-txn-ops compares or operations or larger than
--max-request-bytes; such a transaction fails with an OperationalError before anything is sent (never
split in several Txns). Raise both on the cluster and in the URL for larger transactions.
"""
import base64
import bisect
import json
import threading
import time
import urllib.parse
from collections import namedtuple

from rome.encoding.entrycode import entry_pk
from rome.encoding.keycode import prefix_end
from rome.storage import remote
from rome.storage.base import BadLocation, Conflict, Refused, Snapshot, Store, StoreError
from rome.storage.remote import ReadCache, receipt_id

DEFAULT_PORT = 2379
DEFAULT_PREFIX = "rome"
FIRST_BATCH, MAX_BATCH, GROWTH = 64, 4096, 4
DEFAULT_TIMEOUT = 4.0       # seconds a transaction may wait for the cluster: with an application's own
                            # work around it, a request answers within 5 s when its site is cut off
PREFERRED_RETRY = 30.0      # seconds before the preferred member is tried again after it failed
CARRY_FOR = 0.1             # seconds a commit's state waits for the thread's next transaction (Carried)
CARRY_LIMIT = 10000         # keys beyond which a commit's state is not carried
OP_OVERHEAD = 32            # bytes a Txn operation costs beyond its keys and values (protobuf framing)

_OPTIONS = {"endpoint", "prefix", "reads", "timeout", "max_txn_ops", "max_request_bytes", "lease_ttl",
            "sequence_block", "follow_rows", "ssl", *remote.SSL_OPTIONS}
_EXCLUSIVE = {"endpoint"}   # options that may repeat


def _b64(b):
    return base64.b64encode(b).decode()


def _unb64(s):
    return base64.b64decode(s) if s else b""


# -- locations ---------------------------------------------------------------------------------------

def parse_location(location, tls=False):
    """A location (see the module docstring) -> dict of settings; raises BadLocation (never naming the
    password)."""
    loc = location or ""
    endpoints = []
    if "?" in loc:   # endpoint= repeats: take them out before the single-valued options are parsed
        head, query = loc.split("?", 1)
        rest = []
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
            (endpoints.append(v) if k == "endpoint" else rest.append((k, v)))
        loc = head + ("?" + urllib.parse.urlencode(rest) if rest else "")
    parts, port, query, scheme = remote.split_location(loc, ("etcd", "etcds"), _OPTIONS, "etcd")
    tls = tls or scheme == "etcds"
    if parts.path.strip("/"):
        raise BadLocation("an etcd location has no path (the prefix is ?prefix=NAME)")
    if not parts.hostname:
        raise BadLocation("an etcd location needs host:port")
    ssl = query.pop("ssl", None)
    if ssl is not None:
        tls = tls or remote.flag(ssl, "ssl")
    members = [(parts.hostname, port or DEFAULT_PORT)]
    for e in endpoints:
        p = urllib.parse.urlsplit("x://" + e)
        try:
            members.append((p.hostname, p.port or DEFAULT_PORT))
        except ValueError:
            raise BadLocation("bad endpoint %r (host:port)" % e) from None
        if not p.hostname or p.path or p.query or p.username:
            raise BadLocation("bad endpoint %r (host:port)" % e)
    username, password = remote.credentials(parts)
    if (username is None) != (password is None):
        raise BadLocation("etcd auth needs a user and a password (user:password@host:port)")
    prefix = query.pop("prefix", DEFAULT_PREFIX)
    if not prefix or "/" in prefix:
        raise BadLocation("bad prefix %r (not empty, no '/')" % prefix)
    reads = query.pop("reads", "serializable")
    if reads not in ("serializable", "linearizable"):
        raise BadLocation("reads must be serializable or linearizable")
    s = {"members": members, "username": username, "password": password, "prefix": prefix,
         "reads": reads, "tls": tls, "follow_rows": remote.flag(query.pop("follow_rows", "true"), "follow_rows")}
    for name, default, low in (("timeout", DEFAULT_TIMEOUT, 0.1), ("max_txn_ops", 128, 4),
                               ("max_request_bytes", 1572864, 1024), ("lease_ttl", 600, 10),
                               ("sequence_block", 64, 1)):
        raw = query.pop(name, None)
        try:
            v = default if raw is None else type(default)(float(raw) if type(default) is float else int(raw))
        except ValueError:
            raise BadLocation("%s must be a number" % name) from None
        if v < low:
            raise BadLocation("%s must be at least %s" % (name, low))
        s[name] = v
    s["ssl"] = remote.tls_options(query, tls, "rome+etcds:// or ssl=true")
    if "ssl_check_hostname" in s["ssl"] or "ssl_ca_path" in s["ssl"]:
        raise BadLocation("ssl_check_hostname and ssl_ca_path are not supported on etcd (use ssl_ca_certs)")
    return s


def format_location(s):
    (host, port), others = s["members"][0], s["members"][1:]
    query = [("endpoint", remote.host_port(h, p)) for h, p in others]
    opts = {"prefix": s["prefix"]}
    if s["reads"] != "serializable":
        opts["reads"] = s["reads"]
    if s["tls"]:
        opts["ssl"] = "true"
    if not s["follow_rows"]:
        opts["follow_rows"] = "false"
    for name, default in (("timeout", DEFAULT_TIMEOUT), ("max_txn_ops", 128), ("max_request_bytes", 1572864),
                          ("lease_ttl", 600), ("sequence_block", 64)):
        if s[name] != default:
            opts[name] = repr(s[name]) if type(default) is float else str(s[name])
    opts.update(s["ssl"])
    query += sorted(opts.items())
    return "%s%s/?%s" % (remote.format_credentials(s["username"], s["password"]), remote.host_port(host, port),
                         urllib.parse.urlencode(query))


# -- the connection ----------------------------------------------------------------------------------

class _Unreachable(Exception):
    """A member did not answer (down, cut off, or too slow): try the next one."""


class _Members:
    """Requests to the cluster's members, preferred member first, one HTTP session per thread and
    member (etcd3gw clients). Counts requests per member (``requests``)."""

    def __init__(self, s):
        self.s = s
        self.members = s["members"]
        self.scheme = "https" if s["tls"] else "http"
        self.local = threading.local()
        self.requests = [0] * len(self.members)
        self.current = 0            # the member in use (the preferred one unless it failed)
        self.failed_at = 0.0
        self.tokens = {}            # member index -> auth token

    def _client(self, i):
        clients = getattr(self.local, "clients", None)
        if clients is None:
            clients = self.local.clients = {}
        c = clients.get(i)
        if c is None:
            import etcd3gw
            host, port = self.members[i]
            ssl = self.s["ssl"]
            c = etcd3gw.Etcd3Client(host=host, port=port, protocol=self.scheme, api_path="/v3/",
                                    ca_cert=ssl.get("ssl_ca_certs"), cert_key=ssl.get("ssl_keyfile"),
                                    cert_cert=ssl.get("ssl_certfile"))
            # The URL's TLS settings, not the environment's: requests would let REQUESTS_CA_BUNDLE
            # override the CA given, and HTTP(S)_PROXY send database traffic through a proxy.
            c.session.trust_env = False
            if ssl.get("ssl_cert_reqs") == "none":
                c.session.verify = False
            clients[i] = c
        return c

    def order(self):
        """Member indexes in the order to try them: the one in use first, then the others in order
        (the preferred member again once PREFERRED_RETRY has passed since it failed)."""
        if self.current and time.monotonic() - self.failed_at > PREFERRED_RETRY:
            self.current = 0
        n = len(self.members)
        return [self.current] + [i for i in range(n) if i != self.current]

    def post(self, path, body, deadline, members=None):
        """POST to the first member that answers before ``deadline`` -> (member, JSON reply, whether
        it was the first try), the members tried in turn, each for at most a third of the timeout (a
        member that lost its leader may hold a request until the leader is back), round after round.
        Raises StoreError when none did."""
        last = None
        attempt = max(0.5, self.s["timeout"] / 3)
        tries = 0
        while True:
            for i in (members if members is not None else self.order()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                tries += 1
                try:
                    return i, self._post(i, path, body, min(left, attempt)), tries == 1
                except _Unreachable as e:
                    last = e
                    if i == self.current:
                        self.current = (i + 1) % len(self.members)
                        if i == 0:
                            self.failed_at = time.monotonic()
            else:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
                continue
            break
        raise StoreError("etcd at %s: no member answered within the transaction's timeout (%ss in all: "
                         "%s)" % (self.address(), self.s["timeout"], last or "timed out"))

    def _post(self, i, path, body, timeout, auth_retry=True):
        import etcd3gw.exceptions as ex
        import requests
        c = self._client(i)
        c.timeout = (min(timeout, 2.0), timeout)   # connect, read
        if self.s["username"] is not None and i not in self.tokens:
            self._authenticate(i, c, timeout)
        self.requests[i] += 1
        try:
            return c.post(c.get_url(path), json=body)
        except (ex.ConnectionFailedError, ex.ConnectionTimeoutError) as e:
            raise _Unreachable(_short(e)) from None
        except requests.exceptions.RequestException as e:
            raise _Unreachable(_short(e)) from None
        except ex.Etcd3Exception as e:
            detail = _detail(e)
            if auth_retry and self.s["username"] is not None and "token" in detail:
                self.tokens.pop(i, None)
                c.session.headers.pop("Authorization", None)
                return self._post(i, path, body, timeout, False)
            if any(m in detail for m in ("no leader", "timed out", "leader changed", "not capable",
                                         "too many requests", "stopped", "unhealthy")):
                raise _Unreachable(detail) from None
            raise _ServerError(detail) from None

    def _authenticate(self, i, c, timeout):
        import etcd3gw.exceptions as ex
        try:
            self.requests[i] += 1
            r = c.post(c.get_url("/auth/authenticate"),
                       json={"name": self.s["username"], "password": self.s["password"]})
        except (ex.ConnectionFailedError, ex.ConnectionTimeoutError) as e:
            raise _Unreachable(_short(e)) from None
        except ex.Etcd3Exception as e:
            raise StoreError("etcd at %s: authentication failed: %s" % (self.address(), _detail(e))) from None
        self.tokens[i] = r["token"]
        c.session.headers["Authorization"] = r["token"]

    def address(self):
        return ",".join(remote.host_port(h, p) for h, p in self.members)

    def close(self):
        clients = getattr(self.local, "clients", None) or {}
        for c in clients.values():
            try:
                c.session.close()
            except Exception:
                pass
        self.local = threading.local()


class _ServerError(Exception):
    """etcd answered with an error."""


ReadState = namedtuple("ReadState", "rev t0 mods seen budget ranges")
ReadState.__doc__ = """What a commit validates against (EtcdSnapshot.revision)."""

Carried = namedtuple("Carried", "rev t0 seen mods ranges at")
Carried.__doc__ = """What a commit at revision ``rev`` leaves known about that revision: the keys and
complete ranges the transaction read (its compares proved them unchanged since its snapshot) with its
own writes applied, and the keys it wrote. The same thread's next transaction, if it starts within
CARRY_FOR and nothing newer was seen by the process, reads at ``rev`` and starts with it: Glance's
re-read of the image it just created or updated then costs no request, or one. (Read-only states are
not carried: a new transaction reads the member's latest, where other processes' commits through
that member already are.)"""


class WaitBudget:
    """The seconds one transaction may still wait for the cluster (``timeout``): what its requests
    spend beyond a read answered at once by the member in use (a commit, a lease, an AUTOINCREMENT
    block, a read through the leader, a member that does not answer, a member catching up) comes off
    it, so that a cut-off site fails the transaction within ``timeout`` in all, not per request."""

    __slots__ = ("left",)

    def __init__(self, seconds):
        self.left = seconds


def _short(e):
    text = getattr(e, "detail_text", None) or str(e) or type(e).__name__
    return text if len(text) < 200 else text[:200] + "..."


def _detail(e):
    """The message etcd's gateway put in an error reply."""
    text = getattr(e, "detail_text", None) or (e.args[0] if e.args else str(e))
    try:
        return json.loads(text).get("error") or text
    except (ValueError, AttributeError, TypeError):
        return str(text)


# -- the snapshot ------------------------------------------------------------------------------------

class EtcdSnapshot(ReadCache, Snapshot):
    """Reads at one revision (see READS); what it read is cached."""

    batches = True
    WHOLE_BATCH = MAX_BATCH

    def __init__(self, store):
        self._store = store
        self._rev = None
        self._t0 = time.monotonic()
        self._mods = {}   # key -> its mod_revision at the snapshot's revision (0: absent)
        self._chains = {}  # (start, end) -> chain specs, followed after every read of that range
        self._lazy = set()  # the specs whose index entries' rows are read only when asked (chain)
        self._budget = store._running.budget = WaitBudget(store.settings["timeout"])
        self._reset_cache()
        carried, store._running.carried = getattr(store._running, "carried", None), None
        if carried is not None and store._floor == carried.rev and time.monotonic() - carried.at < CARRY_FOR:
            self._rev, self._t0 = carried.rev, carried.t0
            self._seen.update(carried.seen)
            self._mods.update(carried.mods)
            for (start, end), pairs in carried.ranges.items():
                self._remember(start, end, False, pairs, True)

    @property
    def revision(self):
        """What commit validates against: (revision, monotonic time of the first read, the mod
        revisions of the keys read, the values read, the transaction's WaitBudget), or None before
        the first read."""
        if self._rev is None:
            return None
        return ReadState(self._rev, self._t0, self._mods, self._seen, self._budget, self._ranges)

    def _pairs(self, reply):
        dlen, mods = self._store._dlen, self._mods
        out = []
        for kv in reply.get("kvs") or ():
            k = _unb64(kv["key"])[dlen:]
            mods[k] = int(kv.get("mod_revision", 0))
            out.append((k, _unb64(kv.get("value"))))
        return out

    def _value(self, key, reply):
        kvs = reply.get("kvs")
        if not kvs:
            self._mods[key] = 0
            return None
        self._mods[key] = int(kvs[0].get("mod_revision", 0))
        return _unb64(kvs[0].get("value"))

    def _read(self, ops):
        """One request: a Txn of range operations (no compares) -> their replies. Fetches the keys
        given to prefetch() along."""
        also, self._also = self._also, []
        if also:
            ops = ops + [self._store._range_op(k, None) for k in also]
        replies, rev = self._store._read_ops(ops, self._rev, self._budget)
        if self._rev is None:
            self._rev = rev
        if also:
            n = len(also)
            self._remember_points([(k, self._value(k, r)) for k, r in zip(also, replies[-n:])])
            replies = replies[:-n]
        return replies

    def close(self):
        running = self._store._running
        if getattr(running, "budget", None) is self._budget:
            running.budget = None
        super().close()

    def chain(self, ranges, specs, lazy=()):
        """As RedisSnapshot.chain, run here: after a read of one of these ranges, what its pairs lead
        to is read in one more request (for all the ranges of that read), not one per pair; the
        rows of the index entries found so are read in the request after, except for ``lazy``
        specs (scan_many reads those of the ranges it is asked for)."""
        self._lazy.update(lazy)
        specs = list(specs) + list(lazy)
        for start, end in ranges:
            self._chains[(start, end)] = specs

    def _follow(self, results, depth=0):
        """In one request, read what the pairs just read lead to: the rows of index entries
        (Store.follow) and what the chains of their ranges name. ``results`` [(start, end, pairs)]."""
        op, ops, takes = self._store._range_op, [], {}
        seen, ranges = self._seen, self._ranges
        follow = self._store.follow if self._store.settings["follow_rows"] else None
        if follow is not None:
            for _s, _e, pairs in results:
                for k, v in pairs:
                    rk = follow(k, v)
                    if rk is not None and rk not in seen and (rk, 0) not in takes:
                        takes[(rk, 0)] = None
                        ops.append(op(rk, None))
        for start, end, pairs in (results if self._chains else ()):
            specs = self._chains.get((start, end))
            for spec in (specs if pairs else ()) or ():
                src, pre, suf, lim = spec
                for k, v in pairs:
                    ck = pre + (entry_pk(v) if src == b"v" else k[6:]) + suf
                    if (ck, lim) in takes or (ck in seen if lim == 0 else (ck, prefix_end(ck)) in ranges):
                        continue
                    takes[(ck, lim)] = spec in self._lazy
                    ops.append(op(ck, None) if lim == 0 else op(ck, prefix_end(ck), lim))
        if ops and len(seen) < remote.CACHE_LIMIT:
            chained = []
            for ((ck, lim), lazy), r in zip(takes.items(), self._read(ops)):
                if lim == 0:
                    v = self._value(ck, r)
                    seen.setdefault(ck, v)
                    if v is not None and not lazy:
                        chained.append((ck, v))
                else:
                    got = self._pairs(r)
                    self._remember(ck, prefix_end(ck), False, got, not r.get("more"))
                    if not lazy:
                        chained += got
            if depth == 0 and chained:   # the rows of the index entries the chains found
                self._follow([(None, None, chained)], 1)

    def get(self, key):
        return self.get_many([key])[0]

    def get_many(self, keys):
        missing = self._missing(keys)
        if missing:
            op = self._store._range_op
            missing = list(dict.fromkeys(missing))
            replies = self._read([op(k, None) for k in missing])
            seen = self._seen
            for k, r in zip(missing, replies):
                seen[k] = self._value(k, r)
            if len(seen) > remote.CACHE_LIMIT:
                out = [self._seen.get(k) for k in keys]
                self._reset_cache()
                return out
        seen = self._seen
        return [seen[k] if k in seen else None for k in keys]

    def scan(self, start, end, reverse=False):
        whole = self._whole_range(start, end, reverse)
        if whole is not None:
            yield from whole
            return
        lo, hi = start, end
        n = FIRST_BATCH
        first = True
        head = self._partial.get((start, end, reverse))
        if head is not None:
            yield from head
            if reverse:
                hi = head[-1][0]
            else:
                lo = head[-1][0] + b"\x00"
            n, first = min(len(head) * GROWTH, MAX_BATCH), False
        op = self._store._range_op
        while True:
            r = self._read([op(lo, hi, n, reverse)])[0]
            pairs = self._pairs(r)
            more = bool(r.get("more"))
            if first:
                self._remember(start, end, reverse, pairs, not more)
            else:
                self._remember_points(pairs)
            self._follow([(start, end, pairs)])
            yield from pairs
            if not more or not pairs:
                return
            if reverse:
                hi = pairs[-1][0]
            else:
                lo = pairs[-1][0] + b"\x00"
            n = min(n * GROWTH, MAX_BATCH)
            first = False

    def scan_many(self, ranges, limit=None):
        limit = limit or FIRST_BATCH
        out = [None] * len(ranges)
        asked, ops = [], []
        op = self._store._range_op
        got = []   # (start, end, pairs) whose rows to follow: the cached ones' too (lazy chains)
        for i, (start, end, reverse) in enumerate(ranges):
            out[i] = self._known_range(start, end, reverse, limit)
            if out[i] is not None:
                got.append((start, end, out[i][0]))
                continue
            asked.append(i)
            ops.append(op(start, end, limit, reverse))
        if ops:
            for i, r in zip(asked, self._read(ops)):
                pairs = self._pairs(r)
                complete = not r.get("more")
                start, end, reverse = ranges[i]
                self._remember(start, end, reverse, pairs, complete)
                out[i] = (pairs, complete)
                got.append((start, end, pairs))
        if got:
            self._follow(got)
        return out


# -- the store ---------------------------------------------------------------------------------------

class _Floor:
    """The highest revision a process committed or read on one cluster: read your writes holds for
    every connection of the process, whichever member its URL prefers (revisions are cluster-wide)."""

    def __init__(self):
        self.rev = 0
        self._lock = threading.Lock()

    def raise_to(self, rev):
        if rev > self.rev:
            with self._lock:
                if rev > self.rev:
                    self.rev = rev


_FLOORS = {}
_FLOORS_LOCK = threading.Lock()


def _floor_of(members):
    """The process's _Floor for the cluster of these members."""
    with _FLOORS_LOCK:
        return _FLOORS.setdefault(frozenset(members), _Floor())


class EtcdStore(Store):
    """The ROME database under one prefix of an etcd cluster (see the module docstring)."""

    tls = False
    validates_by_revision = True

    def __init__(self, location):
        s = parse_location(location, self.tls)
        self.settings = s
        self.sequence_block = s["sequence_block"]
        self.prefix = s["prefix"]
        p = s["prefix"].encode()
        self._d, self._x, self._q, self._t = p + b"/d/", p + b"/x/", p + b"/q/", p + b"/t/"
        self._dlen = len(self._d)
        self._members = _Members(s)
        self._shared_floor = _floor_of(s["members"])
        self.commits_sent = 0       # commit Txns sent (resends included): the requests that need the leader
        self._lease = None          # (id, granted at, monotonic)
        self._running = threading.local()   # .budget: the WaitBudget of the snapshot this thread reads
        self._lock = threading.Lock()

    @classmethod
    def normalize_location(cls, location):
        return format_location(parse_location(location, cls.tls))

    @classmethod
    def destroy(cls, location):
        """Delete this prefix's keys (tests, provisioning)."""
        store = cls(location)
        try:
            p = store.prefix.encode() + b"/"
            store._post("/kv/deleterange", {"key": _b64(p), "range_end": _b64(prefix_end(p))})
        finally:
            store.close()

    @property
    def requests(self):
        """Requests sent to each member, in the location's order (preferred member first)."""
        return list(self._members.requests)

    @property
    def address(self):
        return self._members.address()

    # -- requests

    def _budget(self):
        """The wait budget of the transaction this thread runs (see WaitBudget), else a new one."""
        return getattr(self._running, "budget", None) or WaitBudget(self.settings["timeout"])

    def _post(self, path, body, members=None, budget=None, read=False):
        """One request, within what is left of ``budget`` (a fresh ``timeout`` if None); ``read``: a
        read, whose time is not counted when the member in use answers it at once."""
        budget = budget or WaitBudget(self.settings["timeout"])
        t = time.monotonic()
        deadline = t + max(budget.left, 0.0)
        waited = True
        try:
            while True:
                try:
                    _i, res, at_once = self._members.post(path, body, deadline, members)
                    waited = not at_once
                    return res
                except _ServerError as e:
                    msg = str(e)
                    if "future revision" in msg and time.monotonic() < deadline:
                        time.sleep(0.02)   # a member behind the revision being read: it catches up
                        continue
                    self._server_error(msg)
        finally:
            if waited or not read:
                budget.left -= time.monotonic() - t

    def _server_error(self, msg):
        if "compacted" in msg:
            raise Conflict("the revision this transaction reads at was compacted: %s" % msg) from None
        if "too many operations" in msg or "too large" in msg:
            raise Refused("etcd refused the transaction: %s (raise --max-txn-ops / "
                          "--max-request-bytes on the cluster and in the URL)" % msg) from None
        raise StoreError("etcd at %s: %s" % (self.address, msg)) from None

    def _range_op(self, lo, hi, limit=None, reverse=False):
        """A range operation over data keys [lo, hi) (hi None: a point get of lo; hi b'' ... end)."""
        r = {"key": _b64(self._d + lo)}
        if hi is not None or limit is not None:
            r["range_end"] = _b64(self._d + hi if hi else prefix_end(self._d))
        if limit:
            r["limit"] = limit
        if reverse:
            r["sort_order"] = "DESCEND"
            r["sort_target"] = "KEY"
        return r

    def _read_ops(self, ops, rev, budget=None):
        """Range operations in one read-only Txn (or several of max_txn_ops each) at revision rev (None:
        the member's latest) -> (their replies, the revision read). Waiting comes off ``budget``."""
        budget = budget or self._budget()
        serializable = self.settings["reads"] == "serializable" or rev is not None
        ops = [dict(o, serializable=True) if serializable else o for o in ops]
        if rev is not None:
            ops = [dict(o, revision=rev) for o in ops]
        step = self.settings["max_txn_ops"]
        replies = []
        read_rev = rev
        for i in range(0, max(len(ops), 1), step):
            batch = ops[i:i + step]
            body = {"success": [{"request_range": o} for o in batch]}
            res = self._post("/kv/txn", body, budget=budget, read=serializable)
            got = int(res["header"]["revision"])
            if read_rev is None:
                wait_until = time.monotonic() + 1.0
                while got < self._floor and serializable:
                    # This member is behind what this process saw (read your writes): wait for it a
                    # little, then ask through the leader.
                    if time.monotonic() < wait_until:
                        time.sleep(0.01)
                        budget.left -= 0.01
                    else:
                        body = {"success": [{"request_range": {k: v for k, v in o.items() if k != "serializable"}}
                                            for o in batch]}
                    res = self._post("/kv/txn", body, budget=budget)
                    got = int(res["header"]["revision"])
                    if "serializable" not in body["success"][0]["request_range"]:
                        break
                read_rev = got
                ops = [dict(o, revision=got) for o in ops]   # later batches read at the same revision
                self._saw(got)
            replies += [r.get("response_range", {}) for r in res.get("responses", [])]
        return replies, read_rev

    @property
    def _floor(self):
        """The highest revision this process committed or read on this cluster, through any store."""
        return self._shared_floor.rev

    def _saw(self, rev):
        self._shared_floor.raise_to(rev)

    def _lease_id(self, budget):
        """The lease tombstones and receipts are written with (granted again at half its TTL)."""
        ttl = self.settings["lease_ttl"]
        with self._lock:
            lease = self._lease
            if lease is None or time.monotonic() - lease[1] > ttl / 2:
                t = time.monotonic()
                res = self._post("/lease/grant", {"TTL": ttl}, budget=budget)
                lease = self._lease = (res["ID"], t)
            return lease[0]

    # -- Store

    def snapshot(self):
        return EtcdSnapshot(self)

    def commit(self, reads, writes):
        if not writes:
            return
        s = self.settings
        rev = reads.revision
        if rev is not None and time.monotonic() - rev.t0 > s["lease_ttl"] / 2:
            raise Conflict("the transaction is older than half the tombstone lease (%ss)" % s["lease_ttl"])
        budget = rev.budget if rev is not None else self._budget()
        lease = self._lease_id(budget)
        receipt = self._t + receipt_id()
        cmp = [{"target": "VERSION", "key": _b64(receipt), "result": "EQUAL", "version": 0}]
        size = len(receipt)
        mods, values = (rev.mods, rev.seen) if rev is not None else ({}, {})
        for k, v in reads.points.items():
            dk = self._d + k
            m = mods.get(k)
            if m is not None and k in values and values[k] != v:
                # a value assumed from a cache (Transaction.assume) that the snapshot read otherwise
                raise Conflict("key changed by a concurrent transaction")
            if m is not None:    # read at the snapshot's revision: the same write still there (0: absent)
                cmp.append({"target": "MOD", "key": _b64(dk), "result": "EQUAL", "mod_revision": m})
            elif v is None:      # known absent without a read (expect_absent): still absent
                cmp.append({"target": "VERSION", "key": _b64(dk), "result": "EQUAL", "version": 0})
            else:                # a value assumed from a cache: still that value
                cmp.append({"target": "VALUE", "key": _b64(dk), "result": "EQUAL", "value": _b64(v)})
                size += len(v)
            size += len(dk)
        if rev is not None:
            after = rev.rev + 1
            for lo, hi, _ in reads.ranges:
                for base in (self._d, self._x):
                    end = base + hi if hi is not None else prefix_end(base)
                    cmp.append({"target": "MOD", "key": _b64(base + lo), "range_end": _b64(end),
                                "result": "LESS", "mod_revision": after})
                    size += len(lo) + len(end) + len(base)
        ops = []
        for k, v in writes.items():
            if v is None:
                ops.append({"request_delete_range": {"key": _b64(self._d + k)}})
                ops.append({"request_put": {"key": _b64(self._x + k), "lease": lease}})
                size += 2 * (len(k) + self._dlen)
            else:
                ops.append({"request_put": {"key": _b64(self._d + k), "value": _b64(v)}})
                size += len(k) + self._dlen + len(v)
        ops.append({"request_put": {"key": _b64(receipt), "value": _b64(b"1"), "lease": lease}})
        size += OP_OVERHEAD * (len(cmp) + len(ops))
        limit_ops, limit_bytes = s["max_txn_ops"], s["max_request_bytes"]
        if len(cmp) > limit_ops or len(ops) > limit_ops or size > limit_bytes:
            raise Refused(
                "transaction too large for one etcd Txn: %d compares, %d operations, about %d bytes "
                "(this cluster takes %d operations and %d bytes: raise --max-txn-ops and "
                "--max-request-bytes on every member, and max_txn_ops / max_request_bytes in the URL; "
                "nothing was written)" % (len(cmp), len(ops), size, limit_ops, limit_bytes))
        body = {"compare": cmp, "success": ops,
                "failure": [{"request_range": {"key": _b64(receipt)}}]}
        self.commits_sent += 1
        sent = time.monotonic()
        try:
            res = self._post("/kv/txn", body, budget=budget)
        except (Conflict, Refused):
            raise
        except StoreError as e:
            raise StoreError("%s: commit not confirmed; all or nothing of it is applied, possibly once the "
                             "member reaches a majority again" % e) from None
        self._saw(int(res["header"]["revision"]))
        if res.get("succeeded"):
            if rev is not None:
                self._running.carried = self._carry(reads, writes, rev, int(res["header"]["revision"]), sent)
            return
        got = (res.get("responses") or [{}])[0].get("response_range", {})
        if got.get("kvs"):
            return   # an earlier send of this commit was applied (its reply was lost)
        raise Conflict("key or range changed by a concurrent transaction")

    def _carry(self, reads, writes, state, rev, sent):
        """The Carried state of a commit applied at revision ``rev`` (None for a large one). ``sent``:
        when it was sent, the age the next transaction starts with (tombstones of later deletes were
        written after it)."""
        if len(writes) + len(reads.points) > CARRY_LIMIT:
            return None
        seen, mods = {}, {}
        for k, v in reads.points.items():
            m = state.mods.get(k)
            if m is not None:
                seen[k], mods[k] = v, m
        order = sorted(writes)
        ranges = {}
        for lo, hi, *_ in reads.ranges:
            pairs = state.ranges.get((lo, hi))
            if pairs is None:
                continue
            a = bisect.bisect_left(order, lo)
            b = len(order) if hi is None else bisect.bisect_left(order, hi)
            if a < b:
                merged = dict(pairs)
                merged.update((k, writes[k]) for k in order[a:b])
                pairs = sorted((k, v) for k, v in merged.items() if v is not None)
            for k, _v in pairs:
                mods.setdefault(k, state.mods.get(k, 0))
            ranges[(lo, hi)] = pairs
        for k, v in writes.items():
            seen[k], mods[k] = v, (rev if v is not None else 0)
        return Carried(rev, sent, seen, mods, ranges, time.monotonic())

    def allocate(self, key, count=1, at_least=0):
        k = self._q + key
        budget = self._budget()
        for _ in range(1000):
            res = self._post("/kv/range", {"key": _b64(k)}, budget=budget)
            kvs = res.get("kvs")
            cur = int(_unb64(kvs[0]["value"])) if kvs else 1
            mod = int(kvs[0]["mod_revision"]) if kvs else 0
            first = max(cur, int(at_least))
            cmp = {"target": "MOD", "key": _b64(k), "result": "EQUAL", "mod_revision": mod}
            res = self._post("/kv/txn", {"compare": [cmp], "success": [
                {"request_put": {"key": _b64(k), "value": _b64(str(first + count).encode())}}]}, budget=budget)
            if res.get("succeeded"):
                return first
        raise StoreError("etcd at %s: AUTOINCREMENT counter too contended" % self.address)

    def close(self):
        self._members.close()

    def __repr__(self):
        return "EtcdStore(%r)" % ("%s?prefix=%s" % (self.address, self.prefix))


class EtcdsStore(EtcdStore):
    """``rome+etcds://``: the same over TLS."""

    tls = True

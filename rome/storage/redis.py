"""A networked store: one Redis server (or any server speaking its protocol and Lua), shared by every
process that opens the same URL. Every operation is one round trip; a commit is one atomic Lua script.

LOCATION (what follows ``rome+redis://`` or ``rome+rediss://``; the dialect and ``rome.connect`` accept
the same URLs):

    [[user]:password@]host[:port][/db][?option=value&...]      TCP (port 6379, db 0 by default)
    [[user]:password@][/db]?unix_socket=/abs/path/redis.sock    a unix socket (db stays in the path)

``rome+rediss://`` is TLS (``?ssl=true`` on ``rome+redis://`` is the same). Options:
``prefix=NAME`` (default ``rome``: several ROME databases share one Redis, each under its prefix),
``unix_socket=PATH``, ``ssl_ca_certs``, ``ssl_ca_path``, ``ssl_certfile``, ``ssl_keyfile``,
``ssl_cert_reqs`` (none|optional|required), ``ssl_check_hostname`` (true|false),
``socket_timeout`` / ``socket_connect_timeout`` (seconds, default 60 / 5),
``sequence_block=N`` (AUTOINCREMENT values reserved per round trip, default 64),
``follow_rows`` (true|false, default true: see FOLLOWING), ``policy_check`` (true|false, default
true: see DAMAGE; false only where CONFIG GET is not allowed and the policy is known). Passwords and
usernames are percent-decoded; error messages name the address, never the credentials.

LAYOUT. Under the prefix P (inside a hash tag, so that a Redis Cluster keeps one database in one slot):

    {P}:z   sorted set, every key as a member with score 0: ordered by memcmp (ZRANGEBYLEX), so a
            range scan is ZRANGEBYLEX / ZREVRANGEBYLEX from a bound, LIMIT n
    {P}:h   hash, key -> value (HMGET fetches any batch of keys at once)
    {P}:v   commit version: incremented by every commit that writes
    {P}:q   hash, AUTOINCREMENT counters (Store.allocate): outside the data, never scanned
    {P}:i   the store's identity: a random value, written by the first commit (or, for a database of
            an earlier version, at connect)
    {P}:n   how many keys the store holds (as {P}:z and {P}:h do)
    {P}:t:<id>  a commit's receipt (its version), kept socket_timeout + 30 s: makes a commit safe to
            resend (about 100 bytes per commit while it lives)

A key is in {P}:z iff it is in {P}:h; only the scripts below write either, atomically.

SCRIPTS (sent once per process with EVAL, then by EVALSHA; NOSCRIPT after a server restart or SCRIPT
FLUSH falls back to EVAL, which reloads them):

- READ (``no-writes``), one per read call: ``g`` an HMGET of a batch of keys; ``f``/``r`` one batch of
  a forward/reverse range scan, keys and values together (ZRANGEBYLEX ... LIMIT n, then HMGET); ``m``
  many ranges at once (:meth:`RedisSnapshot.scan_many`). Every call also returns the commit version,
  and may carry keys to fetch along (:meth:`RedisSnapshot.prefetch`). A scan asks for a small first
  batch (64 pairs) and grows it x4 up to 4096: a short or abandoned scan costs one round trip.
- COMMIT: if the commit's receipt exists, return it (this commit already ran: a resend after a lost
  reply is a no-op); validate the ReadSet (point reads: HMGET and compare the values; range reads:
  re-scan the range in chunks and compare a digest, see :meth:`RedisStore.digest`); if anything
  changed, return the conflict and write nothing; else apply every write (HSET+ZADD / HDEL+ZREM),
  INCR the version, write the receipt, return the version. Redis runs a script alone, so validation
  and writes are one atomic step, and the AOF/replicas get its effects as one MULTI/EXEC; a client
  killed while sending a commit leaves nothing (the server runs complete commands only).
- ALLOCATE: the counter jumps to at_least if below, then HINCRBY count (exact 64-bit arithmetic);
  with a receipt too, so that it can be resent.

FOLLOWING (``follow_rows``, default on). ROME's index entries hold their row's primary key
(rome.sql.keys: ``01 <table> 01 <index> ...`` -> pk, the row at ``01 <table> 00 <pk>``), and most carry
the row itself (rome.encoding.entrycode: a value starting 01). The READ script knows these shapes: for
every index entry a call returns that does not carry its row, it also returns the row, in the same round
trip; the snapshot remembers those rows, so the engine's next get_many of them is free. An index
lookup and its row fetch are thus one round trip, and consistent with each other (one script). Keys of
other shapes are never followed; ``?follow_rows=false`` turns it off (covering scans then move less).

ISOLATION. Redis has no snapshots, so this store gives:

- writing transactions: serializable, as on LMDB. Everything a transaction read is recorded (by
  rome.storage.transaction) and the commit script re-checks it against the latest state in the same
  atomic step that writes. Two racing read-modify-writes: one commits, the other gets Conflict.
- read-only transactions: read committed *per call*, with repeatable point reads. Each round trip
  (a batch of gets, one scan batch, a scan_many) sees one committed state; two round trips may see
  different ones. A snapshot remembers what it read and serves it again without a round trip: point
  values (also the rows that came along with index entries) and ranges it read whole in one batch
  (a nested loop probing the same index range for many outer rows costs one round trip). Within one
  transaction a value once read does not change; a range scan not remembered re-reads the server.
  A read-only transaction is never validated and costs no commit round trip.
  Every call also returns the store's commit version: ``snapshot.first_version``,
  ``last_version``, and ``stable`` (False once two calls saw different versions) tell whether a
  transaction's reads were one consistent state.
  A true snapshot for read-only transactions (when the version moved, re-validate what was read and
  fail with a conflict if it changed) was considered and left out: the engine maps any StoreError
  raised while a statement runs to "store unavailable", not to a retryable conflict, and it would
  turn concurrent writes into errors for read-only requests that SQL servers answer under READ
  COMMITTED (OpenStack's default on PostgreSQL). The version is the hook if it is ever wanted.

AUTOINCREMENT values are reserved ``sequence_block`` at a time (one round trip per block), as
PostgreSQL's sequence caches do: values are unique, increasing within a process, not across processes.

FAULTS. Any connection error or server error is a StoreError naming the address ("redis at
127.0.0.1:6379: ..."). Reads are resent once on a fresh connection (a pooled connection may be stale
after the server restarted), and so are commits and allocations (the receipt makes a resent one run
at most once).
Nothing else is retried: the next use after the server is back reconnects.
A server that came back without the data (restarted empty, or from an older copy) must not look
like a shorter result: every read returns the store's identity and commit version, and a snapshot
raises StoreChanged (OperationalError) when a later read sees another identity, none, or an older
version (rome.storage.lineage).

DAMAGE. A server that evicts keys (maxmemory-policy other than noeviction) would drop committed rows,
or a structure key, silently. At connect (and after a lost connection) the store reads the policy
with CONFIG GET and refuses any other (StoreRefused, saying what to set; where CONFIG is not allowed,
``policy_check=false`` skips it). Every script also checks the layout first: {P}:z, {P}:h and {P}:n
agree on the number of keys, and {P}:i, {P}:v and {P}:n exist together (or, in an empty store,
none of them). If not, nothing is read or written: StoreCorrupt (DatabaseError "database disk image
is malformed"), never an empty or partial database.

FULL. At maxmemory (noeviction) Redis refuses the commit script: StoreFull (OperationalError "database
or disk is full"). The commit is then sent once more with a script allowed to run at maxmemory that
applies it only if it frees more than it adds (DELETE, DROP TABLE, an UPDATE that shortens values),
so that space can be freed through ROME. A value over the server's ``proto-max-bulk-len`` or a commit
over its ``client-query-buffer-limit`` (both read at connect) is TooBig (DataError), before sending.

ROUND TRIPS are counted on the store (``store.round_trips``): one per read call or commit or block
of AUTOINCREMENT values; two when the server had lost the scripts (NOSCRIPT); a new pooled connection
adds AUTH (with a password) and SELECT (db other than 0) once. Through the engine: a read-only point
SELECT costs 2 (the catalog at BEGIN, then the row), an index lookup with its rows 1 after the catalog,
a commit 1, a read-only commit 0.

DURABILITY is Redis's: with ``appendonly yes`` and ``appendfsync always`` a commit is on disk when it
returns; ``appendfsync everysec`` (Redis's default when AOF is on) may lose the last second on a power
loss; RDB snapshots alone lose everything since the last save. A commit is one script, so the AOF
holds it whole or not at all.

LIMITS. A commit is one command: a huge transaction is one big request and holds the server while
its script runs. Range validation re-reads the ranges the transaction scanned, on the server.
"""
import hashlib
import os
import threading

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

_OutOfMemory = getattr(redis.exceptions, "OutOfMemoryError", ())

from rome.encoding.entrycode import entry_pk
from rome.encoding.keycode import prefix_end
from rome.storage import remote
from rome.storage.base import (BadLocation, Conflict, Snapshot, Store, StoreCorrupt, StoreError, StoreFull,
                               StoreRefused, TooBig)
from rome.storage.lineage import Lineage
from rome.storage.remote import CACHE_LIMIT, RECEIPT_MARGIN, ReadCache, receipt_id

DEFAULT_PORT = 6379
DEFAULT_PREFIX = "rome"
FIRST_BATCH, MAX_BATCH, GROWTH = 64, 4096, 4
CHUNK = 256            # pairs per SHA1 chunk of a range digest (the Lua and Python sides agree)
GET_BATCH = 4000       # keys per HMGET inside a script (Lua's unpack limit is ~8000)

_OPTIONS = {"prefix", "unix_socket", "ssl", "socket_timeout", "socket_connect_timeout",
            "sequence_block", "follow_rows", "db", "policy_check", *remote.SSL_OPTIONS}

# -- Lua ---------------------------------------------------------------------------------------------

_LUA_INTACT = r"""
-- the layout's invariants (see DAMAGE) -> the store's identity ('' before its first commit), or
-- false and what is wrong
local function intact(z, h, v, i, n)
  local id, count = redis.call('GET', i), redis.call('GET', n)
  local nz, nh = redis.call('ZCARD', z), redis.call('HLEN', h)
  local hasv = redis.call('EXISTS', v) == 1
  if not id then
    if hasv or count or nz > 0 or nh > 0 then return false, 'the identity key is missing' end
    return ''
  end
  if not hasv then return false, 'the commit version is missing' end
  if not count then return false, 'the key count is missing' end
  if nz ~= nh or nh ~= tonumber(count) then
    return false, count .. ' keys committed, ' .. nz .. ' in the sorted set, ' .. nh .. ' in the hash'
  end
  return id
end
"""

_LUA_DIGEST = r"""
local CHUNK = %d
local function digest(z, h, lo, hi)
  local hexes = {}
  while true do
    local ks = redis.call('ZRANGEBYLEX', z, lo, hi, 'LIMIT', 0, CHUNK)
    local n = #ks
    if n == 0 then break end
    local vs = redis.call('HMGET', h, unpack(ks))
    local parts = {}
    for j = 1, n do
      local k, v = ks[j], vs[j]
      parts[4 * j - 3] = #k .. ':'
      parts[4 * j - 2] = k
      parts[4 * j - 1] = #v .. ':'
      parts[4 * j] = v
    end
    hexes[#hexes + 1] = redis.sha1hex(table.concat(parts))
    if n < CHUNK then break end
    lo = '(' .. ks[n]
  end
  return redis.sha1hex(table.concat(hexes))
end
""" % CHUNK

READ_LUA = r"""#!lua flags=no-writes
-- KEYS: z, h, v, i, n.  ARGV[1] is the operation, '+' appended to follow index entries to their rows;
-- ARGV[2] = A, ARGV[3 .. 2 + A] keys to fetch along (prefetch); then the operation's arguments:
--   'g', keys...
--   'f' | 'r', min, max, limit, C, chain x C
--   'm', (min, max, limit, '0' | '1', C, chain x C) x R
-- chain (see CHAINS): 'v' | 'k', prefix, suffix, limit ('0': a point)
-- -> {version, identity, R, n1..nR, CH, data, chained, followed}: data the values ('g') or the (key, value)
-- pairs of the ranges; chained CH items: per range, per chain, per pair of the range, the value (a
-- point) or n then n (key, value) pairs (a range); followed: (key, value or nil) pairs, the keys
-- fetched along, then the rows the index entries read point to
local z, h = KEYS[1], KEYS[2]
""" + _LUA_INTACT + r"""
local id, damage = intact(z, h, KEYS[3], KEYS[4], KEYS[5])
if not id then return redis.error_reply('ROMEDAMAGED ' .. damage) end
local op = string.sub(ARGV[1], 1, 1)
local follow = string.sub(ARGV[1], 2, 2) == '+'
local counts, data, rk, chained = {}, {}, {}, {}
local a = tonumber(ARGV[2])
for i = 3, 2 + a do rk[#rk + 1] = ARGV[i] end
local o = 2 + a  -- ARGV[o + 1] is the operation's first argument
-- an index entry (01 <table:4> 01 <index:4> ...) holds the primary key of its row (01 <table:4> 00 <pk>),
-- or 01 <n:2> <pk: n bytes> <row> when it carries the row (rome.encoding.entrycode): nothing to follow
local function entry(k, v)
  if v and string.byte(k, 1) == 1 and string.byte(k, 6) == 1 and #k > 10 and string.byte(v, 1) ~= 1 then
    rk[#rk + 1] = string.sub(k, 1, 5) .. '\0' .. v
  end
end
local function entry_pk(v)
  if string.byte(v, 1) ~= 1 then return v end
  return string.sub(v, 4, 3 + string.byte(v, 2) * 256 + string.byte(v, 3))
end
local function prefix_end(p)
  local n = #p
  while n > 0 and string.byte(p, n) == 255 do n = n - 1 end
  if n == 0 then return '+' end
  return '(' .. string.sub(p, 1, n - 1) .. string.char(string.byte(p, n) + 1)
end
local function pairs_of(ks)
  local n = #ks
  if n == 0 then return {} end
  local vs = redis.call('HMGET', h, unpack(ks))
  if follow then for j = 1, n do entry(ks[j], vs[j]) end end
  return vs
end
-- the chains of one range whose n pairs start at data[b + 1]; args at ARGV[i], C of them
local function chain(b, n, i, c)
  for s = 0, c - 1 do
    local src, pre, suf, lim = ARGV[i + 4 * s], ARGV[i + 4 * s + 1], ARGV[i + 4 * s + 2], tonumber(ARGV[i + 4 * s + 3])
    local cks = {}
    for j = 1, n do
      local k, v = data[b + 2 * j - 1], data[b + 2 * j]
      cks[j] = pre .. (src == 'v' and entry_pk(v) or string.sub(k, 7)) .. suf
    end
    if lim == 0 then
      local x = 1
      while x <= n do
        local y = math.min(x + %d - 1, n)
        local vs = redis.call('HMGET', h, unpack(cks, x, y))
        for j = x, y do
          chained[#chained + 1] = vs[j - x + 1]
          if follow then entry(cks[j], vs[j - x + 1]) end
        end
        x = y + 1
      end
    else
      for j = 1, n do
        local ks = redis.call('ZRANGEBYLEX', z, '[' .. cks[j], prefix_end(cks[j]), 'LIMIT', 0, lim)
        local vs = pairs_of(ks)
        chained[#chained + 1] = #ks
        for x = 1, #ks do
          chained[#chained + 1] = ks[x]
          chained[#chained + 1] = vs[x]
        end
      end
    end
  end
end
-- one range: its pairs appended to data, then its c chains (their arguments from ARGV[ci])
local function range(lo, hi, limit, reverse, c, ci)
  local ks
  if reverse then
    ks = redis.call('ZREVRANGEBYLEX', z, hi, lo, 'LIMIT', 0, limit)
  else
    ks = redis.call('ZRANGEBYLEX', z, lo, hi, 'LIMIT', 0, limit)
  end
  local n = #ks
  counts[#counts + 1] = n
  local b = #data
  local vs = pairs_of(ks)
  for j = 1, n do
    data[b + 2 * j - 1] = ks[j]
    data[b + 2 * j] = vs[j]
  end
  if c > 0 and n > 0 then chain(b, n, ci, c) end
end
if op == 'g' then
  local n = #ARGV
  local i = o + 1
  while i <= n do
    local j = math.min(i + %d - 1, n)
    local vs = redis.call('HMGET', h, unpack(ARGV, i, j))
    for x = 1, j - i + 1 do
      data[i + x - o - 1] = vs[x]
      if follow then entry(ARGV[i + x - 1], vs[x]) end
    end
    i = j + 1
  end
  counts[1] = n - o
elseif op == 'm' then
  local i = o + 1
  while i <= #ARGV do
    local c = tonumber(ARGV[i + 4])
    range(ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3] == '1', c, i + 5)
    i = i + 5 + 4 * c
  end
else
  local c = tonumber(ARGV[o + 4])
  range(ARGV[o + 1], ARGV[o + 2], tonumber(ARGV[o + 3]), op == 'r', c, o + 5)
end
local out = {redis.call('GET', KEYS[3]) or '0', id, #counts}
for j = 1, #counts do out[#out + 1] = counts[j] end
out[#out + 1] = #chained
local b = #out
local nd = (op == 'g') and counts[1] or 0
if op ~= 'g' then
  for j = 1, #counts do nd = nd + 2 * counts[j] end
end
for j = 1, nd do out[b + j] = data[j] end
b = b + nd
for j = 1, #chained do out[b + j] = chained[j] end
b = b + #chained
local m = #rk
local i = 1
while i <= m do
  local j = math.min(i + %d - 1, m)
  local rows = redis.call('HMGET', h, unpack(rk, i, j))
  for x = i, j do
    out[b + 2 * x - 1] = rk[x]
    out[b + 2 * x] = rows[x - i + 1]
  end
  i = j + 1
end
return out
""" % (GET_BATCH, GET_BATCH, GET_BATCH)

COMMIT_LUA = r"""#!lua
-- KEYS: z, h, v, receipt, i, n.  ARGV: npoints, nranges, nwrites, ttl, identity (the store's if it has
--   none yet), free ('1': write only if the commit frees memory), then
--   npoints x (key, '-' absent | '=' value), nranges x (min, max, digest), nwrites x (key, '-' | '=' value)
-- -> the new version (an integer), or 'point' / 'range' (a conflict: nothing written), or 'full'
local z, h = KEYS[1], KEYS[2]
local done = redis.call('GET', KEYS[4])
if done then return tonumber(done) end
""" + _LUA_INTACT + _LUA_DIGEST + r"""
local id, damage = intact(z, h, KEYS[3], KEYS[5], KEYS[6])
if not id then return redis.error_reply('ROMEDAMAGED ' .. damage) end
local np, nr, nw = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local i = 7
local p = 0
while p < np do
  local m = math.min(np - p, %d)
  local ks = {}
  for j = 1, m do ks[j] = ARGV[i + 2 * j - 2] end
  local cur = redis.call('HMGET', h, unpack(ks))
  for j = 1, m do
    local e, c = ARGV[i + 2 * j - 1], cur[j]
    if e == '-' then
      if c then return 'point' end
    elseif not c or #c + 1 ~= #e or '=' .. c ~= e then
      return 'point'
    end
  end
  i = i + 2 * m
  p = p + m
end
for r = 1, nr do
  if digest(z, h, ARGV[i], ARGV[i + 1]) ~= ARGV[i + 2] then return 'range' end
  i = i + 3
end
if ARGV[6] == '1' then  -- at maxmemory: only a commit that frees more than it adds
  local grow, j = 0, i
  for w = 1, nw do
    local k, e = ARGV[j], ARGV[j + 1]
    j = j + 2
    local old = redis.call('HEXISTS', h, k) == 1 and redis.call('HSTRLEN', h, k) or -1
    if string.byte(e, 1) == 61 then
      grow = grow + #e - 1 - (old >= 0 and old or -2 * #k - 64)
    elseif old >= 0 then
      grow = grow - old - 2 * #k
    end
  end
  if grow > 0 then return 'full' end
end
local delta = 0
for w = 1, nw do
  local k, e = ARGV[i], ARGV[i + 1]
  i = i + 2
  if string.byte(e, 1) == 61 then
    if redis.call('HSET', h, k, string.sub(e, 2)) == 1 then
      redis.call('ZADD', z, 0, k)
      delta = delta + 1
    end
  elseif redis.call('HDEL', h, k) == 1 then
    redis.call('ZREM', z, k)
    delta = delta - 1
  end
end
if id == '' then redis.call('SET', KEYS[5], ARGV[5]) end
redis.call('INCRBY', KEYS[6], delta)
local v = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[4], v, 'EX', tonumber(ARGV[4]))
return v
""" % (GET_BATCH // 2)

# the same commit, let run when the server is over maxmemory (see FULL)
COMMIT_FREE_LUA = COMMIT_LUA.replace("#!lua\n", "#!lua flags=allow-oom\n", 1)

# At connect: gives a database of an earlier ROME version (or a new one) its identity, so that every
# database in use has one (see DAMAGE).
INIT_LUA = r"""#!lua flags=allow-oom
-- KEYS: z, h, v, i, n.  ARGV: identity
local nh = redis.call('HLEN', KEYS[2])
if redis.call('EXISTS', KEYS[4]) == 0 and redis.call('ZCARD', KEYS[1]) == nh and nh > 0 then
  redis.call('SET', KEYS[4], ARGV[1])
  redis.call('SET', KEYS[5], nh)
  redis.call('SETNX', KEYS[3], '0')
end
return 1
"""

ALLOCATE_LUA = r"""#!lua
-- KEYS: q, receipt.  ARGV: counter, count, at_least (decimal, >= 1), ttl -> the first value (decimal)
local done = redis.call('GET', KEYS[2])
if done then return done end
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or '1'
local least = ARGV[3]
if #least > #cur or (#least == #cur and least > cur) then cur = least end
redis.call('HSET', KEYS[1], ARGV[1], cur)
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], cur, 'EX', tonumber(ARGV[4]))
return cur
"""


class _Script:
    __slots__ = ("name", "text", "sha")

    def __init__(self, name, text):
        self.name, self.text = name, text
        self.sha = hashlib.sha1(text.encode()).hexdigest()


READ = _Script("read", READ_LUA)
COMMIT = _Script("commit", COMMIT_LUA)
COMMIT_FREE = _Script("commit-free", COMMIT_FREE_LUA)
INIT = _Script("init", INIT_LUA)
ALLOCATE = _Script("allocate", ALLOCATE_LUA)


# -- locations ---------------------------------------------------------------------------------------

def parse_location(location, tls=False):
    """A location (see the module docstring) -> dict of settings. Raises BadLocation (a ValueError),
    whose message never holds the password."""
    parts, port, query, scheme = remote.split_location(location, ("redis", "rediss"), _OPTIONS, "redis")
    tls = tls or scheme == "rediss"
    path = parts.path.strip("/")
    db = query.pop("db", None) if not path else path
    if db is None or db == "":
        db = "0"
    if not db.isdigit():
        raise BadLocation("the redis database must be a number, not %r" % db)
    prefix = query.pop("prefix", DEFAULT_PREFIX)
    if not prefix or "{" in prefix or "}" in prefix:
        raise BadLocation("bad prefix %r (not empty, no braces)" % prefix)
    ssl = query.pop("ssl", None)
    if ssl is not None:
        tls = tls or remote.flag(ssl, "ssl")
    username, password = remote.credentials(parts)
    s = {
        "host": parts.hostname or "localhost",
        "port": port or DEFAULT_PORT,
        "db": int(db),
        "username": username,
        "password": password,
        "unix_socket": query.pop("unix_socket", None),
        "prefix": prefix,
        "tls": tls,
        "sequence_block": int(query.pop("sequence_block", 64)),
        "follow_rows": remote.flag(query.pop("follow_rows", "true"), "follow_rows"),
        "policy_check": remote.flag(query.pop("policy_check", "true"), "policy_check"),
        "socket_timeout": float(query.pop("socket_timeout", 60)),
        "socket_connect_timeout": float(query.pop("socket_connect_timeout", 5)),
    }
    if s["sequence_block"] < 1:
        raise BadLocation("sequence_block must be at least 1")
    if s["unix_socket"] is not None:
        if parts.hostname or port:
            raise BadLocation("a unix_socket location has no host or port")
        if not s["unix_socket"].startswith("/"):
            raise BadLocation("unix_socket must be an absolute path")
        if tls:
            raise BadLocation("TLS over a unix socket is not supported")
    s["ssl"] = remote.tls_options(query, tls, "rome+rediss:// or ssl=true")
    return s


def format_location(s):
    """The canonical spelling of parsed settings: equal stores get equal locations."""
    cred = remote.format_credentials(s["username"], s["password"])
    query = {"prefix": s["prefix"]}
    if s["unix_socket"] is not None:
        where = ""
        query["unix_socket"] = s["unix_socket"]
    else:
        where = remote.host_port(s["host"], s["port"])
    if s["tls"]:
        query["ssl"] = "true"
    if not s["follow_rows"]:
        query["follow_rows"] = "false"
    if not s["policy_check"]:
        query["policy_check"] = "false"
    if s["sequence_block"] != 64:
        query["sequence_block"] = str(s["sequence_block"])
    if s["socket_timeout"] != 60:
        query["socket_timeout"] = repr(s["socket_timeout"])
    if s["socket_connect_timeout"] != 5:
        query["socket_connect_timeout"] = repr(s["socket_connect_timeout"])
    for k, v in s["ssl"].items():
        query[k] = ("true" if v else "false") if isinstance(v, bool) else v
    return "%s%s/%d?%s" % (cred, where, s["db"], remote.urlencode(sorted(query.items())))


def address(s):
    if s["unix_socket"] is not None:
        return "unix:%s" % s["unix_socket"]
    return remote.host_port(s["host"], s["port"])


def _bound_min(start):
    return b"[" + start if start else b"-"


def _bound_max(end):
    return b"+" if end is None else b"(" + end


# -- the store ---------------------------------------------------------------------------------------

class RedisSnapshot(ReadCache, Snapshot):
    """Reads over the store's latest committed state, one call = one round trip (see ISOLATION).

    What a snapshot read is remembered and served again without a round trip: point values (also
    those of the rows that index entries it read point to, fetched in the same call, see FOLLOWING);
    whole ranges (a range that a call returned complete), so a nested loop probing the same index
    range for many outer rows costs one round trip, and a key inside such a range that the range did
    not hold is known absent (a unique check after reading the index range it falls in); and the first
    batch of a range that a call returned incomplete, which a scan of that range continues from."""

    batches = True
    WHOLE_BATCH = MAX_BATCH   # scan_many's limit per range for ranges that will be read to the end

    def __init__(self, store):
        self._store = store
        self._follow = b"+" if store.follow_rows else b""
        self._reset_cache()      # see remote.ReadCache
        self._chains = {}    # (start, end) -> chain specs sent with every read of that range
        self.first_version = self.last_version = None  # commit versions seen by the first/last call
        self.stable = True   # every call saw the same committed state
        self._lineage = Lineage("redis at %s" % store.address)

    def _call(self, args):
        """One round trip: -> (counts, data, chained): the values, or (key, value) pairs flattened,
        asked for, and what the chains brought (see :meth:`_take_chained`); remembers the keys
        prefetched and the rows that index entries point to (sent along)."""
        also, self._also = self._also, []
        res = self._store._read([args[0], len(also), *also, *args[1:]])
        v = int(res[0])
        self._lineage.see(res[1], v)
        if self.first_version is None:
            self.first_version = v
        elif v != self.last_version:
            self.stable = False
        self.last_version = v
        r = res[2]
        counts = res[3:3 + r]
        ch = res[3 + r]
        width = sum(counts) if args[0][0] == 103 else 2 * sum(counts)  # b"g": values only
        start = 4 + r
        extra = res[start + width + ch:]
        if extra:
            self._remember_points(zip(extra[0::2], extra[1::2]))
        return counts, res[start:start + width], res[start + width:start + width + ch]

    def chain(self, ranges, specs, lazy=()):
        """Have every later read of these (start, end) ranges also read, for each pair it returns,
        what ``specs`` derive from it (see CHAINS): [(source, prefix, suffix, limit)], source b"v"
        (the pair is an index entry: its value is a primary key) or b"k" (the pair is a row: its key
        ends with the primary key); the chained key is prefix + primary key + suffix, read as a point
        (limit 0) or as the range of keys it starts (at most limit pairs)."""
        specs = list(specs) + list(lazy)   # the script reads their rows in the same round trip
        for start, end in ranges:
            self._chains[(start, end)] = specs

    def _chain_args(self, start, end):
        specs = self._chains.get((start, end)) if self._chains else None
        if not specs:
            return [0], None
        args = [len(specs)]
        for sp in specs:
            args += sp
        return args, specs

    def _take_chained(self, pairs, specs, chained, pos):
        """Remember what the chains of one range brought; -> the position after them in chained."""
        seen = self._seen
        for src, pre, suf, lim in specs:
            for k, v in pairs:
                ck = pre + (entry_pk(v) if src == b"v" else k[6:]) + suf
                if lim == 0:
                    if len(seen) < CACHE_LIMIT:
                        seen.setdefault(ck, chained[pos])
                    pos += 1
                else:
                    n = chained[pos]
                    got = list(zip(chained[pos + 1:pos + 1 + 2 * n:2], chained[pos + 2:pos + 2 + 2 * n:2]))
                    pos += 1 + 2 * n
                    self._remember(ck, prefix_end(ck), False, got, n < lim)
        return pos

    def get(self, key):
        seen = self._seen
        if key in seen:
            return seen[key]
        if self._covered and self._known_absent(key):
            return None
        v = self._call((b"g" + self._follow, key))[1][0]
        if key in seen:  # it was also prefetched: keep one answer
            return seen[key]
        seen[key] = v
        return v

    def get_many(self, keys):
        seen = self._seen
        missing = self._missing(keys)
        if missing:
            for k, v in zip(missing, self._call([b"g" + self._follow, *missing])[1]):
                seen.setdefault(k, v)
        return [seen.get(k) for k in keys]

    def scan(self, start, end, reverse=False):
        whole = self._whole_range(start, end, reverse)
        if whole is not None:
            yield from whole
            return
        lo, hi = _bound_min(start), _bound_max(end)
        op = (b"r" if reverse else b"f") + self._follow
        n = FIRST_BATCH
        first = True
        head = self._partial.get((start, end, reverse))
        if head is not None:  # continue after the batch a scan_many brought
            yield from head
            if reverse:
                hi = b"(" + head[-1][0]
            else:
                lo = b"(" + head[-1][0]
            n, first = min(len(head) * GROWTH, MAX_BATCH), False
        chain, specs = self._chain_args(start, end)
        while True:
            _c, flat, chained = self._call((op, lo, hi, n, *chain))
            keys, values = flat[0::2], flat[1::2]
            pairs = list(zip(keys, values))
            if specs:
                self._take_chained(pairs, specs, chained, 0)
            if first:
                self._remember(start, end, reverse, pairs, len(keys) < n)
            else:
                self._remember_points(pairs)
            yield from pairs
            if len(keys) < n:
                return
            if reverse:
                hi = b"(" + keys[-1]
            else:
                lo = b"(" + keys[-1]
            n = min(n * GROWTH, MAX_BATCH)
            first = False

    def scan_many(self, ranges, limit=None):
        """Many range scans in one round trip (a planner batching index probes, e.g. the inner side of
        a nested loop for a batch of outer rows, or the branches of a UNION).

        ``ranges``: [(start, end, reverse)]. -> [(pairs, complete)] in the same order: at most ``limit``
        (key, value) pairs per range (default: the first batch of a scan), in scan order; ``complete`` is False when the range holds more
        (a later :meth:`scan` of the same range continues after them). Ranges this snapshot already
        holds whole cost nothing; index entries bring their rows along (a following get_many of those
        rows is free), as for :meth:`scan`."""
        limit = limit or FIRST_BATCH
        out = [None] * len(ranges)
        args = [b"m" + self._follow]
        asked = []
        for i, (start, end, reverse) in enumerate(ranges):
            out[i] = self._known_range(start, end, reverse, limit)
            if out[i] is not None:
                continue
            chain, specs = self._chain_args(start, end)
            args += (_bound_min(start), _bound_max(end), limit, b"1" if reverse else b"0", *chain)
            asked.append((i, specs))
        if asked:
            counts, flat, chained = self._call(args)
            pos = cpos = 0
            for (i, specs), n in zip(asked, counts):
                pairs = list(zip(flat[pos:pos + 2 * n:2], flat[pos + 1:pos + 2 * n:2]))
                pos += 2 * n
                if specs:
                    cpos = self._take_chained(pairs, specs, chained, cpos)
                start, end, reverse = ranges[i]
                self._remember(start, end, reverse, pairs, n < limit)
                out[i] = (pairs, n < limit)
        return out

    def close(self):
        self._reset_cache()
        self._chains = {}


class RedisStore(Store):
    """The ROME database under one prefix of one Redis database (see the module docstring)."""

    tls = False
    sequence_block = 64

    def __init__(self, location):
        try:
            s = parse_location(location, self.tls)
        except ValueError as e:
            raise StoreError("bad redis location: %s" % e) from None
        self.settings = s
        self.location = format_location(s)
        self.address = address(s)
        self.prefix = s["prefix"]
        self.sequence_block = s["sequence_block"]
        self.follow_rows = s["follow_rows"]
        tag = "{%s}" % s["prefix"]
        self._z, self._h, self._v, self._q, self._i, self._n = (("%s:%s" % (tag, x)).encode() for x in "zhvqin")
        self._receipt = ("%s:t:" % tag).encode()
        self._receipt_ttl = int(s["socket_timeout"]) + RECEIPT_MARGIN
        self._read_keys = (self._z, self._h, self._v, self._i, self._n)
        self.round_trips = 0
        self._loaded = set()   # shas of the scripts this process has sent with EVAL
        self._lock = threading.Lock()
        self._client = self._connect(s)
        self._limits = None    # (largest argument, largest command) the server takes; None: not checked
        try:
            self._check_server()
        except StoreError as e:
            if type(e) is not StoreError:
                raise
            # not reachable now: checked at the first use (rome.connect does not need the server up)

    def _check_server(self):
        """At connect (and after a lost connection): refuse a server that may evict keys, learn its
        size limits, give an older database its identity (see DAMAGE). One round trip."""
        pipe = self._client.pipeline(transaction=False)
        if self.settings["policy_check"]:
            pipe.execute_command("CONFIG", "GET", "maxmemory-policy", "proto-max-bulk-len",
                                 "client-query-buffer-limit")
        pipe.execute_command("EVAL", INIT.text, 5, *self._read_keys, os.urandom(12).hex())
        self.round_trips += 1
        try:
            replies = pipe.execute(raise_on_error=False)
        except RedisError as e:
            self._drop_idle_connections()
            raise self._fail(e) from None
        for reply in replies[1:]:
            if isinstance(reply, Exception):
                raise self._fail(reply)
        limits = (512 << 20, 1 << 30)   # Redis's defaults
        if self.settings["policy_check"]:
            config = replies[0]
            if isinstance(config, Exception):
                raise StoreRefused(
                    "redis at %s: cannot read its maxmemory-policy (%s). A server that may evict keys "
                    "loses committed rows; allow CONFIG GET for this user (ACL: +config|get), or make sure "
                    "the server runs with maxmemory-policy noeviction and add policy_check=false to the "
                    "URL" % (self.address, config))
            config = dict(zip(config[0::2], config[1::2]))
            policy = config.get(b"maxmemory-policy", b"noeviction").decode()
            if policy != "noeviction":
                raise StoreRefused(
                    "redis at %s has maxmemory-policy %s: at maxmemory it evicts keys, which loses "
                    "committed rows and breaks the database; set maxmemory-policy noeviction (CONFIG SET "
                    "maxmemory-policy noeviction, and in redis.conf)" % (self.address, policy))
            limits = (int(config.get(b"proto-max-bulk-len", limits[0])),
                      int(config.get(b"client-query-buffer-limit", limits[1])))
        self._limits = limits

    @staticmethod
    def _connect(s):
        kw = dict(db=s["db"], username=s["username"], password=s["password"],
                  socket_timeout=s["socket_timeout"], socket_connect_timeout=s["socket_connect_timeout"],
                  decode_responses=False, health_check_interval=0, protocol=2)  # RESP2: no HELLO
        try:  # no retries inside redis-py: a resent commit must be ours to decide (see FAULTS)
            from redis.backoff import NoBackoff
            from redis.retry import Retry
            kw["retry"] = Retry(NoBackoff(), 0)
        except ImportError:
            pass
        if s["unix_socket"] is not None:
            kw["unix_socket_path"] = s["unix_socket"]
        else:
            kw.update(host=s["host"], port=s["port"])
            if s["tls"]:
                kw["ssl"] = True
                kw.update(s["ssl"])
        # No CLIENT SETINFO after connecting: a new connection costs its AUTH/SELECT only.
        for quiet in ({"driver_info": None}, {"lib_name": None, "lib_version": None}, {}):
            try:
                client = redis.Redis(**kw, **quiet)
            except TypeError:
                continue
            pool = client.connection_pool
            pool.connection_class = type("OneWrite" + pool.connection_class.__name__,
                                         (_OneWrite, pool.connection_class), {})
            if s["tls"]:
                # Replies over TLS are parsed in Python: with hiredis, redis-py may take a TLS 1.3
                # session ticket on a fresh connection for unread data, and refuse the connection
                # ("Connection not ready").
                try:
                    from redis._parsers import _RESP2Parser
                    pool.connection_kwargs["parser_class"] = _RESP2Parser
                except ImportError:
                    pass
            return client
        raise StoreError("redis client could not be configured")

    @staticmethod
    def normalize_location(location):
        return format_location(parse_location(location, False))

    @staticmethod
    def destroy(location):
        """Delete this prefix's data (tests, provisioning): the keys of the layout, not the server's."""
        store = RedisStore(location)
        try:
            store._delete_all()
        finally:
            store.close()

    def _delete_all(self):
        c = self._client
        try:
            c.unlink(self._z, self._h, self._v, self._q, self._i, self._n)
            for k in c.scan_iter(match=self._receipt + b"*", count=1000):
                c.unlink(k)
        except RedisError as e:
            raise self._fail(e) from None

    # -- round trips

    def _full(self):
        return StoreFull("redis at %s is over its maxmemory: only commits that free memory (DELETE, DROP "
                         "TABLE) are let through; delete rows, or raise maxmemory" % self.address)

    def _fail(self, e):
        msg = str(e) or type(e).__name__
        if msg.startswith("ROMEDAMAGED "):
            return StoreCorrupt("redis at %s, prefix %s: %s (keys evicted or deleted outside ROME?); "
                                "restore it from a backup" % (self.address, self.prefix, msg[12:]))
        if isinstance(e, _OutOfMemory):
            return self._full()
        return StoreError("redis at %s: %s" % (self.address, msg))

    def _eval(self, script, keys, args, resend):
        """Run a script: one round trip (two if the server lost its script cache)."""
        if self._limits is None:
            self._check_server()
        execute = self._client.execute_command
        attempt = 0
        while True:
            attempt += 1
            try:
                if script.sha in self._loaded:
                    self.round_trips += 1
                    try:
                        return execute("EVALSHA", script.sha, len(keys), *keys, *args)
                    except NoScriptError:
                        pass
                self.round_trips += 1
                res = execute("EVAL", script.text, len(keys), *keys, *args)
                self._loaded.add(script.sha)
                return res
            except (RedisConnectionError, RedisTimeoutError) as e:
                self._drop_idle_connections()
                self._limits = None  # the server may have restarted with another configuration
                if resend and attempt == 1 and not isinstance(e, redis.AuthenticationError):
                    self._check_server()
                    continue  # a stale pooled connection (server restarted): once more, on a new one
                raise self._fail(e) from None
            except RedisError as e:
                raise self._fail(e) from None

    def _drop_idle_connections(self):
        """After a connection error the pooled idle connections are likely dead too (the server
        went away): close them, so that the next uses connect afresh."""
        try:
            self._client.connection_pool.disconnect(inuse_connections=False)
        except Exception:
            pass

    def _read(self, args):
        return self._eval(READ, self._read_keys, args, True)

    # -- Store

    def snapshot(self):
        return RedisSnapshot(self)

    def digest(self, pairs):
        """What the commit script computes over a range: SHA1 (hex) of the concatenated SHA1s (hex)
        of chunks of CHUNK pairs, each chunk the concatenation of b"<len(k)>:" k b"<len(v)>:" v."""
        sha1 = hashlib.sha1
        pairs = pairs if isinstance(pairs, list) else list(pairs)
        hexes = []
        for i in range(0, len(pairs), CHUNK):
            parts = []
            for k, v in pairs[i:i + CHUNK]:
                parts += (b"%d:" % len(k), k, b"%d:" % len(v), v)
            hexes.append(sha1(b"".join(parts)).hexdigest().encode())
        return sha1(b"".join(hexes)).hexdigest().encode()

    def commit(self, reads, writes):
        if not writes:
            return  # nothing to apply; a read-only transaction's reads need no validation
        points, ranges = reads.points, reads.ranges
        args = [len(points), len(ranges), len(writes), self._receipt_ttl, os.urandom(12).hex(), b"0"]
        for k, v in points.items():
            args += (k, b"-" if v is None else b"=" + v)
        for lo, hi, d in ranges:
            if type(d) is list:  # pairs not digested yet (a ReadSet filled by hand)
                d = self.digest(d)
            args += (_bound_min(lo), _bound_max(hi), d)
        size = 0
        for k, v in writes.items():
            args += (k, b"-" if v is None else b"=" + v)
            size += len(k) + (0 if v is None else len(v))
        self._check_size(args, size)
        keys = (self._z, self._h, self._v, self._receipt + receipt_id(), self._i, self._n)
        try:
            res = self._eval(COMMIT, keys, args, True)
        except StoreFull:
            args[5] = b"1"   # over maxmemory: let it through if it frees memory
            res = self._eval(COMMIT_FREE, keys, args, True)
            if res == b"full":
                raise self._full() from None
        if type(res) is bytes:
            what = res.decode()
            raise Conflict("%s changed by a concurrent transaction" % ("key" if what == "point" else what))

    def _check_size(self, args, size):
        """TooBig for a commit the server would refuse as a protocol error (and drop the connection)."""
        if self._limits is None:
            self._check_server()
        arg, command = self._limits
        if size + 64 * len(args) > command:
            raise TooBig("a commit of %d bytes is over the client-query-buffer-limit of redis at %s (%d)"
                         % (size, self.address, command))
        if size + 1 > arg:
            big = max(len(a) for a in args if isinstance(a, bytes))
            if big > arg:
                raise TooBig("a value of %d bytes is over the proto-max-bulk-len of redis at %s (%d)"
                             % (big - 1, self.address, arg))

    def allocate(self, key, count=1, at_least=0):
        receipt = self._receipt + receipt_id()
        res = self._eval(ALLOCATE, (self._q, receipt), (key, int(count), max(int(at_least), 1), self._receipt_ttl),
                         True)
        return int(res)

    def ping(self):
        """One round trip to the server (raises StoreError)."""
        self.round_trips += 1
        try:
            return self._client.ping()
        except RedisError as e:
            raise self._fail(e) from None

    def close(self):
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
                client.connection_pool.disconnect()
            except Exception:
                pass
        self._client = _Closed(self.address)

    def __repr__(self):
        return "RedisStore(%r)" % (self.address + "/%d?prefix=%s" % (self.settings["db"], self.prefix))


class _OneWrite:
    """A connection that sends each command in one write: redis-py sends a large command (an argument
    over 6 kB) as several, which a network may deliver as several packets, and a proxy count as
    several requests."""

    def send_packed_command(self, command, check_health=True):
        if not isinstance(command, (str, bytes)) and len(command) > 1:
            command = [b"".join(command)]
        return super().send_packed_command(command, check_health)


class _Closed:
    def __init__(self, address):
        self.address = address

    def execute_command(self, *args, **kw):
        raise StoreError("redis store at %s is closed" % self.address)

    def __getattr__(self, name):
        raise StoreError("redis store at %s is closed" % self.address)


class RedissStore(RedisStore):
    """``rome+rediss://``: the same over TLS."""

    tls = True

    @staticmethod
    def normalize_location(location):
        return format_location(parse_location(location, True))

    @staticmethod
    def destroy(location):
        store = RedissStore(location)
        try:
            store._delete_all()
        finally:
            store.close()

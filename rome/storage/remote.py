"""What every networked store shares: its location's parts (credentials, host and port, TLS options),
the snapshot read cache, and commit receipts.

A location is ``[[user]:password@]host[:port][/path][?option=value&...]`` (what follows the scheme in a
URL). Passwords and usernames are percent-decoded; error messages name the address, never the
credentials.
"""
import os
import urllib.parse
from urllib.parse import urlencode  # noqa: F401 (stores spell their locations with it)

from sortedcontainers import SortedList

from rome.storage.base import BadLocation

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}
SSL_OPTIONS = ("ssl_ca_certs", "ssl_ca_path", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname")
RECEIPT_MARGIN = 30    # a receipt outlives the client's timeout by this (a resend comes within it)
CACHE_LIMIT = 50000    # point values / range pairs a snapshot remembers
TOP = b"\xff"          # above every key (the end of an unbounded range)


def split_location(location, schemes, known, what):
    """-> (urlsplit parts, port or None, {option: value}): ``location`` may be a whole URL whose
    scheme (its last '+' part) is one of ``schemes`` (the first one's name is returned as 'scheme').
    Raises BadLocation for an unknown option or a bad port."""
    loc = location or ""
    scheme = None
    if "://" in loc:
        scheme, loc = loc.split("://", 1)
        scheme = scheme.split("+")[-1]
        if scheme not in schemes:
            raise BadLocation("not a %s location (scheme %r)" % (what, scheme))
    parts = urllib.parse.urlsplit("x://" + loc)
    try:
        port = parts.port
    except ValueError:
        raise BadLocation("bad port in %s location" % what) from None
    query = {}
    for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if k not in known:
            raise BadLocation("unknown %s option %r (known: %s)" % (what, k, ", ".join(sorted(known))))
        query[k] = v
    return parts, port, query, scheme


def credentials(parts):
    """(username or None, password or None), percent-decoded."""
    return (urllib.parse.unquote(parts.username) if parts.username else None,
            urllib.parse.unquote(parts.password) if parts.password is not None else None)


def format_credentials(username, password):
    if username is None and password is None:
        return ""
    cred = urllib.parse.quote(username or "", safe="")
    if password is not None:
        cred += ":" + urllib.parse.quote(password, safe="")
    return cred + "@"


def host_port(host, port):
    return "%s:%d" % ("[%s]" % host if ":" in host else host, port)


def flag(value, name):
    if value.lower() not in TRUE | FALSE:
        raise BadLocation("%s must be true or false" % name)
    return value.lower() in TRUE


def tls_options(query, tls, how):
    """Pop the ssl_* options left in ``query`` -> dict (checked); they need TLS (``how`` says how to ask)."""
    out = {}
    for k in [k for k in query if k in SSL_OPTIONS]:
        v = query.pop(k)
        if not tls:
            raise BadLocation("%s needs TLS (%s)" % (k, how))
        if k == "ssl_check_hostname":
            v = flag(v, k)
        elif k == "ssl_cert_reqs" and v not in ("none", "optional", "required"):
            raise BadLocation("ssl_cert_reqs must be none, optional or required")
        out[k] = v
    return out


def receipt_id():
    """A new commit's receipt name: written by the commit itself, so that a commit whose reply was lost
    can be resent (or looked up) and is applied at most once."""
    return os.urandom(12).hex().encode()


class ReadCache:
    """What a networked snapshot read, served again without a round trip.

    Point values (``_seen``), whole ranges (a range a call returned complete: a nested loop probing the
    same index range for many outer rows costs one round trip, and a key inside such a range that the
    range did not hold is known absent), and the first batch of a range returned incomplete, which a
    scan of that range continues from (``_partial``). Keys given to :meth:`prefetch` go along with the
    next round trip (``_also``)."""

    def _reset_cache(self):
        self._seen = {}      # key -> value returned (None: absent)
        self._ranges = {}    # (start, end) -> the complete list of pairs, ascending
        self._covered = SortedList()  # (start, end or TOP) of the complete ranges
        self._partial = {}   # (start, end, reverse) -> the first pairs of the range, in scan order
        self._also = []      # keys to fetch along with the next round trip (prefetch)

    def _remember(self, start, end, reverse, pairs, complete):
        """Keep what one call returned of a range (pairs in scan order)."""
        seen = self._seen
        if len(seen) + len(pairs) > CACHE_LIMIT:
            return
        for k, v in pairs:
            seen.setdefault(k, v)
        if complete:
            self._ranges[(start, end)] = pairs[::-1] if reverse else pairs
            self._covered.add((start, TOP if end is None else end))
        elif pairs:
            self._partial[(start, end, reverse)] = pairs

    def _whole_range(self, start, end, reverse):
        """The pairs of [start, end) in scan order when the cache holds them all (an empty range, a
        range read whole), else None."""
        if end is not None and end <= start:
            return []
        cached = self._ranges.get((start, end))
        if cached is not None:
            return cached[::-1] if reverse else cached
        return None

    def _known_range(self, start, end, reverse, limit):
        """(pairs, complete) for a scan of [start, end) that the cache answers without a request
        (an empty range, a range read whole, a head read far enough), else None."""
        whole = self._whole_range(start, end, reverse)
        if whole is not None:
            return list(whole), True
        head = self._partial.get((start, end, reverse))
        if head is not None and len(head) >= limit:
            return head[:limit], False
        return None

    def _remember_points(self, pairs):
        seen = self._seen
        if len(seen) < CACHE_LIMIT:
            for k, v in pairs:
                seen.setdefault(k, v)

    def _known_absent(self, key):
        """Whether a complete range read by this snapshot holds key's place (and not key)."""
        cov = self._covered
        i = cov.bisect_right((key, TOP + b"\xff")) - 1
        return i >= 0 and cov[i][1] > key

    def _missing(self, keys):
        """The keys neither read nor known absent."""
        seen = self._seen
        missing = [k for k in keys if k not in seen]
        if missing and self._covered:
            missing = [k for k in missing if not self._known_absent(k)]
        return missing

    def cached(self, key):
        """(True, value) if this snapshot holds key's value, else (False, None); no round trip."""
        seen = self._seen
        return (True, seen[key]) if key in seen else (False, None)

    def prefetch(self, keys):
        """Fetch ``keys`` along with this snapshot's next round trip, whatever it is (no round trip of
        their own): a later get/get_many of them is then free. The engine sends the catalog key with
        a transaction's first read this way, instead of reading it alone at BEGIN."""
        seen = self._seen
        self._also += [k for k in keys if k not in seen]

    def close(self):
        self._reset_cache()

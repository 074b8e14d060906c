"""Keys longer than a store's key limit, kept in key order (LMDB takes keys of at most 511 bytes).

A key of at most ``p`` bytes is stored as itself. A longer key K goes into the *bucket* of its first
``p`` bytes: one stored key ``K[:p] + 00`` whose value lists, sorted, every long key with that prefix
(its suffix ``K[p:]``) with its value. The stored keys then sort exactly as the keys they hold: every
key in the bucket of B is above B itself and above ``B + 00`` (it is B followed by at least one more
byte), and below anything above B that does not start with B; no key of ``p`` bytes or less can be
``B + 00`` (one byte longer). A range scan reads the stored keys in order and unfolds the buckets it
meets. A bucket holds the long keys that share ``p`` bytes (index entries that differ late in a long
text): usually one; writing one costs the bucket's size.
"""
from bisect import bisect_left
from struct import Struct

_HEAD = Struct(">IQ")  # suffix length, value length


def bucket_key(key, p):
    """The stored key of the bucket that holds ``key`` (longer than p)."""
    return key[:p] + b"\x00"


def entries(raw):
    """A bucket's value -> [(suffix, value)] ascending."""
    out = []
    i, n, size = 0, len(raw), _HEAD.size
    while i < n:
        ls, lv = _HEAD.unpack_from(raw, i)
        i += size
        out.append((raw[i:i + ls], raw[i + ls:i + ls + lv]))
        i += ls + lv
    return out


def pack(items):
    """[(suffix, value)] ascending -> a bucket's value (None when empty: delete the bucket)."""
    if not items:
        return None
    return b"".join(_HEAD.pack(len(s), len(v)) + s + v for s, v in items)


def lookup(raw, suffix):
    """The value of the key ending in ``suffix`` in a bucket's value (None: absent)."""
    if raw is None:
        return None
    items = entries(raw)
    i = bisect_left(items, (suffix,))
    return items[i][1] if i < len(items) and items[i][0] == suffix else None


def unfold(stored, raw, p):
    """A bucket's stored key and value -> its (key, value) pairs, ascending."""
    head = stored[:p]
    return [(head + s, v) for s, v in entries(raw)]


def apply(raw, changes):
    """A bucket's value with ``changes`` (suffix -> value, None deletes) applied."""
    items = dict(entries(raw)) if raw is not None else {}
    for s, v in changes.items():
        if v is None:
            items.pop(s, None)
        else:
            items[s] = v
    return pack(sorted(items.items()))


def unfold_chunk(chunk, p, reverse):
    """Stored (key, value) pairs in scan order -> the pairs they hold, buckets unfolded."""
    out = []
    for k, v in chunk:
        if len(k) > p:
            pairs = unfold(k, v, p)
            out += reversed(pairs) if reverse else pairs
        else:
            out.append((k, v))
    return out

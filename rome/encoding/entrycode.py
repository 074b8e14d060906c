"""Index entry values: the row's primary key, and (in an index whose entries carry rows) the row.

    pk-only    <pk>                                   the encoded primary key (keycode tuple)
    carrying   01 <len(pk):2> <pk> <row>              marker, pk length (big-endian), pk, row value

An encoded primary key starts with a keycode tag (00, 02, 04 or 05), never 01, so the first byte tells
the two apart and one range may hold both: an entry whose value would pass ROW_LIMIT holds only the
primary key, and its row is read from the row key as before. Stores that read rows along with entries
(Store.follow) and chains built on an entry's primary key read these values too, hence this module's
place below the stores.
"""
import struct

MARK = 0x01
_LEN = struct.Struct(">H")
# Largest carrying value; above it the row is read by a second get. bench/carry_limit.py (LMDB, one
# index): a 40-row index range read costs 0.74-0.82x with carried rows of 200 B to 3 kB, an UPDATE the
# same. The limit bounds the rest: each index's copy adds the row to every commit that changes it (one
# etcd request, --max-request-bytes) and to every range a networked store returns. Glance's rows are
# 130-220 bytes.
ROW_LIMIT = 1536


def entry_value(pk_enc, row_value):
    """The value of an entry of an index whose entries carry rows (pk-only when too large)."""
    n = len(pk_enc) + len(row_value) + 3
    if n > ROW_LIMIT:
        return pk_enc
    return b"\x01" + _LEN.pack(len(pk_enc)) + pk_enc + row_value


def entry_pk(value):
    """The encoded primary key an entry's value holds."""
    if value[0] != MARK:
        return value
    return value[3:3 + _LEN.unpack_from(value, 1)[0]]


def entry_row(value):
    """The row value an entry carries, or None (a pk-only entry)."""
    if value[0] != MARK:
        return None
    return value[3 + _LEN.unpack_from(value, 1)[0]:]

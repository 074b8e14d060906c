"""Key layout: where the catalog, rows and index entries live in the ordered store.

    00 'catalog'                              -> the catalog's header (JSON), see rome.sql.catalog
    00 'table' <table id:4>                   -> one table's definition (JSON)
    00 'seq' <table id:4>                     -> AUTOINCREMENT counter (Store.allocate)
    01 <table id:4> 00 <pk tuple>             -> row value (rome.encoding.rowcode)
    01 <table id:4> 01 <index id:4> <values> [<pk tuple>]  -> pk tuple, or 01 <n:2> <pk tuple> <row value>

Ids are 4-byte big-endian. A table's rows and its indexes share the prefix 01 <table id>, so dropping a
table is one range. Rows are ordered by primary key, so a PK point or range lookup is one get or one
scan. An index entry's key holds the indexed values, then (for a non-unique index, or when any indexed
value is NULL, since NULLs never collide) the primary key, so entries are distinct and a unique index is
checked with one get of its values-only key. An entry's value is the encoded primary key and, in an
index whose entries carry rows (``Index.rows``: every index created since), the row's value too, as its
row key holds it (rome.encoding.entrycode), so an index range or probe yields rows in one read; a row
too large to carry (entrycode.ROW_LIMIT), and every entry of an index written by an earlier version,
holds the primary key only, which fetches the row. rome.sql.rows writes a row and its carried copies
together: an UPDATE of any column rewrites every carrying entry of the row. Encodings are
order-preserving (rome.encoding.keycode), so index ranges are value ranges (TiDB's and CockroachDB's
layouts, with SQLite's ordering).
"""
import struct

from rome.encoding.entrycode import MARK

CATALOG = b"\x00catalog"
TABLE_DEFS = b"\x00table"
_ID = struct.Struct(">I")


def table_def_key(table_id):
    return TABLE_DEFS + _ID.pack(table_id)


def sequence_key(table_id):
    return b"\x00seq" + _ID.pack(table_id)


def table_prefix(table_id):
    return b"\x01" + _ID.pack(table_id)


def rows_prefix(table_id):
    return b"\x01" + _ID.pack(table_id) + b"\x00"


def index_prefix(table_id, index_id):
    return b"\x01" + _ID.pack(table_id) + b"\x01" + _ID.pack(index_id)


def row_of_entry(key, value):
    """The row an index entry (key, value) points to, or None for any other pair and for an entry
    that carries its row: what a store with round trips may read along with the entries it returns
    (Store.follow)."""
    if value and value[0] != MARK and len(key) > 10 and key[0] == 1 and key[5] == 1:
        return key[:5] + b"\x00" + value
    return None

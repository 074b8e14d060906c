"""The schema: tables, columns, indexes and constraints, kept in the store as one key per table and a
small header key (version, id counter) that every transaction reads.

DDL writes the header and the keys of the tables it changed, nothing else: its cost does not grow
with the schema. A catalog version shares its unchanged Table objects with the one before it (a Table
of a published catalog is never changed in place: DDL changes a copy, see :meth:`Catalog.writable`).
The header's bytes name a whole catalog state (every DDL increments the version), so a process keeps
one parsed catalog per store and rereads the table keys only when the header changed. A store
written by an earlier ROME holds the whole catalog in the header key (it has ``tables``): it is read
as such, and its first DDL writes it out table by table.

Tables, indexes and columns have numeric ids that never change, and keys and row values use the ids, not
the names (see :mod:`rome.sql.keys`): RENAME TABLE/COLUMN rewrites only the catalog, and ADD COLUMN
rewrites no rows (rows written before it lack the new id and read as the column's ``fill`` value).

Names are matched case-insensitively, as SQLite does, and kept as written.
"""
import json
from dataclasses import dataclass, field

from rome.encoding.keycode import prefix_end
from rome.sql import keys

ROWID = "_rowid_"  # hidden primary key of a table declared without one


def affinity(type_text):
    """SQLite's column affinity rules (datatype3.html, 3.1) for a declared type."""
    t = (type_text or "").upper()
    if "INT" in t:
        return "INTEGER"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "TEXT"
    if not t or "BLOB" in t:
        return "BLOB"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "REAL"
    return "NUMERIC"


@dataclass
class Column:
    name: str
    type: str = ""                 # the declared type as written: "VARCHAR(36)", "DATETIME", ...
    nullable: bool = True
    default: str | None = None     # SQL text of the DEFAULT clause
    autoincrement: bool = False    # values come from the table's sequence when NULL is inserted
    id: int = 0                    # position in stored row values; never reused
    fill: object = None            # the value rows written before this column was added have
    collation: str | None = None   # "NOCASE" or "RTRIM" (COLLATE in the column definition); None: BINARY

    @property
    def affinity(self):
        return affinity(self.type)


@dataclass
class Index:
    name: str
    columns: list
    unique: bool = False
    id: int = 0
    constraint: bool = False       # made by a UNIQUE constraint (reflected as one), not CREATE INDEX
    collations: list | None = None  # per column, a COLLATE given in CREATE INDEX (None: the column's)
    rows: bool = False              # entries carry their row (rome.encoding.entrycode); False: written
                                    # by an earlier ROME, entries hold the primary key only


@dataclass
class ForeignKey:
    columns: list
    ref_table: str
    ref_columns: list
    name: str | None = None
    on_delete: str | None = None   # "CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"
    on_update: str | None = None


@dataclass
class Check:
    sql: str
    name: str | None = None


@dataclass
class Table:
    name: str
    id: int
    columns: list = field(default_factory=list)
    primary_key: list = field(default_factory=list)   # column names; [ROWID] for a table without one
    pk_name: str | None = None
    indexes: list = field(default_factory=list)
    foreign_keys: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    next_column_id: int = 0

    def __post_init__(self):
        self._by_name = None

    def _names(self):
        if self._by_name is None:
            self._by_name = {c.name.lower(): i for i, c in enumerate(self.columns)}
        return self._by_name

    def changed(self):
        """Call after changing columns in place, to refresh the name lookup."""
        self._by_name = None

    def column_index(self, name):
        """Position of the column in the table's rows, or None."""
        return self._names().get(name.lower())

    def column(self, name):
        i = self.column_index(name)
        return None if i is None else self.columns[i]

    @property
    def has_rowid(self):
        return self.primary_key == [ROWID]

    @property
    def rowid_alias(self):
        """Position of the column declared INTEGER PRIMARY KEY (SQLite's alias of the rowid, which
        holds integers only: anything else is "datatype mismatch"), or None."""
        if len(self.primary_key) != 1:
            return None
        i = self.column_index(self.primary_key[0])
        if i is None or self.columns[i].type.strip().upper() != "INTEGER":
            return None
        return i

    def key_collations(self, positions, index=None):
        """The collation each key column is kept in (None: BINARY): an index's own COLLATE, else the
        column's. Keys hold values folded by it (see :func:`rome.sql.semantics.values.collation_fold`),
        so that a key compares as the collation does."""
        own = (index.collations if index is not None else None) or [None] * len(positions)
        out = [o or self.columns[p].collation for o, p in zip(own, positions)]
        return [None if c == "BINARY" else c for c in out]

    def index(self, name):
        for ix in self.indexes:
            if ix.name.lower() == name.lower():
                return ix
        return None

    def to_dict(self):
        return {"name": self.name, "id": self.id, "primary_key": self.primary_key, "pk_name": self.pk_name,
                "next_column_id": self.next_column_id, "columns": [vars(c) for c in self.columns],
                "indexes": [vars(i) for i in self.indexes], "foreign_keys": [vars(f) for f in self.foreign_keys],
                "checks": [vars(c) for c in self.checks]}

    def to_bytes(self):
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, t):
        return cls(name=t["name"], id=t["id"], primary_key=t["primary_key"], pk_name=t["pk_name"],
                   next_column_id=t["next_column_id"],
                   columns=[Column(**c) for c in t["columns"]],
                   indexes=[Index(**i) for i in t["indexes"]],
                   foreign_keys=[ForeignKey(**f) for f in t["foreign_keys"]],
                   checks=[Check(**c) for c in t["checks"]])

    def copy(self):
        """A deep copy (the lists of names inside columns, indexes and keys included)."""
        def parts(cls, items):
            return [cls(**{k: list(v) if type(v) is list else v for k, v in vars(x).items()}) for x in items]
        return Table(name=self.name, id=self.id, primary_key=list(self.primary_key), pk_name=self.pk_name,
                     next_column_id=self.next_column_id, columns=parts(Column, self.columns),
                     indexes=parts(Index, self.indexes), foreign_keys=parts(ForeignKey, self.foreign_keys),
                     checks=parts(Check, self.checks))


@dataclass
class Catalog:
    version: int = 0
    tables: dict = field(default_factory=dict)       # lower-cased name -> Table
    next_id: int = 1                                 # for tables and indexes
    unfinished_copy: str | None = None               # the mark of a copy in progress (copymark.py)
    whole: bool = False                              # read from one key (an earlier ROME's format)

    def __post_init__(self):
        self._own = {}   # id -> the Table objects this (unpublished) catalog may change
        self._index_owners = None   # lower-cased index name -> its table's (see find_index)
        self._removed = []          # ids of the tables removed from it

    def table(self, name):
        return self.tables.get(name.lower())

    def writable(self, name):
        """The table named, as a copy this catalog owns and DDL may change (None if no such table)."""
        t = self.tables.get(name.lower())
        if t is None or id(t) in self._own:
            return t
        t = self.tables[name.lower()] = t.copy()
        self._own[id(t)] = t
        return t

    def add_table(self, table):
        self.tables[table.name.lower()] = table
        self._own[id(table)] = table

    def changed(self):
        """Call when DDL is done changing this catalog: its index-name map learns the new indexes
        (entries of dropped ones stay, find_index checks them)."""
        owners = self._index_owners
        if owners is not None:
            for t in self._own.values():
                for ix in t.indexes:
                    owners[ix.name.lower()] = t.name.lower()

    def header_bytes(self):
        d = {"version": self.version, "next_id": self.next_id}
        if self.unfinished_copy is not None:   # see rome.sql.copymark
            d["unfinished_copy"] = self.unfinished_copy
        return json.dumps(d, separators=(",", ":")).encode()

    @classmethod
    def read(cls, txn, header):
        """The catalog stored in txn (a transaction of the store), given its header key's bytes."""
        if header is None:
            return cls()
        defs = [v for _k, v in txn.scan(keys.TABLE_DEFS, prefix_end(keys.TABLE_DEFS))]
        return cls.from_parts(header, defs)

    @classmethod
    def from_parts(cls, header, tables):
        """The catalog of a header key's bytes and its table keys' bytes."""
        d = json.loads(header)
        if "tables" in d:
            return cls.from_bytes(header)
        ts = [Table.from_dict(json.loads(b)) for b in tables]
        return cls(version=d["version"], next_id=d["next_id"], tables={t.name.lower(): t for t in ts},
                   unfinished_copy=d.get("unfinished_copy"))

    def remove_table(self, name):
        t = self.tables.pop(name.lower())
        self._removed.append(t.id)

    def changes(self, before):
        """(tables to write, ids of tables to delete) going from catalog ``before`` (the one this was
        copied from) to this one: the tables it owns (copied or added by DDL) and those removed."""
        if before.whole:
            return list(self.tables.values()), []
        present = {t.id for t in self._own.values() if self.tables.get(t.name.lower()) is t}
        return ([t for t in self._own.values() if t.id in present],
                [i for i in self._removed if i not in present])

    def new_id(self):
        self.next_id += 1
        return self.next_id - 1

    def find_index(self, name):
        """(table, index) of the index named (index names are unique in a schema), or (None, None)."""
        owners = self._index_owners
        if owners is None:
            owners = self._index_owners = {ix.name.lower(): t.name.lower()
                                           for t in self.tables.values() for ix in t.indexes}
        t = self.tables.get(owners.get(name.lower(), ""))
        ix = t.index(name) if t is not None else None   # the map may be stale: check it
        if ix is not None:
            return t, ix
        for t in self._own.values():   # the tables DDL is changing now
            ix = t.index(name)
            if ix is not None and self.tables.get(t.name.lower()) is t:
                return t, ix
        return None, None

    def to_bytes(self):
        """The whole catalog as one value (the format of an earlier ROME, read by from_parts)."""
        d = {"version": self.version, "next_id": self.next_id,
             "tables": {k: t.to_dict() for k, t in self.tables.items()}}
        if self.unfinished_copy is not None:
            d["unfinished_copy"] = self.unfinished_copy
        return json.dumps(d, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data):
        d = json.loads(data)
        tables = {k: Table.from_dict(t) for k, t in d["tables"].items()}
        return cls(version=d["version"], tables=tables, next_id=d["next_id"],
                   unfinished_copy=d.get("unfinished_copy"), whole=True)

    def copy(self):
        """A new version to change: it shares the tables, and copies one when DDL asks (writable)."""
        c = Catalog(version=self.version, tables=dict(self.tables), next_id=self.next_id, whole=self.whole,
                    unfinished_copy=self.unfinished_copy)
        if self._index_owners is not None:
            c._index_owners = dict(self._index_owners)
        return c

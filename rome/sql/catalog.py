"""The schema: tables, columns, indexes and constraints, kept in the store as one versioned key.

Tables, indexes and columns have numeric ids that never change, and keys and row values use the ids, not
the names (see :mod:`rome.sql.keys`): RENAME TABLE/COLUMN rewrites only the catalog, and ADD COLUMN
rewrites no rows (rows written before it lack the new id and read as the column's ``fill`` value).

Names are matched case-insensitively, as SQLite does, and kept as written.
"""
import json
from dataclasses import asdict, dataclass, field

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


@dataclass
class Catalog:
    version: int = 0
    tables: dict = field(default_factory=dict)       # lower-cased name -> Table
    next_id: int = 1                                 # for tables and indexes

    def table(self, name):
        return self.tables.get(name.lower())

    def new_id(self):
        self.next_id += 1
        return self.next_id - 1

    def find_index(self, name):
        for t in self.tables.values():
            ix = t.index(name)
            if ix is not None:
                return t, ix
        return None, None

    def to_bytes(self):
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data):
        d = json.loads(data)
        tables = {}
        for k, t in d["tables"].items():
            tables[k] = Table(
                name=t["name"], id=t["id"], primary_key=t["primary_key"], pk_name=t["pk_name"],
                next_column_id=t["next_column_id"],
                columns=[Column(**c) for c in t["columns"]],
                indexes=[Index(**i) for i in t["indexes"]],
                foreign_keys=[ForeignKey(**f) for f in t["foreign_keys"]],
                checks=[Check(**c) for c in t["checks"]])
        return cls(version=d["version"], tables=tables, next_id=d["next_id"])

    def copy(self):
        return Catalog.from_bytes(self.to_bytes())

"""The schema PRAGMAs that tools read, answered from the catalog as SQLite answers them:
``table_info(t)``, ``index_list(t)``, ``index_info(i)``, ``foreign_key_list(t)``. An unknown table or
index gives no rows, as in SQLite. Differences: ROME keeps no index for a primary key (SQLite's
``sqlite_autoindex_t_N`` of origin 'pk' is not listed), and a primary key column reports NOT NULL
(ROME's primary keys are never NULL)."""
from rome.sql.catalog import ROWID
from rome.sql.context import Result


def _table_info(catalog, name):
    t = catalog.table(name)
    if t is None:
        return []
    pk = [] if t.primary_key == [ROWID] else [c.lower() for c in t.primary_key]
    return [(i, c.name, c.type or "", int(not c.nullable), c.default,
             pk.index(c.name.lower()) + 1 if c.name.lower() in pk else 0)
            for i, c in enumerate(t.columns)]


def _index_list(catalog, name):
    t = catalog.table(name)
    if t is None:
        return []
    return [(seq, ix.name, int(ix.unique), "u" if ix.constraint else "c", 0)
            for seq, ix in enumerate(reversed(t.indexes))]


def _index_info(catalog, name):
    t, ix = catalog.find_index(name)
    if ix is None:
        return []
    return [(seq, t.column_index(c), t.column(c).name) for seq, c in enumerate(ix.columns)]


def _foreign_key_list(catalog, name):
    t = catalog.table(name)
    if t is None:
        return []
    out = []
    for n, fk in enumerate(reversed(t.foreign_keys)):
        for seq, (col, ref) in enumerate(zip(fk.columns, fk.ref_columns)):
            out.append((n, seq, fk.ref_table, col, ref, (fk.on_update or "NO ACTION").upper(),
                        (fk.on_delete or "NO ACTION").upper(), "NONE"))
    return out


PRAGMAS = {
    "table_info": (("cid", "name", "type", "notnull", "dflt_value", "pk"), _table_info),
    "index_list": (("seq", "name", "unique", "origin", "partial"), _index_list),
    "index_info": (("seqno", "cid", "name"), _index_info),
    "foreign_key_list": (("id", "seq", "table", "from", "to", "on_update", "on_delete", "match"),
                         _foreign_key_list),
}


def run(catalog, name, argument):
    """The Result of PRAGMA name(argument), or None when it is not one of these."""
    found = PRAGMAS.get(name)
    if found is None or argument is None:
        return None
    columns, answer = found
    return Result(columns, answer(catalog, argument))

"""FOREIGN KEY enforcement, as SQLite does it when ``PRAGMA foreign_keys`` is on.

A child row's key must exist in the parent (found through the parent's primary key or a unique index
on the referenced columns). When a parent row is deleted or its referenced key changes, the children are
found (through an index whose leading columns are the foreign key's, when there is one) and ON DELETE /
ON UPDATE act: CASCADE, SET NULL, SET DEFAULT, or refuse (RESTRICT at once; NO ACTION, the default, at
the end of the statement).

As SQLite's immediate constraints, a statement may pass through states that break a key as long as it
ends in one that does not: ``DELETE FROM project WHERE id IN (parent, child, grandchild)`` over a
self-referencing key, a multi-row INSERT whose child comes before its parent. A key found broken while
the statement runs is noted in ``session.fk_pending`` as (foreign key, values, child table) and checked
again at its end (:func:`check_pending`): it fails if a child row still holds the values and no parent
row has them.
"""
from rome.errors import IntegrityError
from rome.encoding.keycode import encode_tuple, prefix_end
from rome.sql.semantics.values import apply_affinity, collation_fold


def _locate(rows, want):
    """How to find the rows whose columns equal ``want`` ({position: value}): (how, key prefix) with
    how "point" (the whole primary key), "pk" (a primary key prefix), "index" (an index whose
    leading columns are these), or ("scan", None)."""
    n = len(want)
    if not rows.rowid and len(rows.pk_idx) >= n and set(rows.pk_idx[:n]) == set(want):
        p = rows.prefix + encode_tuple(rows.pk_key_values([want[c] for c in rows.pk_idx[:n]]))
        return ("point" if n == len(rows.pk_idx) else "pk"), p
    for ix, idx, prefix in rows.index_info:
        if len(idx) >= n and set(idx[:n]) == set(want):
            return "index", prefix + encode_tuple(rows.index_key_values(ix, [want[c] for c in idx[:n]]))
    return "scan", None


def find(session, table, positions, values):
    """(key, row) of table's rows whose columns at positions equal values (no NULLs in values)."""
    rows = session.rows(table)
    want = dict(zip(positions, values))
    how, p = _locate(rows, want)
    if how == "point":
        v = rows.txn.get(p)
        if v is not None:
            yield p, rows.decode(v)
    elif how == "pk":
        yield from rows.scan(p, prefix_end(p))
    elif how == "index":
        yield from rows.entry_rows([v for _k, v in rows.txn.scan(p, prefix_end(p))], True)
    else:
        for k, r in rows.scan():
            if all(r[i] == v for i, v in want.items()):
                yield k, r


def child_ranges(session, table, row):
    """The key ranges (start, end, reverse) where the rows referencing ``row`` through a foreign key
    would be, for the keys that have an index: what a program reads right after inserting a parent
    (an ORM loading the new object's collections), so that an insert can prefetch them."""
    out = []
    for child, fk in session.planner().referrers(table):
        vals = [row[table.column_index(c)] for c in fk.ref_columns]
        if None in vals:
            continue
        cpos = [child.column_index(c) for c in fk.columns]
        how, p = _locate(session.rows(child), dict(zip(cpos, vals)))
        if how in ("pk", "index"):
            out.append((p, prefix_end(p), False))
    return out


def _parent_columns(parent, fk):
    columns = [parent.column(c) for c in fk.ref_columns]
    if None in columns:
        raise IntegrityError("foreign key mismatch: %s(%s)" % (fk.ref_table, ", ".join(fk.ref_columns)))
    return columns


def _as_parent(columns, values):
    """Child key values as the parent's columns compare them (SQLite applies the parent column's
    affinity to the child's value: '1' in a TEXT column references 1 in an INTEGER one)."""
    return tuple(apply_affinity(v, c.affinity, c.name) for c, v in zip(columns, values))


def parent_exists(session, fk, values):
    parent = session.planner().table(fk.ref_table)
    columns = _parent_columns(parent, fk)
    positions = [parent.column_index(c.name) for c in columns]
    for _ in find(session, parent, positions, _as_parent(columns, values)):
        return True
    return False


def find_children(session, parent, fk, child, values):
    """(key, row) of child's rows that reference the parent key ``values`` through fk, compared as
    SQLite does: the child's values with the parent column's affinity, under its collation. When
    the child's columns have the same affinity and collation, that is equality: found as ``find``
    does; else every child row is compared."""
    columns = _parent_columns(parent, fk)
    cpos = [child.column_index(c) for c in fk.columns]
    ccols = [child.columns[i] for i in cpos]
    if all(c.affinity == p.affinity and c.collation == p.collation for c, p in zip(ccols, columns)):
        yield from find(session, child, cpos, values)
        return
    folds = [collation_fold(p.collation) or (lambda v: v) for p in columns]
    want = [f(v) for f, v in zip(folds, _as_parent(columns, values))]
    for k, r in session.rows(child).scan():
        got = _as_parent(columns, [r[i] for i in cpos])
        if None not in got and [f(v) for f, v in zip(folds, got)] == want:
            yield k, r


def on_parent_change(session, table, old, new):
    """Apply the foreign keys that reference table to the change old -> new (new None: delete)."""
    planner = session.planner()
    for child, fk in planner.referrers(table):
        ref = [table.column_index(c) for c in fk.ref_columns]
        old_vals = tuple(old[i] for i in ref)
        if None in old_vals:
            continue
        if new is not None and tuple(new[i] for i in ref) == old_vals:
            continue
        cpos = [child.column_index(c) for c in fk.columns]
        rows = session.rows(child)
        self_key = rows.key_of(old) if child is table and not rows.rowid else None
        children = [(k, r) for k, r in find_children(session, table, fk, child, old_vals) if k != self_key]
        if not children:
            continue
        action = ((fk.on_delete if new is None else fk.on_update) or "NO ACTION").upper()
        if action == "RESTRICT":
            raise IntegrityError("FOREIGN KEY constraint failed")
        if action == "NO ACTION":
            session.fk_pending.setdefault((id(fk), old_vals), (fk, old_vals, child))
            continue
        for k, r in children:
            if new is None and action == "CASCADE":
                if rows.txn.get(k) is not None:
                    rows.delete(k, r)
                continue
            updated = list(r)
            if action == "CASCADE":
                for c, i in zip(cpos, ref):
                    updated[c] = new[i]
            elif action == "SET NULL":
                for c in cpos:
                    updated[c] = None
            elif action == "SET DEFAULT":
                defaults = planner.defaults(child)
                for c in cpos:
                    updated[c] = defaults[c]((), None) if defaults[c] is not None else None
            rows.update(k, r, tuple(updated))


def check_pending(session, pending):
    """End of statement: each (foreign key, values, child table) noted while it ran must hold now."""
    for fk, values, child in pending:
        if parent_exists(session, fk, values):
            continue
        parent = session.planner().table(fk.ref_table)
        for _ in find_children(session, parent, fk, child, values):
            raise IntegrityError("FOREIGN KEY constraint failed")

"""CREATE / DROP / ALTER: catalog changes, made in the transaction like any other write.

The new catalog is written under the catalog key in the session's transaction (so DDL is
transactional: ROLLBACK undoes it, and a failed statement leaves the schema as it was). Creating an
index fills it from the existing rows and checks uniqueness; dropping a table deletes its key range;
ADD COLUMN records the default as the column's ``fill`` instead of rewriting rows.
"""
import sqlglot
from sqlglot import exp

from rome.errors import IntegrityError, NotSupportedError, OperationalError, ProgrammingError
from rome.encoding.keycode import prefix_end
from rome.sql import foreign_keys, keys
from rome.sql.catalog import ROWID, Check, Column, ForeignKey, Index, Table
from rome.sql.context import Ctx
from rome.sql.parse import declared_types, table_name
from rome.sql.planner import Planner
from rome.sql.semantics.values import apply_affinity, collation_name


def _check_new_name(cat, name, kind):
    """A new table's or index's name must be free in the schema's one namespace of tables and
    indexes, and not SQLite's own (``sqlite_...``), as in SQLite."""
    if name.lower().startswith("sqlite_"):
        raise OperationalError("object name reserved for internal use: %s" % name)
    if kind == "index" and cat.table(name) is not None:
        raise OperationalError("there is already a table named %s" % name)
    if kind == "table" and cat.find_index(name)[1] is not None:
        raise OperationalError("there is already an index named %s" % name)


def execute(session, stmt, sql):
    if isinstance(stmt, exp.Create):
        kind = (stmt.args.get("kind") or "").upper()
        if kind == "TABLE":
            return create_table(session, stmt, sql)
        if kind == "INDEX":
            return create_index(session, stmt)
        raise NotSupportedError("CREATE %s is not supported" % kind)
    if isinstance(stmt, exp.Drop):
        kind = (stmt.args.get("kind") or "").upper()
        if kind == "TABLE":
            return drop_table(session, stmt)
        if kind == "INDEX":
            return drop_index(session, stmt)
        raise NotSupportedError("DROP %s is not supported" % kind)
    if isinstance(stmt, exp.Alter):
        return alter_table(session, stmt, sql)
    raise NotSupportedError("unsupported statement")


def _ident_list(nodes):
    out = []
    for n in nodes or []:
        if isinstance(n, exp.Ordered):
            n = n.this
        out.append(n.name)
    return out


def _declared(types, name, cdef):
    """A column's declared type: as written in the statement, else as sqlglot parsed it."""
    t = types.get(name.lower())
    if t is None:
        t = cdef.kind.sql() if cdef.kind else ""
    return t


def _check(constraint, name):
    """A CHECK constraint, kept as SQL text: a parameter in it (a value of this one statement) is
    refused, as by SQLite."""
    if constraint.this.find(exp.Placeholder, exp.Parameter) is not None:
        raise OperationalError("parameters prohibited in CHECK constraints")
    if constraint.this.find(exp.Select, exp.Subquery, exp.Exists) is not None:
        raise OperationalError("subqueries prohibited in CHECK constraints")
    return Check(sql=constraint.this.sql(dialect="sqlite"), name=name)


def _default_sql(node, cname):
    """A column's DEFAULT as SQL text. As in SQLite, a bare name (DEFAULT x, DEFAULT "x") is the
    string 'x', and an expression reading a column or a table is refused."""
    e = node.this
    if isinstance(e, exp.Column) and not e.table:
        return exp.Literal.string(e.name).sql(dialect="sqlite")
    if isinstance(e, exp.Paren):
        e = e.this
    if e.find(exp.Column, exp.Select, exp.Subquery, exp.Exists) is not None:
        raise OperationalError("default value of column [%s] is not constant" % cname)
    return e.sql(dialect="sqlite")


def _fk(node, name=None):
    """A table constraint FOREIGN KEY (cols) REFERENCES t (cols) [ON DELETE ...]."""
    return _column_reference(_ident_list(node.expressions), node.args["reference"], name)


def _column_reference(columns, ref, name=None):
    """A ForeignKey from the REFERENCES clause ref, for the child columns given."""
    schema = ref.this
    table = schema.this.name if isinstance(schema, exp.Schema) else schema.name
    ref_cols = _ident_list(schema.expressions) if isinstance(schema, exp.Schema) else []
    fk = ForeignKey(columns=list(columns), ref_table=table, ref_columns=ref_cols, name=name)
    for opt in ref.args.get("options") or []:
        text = (opt if isinstance(opt, str) else opt.sql()).upper()
        for which in ("DELETE", "UPDATE"):
            prefix = "ON %s " % which
            if text.startswith(prefix):
                setattr(fk, "on_%s" % which.lower(), text[len(prefix):].strip())
    return fk


def _column_def(t, item, types):
    """The Column of a column definition, for CREATE TABLE and ADD COLUMN alike (the next column id of
    table t; its REFERENCES and CHECK constraints added to t). Returns (column, pk, uniques): pk is
    None or (constraint name,) for a PRIMARY KEY constraint, uniques the names (or None) of its UNIQUE
    constraints; the caller decides what they mean for its statement."""
    cname = item.name
    col = Column(name=cname, type=_declared(types, cname, item), id=t.next_column_id)
    t.next_column_id += 1
    pk, uniques = None, []
    for c in item.constraints or []:
        k = c.kind
        cons_name = c.name or None
        if isinstance(k, exp.NotNullColumnConstraint):
            col.nullable = bool(k.args.get("allow_null"))
        elif isinstance(k, exp.PrimaryKeyColumnConstraint):
            pk = (cons_name,)
        elif isinstance(k, exp.DefaultColumnConstraint):
            col.default = _default_sql(k, cname)
        elif isinstance(k, exp.UniqueColumnConstraint):
            uniques.append(cons_name)
        elif isinstance(k, exp.Reference):
            t.foreign_keys.append(_column_reference([cname], k, cons_name))
        elif isinstance(k, exp.CheckColumnConstraint):
            t.checks.append(_check(k, cons_name))
        elif isinstance(k, exp.CollateColumnConstraint):
            col.collation = collation_name(k.this.name)
        elif isinstance(k, exp.ComputedColumnConstraint):
            raise NotSupportedError("generated columns (%s AS ...) are not supported" % cname)
    return col, pk, uniques


def create_table(session, stmt, sql):
    schema = stmt.this
    if not isinstance(schema, exp.Schema):
        if stmt.expression is not None:
            raise NotSupportedError("CREATE TABLE ... AS SELECT is not supported")
        raise ProgrammingError("CREATE TABLE needs columns")
    name = table_name(schema.this)
    catalog = session.catalog
    if catalog.table(name) is not None:
        if stmt.args.get("exists"):
            return
        raise OperationalError("table %s already exists" % name)
    _check_new_name(catalog, name, "table")
    props = stmt.args.get("properties")
    if props is not None and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions):
        raise NotSupportedError("temporary tables are not supported")
    if props is not None and any(isinstance(p, exp.StrictProperty) for p in props.expressions):
        raise NotSupportedError("STRICT tables are not supported")
    cat = catalog.copy()
    t = Table(name=name, id=cat.new_id())
    types = declared_types(sql)
    pk, pk_name, uniques = [], None, []
    for item in schema.expressions:
        if isinstance(item, (exp.Identifier, exp.Column)):   # a column without a type or constraints
            item = exp.ColumnDef(this=exp.to_identifier(item.name))
        if isinstance(item, exp.ColumnDef):
            cname = item.name
            if t.column(cname) is not None:
                raise OperationalError("duplicate column name: %s" % cname)
            col, col_pk, col_uniques = _column_def(t, item, types)
            if col_pk is not None:
                pk, pk_name = [cname], col_pk[0]
            uniques += [(u, [cname]) for u in col_uniques]
            t.columns.append(col)
            t.changed()
        else:
            cname_ = None
            inner = [item]
            if isinstance(item, exp.Constraint):
                cname_ = item.name
                inner = item.expressions
            for k in inner:
                if isinstance(k, exp.PrimaryKey):
                    pk, pk_name = _ident_list(k.expressions), cname_
                elif isinstance(k, exp.UniqueColumnConstraint):
                    cols = _ident_list(k.this.expressions) if isinstance(k.this, exp.Schema) else \
                        _ident_list([k.this]) if k.this is not None else []
                    uniques.append((cname_, cols))
                elif isinstance(k, exp.ForeignKey):
                    t.foreign_keys.append(_fk(k, cname_))
                elif isinstance(k, (exp.CheckColumnConstraint, exp.Check)):
                    t.checks.append(_check(k, cname_))
                else:
                    raise NotSupportedError("unsupported table constraint: %s" % k.sql(dialect="sqlite"))
    for n in pk:
        c = t.column(n)
        if c is None:
            raise ProgrammingError("no such column in PRIMARY KEY: %s" % n)
        c.nullable = False
    if pk:
        t.primary_key = [t.column(n).name for n in pk]
        if len(pk) == 1 and t.column(pk[0]).affinity == "INTEGER":
            t.column(pk[0]).autoincrement = True
    else:
        t.primary_key = [ROWID]
    t.pk_name = pk_name
    for fk in t.foreign_keys:
        for c in fk.columns:
            if t.column(c) is None:
                raise ProgrammingError("unknown column %s in foreign key definition" % c)
        if not fk.ref_columns:
            parent = t if fk.ref_table.lower() == name.lower() else cat.table(fk.ref_table)
            if parent is None or parent.has_rowid:
                raise ProgrammingError("foreign key on %s must name the referenced columns" % name)
            fk.ref_columns = list(parent.primary_key)
    seen = set()
    for i, (uname, cols) in enumerate(uniques):
        for c in cols:
            if t.column(c) is None:
                raise ProgrammingError("no such column in UNIQUE: %s" % c)
        key = tuple(c.lower() for c in cols)
        if key in seen or [c.lower() for c in cols] == [c.lower() for c in t.primary_key]:
            continue
        seen.add(key)
        t.indexes.append(Index(name=uname or "sqlite_autoindex_%s_%d" % (name, i + 1),
                               columns=[t.column(c).name for c in cols], unique=True,
                               id=cat.new_id(), constraint=True, rows=True))
    cat.add_table(t)
    session.set_catalog(cat)


def drop_table(session, stmt):
    for tnode in stmt.args.get("tables") or []:
        t = session.catalog.table(table_name(tnode))
        if t is None:
            if stmt.args.get("exists"):
                continue
            raise OperationalError("no such table: %s" % tnode.name)
        if session.foreign_keys and session.planner().referrers(t):
            _implicit_delete(session, t)
        cat = session.catalog.copy()
        txn = session.txn
        prefix = keys.table_prefix(t.id)
        for k, _v in list(txn.scan(prefix, prefix_end(prefix))):
            txn.delete(k)
        cat.remove_table(t.name)
        session.set_catalog(cat)


def _implicit_delete(session, t):
    """DROP TABLE of a table that foreign keys reference, with foreign keys on: as SQLite, every row
    is deleted first, which runs those keys' ON DELETE actions (CASCADE, SET NULL...) and fails,
    dropping nothing, when a child row would be left without its parent. With foreign keys off
    (alembic's batch mode on SQLite), the children's rows are left alone."""
    rows = session.rows(t)
    for k, r in list(rows.scan()):
        rows.delete(k, r)
    pending, session.fk_pending = session.fk_pending, {}
    foreign_keys.check_pending(session, pending.values())


def _fill_index(session, table, ix):
    prefix = keys.rows_prefix(table.id)
    for _ in session.txn.scan(prefix, prefix_end(prefix)):
        break
    else:
        return   # no rows (a table just created): nothing to index
    rows = session.rows(table)
    idx = [table.column_index(c) for c in ix.columns]
    prefix = keys.index_prefix(table.id, ix.id)
    info = (ix, idx, prefix)
    txn = session.txn
    for k, v in list(txn.scan(rows.prefix, rows.end)):
        pk_enc = k[len(rows.prefix):]
        ik = rows.index_key(info, rows.decode(v), pk_enc)
        if ix.unique and txn.get(ik) is not None:
            raise IntegrityError("UNIQUE constraint failed: %s" % ", ".join(
                "%s.%s" % (table.name, c) for c in ix.columns))
        txn.put(ik, rows.entry_of(ix, pk_enc, v))   # a carried row: the row's value as stored


def create_index(session, stmt):
    node = stmt.this
    name = node.name
    tname = table_name(node.args["table"])
    cat = session.catalog.copy()
    t = cat.writable(tname)
    if t is None:
        raise OperationalError("no such table: %s" % tname)
    _t, existing = cat.find_index(name)
    if existing is not None:
        if stmt.args.get("exists"):
            return
        raise OperationalError("index %s already exists" % name)
    _check_new_name(cat, name, "index")
    params = node.args.get("params")
    if params is not None and params.args.get("where") is not None:
        raise NotSupportedError("partial indexes (CREATE INDEX ... WHERE) are not supported")
    cols, colls = [], []
    for o in (params.args.get("columns") if params else None) or []:
        e = o.this if isinstance(o, exp.Ordered) else o
        colls.append((collation_name(e.expression.name) or "BINARY") if isinstance(e, exp.Collate) else None)
        if isinstance(e, exp.Collate):
            e = e.this
        if not isinstance(e, exp.Column):
            raise NotSupportedError("indexes on expressions are not supported")
        c = t.column(e.name)
        if c is None:
            raise OperationalError("no such column: %s" % e.name)
        cols.append(c.name)
    ix = Index(name=name, columns=cols, unique=bool(stmt.args.get("unique")), id=cat.new_id(),
               collations=colls if any(colls) else None, rows=True)
    t.indexes.append(ix)
    session.set_catalog(cat)
    _fill_index(session, t, ix)


def drop_index(session, stmt):
    for node in stmt.args.get("tables") or []:
        cat = session.catalog.copy()
        t, ix = cat.find_index(node.name)
        if ix is None:
            if stmt.args.get("exists"):
                continue
            raise OperationalError("no such index: %s" % node.name)
        if ix.constraint:   # dropping it would drop the constraint: SQLite refuses
            raise OperationalError("index associated with UNIQUE or PRIMARY KEY constraint cannot be dropped")
        t = cat.writable(t.name)
        ix = t.index(node.name)
        txn = session.txn
        prefix = keys.index_prefix(t.id, ix.id)
        for k, _v in list(txn.scan(prefix, prefix_end(prefix))):
            txn.delete(k)
        t.indexes.remove(ix)
        session.set_catalog(cat)


def alter_table(session, stmt, sql):
    tname = table_name(stmt.this)
    for action in stmt.args.get("actions") or []:
        cat = session.catalog.copy()
        t = cat.writable(tname)
        if t is None:
            raise OperationalError("no such table: %s" % tname)
        if isinstance(action, exp.ColumnDef):
            _add_column(session, cat, t, action, sql)
        elif isinstance(action, exp.AlterRename):
            new = action.this.name
            if cat.table(new) is not None or cat.find_index(new)[1] is not None:
                raise OperationalError("there is already another table or index with this name: %s" % new)
            _check_new_name(cat, new, "renamed")
            cat.remove_table(t.name)
            old = t.name
            t.name = new
            cat.add_table(t)
            for other in list(cat.tables.values()):
                if any(fk.ref_table.lower() == old.lower() for fk in other.foreign_keys):
                    for fk in cat.writable(other.name).foreign_keys:
                        if fk.ref_table.lower() == old.lower():
                            fk.ref_table = new
            session.set_catalog(cat)
        elif isinstance(action, exp.RenameColumn):
            old, new = action.this.name, action.args["to"].name
            c = t.column(old)
            if c is None:
                raise OperationalError("no such column: \"%s\"" % old)
            if t.column(new) is not None and new.lower() != old.lower():
                raise OperationalError("duplicate column name: %s" % new)
            c.name = new
            t.changed()
            _rename_refs(cat, t, old, new)
            session.set_catalog(cat)
        elif isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
            for cnode in action.args.get("tables") or []:
                _drop_column(session, cat, t, cnode.name)
        else:
            raise NotSupportedError("unsupported ALTER TABLE action: %s" % action.sql(dialect="sqlite"))


def _check_tree(ck):
    return sqlglot.parse_one(ck.sql, read="sqlite")


def _check_columns(ck):
    """The lower-cased names of the columns a CHECK constraint reads."""
    return {n.name.lower() for n in _check_tree(ck).find_all(exp.Column)}


def _renamed_check(ck, old, new):
    """The CHECK constraint with its column old called new (its text is what it runs)."""
    tree = _check_tree(ck)
    found = False
    for n in tree.find_all(exp.Column):
        if n.name.lower() == old.lower():
            n.set("this", exp.to_identifier(new, quoted=n.this.quoted or None))
            found = True
    return Check(sql=tree.sql(dialect="sqlite"), name=ck.name) if found else ck


def _rename_refs(cat, t, old, new):
    def ren(cols):
        return [new if c.lower() == old.lower() else c for c in cols]
    t.primary_key = ren(t.primary_key)
    t.checks = [_renamed_check(ck, old, new) for ck in t.checks]
    for ix in t.indexes:
        ix.columns = ren(ix.columns)
    for fk in t.foreign_keys:
        fk.columns = ren(fk.columns)
    for other in list(cat.tables.values()):
        if any(fk.ref_table.lower() == t.name.lower() for fk in other.foreign_keys):
            for fk in cat.writable(other.name).foreign_keys:
                if fk.ref_table.lower() == t.name.lower():
                    fk.ref_columns = ren(fk.ref_columns)


def _add_column(session, cat, t, cdef, sql):
    cname = cdef.name
    if t.column(cname) is not None:
        raise OperationalError("duplicate column name: %s" % cname)
    references = len(t.foreign_keys)
    col, pk, uniques = _column_def(t, cdef, declared_types(sql))
    references = len(t.foreign_keys) > references
    if pk is not None:
        raise OperationalError("Cannot add a PRIMARY KEY column")
    if uniques:   # as SQLite (a UNIQUE index is created with CREATE UNIQUE INDEX)
        raise OperationalError("Cannot add a UNIQUE column")
    if col.default is not None:
        v = Planner(cat).compile_const(sqlglot.parse_one(col.default, read="sqlite"))((), Ctx(session, {}))
        col.fill = None if v is None else apply_affinity(v, col.affinity, cname)
    if references and col.fill is not None and session.foreign_keys:
        # every existing row would reference a parent that may not exist (SQLite's rule)
        raise OperationalError("Cannot add a REFERENCES column with non-NULL default value")
    if not col.nullable and col.fill is None:
        rows = session.rows(session.catalog.table(t.name))
        for _ in rows.scan():
            raise OperationalError("Cannot add a NOT NULL column with default value NULL")
    t.columns.append(col)
    t.changed()
    session.set_catalog(cat)


def _drop_column(session, cat, t, cname):
    """ALTER TABLE t DROP COLUMN, refused as by SQLite when something of the table other than the
    column's own constraints uses the column: an index, a UNIQUE or PRIMARY KEY constraint, a foreign
    key, a CHECK naming other columns too (one naming only this column goes with it)."""
    c = t.column(cname)
    if c is None:
        raise OperationalError("no such column: \"%s\"" % cname)
    low = cname.lower()

    def uses(cols):
        return low in (x.lower() for x in cols)
    if uses(t.primary_key):
        raise OperationalError("cannot drop PRIMARY KEY column: \"%s\"" % cname)
    if any(ix.constraint and [x.lower() for x in ix.columns] == [low] for ix in t.indexes):
        raise OperationalError("cannot drop UNIQUE column: \"%s\"" % cname)
    if len(t.columns) == 1:
        raise OperationalError("cannot drop column \"%s\": no other columns exist" % cname)
    for fk in t.foreign_keys:
        if uses(fk.columns):
            raise OperationalError("error in table %s after drop column: unknown column \"%s\" in "
                                   "foreign key definition" % (t.name, cname))
    after = "after drop column: no such column: %s" % cname
    for ix in t.indexes:
        if uses(ix.columns):
            raise OperationalError("error in %s %s %s" % (
                "table" if ix.constraint else "index", t.name if ix.constraint else ix.name, after))
    checks = []
    for ck in t.checks:
        names = _check_columns(ck)
        if low in names and names != {low}:
            raise OperationalError("error in table %s %s" % (t.name, after))
        if low not in names:
            checks.append(ck)
    t.checks = checks
    t.columns = [x for x in t.columns if x.name.lower() != low]
    t.changed()
    session.set_catalog(cat)

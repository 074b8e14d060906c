"""Row access for one table inside a transaction: encoding, index maintenance and constraints.

A :class:`TableRows` turns SQL rows (tuples in the table's column order) into the keys of
:mod:`rome.sql.keys` and back, and is the only place that writes them: every insert, update and delete
goes through it, so index entries (and the copies of rows they carry) always match rows, and PRIMARY KEY, UNIQUE, NOT NULL, CHECK and
FOREIGN KEY constraints are checked in one place. FOREIGN KEYs are enforced when the connection's
``PRAGMA foreign_keys`` is on, as SQLite's immediate constraints: a key without its parent is noted and
checked again at the end of the statement (rome.sql.foreign_keys); ON DELETE CASCADE / SET NULL act on
the child rows at once, found through an index on the child columns when there is one.

Error messages are SQLite's ("UNIQUE constraint failed: t.a, t.b"), which oslo.db's filters parse.
"""
from itertools import product

from rome.errors import IntegrityError
from rome.encoding.entrycode import MARK, entry_pk, entry_row, entry_value
from rome.encoding.keycode import decode_tuple, encode_tuple, encode_value, prefix_end
from rome.encoding.rowcode import decode_row, encode_row
from rome.sql import foreign_keys, keys
from rome.sql.semantics.values import collation_folds, fold_values, numeric_twin


PRIMARY_KEY = "primary key"   # _twin_keys(only=PRIMARY_KEY)


class TableRows:
    def __init__(self, session, table):
        self.session = session
        self.txn = session.txn if session is not None else None
        self.table = table
        t = table
        self.prefix = keys.rows_prefix(t.id)
        self.end = prefix_end(self.prefix)
        self.ids = [c.id for c in t.columns]
        self.fills = [c.fill for c in t.columns]
        self.width = len(t.columns)
        self.full = self.width if self.ids == list(range(self.width)) else -1  # a row decoded as is
        self.row_len = t.next_column_id
        self.rowid = t.has_rowid
        self.pk_idx = [] if self.rowid else [t.column_index(n) for n in t.primary_key]
        self.not_null = [(i, c.name) for i, c in enumerate(t.columns) if not c.nullable]
        self.index_info = [(ix, [t.column_index(n) for n in ix.columns], keys.index_prefix(t.id, ix.id))
                           for ix in t.indexes]
        # keys of columns with a collation hold folded values (Table.key_collations): per key, the
        # fold of each column (None when every column is BINARY, the common case: no work)
        self.pk_folds = collation_folds(t.key_collations(self.pk_idx))
        self.index_folds = {ix.id: collation_folds(t.key_collations(idx, ix)) for ix, idx, _p in self.index_info}
        self._pk_single = self.pk_idx[0] if len(self.pk_idx) == 1 and self.pk_folds is None else None
        # an inserted row's index entries, by kind (see _add_entries)
        self._unique = [info for info in self.index_info if info[0].unique]
        plain = [info for info in self.index_info if not info[0].unique and self.index_folds[info[0].id] is None]
        self._plain = [(p, idx[0], ix.rows) for ix, idx, p in plain if len(idx) == 1]
        self._composite = [(p, idx, ix.rows) for ix, idx, p in plain if len(idx) > 1]
        self._carrying = any(ix.rows for ix in t.indexes)
        self._folded = [info for info in self.index_info
                        if not info[0].unique and self.index_folds[info[0].id] is not None]
        # columns without affinity keep 1 and 1.0 as inserted, two keys of one value: a primary or
        # unique key on them must be free under both (see _twin_keys)
        untyped = {i for i, c in enumerate(t.columns) if c.affinity == "BLOB"}
        self._twin_pk = [i for i in self.pk_idx if i in untyped]
        self._twin_unique = [(info, [i for i in info[1] if i in untyped]) for info in self._unique]
        self._twin_unique = [(info, cols) for info, cols in self._twin_unique if cols]
        self._has_twins = bool(self._twin_pk or self._twin_unique)

    # -- encoding -------------------------------------------------------------------------------
    def decode(self, value):
        vals = decode_row(value)
        return tuple(vals) if len(vals) == self.full else self._complete(vals)

    def _complete(self, vals):
        """A row stored before columns were added (or with ids not contiguous): by column id, with
        each added column's fill past the end of the stored values."""
        n = len(vals)
        return tuple(vals[i] if i < n else f for i, f in zip(self.ids, self.fills))

    def encode(self, row):
        if self.full == self.row_len:   # column ids are positions: the row as it is
            return encode_row(list(row))
        out = [None] * self.row_len
        for i, v in zip(self.ids, row):
            out[i] = v
        return encode_row(out)

    def pk_of(self, row):
        return tuple([row[i] for i in self.pk_idx])

    def key_of(self, row):
        if self._pk_single is not None:
            return self.prefix + encode_value(row[self._pk_single])
        return self.prefix + encode_tuple(self.pk_key_values([row[i] for i in self.pk_idx]))

    def pk_key_values(self, values):
        """Primary key values as the row key holds them (folded by their collations)."""
        return values if self.pk_folds is None else fold_values(self.pk_folds, values)

    def index_key_values(self, ix, values):
        """An index's leading column values as its entries' keys hold them."""
        folds = self.index_folds[ix.id]
        return values if folds is None else fold_values(folds, values)

    def entry_of(self, ix, pk_enc, row_value):
        """The value of index ix's entry for the row (pk_enc, row_value) (rome.encoding.entrycode)."""
        return entry_value(pk_enc, row_value) if ix.rows else pk_enc

    def pk_from_key(self, key):
        return decode_tuple(key, len(self.prefix))

    def index_key(self, info, row, pk_enc):
        ix, idx, prefix = info
        if len(idx) == 1 and self.index_folds[ix.id] is None:
            v = row[idx[0]]
            k = prefix + encode_value(v)
            return k + pk_enc if v is None or not ix.unique else k
        vals = self.index_key_values(ix, [row[i] for i in idx])
        k = prefix + encode_tuple(vals)
        if not ix.unique or None in vals:
            k += pk_enc
        return k

    # -- reads ----------------------------------------------------------------------------------
    def get(self, pk_values):
        v = self.txn.get(self.prefix + encode_tuple(self.pk_key_values(pk_values)))
        return None if v is None else self.decode(v)

    def find_by_key(self, ix, values):
        """(key, row) of the row whose primary key (ix None) or UNIQUE index ix holds values, or None."""
        if ix is None:
            key = self.prefix + encode_tuple(self.pk_key_values(values))
        else:
            prefix = next(p for i, _idx, p in self.index_info if i is ix)
            v = self.txn.get(prefix + encode_tuple(self.index_key_values(ix, values)))
            if v is None:
                return None
            key = self.prefix + entry_pk(v)
            if v[0] == MARK:
                return key, self.decode(entry_row(v))
        v = self.txn.get(key)
        return None if v is None else (key, self.decode(v))

    def get_keys(self, row_keys):
        """Rows for row keys (batched); missing ones are skipped. Yields (key, row)."""
        complete, full = self._complete, self.full
        for k, v in zip(row_keys, self.txn.get_many(row_keys)):
            if v is not None:
                vals = decode_row(v)
                yield k, tuple(vals) if len(vals) == full else complete(vals)

    def entry_rows(self, values, with_keys=False):
        """The rows of index entries' values, in order, as a list: a carried row decoded, the others
        read in one get_many (a missing one skipped). (key, row) pairs when ``with_keys``."""
        rp, complete, full = self.prefix, self._complete, self.full
        need = [rp + v for v in values if v[0] != MARK]
        got = iter(self.txn.get_many(need)) if need else None
        out = []
        for v in values:
            if v[0] == MARK:   # entrycode's layout, read inline: this runs once per row an index yields
                n = 3 + (v[1] << 8 | v[2])
                vals = decode_row(v[n:])
            else:
                r = next(got)
                if r is None:
                    continue
                vals = decode_row(r)
            row = tuple(vals) if len(vals) == full else complete(vals)
            out.append((rp + (v[3:n] if v[0] == MARK else v), row) if with_keys else row)
        return out

    def scan(self, start=None, end=None, reverse=False):
        """(key, row) in primary-key order over [start, end) (default: the whole table)."""
        complete, full = self._complete, self.full
        for k, v in self.txn.scan(start or self.prefix, end or self.end, reverse):
            vals = decode_row(v)
            yield k, tuple(vals) if len(vals) == full else complete(vals)

    def scan_rows(self, ranges, reverse=False):
        """The rows (no keys) in the (start, end) key ranges, in order: SELECT's read loop, decoding
        inline (a call per row would show)."""
        scan, complete, full = self.txn.scan, self._complete, self.full
        for start, end in ranges:
            for _k, v in scan(start, end, reverse):
                vals = decode_row(v)
                yield tuple(vals) if len(vals) == full else complete(vals)

    def _twin_keys(self, row, pk_enc, only=None):
        """(key, columns) of the other keys equal to row's primary key and unique keys: each
        integral number in a column without affinity written the other way (1.0 for 1, 1 for 1.0).
        ``only``: PRIMARY_KEY, or the index info to consider (None: the primary key and every
        unique index)."""
        out = []
        keys = ([(self._twin_pk, None)] if self._twin_pk and only in (None, PRIMARY_KEY) else []) + \
            [(cols, info) for info, cols in self._twin_unique if only is None or info is only]
        for cols, info in keys:
            alts = [(i, numeric_twin(row[i])) for i in cols]
            alts = [(i, v) for i, v in alts if v is not None]
            for flips in product((False, True), repeat=len(alts)):
                if not any(flips):
                    continue
                r = list(row)
                for (i, v), flip in zip(alts, flips):
                    if flip:
                        r[i] = v
                out.append((self.key_of(r), self.pk_idx) if info is None
                           else (self.index_key(info, r, pk_enc), info[1]))
        return out

    # -- writes ---------------------------------------------------------------------------------
    def insert(self, row, generated=False, alone=False):
        """Insert a complete row (affinity already applied, defaults filled). Returns its key.

        On a store with round trips (Transaction.can_warm), two reads are saved: a primary key the
        engine ``generated`` (AUTOINCREMENT) is not read but expected absent at commit (a clash is
        a race with an explicit insert elsewhere, reported as a conflict); and a row inserted
        ``alone`` (a single-row statement) brings along, in the round trip of its checks, the
        ranges where rows referencing it would be, which an ORM reads next (the new object's
        collections): see foreign_keys.child_ranges."""
        t = self.table
        txn = self.txn
        self._check_not_null(row)
        if self.rowid:
            key = self.prefix + encode_value(self.session.next_rowid(t))
        else:
            key = self.key_of(row)
        pk_enc = key[len(self.prefix):]
        wk, wv, unique = [key], [self.encode(row)], []
        self._add_entries(row, pk_enc, wk, wv, unique, wv[0])
        # The primary key and every unique entry must be free: one batched read (one round trip).
        checks = [] if self.rowid else [(key, self.pk_idx)]
        checks += [(ik, info[1]) for ik, info in zip(unique, self._unique)]
        if self._has_twins:
            checks += self._twin_keys(row, pk_enc)
        if checks and (generated or alone) and txn.can_warm:
            if generated and not self.rowid:
                if not txn.expect_absent(key):
                    raise IntegrityError("UNIQUE constraint failed: %s" % self._names(self.pk_idx))
                checks = checks[1:]
            if alone and checks:
                txn.warm([k for k, _i in checks], foreign_keys.child_ranges(self.session, t, row))
        if checks:
            for (_k, idx), v in zip(checks, txn.get_many([k for k, _i in checks])):
                if v is not None:
                    raise IntegrityError("UNIQUE constraint failed: %s" % self._names(idx))
        self._check_row(row)
        if t.foreign_keys and self.session.foreign_keys:
            self._check_parents(row, None)
        txn.put_many(wk, wv)
        return key

    def insert_batch(self, batch, generated):
        """Insert many complete rows as insert() would each (``generated``: per row, whether its
        AUTOINCREMENT key was drawn for it), with one read for all their primary and unique keys
        (one round trip on a networked store). Returns their keys, or None, having written nothing,
        when a row must go through insert() to get its error in order (a NOT NULL or unique
        violation, a key twice in the batch, a foreign key to the same table): the caller then
        inserts them one by one. Builds parallel lists, not pairs: fewer objects for the garbage
        collector to track."""
        t = self.table
        if self._has_twins or any(fk.ref_table.lower() == t.name.lower() for fk in t.foreign_keys):
            return None
        txn, prefix, plen, encode, add_entries = self.txn, self.prefix, len(self.prefix), self.encode, self._add_entries
        deferred = txn.can_warm   # generated keys expected absent at commit, as insert() does
        checks, expected, out, wk, wv = [], [], [], [], []
        for row, gen in zip(batch, generated):
            for i, _name in self.not_null:
                if row[i] is None:
                    return None
            if self.rowid:
                key = prefix + encode_value(self.session.next_rowid(t))
            else:
                key = self.key_of(row)
                (expected if gen and deferred else checks).append(key)
            out.append(key)
            wk.append(key)
            rv = encode(row)
            wv.append(rv)
            add_entries(row, key[plen:], wk, wv, checks, rv)
        if len(set(checks)) != len(checks):
            return None
        if checks and any(v is not None for v in txn.get_many(checks)):
            return None
        if not all(txn.expect_absent(k) for k in expected):
            return None
        fks = t.foreign_keys and self.session.foreign_keys
        if t.checks or fks:
            for row in batch:
                self._check_row(row)
                if fks:
                    self._check_parents(row, None)
        txn.put_many(wk, wv)
        return out

    def _add_entries(self, row, pk_enc, keys_out, values_out, unique_out, row_value):
        """Append an inserted row's index entries to keys_out / values_out (each entry's value is
        the encoded primary key, with the row value in an index whose entries carry rows), and its
        unique entries' keys, which must be free, to unique_out (in the order of self._unique)."""
        cv = entry_value(pk_enc, row_value) if self._carrying else pk_enc
        for info in self._unique:
            ik = self.index_key(info, row, pk_enc)
            unique_out.append(ik)
            keys_out.append(ik)
            values_out.append(cv if info[0].rows else pk_enc)
        for p, c, carries in self._plain:
            keys_out.append(p + encode_value(row[c]) + pk_enc)
            values_out.append(cv if carries else pk_enc)
        for p, idx, carries in self._composite:
            keys_out.append(p + encode_tuple([row[i] for i in idx]) + pk_enc)
            values_out.append(cv if carries else pk_enc)
        for info in self._folded:
            keys_out.append(self.index_key(info, row, pk_enc))
            values_out.append(cv if info[0].rows else pk_enc)

    def update(self, key, old, new):
        """Replace row old (at key) by new. Returns the new key."""
        if old == new and all(type(a) is type(b) for a, b in zip(old, new)):   # (1 == 1.0 and True == 1)
            return key
        self._check_not_null(new)
        txn = self.txn
        pk_enc = key[len(self.prefix):]
        new_key = key
        if not self.rowid and self.pk_of(old) != self.pk_of(new):
            new_key = self.key_of(new)   # the same key when only the case changes under NOCASE
            taken = [new_key] + [k for k, _c in self._twin_keys(new, None, PRIMARY_KEY)]
            if any(k != key and txn.get(k) is not None for k in taken):
                raise IntegrityError("UNIQUE constraint failed: %s" % self._names(self.pk_idx))
        new_pk_enc = new_key[len(self.prefix):]
        changes = []
        for info in self.index_info:
            ok, nk = self.index_key(info, old, pk_enc), self.index_key(info, new, new_pk_enc)
            if ok != nk:
                if info[0].unique:
                    taken = [nk] + ([k for k, _c in self._twin_keys(new, new_pk_enc, info)]
                                    if self._has_twins else [])
                    if any(k != ok and txn.get(k) is not None for k in taken):
                        raise IntegrityError("UNIQUE constraint failed: %s" % self._names(info[1]))
                changes.append((ok, nk, info[0].rows))
            elif new_key != key or info[0].rows:   # a carried copy of the row changes with it
                changes.append((ok, nk, info[0].rows))
        self._check_row(new)
        if self.table.foreign_keys and self.session.foreign_keys:
            self._check_parents(new, old)
        self.session.fk_on_parent_change(self.table, old, new)
        if new_key != key:
            txn.delete(key)
        rv = self.encode(new)
        txn.put(new_key, rv)
        cv = entry_value(new_pk_enc, rv) if self._carrying else new_pk_enc
        for ok, nk, carries in changes:
            if ok != nk:
                txn.delete(ok)
            txn.put(nk, cv if carries else new_pk_enc)
        return new_key

    def delete(self, key, row):
        self.session.fk_on_parent_change(self.table, row, None)
        txn = self.txn
        pk_enc = key[len(self.prefix):]
        for info in self.index_info:
            txn.delete(self.index_key(info, row, pk_enc))
        txn.delete(key)

    # -- constraints ----------------------------------------------------------------------------
    def _names(self, idx):
        t = self.table
        return ", ".join("%s.%s" % (t.name, t.columns[i].name) for i in idx)

    def is_pk_error(self, e):
        """Whether IntegrityError e is this table's primary key taken."""
        return not self.rowid and str(e) == "UNIQUE constraint failed: %s" % self._names(self.pk_idx)

    def _check_not_null(self, row):
        for i, name in self.not_null:
            if row[i] is None:
                raise IntegrityError("NOT NULL constraint failed: %s.%s" % (self.table.name, name))

    def _check_row(self, row):
        if self.table.checks:
            for name, pred in self.session.check_predicates(self.table):
                v = pred(row, None)
                if v is not None and not v:
                    raise IntegrityError("CHECK constraint failed: %s" % (name or self.table.name))

    def _check_parents(self, new, old):
        t = self.table
        for fk in t.foreign_keys:
            idx = [t.column_index(c) for c in fk.columns]
            vals = tuple(new[i] for i in idx)
            if None in vals:
                continue
            if old is not None and tuple(old[i] for i in idx) == vals:
                continue
            if fk.ref_table.lower() == t.name.lower() and tuple(new[t.column_index(c)] for c in fk.ref_columns) == vals:
                continue  # a row that references itself
            if not self.session.parent_exists(fk, vals):   # it may come later in the statement
                self.session.fk_pending.setdefault((id(fk), vals), (fk, vals, t))

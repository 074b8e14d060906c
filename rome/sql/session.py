"""A session: one connection's transaction, catalog view and statement dispatch.

Every statement runs inside a transaction (begun implicitly, as PEP 249 wants) and inside an implicit
savepoint: if it fails, its writes and catalog changes are undone and the transaction goes on as before
the statement (statement atomicity). SAVEPOINT / ROLLBACK TO / RELEASE map to the transaction's undo log.

The catalog's header key is read at the start of each transaction (a small key, recorded as a read, so
DDL committed by someone else makes this transaction's commit fail rather than write with a stale
schema); parsed catalogs are shared per store and reused while the header's bytes are unchanged (the
table keys are read only when it changed, see rome.sql.catalog). Plans are cached on the
catalog object, keyed by SQL text: a new catalog version starts with an empty plan cache.
"""
import threading

from sqlglot import exp

from rome.errors import (ConflictError, DatabaseError, IntegrityError, InternalError,
                                   NotSupportedError, OperationalError, ProgrammingError)
from rome.sql import copymark, ddl, dml, foreign_keys, keys, pragmas
from rome.sql.catalog import Catalog
from rome.sql.context import Ctx, Result  # noqa: F401 (Result: re-exported for callers)
from rome.sql.parse import Control, ListParams, parse
from rome.sql.planner import Planner
from rome.sql.semantics.values import adapt
from rome.sql.rows import TableRows
from rome.storage.base import Conflict, Refused, StoreError
from rome.storage.transaction import Transaction

QUERIES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)
_catalog_lock = threading.Lock()
_VERIFIED = object()   # Session._unverified when the transaction's catalog is known to be current


def bind(params, n):
    """params (a sequence, a mapping or None) by name; n: the statement's positional parameters,
    a count or a ListParams."""
    if isinstance(n, ListParams):
        if params is not None and not isinstance(params, dict) and len(params) == n.count:
            return n.bind(params, adapt)
        n = n.count
    if params is None or params == ():
        if n:
            raise ProgrammingError("Incorrect number of bindings supplied. The current statement uses %d, "
                                   "and there are 0 supplied." % n)
        return {}
    if isinstance(params, dict):
        return {k: adapt(v) for k, v in params.items()}
    if len(params) != n:
        raise ProgrammingError("Incorrect number of bindings supplied. The current statement uses %d, "
                               "and there are %d supplied." % (n, len(params)))
    return dict(zip(_NAMES[n] if n < len(_NAMES) else ["p%d" % (i + 1) for i in range(n)],
                     map(adapt, params)))


_NAMES = [["p%d" % (i + 1) for i in range(n)] for n in range(64)]   # positional parameters' names


MAX_ROWID = 2 ** 63 - 1


class Session:
    def __init__(self, store):
        self.store = store
        self.txn = None
        self.catalog = None
        self.autocommit = False
        self.savepoints = []      # (name, undo token, catalog)
        self.explicit = False     # a BEGIN opened the transaction: autocommit waits for COMMIT/ROLLBACK
        self.wrote = False        # a statement other than a query ran in the transaction
        self._unverified = _VERIFIED   # the catalog bytes assumed at begin, until a read confirms them
        self._rows = {}
        self._sequences = _sequences(store)
        self.foreign_keys = True   # PRAGMA foreign_keys (per connection; see docs/limitations.md)
        self.fk_pending = {}       # foreign key values to check at the end of the statement
        self.changes = 0          # rows changed by the last INSERT/UPDATE/DELETE: changes()
        self.total_changes = 0    # by all of them on this connection: total_changes()
        if store.follow is None:
            store.follow = keys.row_of_entry   # stores with round trips read rows along with their entries
        self.open_unfinished = False   # may use a database marked as an unfinished copy (copymark)

    # -- transactions ---------------------------------------------------------------------------
    def begin(self, verify=False):
        """Start a transaction. On a store with round trips (Transaction.can_warm) the catalog is
        not read by itself: the cached one is assumed (recorded as read, so a writer is validated
        against it) and the current one rides along with the first read; the first statement is
        re-run if it turns out to have been planned on a stale catalog (see _verify_catalog)."""
        self.txn = txn = Transaction(self.store)
        self.savepoints = []
        self.wrote = False
        self._unverified = _VERIFIED
        try:
            cached = getattr(self.store, "_rome_catalog", None)
            if cached is not None and not verify and txn.can_warm:
                txn.assume(keys.CATALOG, cached[0])
                txn.prefetch([keys.CATALOG])
                self._unverified = cached[0]
                self.catalog = cached[1]
                return
            data = txn.get(keys.CATALOG)
            self.catalog = _shared_catalog(self.store, data, txn)
        except StoreError as e:
            self.txn = None
            raise e.to_dbapi() from None

    def _catalog_is_stale(self, force=False):
        """After a statement of a transaction begun on an assumed catalog: False once the catalog
        that came along with a read matches, True if it differs (the statement must be re-run)."""
        found, data = self.txn.peek(keys.CATALOG)
        if not found:
            if not force:
                return False
            try:
                data = self.txn.read_through(keys.CATALOG)
            except StoreError as e:
                raise e.to_dbapi() from None
        assumed, self._unverified = self._unverified, _VERIFIED
        return data != assumed

    def commit(self):
        txn, self.txn = self.txn, None
        self.savepoints = []
        self.explicit = False
        if txn is None:
            return
        written = txn.writes.get(keys.CATALOG) if txn.has_writes else None
        try:
            txn.commit()
            if written is not None and written == self.catalog.header_bytes():
                # DDL committed: later transactions start from this catalog
                with _catalog_lock:
                    self.store._rome_catalog = (written, self.catalog)
        except Conflict as e:
            # perhaps a generated key another process had taken (on a store with round trips it is
            # checked at commit): the retry draws keys above the largest stored
            self._sequences.synced.clear()
            raise ConflictError("write conflict: %s; the transaction was rolled back, retry it" % e) from None
        except Refused as e:
            raise OperationalError("%s; the transaction was rolled back" % e) from None
        except StoreError as e:
            raise e.to_dbapi() from None

    def rollback(self):
        txn, self.txn = self.txn, None
        self.savepoints = []
        self.explicit = False
        if txn is not None:
            txn.rollback()

    @property
    def in_transaction(self):
        return self.txn is not None

    @property
    def transaction_open(self):
        """Whether SQLite (sqlite3's default mode) would have a transaction open here: one that BEGIN
        or SAVEPOINT opened or a statement other than a query or a PRAGMA ran in (or that wrote). A
        transaction that has only read is not one (BEGIN starts a new one, COMMIT or ROLLBACK of it
        is refused)."""
        return self.txn is not None and (self.explicit or bool(self.savepoints) or self.wrote
                                         or self.txn.has_writes)

    # -- what plans and writers ask of the session ------------------------------------------------
    def rows(self, table):
        """The table's TableRows, kept from one transaction to the next while the table's schema
        is the same object (published catalogs are never changed): building one costs about what a
        point query does."""
        r = self._rows.get(table.id)
        if r is None or r.table is not table:
            r = self._rows[table.id] = TableRows(self, table)
        elif r.txn is not self.txn:
            r.txn = self.txn
        return r

    def planner(self):
        cat = self.catalog
        p = cat.__dict__.get("_planner")
        if p is None:   # setdefault: two threads planning on a new catalog share one planner
            p = cat.__dict__.setdefault("_planner", Planner(cat))
        return p

    def set_catalog(self, catalog):
        """Install a changed catalog in this transaction (DDL): its header and the tables that
        differ from the current catalog's are written."""
        txn = self.txn
        changed, dropped = catalog.changes(self.catalog)
        catalog.changed()
        catalog.version += 1
        catalog.whole = False
        txn.put(keys.CATALOG, catalog.header_bytes())
        for t in changed:
            txn.put(keys.table_def_key(t.id), t.to_bytes())
        for i in dropped:
            txn.delete(keys.table_def_key(i))
        self.catalog = catalog
        self._rows = {}

    def check_predicates(self, table):
        return self.planner().check_predicates(table)

    def parent_exists(self, fk, values):
        return foreign_keys.parent_exists(self, fk, values)

    def fk_on_parent_change(self, table, old, new):
        if self.foreign_keys and self.planner().referrers(table):
            foreign_keys.on_parent_change(self, table, old, new)

    def _statement_done(self):
        """End of a writing statement: its foreign keys must hold (SQLite's immediate constraints)."""
        if self.fk_pending:
            pending, self.fk_pending = self.fk_pending, {}
            foreign_keys.check_pending(self, pending.values())

    def next_id(self, table, at_least=0, resync=False):
        """The next generated key of table. The first time this process draws one for a table (and
        when ``resync``: the drawn key turned out taken), it starts above the largest key stored,
        as SQLite's max(rowid)+1: rows copied in, inserted with explicit ids by another process or
        restored never make the counter hand out taken keys."""
        seq = self._sequences
        if resync or table.id not in seq.synced:
            at_least = max(at_least, self._last_key(table) + 1)
            seq.synced.add(table.id)
        value = seq.next(table.id, at_least) if at_least <= MAX_ROWID else MAX_ROWID + 1
        if value > MAX_ROWID:  # as SQLite's AUTOINCREMENT past the largest rowid: SQLITE_FULL
            raise OperationalError("database or disk is full: no integer key is left above %d in %s"
                                   % (MAX_ROWID, table.name))
        return value

    def next_rowid(self, table):
        return self.next_id(table)

    def _last_key(self, table):
        """The largest integer primary key committed in table (0 if none), read from a snapshot of
        its own: not a read of this transaction (it would conflict with every concurrent insert)."""
        rows = self.rows(table)
        snap = self.store.snapshot()
        try:
            for k, _v in snap.scan(rows.prefix, rows.end, reverse=True):
                v = rows.pk_from_key(k)[0]
                return v if type(v) is int else 0
        finally:
            snap.close()
        return 0

    def saw_id(self, table, value):
        self._sequences.saw(table.id, value)

    # -- statements -----------------------------------------------------------------------------
    def execute(self, sql, params=None):
        stmt, n = parse(sql)
        if isinstance(stmt, Control):
            return self._control(stmt, params)
        if isinstance(n, ListParams):
            sql = n.key     # plans are cached per collapsed text
        if isinstance(stmt, exp.Pragma) and pragma_parts(stmt)[0] == "foreign_keys":
            return self._foreign_keys_pragma(stmt)
        return self._checked_run(sql, stmt, n, (params,))

    def _foreign_keys_pragma(self, stmt):
        """PRAGMA foreign_keys [= ON|OFF]: this connection's setting, as SQLite's (and, as there, a
        no-op inside a transaction that has written or holds a savepoint)."""
        _name, value = pragma_parts(stmt)
        if value is None:
            return Result(("foreign_keys",), [(int(self.foreign_keys),)])
        on = PRAGMA_BOOLEANS.get(value)
        if on is None:
            raise ProgrammingError("PRAGMA foreign_keys needs ON or OFF, not %s" % value)
        if not self.savepoints and (self.txn is None or not self.txn.has_writes):
            self.foreign_keys = on
        return Result(rowcount=-1)

    def _checked_run(self, sql, stmt, n, seq):
        try:
            return self._verified_run(sql, stmt, n, seq)
        finally:
            if self.txn is not None:  # between statements: pin no snapshot
                self.txn.release()

    def _verified_run(self, sql, stmt, n, seq):
        """_run, and once more in a fresh transaction if it was the first statement of a transaction
        begun on an assumed catalog that turns out stale (see begin): whether it failed (the stale
        schema may be why; the catalog is then read for sure) or not."""
        fresh = self.txn is None
        error = None
        try:
            result = self._run(sql, stmt, n, seq)
        except DatabaseError as e:
            error = e
        if fresh and self.txn is not None and self._unverified is not _VERIFIED and \
                self._catalog_is_stale(force=error is not None):
            explicit = self.explicit
            self.rollback()
            self.begin(verify=True)
            self.explicit = explicit
            return self._run(sql, stmt, n, seq)
        if error is not None:
            raise error
        return result

    def executemany(self, sql, seq_of_params):
        """One statement, many parameter sets: planned once, atomic as a whole (if one set fails,
        the writes of the others are undone too); rowcount is the total."""
        stmt, n = parse(sql)
        if isinstance(stmt, Control) or isinstance(stmt, QUERIES):
            last = Result(rowcount=0)
            for params in seq_of_params:
                last = self.execute(sql, params)
            return last
        if isinstance(n, ListParams):
            sql = n.key
        return self._checked_run(sql, stmt, n, list(seq_of_params))

    def _run(self, sql, stmt, n, seq_of_params):
        if self.txn is None:
            self.begin()
        txn = self.txn
        if not isinstance(stmt, exp.Pragma):
            copymark.check(self)
        try:
            if isinstance(stmt, QUERIES):
                (params,) = seq_of_params
                plan = self.planner().query(sql, stmt)
                columns = plan.columns
                if isinstance(n, ListParams):
                    columns = tuple(map(n.source_name, columns))
                result = Result(columns, list(plan.run(Ctx(self, bind(params, n)))))
            else:
                self.wrote = self.wrote or not isinstance(stmt, exp.Pragma)
                token, catalog = txn.savepoint(), self.catalog
                try:
                    result = None
                    if isinstance(stmt, exp.Insert) and len(seq_of_params) > 1:
                        seq_of_params, result = (), self._insert_many(sql, stmt, n, seq_of_params)
                    for params in seq_of_params:
                        r = self._write(sql, stmt, Ctx(self, bind(params, n)))
                        self._statement_done()
                        if result is None:
                            result = r
                        else:
                            if r.rowcount > 0:
                                result.rowcount = max(result.rowcount, 0) + r.rowcount
                            if r.lastrowid is not None:
                                result.lastrowid = r.lastrowid
                    if result is None:
                        result = Result(rowcount=0)
                    if isinstance(stmt, (exp.Insert, exp.Update, exp.Delete)):
                        self.changes = max(result.rowcount, 0)
                        self.total_changes += self.changes
                except BaseException:
                    self.fk_pending = {}
                    txn.rollback_to(token)
                    if self.catalog is not catalog:
                        self.catalog = catalog
                        self._rows = {}
                    raise
        except IntegrityError as e:
            if _conflict_mode(stmt) == "ROLLBACK" and not str(e).startswith("FOREIGN KEY"):
                self.rollback()   # INSERT/UPDATE OR ROLLBACK: the whole transaction, as SQLite
            raise
        except DatabaseError:
            raise
        except Conflict as e:   # the transaction cannot commit any more: end it, as a failed commit does
            self.rollback()
            raise ConflictError("write conflict: %s; the transaction was rolled back, retry it" % e) from None
        except Refused as e:
            raise OperationalError(str(e)) from None
        except StoreError as e:
            raise e.to_dbapi() from None
        except RecursionError:
            raise OperationalError("statement too deeply nested") from None
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError,
                ZeroDivisionError) as e:
            raise InternalError("%s: %s" % (type(e).__name__, e)) from e
        if self._autocommits():
            self.commit()
        return result

    def _autocommits(self):
        """Whether a statement just done commits: in autocommit mode, unless a BEGIN or a
        SAVEPOINT holds the transaction open (as SQLite's autocommit mode)."""
        return self.autocommit and not self.savepoints and not self.explicit

    def _insert_many(self, sql, stmt, n, seq_of_params):
        """executemany of an INSERT: one plan and one context for all the parameter sets. When the
        VALUES are positional parameters only, all sets go in as one batch of values taken by
        position (no binding to names, no expression per value)."""
        plan = dml.insert_plan(self, sql, stmt)
        ctx = Ctx(self, {})
        order = None if isinstance(n, ListParams) else plan.param_order(n)
        if order is not None and not plan.self_referencing and \
                all(type(p) in (tuple, list) and len(p) == n for p in seq_of_params):
            # one table, no row referencing another of the batch: checking its foreign keys at
            # the end of the batch is checking them at the end of each row's statement
            count, last = plan.insert_values(self, ctx, ([p[i] for i in order] for p in seq_of_params))
            self._statement_done()
            return Result(rowcount=count, lastrowid=last)
        count, last = 0, None
        for params in seq_of_params:
            ctx.params = bind(params, n)
            if ctx.cache:
                ctx.cache = {}
            c, lr = plan.run(self, ctx, True)
            self._statement_done()
            count += c
            if lr is not None:
                last = lr
        return Result(rowcount=count, lastrowid=last)

    def _write(self, sql, stmt, ctx):
        if isinstance(stmt, (exp.Insert, exp.Update, exp.Delete)):
            return dml.execute(self, sql, stmt, ctx)
        if isinstance(stmt, (exp.Create, exp.Drop, exp.Alter)):
            ddl.execute(self, stmt, sql)
            return Result(rowcount=-1)
        if isinstance(stmt, exp.Pragma):
            return copymark.pragma(self, stmt) or pragmas.run(self.catalog, *pragma_parts(stmt)) or \
                Result(rowcount=-1)
        raise NotSupportedError("unsupported statement: %s" % sql.strip()[:80])

    def _control(self, c, params):
        k = c.kind
        if k == "begin":
            if self.transaction_open:
                raise OperationalError("cannot start a transaction within a transaction")
            if self.txn is not None:   # it has only read: the transaction starts here
                self.rollback()
            self.begin()
            self.explicit = True
        elif k in ("commit", "rollback"):
            if not self.transaction_open:
                self.rollback()   # a transaction that has only read ends, as if never begun
                raise OperationalError("cannot %s - no transaction is active" % k)
            self.commit() if k == "commit" else self.rollback()
        elif k == "savepoint":
            if self.txn is None:
                self.begin()
            self.savepoints.append((c.name.lower(), self.txn.savepoint(), self.catalog))
        elif k in ("rollback_to", "release"):
            names = [s[0] for s in self.savepoints]
            if c.name.lower() not in names:
                raise OperationalError("no such savepoint: %s" % c.name)
            i = len(names) - 1 - names[::-1].index(c.name.lower())
            if k == "rollback_to":
                _name, token, catalog = self.savepoints[i]
                self.txn.rollback_to(token)
                if catalog is not self.catalog:
                    self.catalog = catalog
                    self._rows = {}
                del self.savepoints[i + 1:]
            else:
                del self.savepoints[i:]
                if self._autocommits():
                    self.commit()
        elif k == "explain":
            stmt, _n = parse(c.rest)
            if self.txn is None:
                self.begin()
            if not isinstance(stmt, QUERIES):
                raise NotSupportedError("EXPLAIN supports queries only")
            plan = self.planner().query(c.rest, stmt)
            return Result(("plan",), [(line,) for line in plan.explain()])
        return Result(rowcount=-1)


def _conflict_mode(stmt):
    """The OR clause of an INSERT or UPDATE (ABORT, FAIL, ROLLBACK, IGNORE, REPLACE), else None."""
    if isinstance(stmt, exp.Insert):
        return (stmt.args.get("alternative") or "").upper() or None
    return stmt.meta.get("rome_conflict") if isinstance(stmt, exp.Update) else None


PRAGMA_BOOLEANS = {"on": True, "1": True, "true": True, "yes": True,
                   "off": False, "0": False, "false": False, "no": False}


def pragma_parts(stmt):
    """(lower-cased pragma name, lower-cased value text or None) of a parsed PRAGMA."""
    node = stmt.this
    value = None
    if isinstance(node, exp.EQ):
        node, v = node.this, node.expression
        value = (v.name if isinstance(v, (exp.Var, exp.Column, exp.Literal, exp.Identifier))
                 else v.sql()).lower()
    if isinstance(node, exp.Dot):   # main.foreign_keys
        node = node.expression
    return node.name.lower(), value


def _shared_catalog(store, data, txn):
    """The parsed catalog for these header bytes, shared by every session of the store; on a miss,
    its tables are read in txn."""
    cached = getattr(store, "_rome_catalog", None)
    if cached is not None and cached[0] == data:
        return cached[1]
    cat = Catalog.read(txn, data)
    with _catalog_lock:
        store._rome_catalog = (data, cat)
    return cat


class _Sequences:
    """AUTOINCREMENT values, taken from the store's counters in blocks (as PostgreSQL's sequence
    caches do): a value is never handed out twice, values of rolled-back inserts are not reused.
    Explicitly inserted integer keys raise this process's floor (SQLite's max(rowid)+1 rule); keys
    stored by others (another process, a copy, a restore) are looked up by Session.next_id."""

    def __init__(self, store):
        self.store = store
        self.block = store.sequence_block
        self.lock = threading.Lock()
        self.ranges = {}   # table id -> [next, limit)
        self.floor = {}    # table id -> lowest value still allowed
        self.synced = set()   # table ids whose largest stored key this process has looked up

    def next(self, table_id, at_least=0):
        with self.lock:
            at_least = max(at_least, self.floor.get(table_id, 0))
            r = self.ranges.get(table_id)
            if r is not None and r[0] < at_least < r[1]:
                r[0] = at_least
            if r is None or r[0] >= r[1] or r[0] < at_least:
                first = self.store.allocate(keys.sequence_key(table_id), self.block, at_least)
                r = self.ranges[table_id] = [first, first + self.block]
            v = r[0]
            r[0] += 1
            return v

    def saw(self, table_id, value):
        """An explicit value was inserted: later generated values must be above it."""
        if type(value) is int and value >= self.floor.get(table_id, 0):
            self.floor[table_id] = value + 1


def _sequences(store):
    s = getattr(store, "_rome_sequences", None)
    if s is None:
        s = store._rome_sequences = _Sequences(store)
    return s

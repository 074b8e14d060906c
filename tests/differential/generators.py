"""Hypothesis generators for the differential test: schemas, rows, SELECT queries and DML statements.

Everything is built as SQLAlchemy Core constructs and compiled by SQLAlchemy's SQLite compiler
(render_postcompile, qmark), so the SQL text is exactly what a SQLAlchemy application sends: ``?``
parameters (LIMIT/OFFSET included, ``LIMIT ? OFFSET ?`` with -1 for "no limit"), ``IN (?, ?)`` lists,
SQLAlchemy's empty-IN subselect, ``a / (? + 0.0)`` for true division, ``||``, ``NOT (EXISTS (...))`` ...

Generation is typed, so both engines see well-typed SQL: every expression has a kind, ``int`` (an
integer or NULL), ``real`` (any number) or ``text``, and columns receive values of their kind (under
declared types of every affinity), except that int columns sometimes get a text that is no number (a
UUID), which SQLite's affinity keeps as text.
What is deliberately NOT generated, because SQLite's answer is an accident rather than a contract or the
answer legitimately depends on evaluation order:

- division or modulo by zero (only non-zero literal divisors), integer overflow (values stay far from
  2**63), mixed text/number comparisons (SQLite's affinity rules);
- ORDER BY without a total order when LIMIT/OFFSET is present (a tiebreak on every FROM item's key is
  always appended); results without ORDER BY are compared as multisets;
- scalar subqueries that could return more than one row (they are always aggregates);
- UPDATEs that could hit a transient UNIQUE violation depending on row order (UNIQUE and PK columns are
  only ever set to constants; the PK only for a single ``WHERE id = ?`` row);
- rows without an explicit primary key (SQLite reuses max(rowid)+1, ROME's counter never reuses);
- values whose sums are inexact, so that SQLite's floating-point sum/avg would depend on row order
  (|values| <= 2**40, reals are multiples of 1/8: every sum is exact in any order).
"""
import operator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from hypothesis import strategies as st
from sqlalchemy.ext.compiler import compiles

from .harness import DIALECT

TYPES = {"int": sa.Integer(), "real": sa.Float(), "text": sa.String()}
# Declared types a column of each kind may have: SQLite's affinity comes from the declared name
# (INTEGER/BIGINT/BOOLEAN: INTEGER; VARCHAR/CHAR/TEXT: TEXT; FLOAT/REAL: REAL; NUMERIC/DATETIME:
# NUMERIC), and a NUMERIC column stores 3.0 as 3 and '12' as 12.
class _DeclaredInt(sa.Integer):
    cache_ok = True


class _DeclaredReal(sa.Float):
    cache_ok = True


class _DeclaredText(sa.String):
    cache_ok = True


def declared(kind, name):
    """A column type of ``kind`` for expressions whose DDL says ``name``."""
    t = {"int": _DeclaredInt, "real": _DeclaredReal, "text": _DeclaredText}[kind]()
    t.declared_name = name
    return t


@compiles(_DeclaredInt)
@compiles(_DeclaredReal)
@compiles(_DeclaredText)
def _declared_ddl(type_, compiler, **kw):
    return type_.declared_name


DECLARED = {"int": ["INTEGER", "BIGINT", "SMALLINT", "BOOLEAN", "INT"],
            "real": ["FLOAT", "REAL", "NUMERIC", "DOUBLE PRECISION", "DECIMAL(10, 2)"],
            "text": ["VARCHAR", "VARCHAR(36)", "TEXT", "CHAR(4)", "DATETIME", "JSON"]}
# Text that is not a number, stored in an int column: SQLite keeps it as TEXT (a UUID where Nova's
# tests put one into an INTEGER column).
UUIDS = st.sampled_from(["0e8c1f8e-6a5d-4c8e-9f4a-2b7d3c1e5f60", "a", "12abc"])
NUM = ("int", "real")
TEXT_ALPHABET = "abAB_%' é"

# Magnitudes are bounded so that every sum SQLite accumulates in floating point (sum of reals, and
# avg() even of integers) is exact whatever the order of the rows: |values| <= 2**40, reals multiples
# of 1/8. Larger integers (2**53 + 1 against a float) are in test_fixed_cases.
INTS = st.one_of(
    st.integers(-3, 6),
    st.sampled_from([7, 100, -100, 2 ** 31, -(2 ** 31) - 1, 2 ** 40 + 1, -(2 ** 40)]))
REALS = st.one_of(
    st.integers(-16, 16).map(lambda i: i / 4),
    st.sampled_from([-0.0, 1e9, 1e9 + 0.5, -1e9, 0.125, 3.0]))
TEXTS = st.text(alphabet=TEXT_ALPHABET, max_size=4)
VALUES = {"int": INTS, "real": REALS, "text": TEXTS}
EXPONENTS = ["(2e1+3)", "(1.5e1-2)", "(.5e1+1e0)", "(1e0-2.5e-1)", "(2E2-1e+2)", "1e3", "(-1e1)"]


def fits(kind, want):
    return kind == want or (want == "num" and kind in NUM)


def merge_kind(*kinds):
    if "text" in kinds:
        return "text"
    return "real" if "real" in kinds else "int"


def compile_stmt(stmt):
    """SQL text and positional parameters, as SQLAlchemy's SQLite dialect would send them."""
    c = stmt.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
    params = c.construct_params()
    return str(c), tuple(params[n] for n in (c.positiontup or ()))


# ---------------------------------------------------------------------------------------------------
# schemas

@dataclass(eq=False)
class ColInfo:
    name: str
    kind: str
    nullable: bool = True
    default: object = None           # the value the server default gives, or None for none
    fk_parent: str = None            # parent table name (references its id)
    unique: bool = False             # member of a UNIQUE constraint or unique index


@dataclass(eq=False)
class TableInfo:
    name: str
    cols: list                       # ColInfo, without the id
    table: sa.Table = None
    ddl: list = field(default_factory=list)
    fk: ColInfo = None
    ondelete: str = None

    def col(self, name):
        for c in self.cols:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(eq=False)
class Schema:
    tables: list
    metadata: sa.MetaData

    def table(self, name):
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def ddl(self):
        return [s for t in self.tables for s in t.ddl]


def _draw_default(draw, kind):
    v = draw(VALUES[kind].filter(lambda x: x == x))
    if kind == "int":
        # SQLAlchemy renders server_default="3" as DEFAULT '3' (quoted) and text("3") as DEFAULT 3
        return v, (str(v) if draw(st.booleans()) else sa.text(str(v)))
    if kind == "real":
        return v, sa.text(repr(v))
    return v, v


@st.composite
def schemas(draw):
    md = sa.MetaData()
    tables = []
    for ti in range(draw(st.integers(2, 3))):
        name = "t%d" % ti
        cols, sacols = [], [sa.Column("id", sa.Integer, primary_key=True, autoincrement=False)]
        for ci in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["int", "real", "text"]))
            info = ColInfo("c%d" % ci, kind, nullable=not draw(st.integers(0, 99).map(lambda x: x >= 80)))
            kw = {}
            if draw(st.integers(0, 99)) >= 75:
                info.default, kw["server_default"] = _draw_default(draw, kind)
            cols.append(info)
            ctype = declared(kind, draw(st.sampled_from(DECLARED[kind])))
            sacols.append(sa.Column(info.name, ctype, nullable=info.nullable, **kw))
        fk = ondelete = None
        if ti > 0 and draw(st.booleans()) or draw(st.integers(0, 99)) >= 85:
            # a parent table before this one, or this one (a tree, as Keystone's projects): keys are
            # checked at the end of each statement, so the order a statement visits rows is moot
            parent = "t%d" % draw(st.integers(0, ti))
            ondelete = draw(st.sampled_from([None, "CASCADE", "SET NULL"]))
            fk = ColInfo("pid", "int", nullable=True, fk_parent=parent)
            cols.append(fk)
            sacols.append(sa.Column("pid", sa.Integer, sa.ForeignKey(parent + ".id", ondelete=ondelete)))
        names = [c.name for c in cols]
        if draw(st.integers(0, 99)) >= 60:
            ucols = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
            for n in ucols:
                next(c for c in cols if c.name == n).unique = True
            sacols.append(sa.UniqueConstraint(*ucols))
        table = sa.Table(name, md, *sacols)
        info = TableInfo(name, cols, table, fk=fk, ondelete=ondelete)
        info.ddl.append(str(sa.schema.CreateTable(table).compile(dialect=DIALECT)).strip())
        for ii in range(draw(st.integers(0, 2))):
            icols = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
            unique = draw(st.integers(0, 99)) >= 70
            if unique:
                for n in icols:
                    next(c for c in cols if c.name == n).unique = True
            ix = sa.Index("ix_%s_%d" % (name, ii), *[table.c[n] for n in icols], unique=unique)
            info.ddl.append(str(sa.schema.CreateIndex(ix).compile(dialect=DIALECT)).strip())
        tables.append(info)
    return Schema(tables, md)


def row_values(draw, info, parent_ids, violate_pct=0):
    """One row for ``info`` as {column: value} (id included). With violate_pct, NOT NULL columns
    sometimes get NULL and FK columns a parent that does not exist."""
    row = {"id": draw(st.integers(-2, 40))}
    for c in info.cols:
        if c.fk_parent:
            ids = sorted(parent_ids.get(c.fk_parent, ()))
            choices = [None] + ids + ([99] if violate_pct else [])
            row[c.name] = draw(st.sampled_from(choices))
        elif not c.nullable and not (violate_pct and draw(st.integers(0, 99)) >= 100 - violate_pct):
            row[c.name] = draw(VALUES[c.kind])
        else:
            row[c.name] = draw(st.one_of(st.none(), VALUES[c.kind]))
        if c.kind == "int" and not c.fk_parent and draw(st.integers(0, 99)) >= 94:
            row[c.name] = draw(UUIDS)
    return row


@st.composite
def table_rows(draw, info, ids):
    """Up to 14 rows for one table (some will break its constraints: sqlite3 sorts them out)."""
    x = draw(st.integers(0, 99))  # shrinks to an empty table; mostly 3-14 rows
    n = x % 3 if x < 10 else 3 + x % 12
    return [row_values(draw, info, ids) for _ in range(n)]


# ---------------------------------------------------------------------------------------------------
# FROM items and scopes

@dataclass(eq=False)
class Item:
    sel: object                      # a Table, Alias or Subquery
    cols: list                       # (column expression, kind)
    keys: list                       # columns whose values identify a row of this item
    info: TableInfo = None           # when the item is a table


@dataclass(eq=False)
class Scope:
    items: list
    from_obj: object = None

    @property
    def cols(self):
        return [c for it in self.items for c in it.cols]


CMP = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


class QGen:
    """Draws one statement. ``draw`` is Hypothesis's; every choice shrinks toward the simplest."""

    def __init__(self, draw, schema, pool=None, unnamed=False):
        self.draw = draw
        self.unnamed = unnamed           # top-level items mostly without AS: named by their text
        self.schema = schema
        self.pool = pool or {}           # kind -> values present in the data (so predicates hit)
        self.n_alias = 0
        self.sub_budget = 2
        self.no_sub = set()              # tables subqueries must not read (see dml)

    # -- primitive choices -----------------------------------------------------------------------
    def coin(self, pct):
        return self.draw(st.integers(0, 99)) >= 100 - pct

    def pick(self, seq):
        return self.draw(st.sampled_from(list(seq)))

    def num(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def alias(self, prefix):
        self.n_alias += 1
        return "%s%d" % (prefix, self.n_alias)

    def value(self, kind, null_pct=5, near=None):
        """A literal value; mostly one present in the data, in the column ``near`` when known."""
        if self.coin(null_pct):
            return None
        name = getattr(near, "name", None)
        if self.pool.get((kind, name)) and self.coin(60):
            return self.pick(self.pool[(kind, name)])
        if self.pool.get(kind) and not self.coin(40):
            return self.pick(self.pool[kind])
        return self.draw(VALUES[kind])

    def lit(self, want, null_pct=5, near=None):
        kind = self.pick(NUM) if want == "num" else want
        return sa.literal(self.value(kind, null_pct, near), TYPES[kind]), kind

    def nonzero(self, kind):
        v = self.pick([2, 3, -2, 1, -1, 7])
        return sa.literal(v if kind == "int" else v / 2, TYPES[kind])

    # -- FROM ------------------------------------------------------------------------------------
    def table_item(self, info, alias=None):
        sel = info.table.alias(alias) if alias else info.table
        cols = [(sel.c.id, "int")] + [(sel.c[c.name], c.kind) for c in info.cols]
        return Item(sel, cols, [sel.c.id], info)

    def from_item(self, depth, used):
        kind = "table"
        if depth > 0 and self.sub_budget > 0 and self.coin(20):
            kind = self.pick(["derived", "grouped", "union"])
        if kind == "table":
            info = self.pick(self.schema.tables)
            alias = self.alias("a") if (info.name in used or self.coin(40)) else None
            used.add(info.name)
            return self.table_item(info, alias)
        self.sub_budget -= 1
        inner = self.table_item(self.pick(self.schema.tables), self.alias("s"))
        iscope = Scope([inner])
        name = self.alias("d")
        if kind == "derived":
            exprs = [inner.sel.c.id.label("id")]
            kinds_ = ["int"]
            for i in range(self.num(1, 3)):
                e, k = self.expr(iscope, self.pick(["num", "text"]), 1, sub=False)
                exprs.append(e.label("x%d" % i))
                kinds_.append(k)
            q = sa.select(*exprs).select_from(inner.sel)
            if self.coin(50):
                q = q.where(self.cond(iscope, 1, sub=False))
            sub = q.subquery(name)
            return Item(sub, [(sub.c[e.name], k) for e, k in zip(exprs, kinds_)], [sub.c.id])
        if kind == "grouped":
            gcol, gk = self.pick(inner.cols[1:] or inner.cols)
            exprs = [gcol.label("k"), sa.func.count().label("n")]
            kinds_ = [gk, "int"]
            acol, ak = self.pick(inner.cols)
            if ak == "text":
                exprs.append(sa.func.max(acol).label("m"))
            else:
                exprs.append(self.pick([sa.func.sum, sa.func.min, sa.func.max])(acol).label("m"))
            kinds_.append(ak)
            q = sa.select(*exprs).select_from(inner.sel)
            if self.coin(40):
                q = q.where(self.cond(iscope, 1, sub=False))
            sub = q.group_by(gcol).subquery(name)
            return Item(sub, [(sub.c[e.name], k) for e, k in zip(exprs, kinds_)], [sub.c.k])
        # union
        u, kinds_ = self.union_members(0)
        sub = u.subquery(name)
        cols = [(sub.c["c%d" % i], k) for i, k in enumerate(kinds_)]
        return Item(sub, cols, [c for c, _ in cols])

    def join_on(self, items, new):
        # prefer declared foreign keys, in either direction
        fk_pairs = []
        for it in items:
            if new.info is not None and new.info.fk is not None and it.info is not None \
                    and new.info.fk.fk_parent == it.info.name:
                fk_pairs.append((it.sel.c.id, new.sel.c.pid))
            if it.info is not None and it.info.fk is not None and new.info is not None \
                    and it.info.fk.fk_parent == new.info.name:
                fk_pairs.append((new.sel.c.id, it.sel.c.pid))
        if fk_pairs and self.coin(70):
            a, b = self.pick(fk_pairs)
        else:
            pairs = [(a, b) for it in items for a, ka in it.cols for b, kb in new.cols
                     if (ka == "text") == (kb == "text")]
            if not pairs:
                return sa.true()
            a, b = self.pick(pairs)
        on = b == a if not self.coin(10) else b <= a
        if self.coin(25):
            on = sa.and_(on, self.cond(Scope([new]), 0, sub=False))
        return on

    def from_clause(self, depth, max_joins=2):
        used = set()
        items = [self.from_item(depth, used)]
        j = items[0].sel
        n = self.draw(st.integers(0, 99))
        joins = min(max_joins, 0 if n < 50 else 1 if n < 85 else 2)
        if joins == 2 and self.coin(35):
            # a nested join, as SQLAlchemy writes for an eager load through an association table:
            # a LEFT OUTER JOIN (b JOIN c ON ...) ON ...
            b = self.from_item(depth, used)
            c = self.from_item(depth, used)
            inner = sa.join(b.sel, c.sel, self.join_on([b], c), isouter=self.coin(25))
            on = self.join_on(items, self.pick([b, c]))
            return Scope(items + [b, c], sa.join(j, inner, on, isouter=self.coin(60)))
        for _ in range(joins):
            new = self.from_item(depth, used)
            on = self.join_on(items, new)
            j = sa.join(j, new.sel, on, isouter=self.coin(40))
            items.append(new)
        return Scope(items, j)

    # -- expressions -----------------------------------------------------------------------------
    def expr(self, scope, want, depth, sub=True):
        """An expression of kind ``want`` ('int', 'num' or 'text'); returns (expr, kind)."""
        cols = [(c, k) for c, k in scope.cols if fits(k, want)]
        opts = (["col"] * 6 if cols else []) + ["lit"] * 2
        if depth > 0:
            opts += ["func", "case", "coalesce"] + (["concat"] if want == "text" else ["arith", "arith"])
            if sub and self.sub_budget > 0:
                opts.append("scalar")
        o = self.pick(opts)
        if o == "col":
            return self.pick(cols)
        if o == "lit":
            if want != "text" and self.coin(15):   # exponent literals, signs right after them
                return sa.literal_column(self.pick(EXPONENTS), sa.Float()), "real"
            return self.lit(want)
        d = depth - 1
        if o == "arith":
            return self.arith(scope, want, d, sub)
        if o == "func":
            return self.func(scope, want, d, sub)
        if o == "concat":
            a, _ = self.expr(scope, "text", d, sub)
            b, _ = self.expr(scope, "text", d, sub)
            return a.concat(b), "text"
        if o == "coalesce":
            a, ka = self.expr(scope, want, d, sub)
            b, kb = self.expr(scope, want, d, sub) if self.coin(50) else self.lit(want, 0)
            k = merge_kind(ka, kb)
            f = self.pick([sa.func.coalesce, sa.func.ifnull])
            return f(a, b, type_=TYPES[k]), k
        if o == "case":
            whens, kinds = [], []
            for _ in range(self.num(1, 2)):
                e, k = self.expr(scope, want, d, sub)
                whens.append((self.cond(scope, d, sub), e))
                kinds.append(k)
            if self.coin(70):
                e, k = self.expr(scope, want, d, sub)
                kinds.append(k)
                return sa.case(*whens, else_=e), merge_kind(*kinds)
            return sa.case(*whens), merge_kind(*kinds)
        return self.scalar_subquery(scope, want)

    def subject(self, scope, want, depth, sub=True):
        """What a predicate or aggregate is about: mostly a plain column, sometimes an expression."""
        cols = [(c, k) for c, k in scope.cols if fits(k, want)]
        if cols and not self.coin(25):
            return self.pick(cols)
        return self.expr(scope, want, depth, sub)

    def arith(self, scope, want, d, sub):
        if want == "int":
            op = self.pick(["+", "-", "*", "//", "%"])
        else:
            op = self.pick(["+", "-", "*", "/"])
        if op in ("//", "%"):
            a, _ = self.expr(scope, "int", d, sub)
            b = self.nonzero("int")
            return (a // b if op == "//" else a % b), "int"
        a, ka = self.expr(scope, want, d, sub)
        if op == "/":  # SQLAlchemy's true division: a / (? + 0.0)
            return a / self.nonzero(self.pick(NUM)), "real"
        if op == "*":  # by a small literal: no overflow
            b, kb = self.lit(want if want == "int" else self.pick(NUM), 10)
            if kb == "int":
                b = sa.literal(self.num(-3, 3), TYPES["int"])
            return a * b, merge_kind(ka, kb)
        b, kb = self.expr(scope, want, d, sub)
        return (a + b if op == "+" else a - b), merge_kind(ka, kb)

    def func(self, scope, want, d, sub):
        if want == "text":
            a, _ = self.expr(scope, "text", d, sub)
            f = self.pick(["lower", "upper", "substr", "trim"])
            if f == "substr":
                return sa.func.substr(a, self.num(1, 3), self.num(0, 3), type_=sa.String()), "text"
            return getattr(sa.func, f)(a, type_=sa.String()), "text"
        fs = ["abs", "length", "cast"] + (["round", "round1"] if want == "num" else [])
        f = self.pick(fs)
        if f == "length":
            a, _ = self.expr(scope, "text", d, sub)
            return sa.func.length(a, type_=sa.Integer()), "int"
        if f == "cast":
            a, _ = self.expr(scope, "num", d, sub)
            return sa.cast(a, sa.Integer()), "int"
        a, ka = self.expr(scope, want, d, sub)
        if f == "abs":
            return sa.func.abs(a, type_=TYPES[ka]), ka
        if f == "round":
            return sa.func.round(a, type_=sa.Float()), "real"
        return sa.func.round(a, 1, type_=sa.Float()), "real"

    def aggregate(self, scope, want=None):
        """An aggregate over scope; want restricts its kind. Returns (expr, kind)."""
        fs = ["count*", "count", "count_distinct", "sum", "min", "max", "avg", "sum_distinct"]
        if want == "text":
            fs = ["min", "max"]
        f = self.pick(fs)
        if f == "count*":
            return sa.func.count(), "int"
        if f in ("count", "count_distinct"):
            a, _ = self.subject(scope, self.pick(["num", "text"]), 1, sub=False)
            return sa.func.count(sa.distinct(a) if f == "count_distinct" else a), "int"
        if f in ("min", "max"):
            a, k = self.subject(scope, want or self.pick(["num", "text"]), 1, sub=False)
            return getattr(sa.func, f)(a, type_=TYPES[k]), k
        a, k = self.subject(scope, "int" if want == "int" else "num", 1, sub=False)
        if f == "avg":
            if want == "int":
                return sa.func.count(a), "int"
            return sa.func.avg(a, type_=sa.Float()), "real"
        if f == "sum_distinct":
            return sa.func.sum(sa.distinct(a), type_=TYPES[k]), k
        return sa.func.sum(a, type_=TYPES[k]), k

    def correlate(self, outer, inner):
        """An equality tying an inner column to an outer one (same kind class), or None."""
        pairs = [(ic, oc) for ic, ik in inner.cols for oc, ok in outer.cols
                 if (ik == "text") == (ok == "text")]
        if not pairs:
            return None
        ic, oc = self.pick(pairs)
        return ic == oc

    def sub_scope(self):
        self.sub_budget -= 1
        tables = [t for t in self.schema.tables if t.name not in self.no_sub]
        return Scope([self.table_item(self.pick(tables), self.alias("q"))])

    def sub_where(self, q, outer, inner_scope, correlated_pct=70):
        conds = []
        if outer is not None and outer.items and self.coin(correlated_pct):
            c = self.correlate(outer, inner_scope.items[0])
            if c is not None:
                conds.append(c)
        if self.coin(50):
            conds.append(self.cond(inner_scope, 1, sub=False))
        return q.where(*conds) if conds else q

    def scalar_subquery(self, scope, want):
        inner = self.sub_scope()
        agg, k = self.aggregate(inner, want)
        q = self.sub_where(sa.select(agg).select_from(inner.items[0].sel), scope, inner)
        return q.scalar_subquery(), k

    # -- conditions ------------------------------------------------------------------------------
    def cond(self, scope, depth, sub=True):
        opts = ["cmp"] * 3 + ["between", "in", "null", "like"]
        if depth > 0:
            opts += ["and", "or", "not"]
            if sub and self.sub_budget > 0:
                opts += ["exists", "in_sub"]
        o = self.pick(opts)
        d = max(depth - 1, 0)
        if o == "cmp":
            want = self.pick(["num", "num", "text"])
            a, _ = self.subject(scope, want, d, sub)
            b, _ = self.expr(scope, want, d, sub) if self.coin(35) else self.lit(want, near=a)
            return self.pick(CMP)(a, b)
        if o == "between":
            want = self.pick(["num", "text"])
            a, _ = self.subject(scope, want, d, sub)
            return a.between(self.lit(want, near=a)[0], self.lit(want, near=a)[0])
        if o == "in":
            want = self.pick(["num", "text"])
            a, k = self.subject(scope, want, d, sub)
            n = 0 if self.coin(5) else self.num(20, 300) if self.coin(10) else self.num(1, 4)
            vals = [self.value(self.pick(NUM) if k != "text" else "text", 15, a) for _ in range(n)]
            return a.not_in(vals) if self.coin(35) else a.in_(vals)
        if o == "null":
            a, _ = self.subject(scope, self.pick(["num", "text"]), d, sub)
            return a.is_(None) if self.coin(50) else a.is_not(None)
        if o == "like":
            a, _ = self.subject(scope, "text", d, sub)
            return self.like(a, a)
        if o in ("and", "or"):
            f = sa.and_ if o == "and" else sa.or_
            return f(self.cond(scope, d, sub), self.cond(scope, d, sub))
        if o == "not":
            return sa.not_(self.cond(scope, d, sub))
        inner = self.sub_scope()
        if o == "exists":
            e = self.sub_where(sa.exists().select_from(inner.items[0].sel), scope, inner,
                               correlated_pct=85)
            return ~e if self.coin(35) else e
        want = self.pick(["num", "text"])
        cols = [c for c, k in inner.cols if fits(k, want)]
        if not cols:
            want, cols = "num", inner.items[0].keys
        a, _ = self.subject(scope, want, d, False)
        q = self.sub_where(sa.select(self.pick(cols)).select_from(inner.items[0].sel), scope, inner,
                           correlated_pct=30)
        return a.not_in(q) if self.coin(35) else a.in_(q)

    def like(self, a, near=None):
        escape = self.coin(20)
        if self.pool.get("text") and self.coin(60):
            src = self.value("text", 0, near)
            # a pattern made from a value in the data: some characters become wildcards, some change
            # case (SQLite's LIKE is case-insensitive for ASCII), some get escaped
            pat = self.pick([""] + ["%"]) if self.coin(30) else ""
            for ch in src:
                how = self.pick(["keep", "keep", "_", "%", "swap", "swap", "esc"])
                if how == "_":
                    ch = "_"
                elif how == "%":
                    ch = "%"
                elif how == "swap":
                    ch = ch.swapcase()
                elif how == "esc" and escape and ch in "%_/":
                    ch = "/" + ch
                pat += ch
            if self.coin(30):
                pat += "%"
            if not escape:
                pat = pat.replace("/", "")
        else:
            toks = ["a", "A", "b", "%", "_", " ", "é"] + (["/%", "/_", "//"] if escape else [])
            pat = "".join(self.pick(toks) for _ in range(self.num(0, 4)))
        p = sa.literal(pat, sa.String())
        v = self.pick(["like", "not_like", "ilike"])
        if v == "ilike":
            return a.ilike(p, escape="/" if escape else None)
        e = a.like(p, escape="/" if escape else None)
        return ~e if v == "not_like" else e

    # -- queries ---------------------------------------------------------------------------------
    def direction(self, key):
        return self.pick([lambda k: k, lambda k: k.desc(), lambda k: k.asc(),
                          lambda k: k.desc().nulls_last(), lambda k: k.asc().nulls_first(),
                          lambda k: k.desc().nulls_first()])(key)

    def limit_offset(self, q):
        if self.coin(50):
            q = q.limit(0 if self.coin(5) else self.num(1, 8))
            if self.coin(50):
                q = q.offset(self.num(0, 5))
        elif self.coin(15):
            q = q.offset(self.num(0, 5))  # SQLAlchemy sends LIMIT ? OFFSET ? with -1
        return q

    def select_items(self, scope, depth, kinds=None):
        labels, out = [], []
        for i in range(len(kinds) if kinds else self.num(1, 4)):
            want = kinds[i] if kinds else self.pick(["num", "num", "text", "cond"])
            if want == "cond":
                e, k = self.cond(scope, depth), "int"
            else:
                e, k = self.subject(scope, want, self.num(0, depth))
            labels.append(e.label("c%d" % i))
            out.append(k)
        return labels, out

    def select(self, depth, kinds=None, top=True):
        scope = self.from_clause(depth)
        labels, out = self.select_items(scope, depth, kinds)
        if top and self.unnamed:
            labels = [self.as_written(e) if self.coin(70) else e for e in labels]
        q = sa.select(*labels).select_from(scope.from_obj)
        if self.coin(60):
            q = q.where(self.cond(scope, depth))
        distinct = self.coin(15)
        if distinct:
            q = q.distinct()
        if not top:
            return q, out
        ordered = self.coin(60)
        if ordered:
            keys = []
            for _ in range(self.num(0, 2)):
                if distinct or self.coin(50):
                    keys.append(self.direction(self.pick(labels)))
                else:
                    keys.append(self.direction(self.expr(scope, self.pick(["num", "text"]), 1, False)[0]))
            keys += labels if distinct else [k for it in scope.items for k in it.keys]
            q = self.limit_offset(q.order_by(*keys))
        return q, ordered

    def as_written(self, label):
        """The labelled item as text with its values inline and no AS (SQLAlchemy labels any other
        expression): SQLite names such a column by its text. Items with a subquery keep their label
        (inline text would lose the correlation), so do numbers (ORDER BY 2 names a column)."""
        text = str(label.element.compile(dialect=DIALECT, compile_kwargs={"literal_binds": True}))
        number = text.lstrip("-").replace(".", "", 1).isdigit()
        return label if number or "SELECT" in text else sa.literal_column(text)

    def group_key(self, scope):
        c, k = self.pick(scope.cols)
        if self.coin(70):
            return c
        if k == "text":
            return self.pick([sa.func.lower, sa.func.length])(c)
        return sa.func.abs(c)

    def grouped(self, depth):
        scope = self.from_clause(depth, max_joins=1)
        gkeys = [self.group_key(scope) for _ in range(self.num(0, 2))]
        glabels = [g.label("g%d" % i) for i, g in enumerate(gkeys)]
        aggs = [self.aggregate(scope)[0].label("a%d" % i) for i in range(self.num(1, 3))]
        q = sa.select(*glabels, *aggs).select_from(scope.from_obj)
        if self.coin(50):
            q = q.where(self.cond(scope, depth))
        if gkeys:
            q = q.group_by(*gkeys)
        if self.coin(40):
            a, k = self.aggregate(scope)
            want = "text" if k == "text" else "num"
            h = self.pick(CMP)(a, self.lit(want, 0)[0])
            if self.coin(30):
                h = sa.or_(h, self.pick(CMP)(sa.func.count(), self.lit("int", 0)[0]))
            q = q.having(h)
        if gkeys and self.coin(60):
            keys = [self.direction(self.pick(glabels + aggs)) for _ in range(self.num(0, 2))]
            q = self.limit_offset(q.order_by(*(keys + glabels)))
            return q, True
        return q, not gkeys

    def union_members(self, depth):
        kinds = [self.pick(["num", "num", "text"]) for _ in range(self.num(1, 3))]
        members, outs = [], []
        for _ in range(self.num(2, 3)):
            q, out = self.select(depth, kinds, top=False)
            members.append(q)
            outs.append(out)
        kinds = [merge_kind(*ks) for ks in zip(*outs)]
        f = self.pick([sa.union_all, sa.union])
        return f(*members), kinds

    def union(self, depth):
        u, kinds = self.union_members(depth)
        if self.coin(60):
            cols = list(u.selected_columns)
            keys = [self.direction(self.pick(cols)) for _ in range(self.num(0, 2))]
            return self.limit_offset(u.order_by(*(keys + cols))), True
        return u, False

    def no_from(self):
        scope = Scope([])
        labels, _ = self.select_items(scope, 2)
        return sa.select(*labels), True

    def query(self):
        kind = self.pick(["select", "select", "select", "grouped", "grouped", "union", "nofrom"])
        if kind == "select":
            return self.select(2)
        if kind == "grouped":
            return self.grouped(2)
        if kind == "union":
            return self.union(1)
        return self.no_from()

    # -- DML -------------------------------------------------------------------------------------
    def dml(self, ids):
        """One write: ("sql", sql, params) or ("many", sql, seq) or ("commit",) / ("rollback",), or
        ("syntax", sql, ()): a syntax error (sqlite3: OperationalError, ROME: ProgrammingError).
        ``ids``: table name -> the ids now in the reference database (for PK and FK collisions)."""
        op = self.pick(["insert", "insert", "update", "update", "delete", "insert_multi",
                        "insert_many", "insert_select", "upsert", "commit", "rollback", "bad"])
        if op in ("commit", "rollback"):
            return (op,)
        info = self.pick(self.schema.tables)
        t = info.table
        if op == "bad":     # refused by both: a non-integer into the INTEGER PRIMARY KEY, a syntax error
            if self.coin(50):
                row = self.dml_row(info, ids)
                row["id"] = self.pick([2.5, -0.5, 1e9 + 0.5])
                return ("sql",) + compile_stmt(t.insert().values(**row))
            return ("syntax", self.pick(["SELEC * FRM %s", "INSERT INTO %s VALUES", "(SELECT 1)",
                                         "UPDATE %s SET", "DELETE %s"]).replace("%s", info.name), ())
        if op == "insert":
            return ("sql",) + compile_stmt(t.insert().values(**self.dml_row(info, ids)))
        if op == "insert_multi":
            cols = self.dml_cols(info)
            rows = [{k: v for k, v in self.dml_row(info, ids, drop=False).items() if k in cols}
                    for _ in range(self.num(2, 3))]
            return ("sql",) + compile_stmt(t.insert().values(rows))
        if op == "insert_many":
            cols = self.dml_cols(info)
            c = t.insert().compile(dialect=DIALECT, column_keys=cols)
            rows = [self.dml_row(info, ids, drop=False) for _ in range(self.num(1, 4))]
            return ("many", str(c), [tuple(r[n] for n in c.positiontup) for r in rows])
        if op == "upsert":   # INSERT ... ON CONFLICT (SQLAlchemy's sqlite insert)
            stmt = sqlite_insert(t).values(**self.dml_row(info, ids))
            if self.coin(35):
                return ("sql",) + compile_stmt(stmt.on_conflict_do_nothing(
                    index_elements=[t.c.id] if self.coin(50) else None))
            set_ = {}
            for c in info.cols:
                if self.coin(50):
                    continue
                if c.fk_parent or self.coin(50):
                    set_[c.name] = stmt.excluded[c.name]
                elif c.kind == "text":
                    set_[c.name] = sa.func.coalesce(t.c[c.name], "") + stmt.excluded[c.name]
                else:
                    set_[c.name] = sa.func.coalesce(t.c[c.name], 0) + sa.literal(self.num(1, 3), sa.Integer())
            set_ = set_ or {"id": stmt.excluded.id}
            where = t.c.id > sa.literal(self.num(0, 20), sa.Integer()) if self.coin(30) else None
            return ("sql",) + compile_stmt(stmt.on_conflict_do_update(index_elements=[t.c.id], set_=set_,
                                                                      where=where))
        if op == "insert_select":
            src = self.table_item(self.pick(self.schema.tables), self.alias("src"))
            sscope = Scope([src])
            names = ["id"] + [c.name for c in info.cols if self.coin(70)]
            exprs = [src.sel.c.id + sa.literal(self.pick([0, 5, 20, 50]), sa.Integer())]
            for n in names[1:]:
                kind = info.col(n).kind
                exprs.append(self.expr(sscope, "num" if kind == "real" else kind, 1, sub=False)[0])
            q = sa.select(*exprs).select_from(src.sel)
            if self.coin(60):
                q = q.where(self.cond(sscope, 1, sub=False))
            return ("sql",) + compile_stmt(t.insert().from_select(names, q))
        scope = Scope([self.table_item(info)])
        # SQLite evaluates a DML statement's subqueries against the rows it is changing as it goes,
        # so a subquery over a table the statement modifies (directly or by ON DELETE actions) gives
        # an answer that depends on row order: such subqueries are not generated.
        self.no_sub = self.modified_by(info, op == "delete")
        if len(self.no_sub) == len(self.schema.tables):
            self.sub_budget = 0
        if op == "delete":
            stmt = t.delete()
            if self.coin(85):
                stmt = stmt.where(self.cond(scope, 2))
            return ("sql",) + compile_stmt(stmt)
        # update
        if self.coin(10):  # the primary key of a single row
            stmt = t.update().where(t.c.id == sa.literal(self.pick_id(info, ids), sa.Integer()))
            return ("sql",) + compile_stmt(stmt.values(id=self.pick_id(info, ids)))
        values = {}
        for c in self.draw(st.lists(st.sampled_from(info.cols), min_size=1, max_size=2,
                                    unique_by=lambda c: c.name)):
            if c.fk_parent:
                values[c.name] = sa.literal(self.pick([None, 99] + sorted(ids[c.fk_parent])), sa.Integer())
            elif c.unique or self.coin(25):
                values[c.name] = sa.literal(self.value(c.kind, 20 if c.nullable else 5), TYPES[c.kind])
            else:
                values[c.name] = self.expr(scope, "num" if c.kind == "real" else c.kind, 2)[0]
        stmt = t.update().values(**values)
        if self.coin(80):
            stmt = stmt.where(self.cond(scope, 2))
        return ("sql",) + compile_stmt(stmt)

    def modified_by(self, info, delete):
        out = {info.name}
        grew = delete
        while grew:
            grew = False
            for t in self.schema.tables:
                if t.fk is not None and t.fk.fk_parent in out and t.ondelete and t.name not in out:
                    out.add(t.name)
                    grew = True
        return out

    def pick_id(self, info, ids):
        return self.pick(sorted(ids[info.name]) + [-1, 0, 41]) if ids[info.name] else self.num(-1, 41)

    def dml_cols(self, info):
        return ["id"] + [c.name for c in info.cols if not (c.default is not None and self.coin(40))
                         and not (c.nullable and self.coin(20))]

    def dml_row(self, info, ids, drop=True):
        row = row_values(self.draw, info, ids, violate_pct=8)
        if ids[info.name] and self.coin(30):
            row["id"] = self.pick(sorted(ids[info.name]))
        for c in info.cols if drop else ():  # leave out columns that have a default (or are nullable) sometimes
            if (c.default is not None or c.nullable) and self.coin(15):
                del row[c.name]
        return row


@st.composite
def queries(draw, schema, pool=None, unnamed=False):
    """(sql, params, ordered): ordered means the result order is total and must match. unnamed:
    top-level items mostly without AS, their column names SQLite's text of them."""
    stmt, ordered = QGen(draw, schema, pool, unnamed).query()
    sql, params = compile_stmt(stmt)
    return sql, params, ordered


@st.composite
def dml_ops(draw, schema, ids, pool=None):
    return QGen(draw, schema, pool).dml(ids)


def value_pool(tables_rows):
    """kind and (kind, column name) -> sorted distinct non-NULL values, from {TableInfo: rows as
    tuples, id first}."""
    pool = {"int": set(), "real": set(), "text": set()}
    for info, rows in tables_rows.items():
        kinds = [("int", "id")] + [(c.kind, c.name) for c in info.cols]
        for r in rows:
            for (k, name), v in zip(kinds, r):
                if v is not None and (k == "text") == (type(v) is str):
                    pool[k].add(v)
                    pool.setdefault((k, name), set()).add(v)
    return {k: sorted(v, key=lambda x: (type(x).__name__, x)) for k, v in pool.items()}

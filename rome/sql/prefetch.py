"""Prefetch for stores with round trips (Redis, etcd): what a SELECT plan can send to the store before
it needs it, so that a query costs one round trip per join level and chunk of rows, or fewer.

Planning (once per plan, when it is built):

- :func:`plan_start_reads`: the join levels whose probes are known before any row is read, once the
  equalities of WHERE and ON are followed; their reads go with the first level's.
- :func:`plan_chains`: the levels the store can probe itself in the round trip that reads the first
  level (an index nested loop keyed by the first table's primary key).
- :func:`plan_derived_chains`: the same for levels keyed by a column of a first level that is a
  subquery (Glance's list page: a UNION of image queries, its page joined to the properties and
  locations by image id), pushed at run time to the subquery's branches (:func:`push_chains`).

Running (per statement, only when the transaction says ``can_warm``):

- :func:`start_reads`: the keys and ranges to read before the first row (first level, constant
  levels), after registering the chains;
- :func:`warm`: for one chunk of outer rows, the probes of the levels warmed at that level, in one
  request.

Everything here is a prefetch: the plan still runs every probe on the real rows, so a prefetched read
that turns out unused costs a read, never a wrong row.
"""
from sqlglot import exp

from rome.encoding.keycode import encode_tuple, prefix_end
from rome.sql.expressions import compile_expr
from rome.sql.tree import columns_in, find_aggregates, has_subquery

CHAIN_LIMIT = 64  # pairs per chained range (RedisSnapshot.chain); a longer range is read on demand


def plan_start_reads(plan):
    """Find the join levels whose probes are known before any row is read, once the equalities
    of WHERE and ON are followed: with ``a.id = ? AND b.a_id = a.id``, b's probe is ``b.a_id = ?``.
    Their reads go to the store with the first level's, in one round trip (:func:`start_reads`).
    This is a prefetch: the probes still run on the real rows, so an equality that does not hold
    for them (a LEFT join's unmatched side) costs a read that is not used, never a wrong row."""
    scope = plan.scope
    plan.known = []      # (position, fn(ctx) -> value) for columns fixed by constants, in order
    if len(plan.levels) < 2:
        return
    eqs = [c for lvl in plan.levels for c in lvl.conds + lvl.post if isinstance(c, exp.EQ)]
    known, steps = set(), []

    def local(node):
        return plan._position(node) if isinstance(node, exp.Column) else None
    changed = True
    while changed:
        changed = False
        for c in eqs:
            for a, b in ((c.this, c.expression), (c.expression, c.this)):
                pos = local(a)
                if pos is None or pos in known:
                    continue
                src = local(b)
                if src is not None:
                    if src in known:
                        known.add(pos)
                        steps.append((pos, src, None))
                        changed = True
                elif not has_subquery(b) and not find_aggregates(b) and \
                        all(local(x) is None for x in columns_in(b)):
                    known.add(pos)
                    steps.append((pos, None, compile_expr(b, scope)))
                    changed = True
    if not steps:
        return
    plan.known = steps
    for lvl in plan.levels[1:]:
        if lvl.warm_at is None or not lvl.probe_nodes:
            continue
        needs = {local(x) for n in lvl.probe_nodes for x in columns_in(n)} - {None}
        if needs <= known:
            lvl.warm_at = 0


def plan_chains(plan):
    """Find the levels whose probes the store can run itself, in the round trip that reads the
    first level (RedisSnapshot.chain): an index nested loop keyed by the first table's primary
    key. A level qualifies when its access path starts with ``= <first table's pk>``, fixes its
    other columns by constants, and the two columns encode alike (same affinity): the probe key
    is then the path's prefix + the first table's primary key bytes (which its rows' keys and its
    index entries' values hold) + the encoded constants."""
    plan.chains = []
    if len(plan.levels) < 2 or plan.levels[0].access is None:
        return
    first = plan.levels[0]
    rows0 = plan.planner.layout(first.source.table)
    path0 = first.access.path
    if rows0.rowid or len(rows0.pk_idx) != 1 or path0.point:
        return
    pk_pos = first.source.offset + rows0.pk_idx[0]
    pk_aff = first.source.table.columns[rows0.pk_idx[0]].affinity
    for lvl in plan.levels[1:]:
        b = _chain_bound(plan, lvl)
        if b is None or plan._position(b.value) != pk_pos:
            continue
        if lvl.source.table.columns[b.col].affinity != pk_aff or rows0.pk_folds is not None:
            continue   # folded keys (collations): the first table's key bytes are not the probe's
        lvl.chained = lvl.access.path.point
        plan.chains.append(lvl)


def plan_derived_chains(plan):
    """Find the levels joined by ``= <a column of the first level>`` when the first level is a
    subquery: (level, the subquery's column). At run time their probes are chained on the reads of
    the first table of each branch of the subquery whose column is that table's primary key
    (:func:`push_chains`), so that a page's join ranges come with its rows."""
    plan.derived_chains = []
    if len(plan.levels) < 2 or plan.levels[0].derived is None:
        return
    src = plan.levels[0].source
    for lvl in plan.levels[1:]:
        b = _chain_bound(plan, lvl)
        if b is None:
            continue
        pos = plan._position(b.value)
        if pos is not None and src.offset <= pos < src.offset + len(src.columns):
            plan.derived_chains.append((lvl, pos - src.offset))


def _chain_bound(plan, lvl):
    """The access path's first bound when the path can be chained: an index equality on a column
    (``= <column>``), the other columns fixed by constants, no collation folding its keys."""
    path = lvl.access.path if lvl.access is not None and lvl.hash_key is None else None
    if path is None or path.kind == "scan" or not path.eq or path.lo or path.hi:
        return None
    b = path.eq[0]
    if b.op is not exp.EQ or not isinstance(b.value, exp.Column):
        return None
    if any(lvl.source.table.key_collations(path.columns, path.index)):
        return None
    if any(plan._level_of(x) >= 0 for x in path_values(path)[1:]):
        return None
    return b


def _specs(levels, ctx):
    """(affinity of the probed column, probe prefix, encoded constants, pairs limit or 0 for a point)
    of each level's chain; a level whose constants fail or are NULL is left out."""
    out = []
    for lvl in levels:
        acc = lvl.access
        try:
            vals = [f((), ctx) for f in acc.eq[1:]]
        except Exception:   # a prefetch: a value the query itself may never compute
            continue
        if not any(v is None and op is not exp.Is for v, op in zip(vals, acc.eq_ops[1:])):
            aff = lvl.source.table.columns[acc.path.eq[0].col].affinity
            out.append((aff, acc.prefix, encode_tuple(vals), 0 if acc.path.point else CHAIN_LIMIT))
    return out


def push_chains(sub, col, specs, ctx):
    """Hand chain specs keyed by output column ``col`` of subquery plan ``sub`` down to where its
    rows are read: each branch of a compound, the subquery of a subquery, a first table whose
    primary key that column is (its ranges' reads chain them: start_reads), a later table read by
    that primary key (its probes go with theirs: warm)."""
    if not specs:
        return
    left = getattr(sub, "left", None)
    if left is not None:   # a compound: every branch
        push_chains(left, col, specs, ctx)
        push_chains(sub.right, col, specs, ctx)
        return
    if not getattr(sub, "levels", None) or col >= len(sub.items):
        return
    item = sub.items[col]
    item = item.this if isinstance(item, exp.Alias) else item
    pos = sub._position(item) if isinstance(item, exp.Column) else None
    j = sub._level_of(item) if pos is not None else -1
    if j < 0:
        return
    lvl = sub.levels[j]
    if lvl.derived is not None:
        if j == 0:
            push_chains(lvl.derived, pos - lvl.source.offset, specs, ctx)
        return
    path = lvl.access.path if lvl.access is not None and lvl.hash_key is None else None
    if path is None or (j == 0) == (path.kind == "pk" and path.point):
        return   # the first table read by ranges, or a later one by its primary key (warm)
    rows = sub.planner.layout(lvl.source.table)
    if rows.rowid or len(rows.pk_idx) != 1 or rows.pk_folds is not None or \
            pos != lvl.source.offset + rows.pk_idx[0]:
        return
    aff = lvl.source.table.columns[rows.pk_idx[0]].affinity
    ctx.cache.setdefault(("chains", id(sub), j), {}).update(dict.fromkeys(s for s in specs if s[0] == aff))


def send_chains(plan, ctx, pushed=()):
    """Register the chains (see plan_chains) and those pushed down to this plan (push_chains) on the
    ranges the first level will read."""
    first = plan.levels[0]
    path = first.access.path
    if path.kind == "scan":
        rows0 = ctx.session.rows(first.source.table)
        ranges, src = [(rows0.prefix, rows0.end)], b"k"
    else:
        ranges, src = first.access.ranges((), ctx), (b"v" if path.kind == "index" else b"k")
    specs = list(dict.fromkeys((src,) + s[1:] for s in _specs(plan.chains, ctx)))
    lazy = [s for s in dict.fromkeys((src,) + s[1:] for s in pushed) if s not in specs]
    if (specs or lazy) and ranges:
        ctx.session.txn.chain(ranges, specs, lazy)


def start_reads(plan, ctx):
    """(keys, ranges) this query reads before its first row exists: the first level's probes
    and those of the levels that the equalities make constant (see plan_start_reads). Also
    registers the chains of the first level's ranges (see plan_chains), before any read."""
    if not plan.levels or plan.pre:
        return [], []
    pushed = ctx.cache.pop(("chains", id(plan), 0), ())
    if plan.chains or pushed:
        send_chains(plan, ctx, pushed)
    if plan.derived_chains:
        for col in dict.fromkeys(c for _lvl, c in plan.derived_chains):
            specs = _specs([lv for lv, c in plan.derived_chains if c == col], ctx)
            push_chains(plan.levels[0].derived, col, specs, ctx)
    lvl = plan.levels[0]
    if lvl.access is None or lvl.access.path.kind == "scan":
        return [], []
    keys, ranges = lvl.access.probes([()], ctx)
    if plan.known:
        try:
            row = [None] * plan.scope.width
            for pos, src, fn in plan.known:
                row[pos] = row[src] if fn is None else fn((), ctx)
            row = tuple(row)
            for other in plan.levels[1:]:
                if other.warm_at == 0:
                    k, r = other.access.probes([row], ctx)
                    keys += k
                    ranges += r
        except Exception:   # a prefetch: a value the query itself may never compute stays unread
            pass
    return keys, ranges


def warm(plan, i, chunk, ctx):
    """Send the probes of the levels warmed at level i (``Level.warm_at``): level i's own, and
    those of later levels whose probes read only levels before i, since the same chunk of rows
    gives their probe values: independent joins share one round trip."""
    reqs = ([], [])
    for j, lvl in enumerate(plan.levels[i:], i):
        if lvl.warm_at == i:
            keys, ranges = lvl.access.probes(chunk, ctx)
            reqs[0].extend(keys)
            reqs[1].extend(ranges)
            pushed = ctx.cache.get(("chains", id(plan), j))
            if pushed and keys:   # probes by primary key: the chains pushed here (push_chains) too
                n = len(ctx.session.rows(lvl.source.table).prefix)
                for _aff, pre, suf, lim in pushed:
                    for k in keys:
                        ck = pre + k[n:] + suf
                        if lim == 0:
                            reqs[0].append(ck)
                        else:
                            reqs[1].append((ck, prefix_end(ck), False))
    if reqs[0] or reqs[1]:
        ctx.session.txn.warm(*reqs)


def path_values(path):
    """The constant sides of the bounds an access path uses (what its probes evaluate)."""
    out = []
    for b in path.eq + [p[0] for p in (path.lo, path.hi) if p is not None]:
        if b.op is exp.In:
            out += b.value
        elif b.value is not None:
            out.append(b.value)
        if b.value2 is not None:
            out.append(b.value2)
    return out

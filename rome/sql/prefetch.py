"""Prefetch for stores with round trips (Redis, etcd): what a SELECT plan can send to the store before
it needs it, so that a query costs one round trip per join level and chunk of rows, or fewer.

Planning (once per plan, when it is built):

- :func:`plan_start_reads`: the join levels whose probes are known before any row is read, once the
  equalities of WHERE and ON are followed; their reads go with the first level's.
- :func:`plan_chains`: the levels the store can probe itself in the round trip that reads the first
  level (an index nested loop keyed by the first table's primary key).

Running (per statement, only when the transaction says ``can_warm``):

- :func:`start_reads`: the keys and ranges to read before the first row (first level, constant
  levels), after registering the chains;
- :func:`warm`: for one chunk of outer rows, the probes of the levels warmed at that level, in one
  request.

Everything here is a prefetch: the plan still runs every probe on the real rows, so a prefetched read
that turns out unused costs a read, never a wrong row.
"""
from sqlglot import exp

from rome.encoding.keycode import encode_tuple
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
        path = lvl.access.path if lvl.access is not None and lvl.hash_key is None else None
        if path is None or path.kind == "scan" or not path.eq or path.lo or path.hi:
            continue
        b = path.eq[0]
        if b.op is not exp.EQ or not isinstance(b.value, exp.Column) or plan._position(b.value) != pk_pos:
            continue
        if lvl.source.table.columns[b.col].affinity != pk_aff or rows0.pk_folds is not None or \
                any(lvl.source.table.key_collations(path.columns, path.index)):
            continue   # folded keys (collations): the first table's key bytes are not the probe's
        if any(plan._level_of(x) >= 0 for x in path_values(path)[1:]):
            continue
        lvl.chained = path.point
        plan.chains.append(lvl)


def send_chains(plan, ctx):
    """Register the chains (see plan_chains) on the ranges the first level will read."""
    first = plan.levels[0]
    path = first.access.path
    if path.kind == "scan":
        rows0 = ctx.session.rows(first.source.table)
        ranges, src = [(rows0.prefix, rows0.end)], b"k"
    else:
        ranges, src = first.access.ranges((), ctx), (b"v" if path.kind == "index" else b"k")
    specs = []
    for lvl in plan.chains:
        acc = lvl.access
        try:
            vals = [f((), ctx) for f in acc.eq[1:]]
        except Exception:   # a prefetch: a value the query itself may never compute
            continue
        if not any(v is None and op is not exp.Is for v, op in zip(vals, acc.eq_ops[1:])):
            specs.append((src, acc.prefix, encode_tuple(vals), 0 if lvl.chained else CHAIN_LIMIT))
    if specs and ranges:
        ctx.session.txn.chain(ranges, specs)


def start_reads(plan, ctx):
    """(keys, ranges) this query reads before its first row exists: the first level's probes
    and those of the levels that the equalities make constant (see plan_start_reads). Also
    registers the chains of the first level's ranges (see plan_chains), before any read."""
    if not plan.levels or plan.pre:
        return [], []
    if plan.chains:
        send_chains(plan, ctx)
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
    for lvl in plan.levels[i:]:
        if lvl.warm_at == i:
            keys, ranges = lvl.access.probes(chunk, ctx)
            reqs[0].extend(keys)
            reqs[1].extend(ranges)
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

"""The SQL engine: parse, plan, run, over a transaction of the store.

The life of a statement. Two statements, followed from the driver to the store; each step names the
function that does it.

A SELECT: ``cur.execute("SELECT name FROM images WHERE owner = ? LIMIT 25", ("alice",))``

1.  ``rome.dbapi.cursor.Cursor.execute`` takes the connection's lock and hands the SQL and the
    parameters to the connection's ``rome.sql.session.Session.execute``.
2.  ``rome.sql.parse.parse`` turns the text into a sqlglot tree and counts its ``?`` (renamed ``:p1``,
    ``:p2``...); a run ``IN (?, ?, ..., ?)`` is first collapsed into one list parameter
    (``collapse_lists``), so that every list length shares one parse and one plan. **Parse cache**: ``parse`` is an ``lru_cache`` on the SQL string, shared by the
    process (SQLAlchemy sends the same strings again and again). BEGIN / COMMIT / SAVEPOINT / EXPLAIN
    come back as a ``Control`` and go to ``Session._control``.
3.  ``Session._checked_run`` → ``Session._run``. With no transaction open, ``Session.begin`` starts one
    (``rome.storage.transaction.Transaction``) and reads the catalog key: **catalog cache**, the parsed
    ``rome.sql.catalog.Catalog`` is shared per store while the key's bytes are unchanged
    (``_shared_catalog``); on a store with round trips the cached one is assumed and checked against
    the copy that rides along with the first read (``_checked_run`` re-runs the statement once if
    it was stale).
4.  ``Session.planner`` → ``rome.sql.planner.Planner.query``. **Plan cache**: one Planner per catalog
    version, its plans keyed by SQL text (``Planner.cached``); DDL installs a new catalog, hence an
    empty cache. A miss plans the query: ``Planner.plan_query`` → ``rome.sql.select.SelectPlan``
    (``CompoundPlan`` for UNION...), whose ``_build`` goes in named steps: join order (``_reorder``),
    sources (``_add_source``), filter placement (``_place``), per level the bounds, access path
    (``rome.sql.access.choose``) or hash join (``_plan_levels``), the output (``_plan_output``).
    Expressions become Python functions (``rome.sql.expressions.compile_expr``, generated source
    cached by text in ``rome.sql.codegen``). A plan holds no transaction state.
5.  ``rome.sql.session.bind`` adapts the parameters to SQL values; ``rome.sql.context.Ctx`` carries
    the session, the parameters and a per-statement cache (uncorrelated subqueries and hash-join
    tables are computed once per statement there).
6.  ``SelectPlan.run`` → ``SelectPlan.source_rows``: one table reads through its
    ``rome.sql.access.Access`` (``rows``: a primary-key get or range, or an index range whose entries
    carry their rows, or name them to be fetched in batches: ``TableRows.entry_rows``); a join goes through ``_joined`` / ``_extend``, a pipeline of levels, each
    probing its access path (or hash table) with the rows joined so far. **Snapshot reads**: every
    read goes through ``Transaction.get`` / ``get_many`` / ``scan`` on the transaction's snapshot
    (``rome.sql.rows.TableRows`` decodes rows, ``rome.encoding``), overlaid with its own writes, and
    is recorded in the read set. **Prefetch**: on a networked store (``Transaction.can_warm``) the
    first reads of a statement and each join chunk's probes are sent together beforehand
    (``rome.sql.prefetch``: ``start_reads``, ``warm``), one round trip instead of one per read.
7.  Projection, DISTINCT, the sort (unless the access path already returns ORDER BY's order), then
    LIMIT / OFFSET, all lazily in ``SelectPlan.run``; ``Session._run`` collects the rows into a
    ``rome.sql.context.Result``, which ``Cursor._load`` keeps for ``fetchone`` / ``fetchall``.

An INSERT: ``cur.execute("INSERT INTO images (id, owner) VALUES (?, ?)", ("i1", "alice")); conn.commit()``

1.  Steps 1 to 3 as above; ``Session._run`` then takes a savepoint (``Transaction.savepoint``): if the
    statement fails, ``rollback_to`` undoes its writes and the transaction goes on (statement
    atomicity).
2.  ``Session._write`` → ``rome.sql.dml.execute`` → ``dml.insert_plan``: an ``InsertPlan``, from the
    same **plan cache** (``Planner.cached``). ``executemany`` plans once for all the parameter sets
    (``Session._insert_many``, ``InsertPlan.insert_values``).
3.  ``InsertPlan.run`` → ``insert_values``: each row built in column order, affinity applied,
    defaults filled, an AUTOINCREMENT value drawn (``Session.next_id``, blocks of the store's counter).
4.  ``rome.sql.rows.TableRows.insert``: NOT NULL (``_check_not_null``); the row's key and its index
    entries, each carrying the row's value (``_add_entries``); the primary key and every UNIQUE entry checked free with one batched
    read (``Transaction.get_many``); CHECK (``_check_row``) and the parent of each foreign key
    (``_check_parents``); then the row and its entries buffered (``Transaction.put_many``): nothing
    reaches the store before the commit.
5.  ``conn.commit()`` → ``rome.dbapi.connection.Connection.commit`` → ``Session.commit`` →
    ``Transaction.commit``: the store validates the read set (nothing the transaction read has
    changed since its snapshot) and applies the writes in one atomic step
    (``rome.storage.base.Store.commit``: one LMDB write transaction, one Redis script). If another
    transaction got there first, ``rome.errors.ConflictError`` and nothing is kept: run the whole
    transaction again (``rome.retry``). A committed catalog change becomes the store's shared catalog.

Modules: ``session`` (transactions, dispatch), ``parse``, ``planner`` (plan cache, subqueries),
``select`` (queries), ``access`` (access paths), ``scope`` (names), ``expressions`` / ``codegen``
(compiled expressions), ``dml`` / ``rows`` (writes, constraints, index entries), ``foreign_keys``,
``ddl`` / ``catalog`` (schema), ``keys`` (key layout), ``prefetch`` (networked stores), ``tree``
(AST helpers), ``context`` (Result, Ctx); ``semantics/`` is SQLite's behaviour (values, affinity,
operators, functions, aggregates, dates, JSON), which a reader of the planner may skip.
"""

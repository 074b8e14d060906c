"""``rome copy SRC_URL DST_URL``: move a whole database between any two SQLAlchemy URLs.

The schema is read by SQLAlchemy reflection from the source and created on the destination with
``MetaData.create_all`` (column types made generic with ``TypeEngine.as_generic()`` when the two
dialects differ, so a MySQL ``TINYINT`` or a PostgreSQL ``TIMESTAMP`` arrives as what the destination
calls Boolean/Integer/DateTime); then the rows are copied table by table in foreign-key dependency
order (parents first), in batches, all read inside one source transaction; ``alembic_version`` is a
table like any other, so the migration state moves too. Between two databases that keep any value in
any column (SQLite and ROME), values move as stored, without SQLAlchemy's type conversions (which
would turn an integer in a BLOB column into zero bytes, or fail on text in a DATETIME column). At
the end every table's row count on the destination is compared with the source's.

A destination that holds data, or already has one of the tables to copy, is refused unless
``--force``, which drops those tables (children first) before re-creating them. Tables of the
destination that are not copied are left alone; if one of them has a foreign key into a table to be
replaced, the copy is refused before anything is dropped (name it with ``--tables`` too).

Until its last commit the destination is marked as an unfinished copy (:mod:`rome.dialect.unfinished_copy`), so
an interrupted copy never looks complete: ROME refuses to use it, ``rome copy`` refuses it unless
``--resume`` (finish it) or ``--force`` (start over), ``rome glance serve`` refuses to start on it.
"""
import os
import time

import click
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite.base import SQLiteDialect

from rome.dialect import unfinished_copy as copy_mark
from rome.cli.urls import lmdb_path, lmdb_problem
from rome.dialect.urls import safe_url, scrub

DEFAULT_BATCH = 500


class CopyError(click.ClickException):
    pass


def _make_engine(url):
    try:
        return sa.create_engine(url)
    except Exception as e:  # unknown dialect, bad URL, missing driver
        raise CopyError("cannot open %s: %s: %s" % (safe_url(url), type(e).__name__, scrub(str(e), url)))


def reflect(engine, tables=None):
    """Reflect the source; with ``tables``, those plus the parents their foreign keys need."""
    md = sa.MetaData()
    insp = sa.inspect(engine)
    existing = set(insp.get_table_names())
    if tables:
        missing = [t for t in tables if t not in existing]
        if missing:
            raise CopyError("no such table in the source: %s" % ", ".join(missing))
        md.reflect(engine, only=list(tables), resolve_fks=True)
    else:
        md.reflect(engine, only=lambda name, _md: name != copy_mark.MARK_TABLE)
    return md


def _portable(md, src_dialect, dst_dialect):
    """Make reflected column types and defaults fit the destination's dialect."""
    if src_dialect.name == dst_dialect.name:
        return
    for table in md.tables.values():
        for col in table.columns:
            try:
                col.type = col.type.as_generic()
            except NotImplementedError:
                pass
            sd = col.server_default
            if sd is not None and "nextval(" in str(getattr(sd, "arg", "")):
                col.server_default = None  # a PostgreSQL sequence: autoincrement covers it
        # dialect-specific keyword arguments of indexes (mysql_length...) are ignored elsewhere


def _keeps_any_value(dialect):
    """SQLite and ROME store a value of any type in any column (type affinity only)."""
    return isinstance(dialect, SQLiteDialect)


def _declare_untyped(md):
    """A column declared with no type (SQLite takes one) is reflected as NullType, which has no DDL:
    declare it BLOB, the same affinity (none)."""
    for table in md.tables.values():
        for col in table.columns:
            if isinstance(col.type, sa.types.NullType):
                col.type = sa.types.BLOB()


def _untyped(table):
    """The table with columns of no type: rows read and written as the drivers give them."""
    return sa.table(table.name, *[sa.column(c.name) for c in table.columns])


def _count(conn, table):
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def check_destination(dst_engine, md, force):
    """Refuse a destination holding data or one of our tables, unless force. Returns tables to drop."""
    insp = sa.inspect(dst_engine)
    dst_tables = set(insp.get_table_names()) - {copy_mark.MARK_TABLE}
    clashing = [t for t in md.tables if t in dst_tables]
    with dst_engine.connect() as conn:
        non_empty = {}
        for name in sorted(dst_tables):
            n = _count(conn, sa.table(name))
            if n:
                non_empty[name] = n
    if (clashing or non_empty) and not force:
        parts = []
        if non_empty:
            items = sorted(non_empty.items())
            parts.append("rows in " + ", ".join("%s (%d)" % kv for kv in items[:8])
                         + (", ..." if len(items) > 8 else ""))
        if clashing:
            names = sorted(clashing)
            parts.append("existing tables " + ", ".join(names[:8]) + (", ..." if len(names) > 8 else ""))
        raise CopyError("the destination is not empty (%s); pass --force to replace the copied tables"
                        % "; ".join(parts))
    if clashing:
        _check_no_outside_children(insp, md, dst_tables, clashing)
    return clashing


def _check_no_outside_children(insp, md, dst_tables, to_drop):
    """--force drops ``to_drop``: refuse (before dropping anything) when a destination table that is
    not copied has a foreign key into one of them. An engine enforcing foreign keys (ROME,
    PostgreSQL, MySQL/InnoDB) would refuse the DROP half-way; one that does not (SQLite by default)
    would leave rows pointing at replaced parents."""
    blockers = {}
    for name in sorted(dst_tables - set(md.tables)):
        for fk in insp.get_foreign_keys(name):
            if fk.get("referred_table") in to_drop:
                blockers.setdefault(name, set()).add(fk["referred_table"])
    if blockers:
        parents = sorted({p for ps in blockers.values() for p in ps})
        raise CopyError("--force would replace %s, but foreign keys of destination tables that are not "
                        "copied point into %s: %s; add those tables to --tables, or drop them first"
                        % (", ".join(parents), "it" if len(parents) == 1 else "them",
                           ", ".join("%s -> %s" % (c, ", ".join(sorted(ps)))
                                     for c, ps in sorted(blockers.items()))))


def _ordered_pk(table):
    cols = list(table.primary_key.columns) or list(table.columns)
    return [c.asc() for c in cols]


def _reset_sequences(dst_conn, md):
    """PostgreSQL: move SERIAL sequences past the copied ids (other dialects derive them from max)."""
    if dst_conn.dialect.name != "postgresql":
        return
    for table in md.tables.values():
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) and pk[0].autoincrement in (True, "auto"):
            dst_conn.execute(sa.text(
                "SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE(MAX(%s), 0) + 1, false) FROM %s"
                % (dst_conn.dialect.identifier_preparer.quote(pk[0].name),
                   dst_conn.dialect.identifier_preparer.quote(table.name))),
                {"t": table.name, "c": pk[0].name})


def _check_source(url):
    """A database file or folder named by the source URL must exist (no empty one made by opening it)."""
    path = _file_of(url)
    if path is not None and not os.path.exists(path):
        raise CopyError("no database at %s (the source %s)" % (path, safe_url(url)))
    lmdb = lmdb_path(url)
    problem = lmdb and lmdb_problem(lmdb, create=False)
    if problem:
        raise CopyError("the source: " + problem)


def _check_destination_path(url):
    lmdb = lmdb_path(url)
    problem = lmdb and lmdb_problem(lmdb, create=True)
    if problem:
        raise CopyError("the destination: " + problem)


def _file_of(url):
    """The file of a sqlite URL (None for memory databases and other engines)."""
    try:
        u = sa.engine.make_url(url)
    except Exception:
        return None
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:" \
            or u.database.startswith("file:") or u.query.get("mode") == "memory":
        return None
    return os.path.abspath(u.database)


def copy_database(src_url, dst_url, tables=None, force=False, batch_size=DEFAULT_BATCH,
                  progress=True, echo=None, resume=False):
    """Copy schema and rows; returns {table: rows}. Raises CopyError on refusal or a count mismatch.

    The destination is marked as an unfinished copy (:mod:`rome.dialect.unfinished_copy`) before anything is
    written to it and the mark is cleared by the last commit. ``resume`` finishes a marked copy:
    tables whose row count matches the source's are kept, the one that was being copied is emptied
    and copied again, the rest are copied."""
    echo = echo or (lambda m: click.echo(m, err=True))
    _check_source(src_url)
    _check_destination_path(dst_url)
    src, dst = _make_engine(src_url), _make_engine(dst_url)
    copy_mark.open_unfinished(dst)
    try:
        if copy_mark.read_mark(src) is not None:
            raise CopyError("the source %s is itself an unfinished copy: finish that copy first"
                            % safe_url(src_url))
        md = reflect(src, tables)
        if not md.tables:
            raise CopyError("the source has no tables")
        extra = sorted(set(md.tables) - set(tables)) if tables else []
        if extra:
            echo("also copying %s (referenced by foreign keys)" % ", ".join(extra))
        _portable(md, src.dialect, dst.dialect)
        _declare_untyped(md)
        ordered = md.sorted_tables  # parents before children
        mark = copy_mark.read_mark(dst)
        if resume:
            if mark is None:
                raise CopyError("nothing to resume: %s holds no unfinished copy" % safe_url(dst_url))
            echo("resuming the unfinished copy (%s)" % mark)
        elif mark is not None and not force:
            raise CopyError("%s holds an unfinished copy (%s): finish it with --resume, or start over "
                            "with --force" % (safe_url(dst_url), mark))
        to_drop = [] if resume else check_destination(dst, md, force)
        copy_mark.set_mark(dst, "rome copy from %s, started %s"
                           % (safe_url(src_url), time.strftime("%Y-%m-%d %H:%M:%S %Z")))
        if to_drop:
            echo("--force: replacing %s" % ", ".join(sorted(to_drop)))
            drop_md = sa.MetaData()
            drop_md.reflect(dst, only=to_drop)
            for t in reversed(drop_md.sorted_tables):
                t.drop(dst)
        md.create_all(dst)

        counts = {}
        t0 = time.time()
        with src.connect() as sconn, sconn.begin():  # one consistent read of the source
            for t in ordered:
                counts[t.name] = _count(sconn, t)
            todo = _resume_plan(dst, ordered, counts, echo) if resume else ordered
            bar = _Progress(progress, sum(counts[t.name] for t in todo), len(todo))
            as_stored = _keeps_any_value(src.dialect) and _keeps_any_value(dst.dialect)
            with bar:
                for t in todo:
                    bar.table(t.name, counts[t.name])
                    moved = _untyped(t) if as_stored else t
                    order = [moved.c[c.element.name].asc() for c in _ordered_pk(t)]
                    result = sconn.execution_options(stream_results=True, yield_per=batch_size) \
                        .execute(sa.select(moved).order_by(*order))
                    keys = [c.name if as_stored else c.key for c in t.columns]
                    for chunk in result.partitions(batch_size):
                        rows = [dict(zip(keys, row)) for row in chunk]
                        with dst.begin() as dconn:
                            dconn.execute(moved.insert(), rows)
                        bar.advance(len(rows))
        with dst.begin() as dconn:
            _reset_sequences(dconn, md)

        # verify, then clear the mark: the copy's last commit
        mismatches = []
        with dst.begin() as dconn:
            got = {t.name: _count(dconn, t) for t in ordered}
            for name, n in counts.items():
                if got[name] != n:
                    mismatches.append("%s: source %d, destination %d" % (name, n, got[name]))
            if mismatches:
                raise CopyError("row counts differ after the copy: " + "; ".join(mismatches)
                                + "; the destination stays marked as an unfinished copy")
            copy_mark.clear_mark(dconn)
        echo("copied %d rows in %d tables from %s to %s in %.1f s; row counts verified"
             % (sum(counts.values()), len(counts), safe_url(src_url), safe_url(dst_url), time.time() - t0))
        return counts
    except sa.exc.SQLAlchemyError as e:
        raise CopyError("copy from %s to %s failed: %s"
                        % (safe_url(src_url), safe_url(dst_url),
                           scrub(scrub(_one_line(e), src_url), dst_url))) from e
    finally:
        src.dispose()
        dst.dispose()


def _resume_plan(dst, ordered, counts, echo):
    """The tables still to copy: those not complete on the destination (the one the copy stopped
    in is emptied first; rows are committed in batches in table order, so it is the only partial one)."""
    todo = []
    with dst.begin() as dconn:
        for t in ordered:
            n = _count(dconn, t)
            if n == counts[t.name] and not todo:
                continue
            if n:
                echo("resume: copying %s again (%d of %d rows were there)" % (t.name, n, counts[t.name]))
                dconn.execute(t.delete())
            todo.append(t)
    return todo


def _one_line(e):
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e)
    return "%s: %s" % (type(orig if orig is not None else e).__name__, text.strip().splitlines()[0])


class _Progress:
    """A rich progress bar over all rows (one line, naming the table being copied)."""

    def __init__(self, enabled, total, ntables):
        self.enabled = enabled
        self.total = total
        self._p = None
        if enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self._p = Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(),
                               TextColumn("rows"), TimeElapsedColumn(), TimeRemainingColumn(),
                               console=Console(stderr=True))
            self._task = self._p.add_task("copying", total=total)

    def __enter__(self):
        if self._p:
            self._p.__enter__()
        return self

    def __exit__(self, *exc):
        if self._p:
            self._p.__exit__(*exc)

    def table(self, name, rows):
        if self._p:
            self._p.update(self._task, description="%s (%d)" % (name, rows))

    def advance(self, n):
        if self._p:
            self._p.advance(self._task, n)


@click.command()
@click.argument("src_url")
@click.argument("dst_url")
@click.option("--tables", "-t", multiple=True, metavar="NAME[,NAME...]",
              help="Copy only these tables (and the parents their foreign keys need). "
                   "Repeatable or comma-separated. Default: every table, alembic_version included.")
@click.option("--force", is_flag=True,
              help="Write into a destination that is not empty: drop those of the copied tables that "
                   "exist there, then copy. Other tables are left alone.")
@click.option("--resume", is_flag=True,
              help="Finish a copy that was interrupted: keep the tables already complete, copy the "
                   "rest. Run it with the same SRC_URL, DST_URL and --tables.")
@click.option("--batch-size", default=DEFAULT_BATCH, show_default=True, type=click.IntRange(1),
              help="Rows per INSERT batch (each batch is one destination transaction).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def copy(src_url, dst_url, tables, force, resume, batch_size, no_progress):
    """Copy a whole database (schema, rows, alembic version) from SRC_URL to DST_URL.

    \b
    Any SQLAlchemy URLs, e.g. moving an existing Glance onto ROME:
        rome copy mysql+pymysql://glance:pw@db/glance rome+lmdb:////var/lib/rome/glance
        rome copy sqlite:////var/lib/glance/glance.sqlite rome+lmdb:////srv/glance-data/rome
    then point Glance's [database] connection at the destination.

    Tables are copied parents first, in batches, from one consistent read of the
    source; row counts are verified at the end (exit status 1 on a mismatch).
    A destination that holds data or one of the tables is refused unless --force.
    Until the copy is complete the destination is marked as an unfinished copy:
    ROME refuses to use it, and so do rome copy and rome glance serve; if the copy
    is interrupted, finish it with --resume or start over with --force.
    """
    if force and resume:
        raise click.UsageError("give --force or --resume, not both")
    names = [n.strip() for spec in tables for n in spec.split(",") if n.strip()]
    copy_database(src_url, dst_url, tables=names or None, force=force, batch_size=batch_size,
                  progress=not no_progress, resume=resume)

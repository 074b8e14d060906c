"""The "copy in progress" mark of a ``rome copy`` destination, on any SQLAlchemy engine.

On ROME the mark lives in the catalog (:mod:`rome.sql.copymark`), so the engine itself refuses to use
an unfinished copy; elsewhere it is a one-row table, :data:`MARK_TABLE`, that ``rome copy`` and
``rome glance serve`` check. The mark is set before the copy writes anything and cleared by its last
commit.
"""
import sqlalchemy as sa

MARK_TABLE = "rome_unfinished_copy"


def is_rome(engine):
    return engine.dialect.name == "rome"


def open_unfinished(engine):
    """Let this engine's connections use a database marked as an unfinished copy (ROME)."""
    if is_rome(engine):
        @sa.event.listens_for(engine, "connect")
        def _open(dbapi_conn, _record):
            dbapi_conn.cursor().execute("PRAGMA rome_open_unfinished = ON")


def read_mark(engine):
    """The destination's mark (text), or None."""
    with engine.connect() as conn:
        if is_rome(engine):
            return conn.exec_driver_sql("PRAGMA rome_unfinished_copy").scalar()
        if not sa.inspect(conn).has_table(MARK_TABLE):
            return None
        return conn.execute(sa.text("SELECT note FROM %s" % MARK_TABLE)).scalar() or "no details"


def set_mark(engine, note):
    with engine.begin() as conn:
        if is_rome(engine):
            conn.exec_driver_sql("PRAGMA rome_unfinished_copy = '%s'" % note.replace("'", "''"))
        else:
            table = _table()
            table.create(conn, checkfirst=True)
            conn.execute(table.delete())
            conn.execute(table.insert(), {"note": note})


def clear_mark(conn):
    """Clear the mark inside the caller's (last) transaction."""
    if is_rome(conn.engine):
        conn.exec_driver_sql("PRAGMA rome_unfinished_copy = ''")
    else:
        _table().drop(conn, checkfirst=True)


def _table():
    return sa.Table(MARK_TABLE, sa.MetaData(), sa.Column("note", sa.Text))

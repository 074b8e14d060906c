"""oslo.db provisioning for the ``rome`` dialect: a ``provision.BackendImpl`` for ``rome+...`` URLs.

oslo.db's test machinery (``test_fixtures``, ``test_migrations.ModelsMigrationsSync``) asks
``provision.BackendImpl.impl(driver)`` how to create, name, empty and drop a database of a dialect;
without an implementation it raises "No provision impl available for driver: rome". A named database
is a store of its own, as for SQLAlchemy's test provisioning (:mod:`rome.dialect.provision`):

- ``rome+memory://`` -> ``rome+memory:///<ident>``;
- ``rome+lmdb:///dir`` -> ``rome+lmdb:///<dir>_<ident>`` (dropped: the folder is deleted);
- ``rome+redis://host/db`` -> the same database with ``?prefix=<ident>``.

The dialect calls :func:`register` at import, when oslo.db (and its test requirement testresources)
is installed; calling it again is harmless.
"""
import os

DIALECT_NAME = "rome"

_registered = False


def _kind_location(url):
    from rome.dbapi.connection import parse_url
    return parse_url(url.render_as_string(hide_password=False))


def named_url(base_url, ident):
    """The URL of the database named ``ident`` beside ``base_url`` (a SQLAlchemy URL)."""
    driver = base_url.get_driver_name()
    if driver == "lmdb":
        return base_url.set(database="%s_%s" % (os.path.abspath(base_url.database).rstrip(os.sep), ident))
    if driver in ("redis", "rediss"):
        return base_url.update_query_dict({"prefix": ident})
    return base_url.set(database=ident)


def register():
    """Register the provisioning implementation; False when oslo.db's provision cannot be imported."""
    global _registered
    if _registered:
        return True
    try:
        import sqlalchemy
        from oslo_db.sqlalchemy import provision
    except ImportError:
        return False

    @provision.BackendImpl.impl.dispatch_for(DIALECT_NAME)
    class RomeBackendImpl(provision.BackendImpl):
        # ROME has no ALTER TABLE ... DROP CONSTRAINT (as SQLite): tables are dropped children first
        supports_drop_fk = False

        def create_opportunistic_driver_url(self):
            return "rome+memory://"

        def create_named_database(self, engine, ident, conditional=False):
            # a store is created on its first connection
            url = named_url(engine.url, ident)
            if not conditional or not self.database_exists(engine, ident):
                eng = sqlalchemy.create_engine(url)
                try:
                    eng.connect().close()
                finally:
                    eng.dispose()

        def drop_named_database(self, engine, ident, conditional=False):
            from rome.storage.registry import drop_store
            if conditional and not self.database_exists(engine, ident):
                return
            drop_store(*_kind_location(named_url(engine.url, ident)))

        def database_exists(self, engine, ident):
            kind, location = _kind_location(named_url(engine.url, ident))
            if kind == "lmdb":
                return os.path.isdir(location)
            return True  # memory and Redis stores exist as soon as they are named

        def provisioned_database_url(self, base_url, ident):
            return named_url(sqlalchemy.engine.make_url(base_url), ident)

        def drop_all_objects(self, engine):
            """Drop every table, children before their parents (foreign keys may be enforced)."""
            with engine.begin() as conn:
                inspector = sqlalchemy.inspect(conn)
                names = [name for name, _ in inspector.get_sorted_table_and_fkc_names() if name]
                metadata = sqlalchemy.MetaData()
                for name in reversed(names):
                    conn.execute(sqlalchemy.schema.DropTable(sqlalchemy.Table(name, metadata)))

    _registered = True
    return True

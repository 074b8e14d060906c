"""oslo.db's ``sqlite_fk`` on a rome URL: foreign keys enforced exactly when oslo.db would enforce them on
sqlite (Glance and Keystone ask for them, Nova does not), through oslo.db's own create_engine."""
import itertools

import pytest
import sqlalchemy as sa

engines = pytest.importorskip("oslo_db.sqlalchemy.engines", reason="oslo.db is not installed (peers venv)")
from oslo_db import exception as db_exc  # noqa: E402

_n = itertools.count()
md = sa.MetaData()
parent = sa.Table("parent", md, sa.Column("id", sa.Integer, primary_key=True))
child = sa.Table("child", md, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("parent_id", sa.Integer, sa.ForeignKey("parent.id")))


def _urls():
    return ["sqlite://", "rome+memory:///oslo-fk-%d" % next(_n)]


def _orphan(url, **kw):
    """(PRAGMA foreign_keys, outcome of inserting a child without its parent) on an oslo.db engine."""
    engine = engines.create_engine(url, **kw)
    try:
        md.create_all(engine)
        with engine.connect() as c:
            pragma = c.exec_driver_sql("PRAGMA foreign_keys").scalar()
        try:
            with engine.begin() as c:
                c.execute(child.insert().values(id=1, parent_id=42))
        except db_exc.DBReferenceError:
            return pragma, "refused"
        with engine.connect() as c:
            return pragma, c.execute(sa.select(child.c.parent_id)).all()
    finally:
        engine.dispose()


@pytest.mark.parametrize("sqlite_fk", [True, False])
def test_rome_follows_sqlite_fk_as_sqlite_does(sqlite_fk):
    on_sqlite, on_rome = (_orphan(u, sqlite_fk=sqlite_fk) for u in _urls())
    assert on_rome == on_sqlite
    assert on_rome == ((1, "refused") if sqlite_fk else (0, [(42,)]))


def test_default_is_nova_s():
    """Nova calls create_engine without sqlite_fk: no foreign keys, on sqlite as on ROME."""
    assert _orphan(_urls()[1]) == (0, [(42,)])

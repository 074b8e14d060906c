"""The ``rome+redis`` / ``rome+rediss`` SQLAlchemy dialects: entry points, URLs, an ORM round trip."""
import os
from importlib.metadata import entry_points

import pytest

pytest.importorskip("redis", reason="the redis client (pip install redis) is not installed")
sa = pytest.importorskip("sqlalchemy")
from sqlalchemy import orm  # noqa: E402

from rome.dbapi.connection import parse_url  # noqa: E402
from rome.storage import drop_store  # noqa: E402


def test_entry_points():
    names = {ep.name: ep.value for ep in entry_points(group="sqlalchemy.dialects")}
    assert names.get("rome.redis") == "rome.dialect.redis:RomeDialect_redis"
    assert names.get("rome.rediss") == "rome.dialect.redis:RomeDialect_rediss"


@pytest.mark.parametrize("url, kind, location", [
    ("rome+redis://127.0.0.1:6380/2?prefix=g", "redis", "127.0.0.1:6380/2?prefix=g"),
    ("rome+redis://:p%40ss@h/0", "redis", ":p%40ss@h:6379/0?prefix=rome"),
    ("rome+redis:///1?unix_socket=/run/r.sock", "redis", "/1?prefix=rome&unix_socket=%2Frun%2Fr.sock"),
    ("rome+rediss://h:6390/0?ssl_ca_certs=/ca", "rediss", "h:6390/0?prefix=rome&ssl=true&ssl_ca_certs=%2Fca"),
])
def test_connect_args(url, kind, location):
    u = sa.engine.make_url(url)
    dialect = u.get_dialect()()
    assert dialect.create_connect_args(u) == ([], {"kind": kind, "location": location})
    assert parse_url(url) == (kind, location)  # the DBAPI reads the same URL the same way


def test_bad_url_hides_the_password():
    with pytest.raises(sa.exc.ArgumentError, match="must be a number") as info:
        sa.create_engine("rome+redis://:secret@h/zero").connect()
    assert "secret" not in str(info.value)


class Base(orm.DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = "parent"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(20), unique=True, nullable=False)
    children = orm.relationship("Child", back_populates="parent", cascade="all, delete-orphan")


class Child(Base):
    __tablename__ = "child"
    id = sa.Column(sa.Integer, primary_key=True)
    parent_id = sa.Column(sa.ForeignKey("parent.id"), index=True)
    v = sa.Column(sa.Integer)
    parent = orm.relationship("Parent", back_populates="children")


def test_orm_round_trip_across_engines(redis_server):
    url = redis_server.url(prefix="orm-%d" % os.getpid())
    e1, e2 = sa.create_engine(url), sa.create_engine(url)  # e.g. two API servers
    Base.metadata.create_all(e1)
    with orm.Session(e1) as s:
        s.add_all([Parent(name="p%d" % i, children=[Child(v=j) for j in range(i)]) for i in range(5)])
        s.commit()
    with orm.Session(e2) as s:
        got = {p.name: sorted(c.v for c in p.children)
               for p in s.scalars(sa.select(Parent).options(orm.selectinload(Parent.children)))}
        assert got == {"p%d" % i: list(range(i)) for i in range(5)}
        s.delete(s.scalars(sa.select(Parent).where(Parent.name == "p3")).one())
        s.commit()
    with orm.Session(e1) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Child)) == 0 + 1 + 2 + 4
        with pytest.raises(sa.exc.IntegrityError, match="UNIQUE"):
            s.add(Parent(name="p1"))
            s.commit()
    assert set(sa.inspect(e2).get_table_names()) == {"parent", "child"}
    e1.dispose(), e2.dispose()
    drop_store(*parse_url(url))

"""An ORM program run on sqlite and on ROME: every observable result must be identical.

The program uses what services use: relationships with lazy, joined and selectin loading, bulk UPDATE
and DELETE, unique violations caught and rolled back, savepoints (begin_nested), DDL while data is in
place, server defaults, JSON and Enum columns, text() SQL, pagination, aggregates and subqueries.
"""
import datetime as dt
import enum
import os

import pytest
import sqlalchemy as sa
from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass


class Status(enum.Enum):
    queued = "queued"
    active = "active"
    killed = "killed"


class Project(Base):
    __tablename__ = "projects"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    name = sa.Column(sa.String(64), nullable=False, unique=True)
    created_at = sa.Column(sa.DateTime, nullable=False, default=lambda: dt.datetime(2024, 5, 1, 12, 0, 0, 123456))
    images = orm.relationship("Image", back_populates="project", cascade="all, delete-orphan",
                              order_by="Image.id")


class Image(Base):
    __tablename__ = "images"
    id = sa.Column(sa.String(36), primary_key=True)
    project_id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                           sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    status = sa.Column(sa.Enum(Status), nullable=False, default=Status.queued)
    size = sa.Column(sa.BigInteger)
    min_ram = sa.Column(sa.Integer, nullable=False, server_default="0")
    protected = sa.Column(sa.Boolean, nullable=False, default=False)
    meta = sa.Column(sa.JSON)
    checksum = sa.Column(sa.LargeBinary)
    price = sa.Column(sa.Numeric(10, 2))
    created_at = sa.Column(sa.DateTime, nullable=False)
    project = orm.relationship("Project", back_populates="images")
    tags = orm.relationship("Tag", cascade="all, delete-orphan", lazy="selectin", order_by="Tag.value")
    __table_args__ = (sa.Index("ix_images_status_created", "status", "created_at"),)


class Tag(Base):
    __tablename__ = "tags"
    id = sa.Column(sa.Integer, primary_key=True)
    image_id = sa.Column(sa.String(36), sa.ForeignKey("images.id"), nullable=False)
    value = sa.Column(sa.String(32), nullable=False)
    __table_args__ = (sa.UniqueConstraint("image_id", "value", name="uq_tag"),)


def program(url):
    """Run the workload; return a list of observations."""
    out = []
    eng = sa.create_engine(url)
    Base.metadata.drop_all(eng)
    Base.metadata.create_all(eng)
    T0 = dt.datetime(2024, 1, 1, 0, 0, 0, 500)
    with orm.Session(eng) as s:
        projects = [Project(name="p%d" % i) for i in range(4)]
        s.add_all(projects)
        s.flush()
        out.append(("project ids", [p.id for p in projects]))
        for i in range(30):
            img = Image(id="img-%03d" % i, project=projects[i % 4], size=i * 1000 if i % 5 else None,
                        status=[Status.queued, Status.active, Status.killed][i % 3],
                        meta={"i": i, "odd": bool(i % 2), "name": "n%d" % i}, checksum=bytes([i, 0, 255]),
                        price="%d.25" % i, created_at=T0 + dt.timedelta(hours=i * 7 % 30))
            img.tags = [Tag(value="t%d" % (i % 3)), Tag(value="x")]
            s.add(img)
        s.commit()

    with orm.Session(eng) as s:
        p = s.scalars(sa.select(Project).where(Project.name == "p1")).one()
        out.append(("lazy images", [(i.id, i.status.value, i.size, i.min_ram, i.protected, i.meta, i.checksum,
                                     str(i.price), i.created_at) for i in p.images]))
        rows = s.scalars(sa.select(Image).options(orm.joinedload(Image.project))
                         .where(Image.status == Status.active).order_by(Image.created_at.desc(), Image.id)
                         .limit(5).offset(1)).all()
        out.append(("joined page", [(i.id, i.project.name, [t.value for t in i.tags]) for i in rows]))
        q = (sa.select(Project.name, sa.func.count(Image.id), sa.func.sum(Image.size), sa.func.avg(Image.size),
                       sa.func.max(Image.created_at))
             .join(Image).group_by(Project.name).having(sa.func.count(Image.id) > 1).order_by(Project.name))
        out.append(("aggregates", [tuple(r) for r in s.execute(q)]))
        sub = sa.select(Tag.image_id).where(Tag.value == "t1").scalar_subquery()
        out.append(("in subquery", s.scalars(sa.select(Image.id).where(Image.id.in_(
            sa.select(Tag.image_id).where(Tag.value == "t1"))).order_by(Image.id)).all()))
        out.append(("scalar subquery", s.execute(sa.select(Project.name, sa.select(sa.func.count(Image.id))
                    .where(Image.project_id == Project.id).scalar_subquery().label("n")).order_by("name")).all()))
        del sub
        out.append(("exists", s.scalars(sa.select(Project.name).where(Project.images.any(Image.size > 20000))
                                         .order_by(Project.name)).all()))
        u = sa.union(sa.select(Image.id).where(Image.size < 3000), sa.select(Image.id).where(Image.id == "img-029"))
        out.append(("union", sorted(s.scalars(sa.select(u.subquery().c.id)).all())))
        out.append(("like/escape", s.scalars(sa.select(Image.id).where(Image.id.like("img-0_5"))
                                              .order_by(Image.id)).all()))
        out.append(("json", s.scalars(sa.select(Image.id).where(Image.meta["odd"].as_boolean())
                                       .order_by(Image.id).limit(3)).all()))

    with orm.Session(eng) as s:
        r = s.execute(sa.update(Image).where(Image.status == Status.killed).values(size=Image.size + 1,
                                                                                  protected=True))
        out.append(("bulk update rowcount", r.rowcount))
        r = s.execute(sa.delete(Tag).where(Tag.value == "x", Tag.image_id > "img-020"))
        out.append(("bulk delete rowcount", r.rowcount))
        s.commit()
        s.add(Project(name="p1"))
        try:
            s.commit()
            out.append(("duplicate", "no error"))
        except sa.exc.IntegrityError as e:
            out.append(("duplicate", type(e.orig).__name__))
            s.rollback()
        img = s.get(Image, "img-003")
        with s.begin_nested():
            img.size = 42
        try:
            with s.begin_nested():
                img.size = 43
                s.add(Tag(image_id="img-003", value="t0"))
                s.flush()
        except sa.exc.IntegrityError:
            pass
        s.commit()
        out.append(("after savepoints", s.get(Image, "img-003").size, sorted(t.value for t in s.get(Image, "img-003").tags)))
        s.delete(s.get(Project, projects_id(s, "p2")))
        s.commit()
        out.append(("after cascade", s.scalar(sa.select(sa.func.count()).select_from(Image)),
                    s.scalar(sa.select(sa.func.count()).select_from(Tag))))

    with eng.begin() as c:
        c.execute(sa.text("ALTER TABLE projects ADD COLUMN quota INTEGER DEFAULT 10 NOT NULL"))
        c.execute(sa.text("CREATE INDEX ix_images_size ON images (size)"))
        out.append(("text sql", c.execute(sa.text("SELECT name, quota FROM projects WHERE quota > :q ORDER BY name"),
                                          {"q": 5}).all()))
        out.append(("text sizes", c.execute(sa.text("SELECT id FROM images WHERE size BETWEEN :a AND :b "
                                                    "ORDER BY size DESC"), {"a": 2000, "b": 9000}).all()))
    insp = sa.inspect(eng)
    out.append(("reflect tables", sorted(insp.get_table_names())))
    out.append(("reflect columns", [(c["name"], c["nullable"]) for c in insp.get_columns("projects")]))
    out.append(("reflect fks", [(f["constrained_columns"], f["referred_table"], f["referred_columns"])
                                for f in insp.get_foreign_keys("images")]))
    out.append(("reflect indexes", sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                          for i in insp.get_indexes("images"))))
    out.append(("reflect uniques", [tuple(u["column_names"]) for u in insp.get_unique_constraints("tags")]))
    eng.dispose()
    return out


def projects_id(s, name):
    return s.scalars(sa.select(Project.id).where(Project.name == name)).one()


@pytest.mark.parametrize("kind", ["memory", "lmdb", "redis"])
def test_orm_program_matches_sqlite(request, tmp_path, kind):
    expected = program("sqlite:///" + str(tmp_path / "ref.db"))
    if kind == "redis":
        url = request.getfixturevalue("redis_server").url(prefix="orm-program-%d" % os.getpid())
    else:
        url = "rome+memory:///orm-program" if kind == "memory" else "rome+lmdb:///" + str(tmp_path / "rome")
    got = program(url)
    for e, g in zip(expected, got):
        assert g == e, e[0]
    assert len(got) == len(expected)

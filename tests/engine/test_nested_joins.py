"""Parenthesised (nested) joins in FROM, as SQLAlchemy writes them for joined eager loading of a
many-to-many relationship: ``a LEFT OUTER JOIN (b JOIN c ON ...) ON ...``; compared with sqlite3,
and planned with indexes like any join."""
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, joinedload, mapped_column, relationship

import rome

SCHEMA = [
    "CREATE TABLE inst (id INTEGER PRIMARY KEY, name TEXT, deleted INTEGER DEFAULT 0)",
    "CREATE TABLE link (id INTEGER PRIMARY KEY, inst_id INTEGER, grp_id INTEGER, deleted INTEGER DEFAULT 0)",
    "CREATE INDEX ix_link_inst ON link (inst_id)",
    "CREATE TABLE grp (id INTEGER PRIMARY KEY, name TEXT, deleted INTEGER DEFAULT 0)",
    "CREATE TABLE rule (id INTEGER PRIMARY KEY, grp_id INTEGER, port INTEGER)",
    "CREATE INDEX ix_rule_grp ON rule (grp_id)",
]
DATA = [
    "INSERT INTO inst (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')",
    "INSERT INTO grp VALUES (10, 'g10', 0), (11, 'g11', 1), (12, 'g12', 0), (13, 'g13', 0)",
    "INSERT INTO link (inst_id, grp_id, deleted) VALUES (1, 10, 0), (1, 11, 0), (2, 11, 0), (2, 12, 1), "
    "(3, 12, 0), (3, 13, 0), (9, 10, 0), (4, 99, 0)",
    "INSERT INTO rule (grp_id, port) VALUES (10, 22), (10, 80), (12, 443), (13, 8080)",
]

QUERIES = [
    # Nova's instance -> security groups eager load, with the soft-delete filters in the ON clauses
    "SELECT inst.id, grp.name FROM inst LEFT OUTER JOIN (link AS l JOIN grp ON grp.id = l.grp_id "
    "AND grp.deleted = 0) ON inst.id = l.inst_id AND l.deleted = 0 ORDER BY inst.id, grp.name",
    "SELECT * FROM inst LEFT OUTER JOIN (link AS l JOIN grp ON grp.id = l.grp_id) ON inst.id = l.inst_id "
    "WHERE grp.name IS NULL OR grp.name = 'g12' ORDER BY inst.id, l.id",
    "SELECT * FROM inst JOIN (link AS l JOIN grp ON grp.id = l.grp_id) ON inst.id = l.inst_id ORDER BY 1, 5",
    "SELECT inst.id, grp.id FROM inst LEFT JOIN (link LEFT JOIN grp ON grp.id = link.grp_id) "
    "ON link.inst_id = inst.id ORDER BY 1, 2",
    "SELECT inst.id, grp.id FROM inst LEFT JOIN (link LEFT JOIN grp ON grp.id = link.grp_id) "
    "ON link.inst_id = inst.id AND grp.name = 'g10' ORDER BY 1, 2",
    "SELECT inst.id, link.id FROM inst JOIN (link LEFT JOIN grp ON grp.id = link.grp_id) "
    "ON link.inst_id = inst.id AND grp.id IS NULL ORDER BY 1, 2",
    "SELECT inst.id, grp.id, rule.port FROM inst LEFT JOIN (link JOIN (grp LEFT JOIN rule "
    "ON rule.grp_id = grp.id) ON grp.id = link.grp_id) ON link.inst_id = inst.id ORDER BY 1, 2, 3",
    "SELECT inst.id, g.id, r.port FROM inst LEFT JOIN (link JOIN grp AS g ON g.id = link.grp_id) "
    "ON link.inst_id = inst.id LEFT JOIN rule AS r ON r.grp_id = g.id WHERE inst.id < 4 ORDER BY 1, 2, 3",
    "SELECT * FROM (inst JOIN link ON link.inst_id = inst.id) ORDER BY 1, 5",
    "SELECT inst.id, count(grp.id) FROM inst LEFT JOIN (link JOIN grp ON grp.id = link.grp_id) "
    "ON link.inst_id = inst.id GROUP BY inst.id ORDER BY 1",
    "SELECT inst.id FROM inst LEFT JOIN (link JOIN grp ON grp.id = link.grp_id) ON link.inst_id = inst.id "
    "WHERE grp.id IS NULL ORDER BY 1",
    "SELECT inst.id, x.id FROM inst LEFT JOIN ((SELECT id, inst_id, grp_id FROM link WHERE deleted = 0) AS x "
    "JOIN grp ON grp.id = x.grp_id) ON x.inst_id = inst.id ORDER BY 1, 2",
    "SELECT inst.id, grp.id FROM inst LEFT JOIN (link JOIN grp USING (id)) ON link.inst_id = inst.id ORDER BY 1, 2",
    # a derived table whose query joins another derived table (Glance's query.count() of a join)
    "SELECT count(*) AS n FROM (SELECT inst.id AS inst_id FROM inst JOIN (SELECT link.inst_id AS inst_id FROM link "
    "WHERE link.deleted = 0) AS anon_2 ON anon_2.inst_id = inst.id WHERE inst.id > 1) AS anon_1",
    "SELECT id FROM inst WHERE EXISTS (SELECT 1 FROM inst AS i2 LEFT JOIN (link JOIN grp ON grp.id = link.grp_id) "
    "ON link.inst_id = i2.id WHERE i2.id = inst.id AND grp.id = 13) ORDER BY 1",
]


@pytest.fixture
def loaded(both):
    for s in SCHEMA + DATA:
        both.run(s)
    return both


@pytest.mark.parametrize("sql", QUERIES)
def test_nested_join_matches_sqlite(loaded, sql):
    loaded.same(sql)


def test_nested_join_uses_indexes(db):
    for s in SCHEMA:
        db.execute(s)
    plan = [r[0] for r in db.execute("EXPLAIN " + QUERIES[0]).fetchall()]
    assert plan == ["SCAN inst USING PRIMARY KEY",
                    "LEFT JOIN (",
                    "  SEARCH link AS l USING INDEX ix_link_inst (inst_id=?)",
                    "  SEARCH grp USING PRIMARY KEY (id=?)",
                    ")",
                    "USE TEMP B-TREE FOR ORDER BY"], plan


def test_aliased_parenthesised_join_is_refused(loaded):
    with pytest.raises(rome.NotSupportedError):
        loaded.rome.execute("SELECT * FROM inst LEFT JOIN (link JOIN grp ON grp.id = link.grp_id) AS g "
                            "ON g.inst_id = inst.id")


class Base(DeclarativeBase):
    pass


groups = sa.Table(
    "instance_groups", Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("instance_id", sa.ForeignKey("instances.id"), index=True),
    sa.Column("group_id", sa.ForeignKey("groups.id")))


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Instance(Base):
    __tablename__ = "instances"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str]
    groups: Mapped[list[Group]] = relationship(secondary=groups, order_by=Group.name)


def _eager(url):
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        g = [Group(name="g%d" % i) for i in range(4)]
        s.add_all([Instance(uuid="u0", groups=[g[0], g[2]]), Instance(uuid="u1"),
                   Instance(uuid="u2", groups=[g[3], g[1], g[0]])])
        s.commit()
    with Session(engine) as s:
        stmt = sa.select(Instance).options(joinedload(Instance.groups)).order_by(Instance.uuid)
        assert " JOIN (instance_groups AS " in str(stmt.compile(engine))
        got = [(i.uuid, [x.name for x in i.groups]) for i in s.scalars(stmt).unique()]
    engine.dispose()
    return got


def test_orm_joined_eager_load_of_a_many_to_many(url):
    got = _eager(url)
    assert got == _eager("sqlite://")
    assert got == [("u0", ["g0", "g2"]), ("u1", []), ("u2", ["g0", "g1", "g3"])]

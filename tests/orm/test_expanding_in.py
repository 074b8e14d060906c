"""SQLAlchemy's expanding IN (``in_()``, ``not_in()``, ``bindparam(expanding=True)``) on ROME and on
sqlite: the same rows for every list length, and on ROME one parsed statement for all the lengths."""
import itertools

import sqlalchemy as sa

from rome.sql.parse import PARSED

_n = itertools.count()
META = sa.MetaData()
ITEMS = sa.Table("items", META, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String(16), index=True), sa.Column("score", sa.Float),
                 sa.Column("tag", sa.String(8, collation="NOCASE")))


def _engines():
    out = []
    for url in ("sqlite://", "rome+memory:///expanding-in-%d" % next(_n)):
        e = sa.create_engine(url)
        META.create_all(e)
        with e.begin() as c:
            c.execute(ITEMS.insert(), [{"id": i, "name": "n%d" % (i % 50), "score": i / 4,
                                        "tag": "Tag%d" % (i % 3)} for i in range(200)])
        out.append(e)
    return out


def _queries(values):
    names = ["n%d" % v for v in values]
    ids = sa.bindparam("ids", expanding=True)
    return [
        (sa.select(ITEMS.c.id).where(ITEMS.c.name.in_(names)).order_by(ITEMS.c.id), {}),
        (sa.select(ITEMS.c.id).where(ITEMS.c.name.not_in(names), ITEMS.c.id < 60).order_by(ITEMS.c.id), {}),
        (sa.select(ITEMS.c.id, ITEMS.c.score.in_([v / 4 for v in values])).order_by(ITEMS.c.id), {}),
        (sa.select(ITEMS.c.id).where(ITEMS.c.id.in_(ids), ITEMS.c.tag.in_(["tag1", "TAG2"])).order_by(ITEMS.c.id),
         {"ids": list(values)}),
        (sa.select(sa.func.count()).where(ITEMS.c.id.in_(ids)), {"ids": [str(v) for v in values]}),
    ]


def test_expanding_in_matches_sqlite_and_parses_once_for_every_length():
    ref, rome_engine = _engines()
    with ref.connect() as a, rome_engine.connect() as b:
        counts = []
        for values in ([7], [1, 2], list(range(0, 200, 3)), list(range(1000)), []):
            for q, params in _queries(values):
                want = a.execute(q, params).fetchall()
                assert b.execute(q, params).fetchall() == want, (str(q), len(values))
            counts.append(len(PARSED))
        # the first length parses each statement; the other non-empty lengths add nothing
        assert counts[1] == counts[2] == counts[3]

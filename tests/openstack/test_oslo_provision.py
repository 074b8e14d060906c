"""rome.dialect.oslo_provision: oslo.db's provisioning and ModelsMigrationsSync on ROME.

oslo.db's ``ModelsMigrationsSync.test_models_sync`` (what Keystone's and Nova's model-sync tests are)
runs unchanged against ``rome+memory`` and ``rome+lmdb``: it looks up ``provision.Backend`` for the
engine's dialect, migrates, compares the schema with the models, and drops everything afterwards.
"""
import os

import pytest

pytest.importorskip("oslo_db.sqlalchemy.provision")

import sqlalchemy as sa  # noqa: E402
from alembic.migration import MigrationContext  # noqa: E402
from alembic.operations import Operations  # noqa: E402
from oslo_db.sqlalchemy import provision, test_migrations  # noqa: E402
from oslotest import base as oslo_base  # noqa: E402

import rome.dialect  # noqa: E402,F401  (registers the dialect and its provisioning)

metadata = sa.MetaData()
sa.Table("project", metadata,
         sa.Column("id", sa.String(64), primary_key=True),
         sa.Column("name", sa.String(255), nullable=False),
         sa.Column("parent_id", sa.String(64), sa.ForeignKey("project.id")),
         sa.UniqueConstraint("name", name="ixu_project_name"))
sa.Table("user", metadata,
         sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("project_id", sa.String(64), sa.ForeignKey("project.id"), nullable=False),
         sa.Column("enabled", sa.Boolean, default=True),
         sa.Index("ix_user_project", "project_id"))


def migrate(engine, with_enabled=True):
    """The schema, as a service's alembic migrations would build it."""
    with engine.begin() as conn:
        op = Operations(MigrationContext.configure(conn))
        op.create_table("project",
                        sa.Column("id", sa.String(64), primary_key=True),
                        sa.Column("name", sa.String(255), nullable=False),
                        sa.Column("parent_id", sa.String(64), sa.ForeignKey("project.id")),
                        sa.UniqueConstraint("name", name="ixu_project_name"))
        cols = [sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("project_id", sa.String(64), sa.ForeignKey("project.id"), nullable=False)]
        if with_enabled:
            cols.append(sa.Column("enabled", sa.Boolean))
        op.create_table("user", *cols)
        op.create_index("ix_user_project", "user", ["project_id"])


@pytest.fixture(params=["memory", "lmdb"])
def url(request, tmp_path):
    if request.param == "memory":
        return "rome+memory:///models-sync-%s" % os.urandom(4).hex()
    return "rome+lmdb:///%s" % (tmp_path / "models-sync-test")


def run_models_sync(url, with_enabled):
    """Run oslo.db's test_models_sync on ``url``; returns the unittest result."""
    engine = sa.create_engine(url)

    class Sync(test_migrations.ModelsMigrationsSync, oslo_base.BaseTestCase):
        def get_engine(self):
            return engine

        def get_metadata(self):
            return metadata

        def db_sync(self, engine):
            migrate(engine, with_enabled)

    import unittest
    result = unittest.TestResult()
    Sync("test_models_sync").run(result)
    return engine, result


def test_models_sync_passes_when_migrations_match_models(url):
    engine, result = run_models_sync(url, with_enabled=True)
    assert result.wasSuccessful(), result.errors + result.failures
    # the test's cleanup dropped every table through the rome provisioning impl
    assert sa.inspect(engine).get_table_names() == []


def test_models_sync_reports_a_missing_column(url):
    engine, result = run_models_sync(url, with_enabled=False)
    assert not result.wasSuccessful()
    (_, text), = result.failures
    assert "Models and migration scripts aren't in sync" in text
    assert "'enabled'" in text
    assert sa.inspect(engine).get_table_names() == []


def test_backend_names_creates_and_drops_lmdb_databases(tmp_path):
    main = "rome+lmdb:///%s" % (tmp_path / "prov-test")
    backend = provision.Backend("rome", main)._verify()   # as backend_for_database_type() does
    url = backend.provisioned_database_url("abc")
    assert url.database == str(tmp_path / "prov-test_abc")
    assert not backend.database_exists("abc")
    backend.create_named_database("abc")
    assert backend.database_exists("abc")
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(metadata.tables["project"].insert(), {"id": "p", "name": "n"})
        conn.execute(metadata.tables["user"].insert(), {"id": 1, "project_id": "p"})
    backend.drop_all_objects(engine)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
    backend.drop_named_database("abc")
    assert not os.path.exists(url.database)
    backend.drop_named_database("abc", conditional=True)  # already gone: no error


def test_memory_databases_are_separate_stores():
    backend = provision.Backend("rome", "rome+memory://")._verify()
    a, b = (sa.create_engine(backend.provisioned_database_url(i)) for i in ("prov_a", "prov_b"))
    metadata.create_all(a)
    assert sa.inspect(b).get_table_names() == []
    assert sorted(sa.inspect(a).get_table_names()) == ["project", "user"]
    backend.drop_named_database("prov_a")
    a2 = sa.create_engine(backend.provisioned_database_url("prov_a"))
    assert sa.inspect(a2).get_table_names() == []

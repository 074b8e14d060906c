"""SQLAlchemy's dialect compliance suite on ROME (``pytest tests/sqla``).

A class is overridden by subclassing it under the same name. The overrides below only make tests
honour requirements they forget to check (so they would fail on any backend without the feature);
none of them hides a ROME failure.
"""
from sqlalchemy import testing
from sqlalchemy.testing import config
from sqlalchemy.testing import requires
from sqlalchemy.testing.suite import *  # noqa: F401,F403
from sqlalchemy.testing.suite import ComponentReflectionTest as _ComponentReflectionTest
from sqlalchemy.testing.suite import ComponentReflectionTestExtra as _ComponentReflectionTestExtra
from sqlalchemy.testing.suite import HasTableTest as _HasTableTest
from sqlalchemy.testing.suite import IsolationLevelTest as _IsolationLevelTest
from sqlalchemy.testing.suite import TableViaSelectTest as _TableViaSelectTest


class IsolationLevelTest(_IsolationLevelTest):
    def test_dialect_user_setting_is_restored(self, testing_engine):
        # needs a level other than the default and AUTOCOMMIT; ROME has only SERIALIZABLE
        levels = config.requirements.get_isolation_levels(config)
        if not set(levels["supported"]) - {levels["default"], "AUTOCOMMIT"}:
            config.skip_test("no isolation level besides the default and AUTOCOMMIT")
        super().test_dialect_user_setting_is_restored(testing_engine)


class HasTableTest(_HasTableTest):
    @classmethod
    def define_views(cls, metadata):
        # define_tables tests "if testing.requires.view_reflection:" (always true) and so creates
        # views on every backend
        if requires.view_reflection.enabled:
            super().define_views(metadata)


class ComponentReflectionTest(_ComponentReflectionTest):
    # expects the fixture's views without checking that views are supported
    @requires.views
    @testing.combinations((True, requires.schemas), False, argnames="use_schema")
    def test_get_view_names(self, connection, use_schema):
        super().test_get_view_names(connection, use_schema)


class ComponentReflectionTestExtra(_ComponentReflectionTestExtra):
    # the fixture runs every test in "test_schema" too, without checking that schemas are supported
    @testing.fixture(params=[True, False])
    def use_schema_fixture(self, request):
        if request.param:
            if not requires.schemas.enabled:
                config.skip_test("schemas are not supported")
            return config.test_schema
        return None


class TableViaSelectTest(_TableViaSelectTest):
    # CREATE TABLE ... AS SELECT, without the create_table_as requirement the other tests check
    @requires.create_table_as
    @testing.combinations(
        ("plain", False, False, False),
        ("use_temp", False, True, False, requires.create_temp_table_as),
        ("use_schema", True, False, False, requires.schemas),
        ("plain", False, False, False),
        ("use_temp", False, True, True, requires.temporary_views),
        ("use_schema", True, False, True, requires.schemas),
        argnames="use_schemas,use_temp,use_view",
        id_="iaaa",
    )
    def test_without_metadata(self, connection, use_temp, use_schemas, use_view):
        super().test_without_metadata(connection, use_temp, use_schemas, use_view)

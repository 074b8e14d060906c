"""What ROME supports, for SQLAlchemy's and alembic's compliance suites.

Named in setup.cfg (``[sqla_testing] requirement_cls``). Each requirement answers "may this test run on
this backend?": open runs it, closed skips it (with the reason shown by ``pytest -rs``). The starting
point is what SQLAlchemy's own requirements open for SQLite; ROME is its own engine, so this opens what
ROME implements or must implement (issue 2's SQL surface) and closes what it does not. Every
``_closed(...)`` here is listed with its reason in docs/limitations.md (tests/test_dialect_compile.py
checks it); features that SQLite lacks as well (sequences, ARRAY, FETCH FIRST, ...) stay closed by the
suites' own defaults and are summed up there in one line.

NB: requirements must be *properties* returning a new exclusion object on every access, as
SQLAlchemy's are. A stacked ``@testing.combinations(..., requires.x)`` extends the first exclusion
object applied to a test in place, so a shared object would leak one test's skips into every other
test using the same requirement.

Some answers come from the dialect (RETURNING, AUTOCOMMIT), so the same class also runs the suites on
``sqlite://``, as a reference for the harness.
"""
from alembic.testing.requirements import SuiteRequirements as AlembicRequirements
from sqlalchemy.testing import exclusions
from sqlalchemy.testing.requirements import SuiteRequirements as SQLAlchemyRequirements


def _open(note=None):
    return property(lambda self: exclusions.open(), doc=note)


def _closed(reason):
    prop = property(lambda self: exclusions.closed(reason), doc=reason)
    prop.fget.rome_closed = reason
    return prop


# reasons shared by several requirements
NO_CTAS = "CREATE TABLE ... AS SELECT is not implemented"
NO_COMPUTED = "no computed columns (GENERATED ALWAYS AS)"
NO_IDENTITY = "no IDENTITY columns; a single integer primary key autoincrements instead"
NO_EXPR_INDEX = "indexes are on columns, not on expressions"
NO_DEFERRABLE = "foreign keys are checked at each statement; no DEFERRABLE / INITIALLY DEFERRED"
NO_SCHEMAS = "one schema only ('main'): no CREATE SCHEMA, no ATTACH, no schema-qualified names"
NO_COMMENTS = "no table or column comments (COMMENT ON)"
NO_VIEWS = "no views (CREATE VIEW)"
NO_TEMP = "no temporary tables (CREATE TEMPORARY TABLE)"
NO_SEQUENCES = "no sequences (as on SQLite); integer primary keys autoincrement"
NO_COMPOUND_PARENS = ("compound SELECT members cannot be parenthesised "
                      "(SQLite's grammar, which SQLAlchemy's SQLite compiler writes)")
NO_WINDOW = "no window functions (OVER ...)"
NO_CTE = "no common table expressions (WITH ...)"
FLOAT_NUMERIC = "Numeric is stored as a 64-bit float (SQLite's REAL): about 15 significant digits"


def _levels(config):
    with config.db.connect() as conn:
        return conn.dialect.get_isolation_level_values(conn.connection.dbapi_connection)


class Requirements(SQLAlchemyRequirements, AlembicRequirements):
    # -- DDL ------------------------------------------------------------------------------------
    create_table = _open()
    drop_table = _open()
    table_ddl_if_exists = _open("CREATE TABLE IF NOT EXISTS / DROP TABLE IF EXISTS")
    index_ddl_if_exists = _open("CREATE INDEX IF NOT EXISTS / DROP INDEX IF EXISTS")
    create_table_as = _closed(NO_CTAS)
    create_temp_table_as = _closed(NO_CTAS)
    reflect_tables_no_columns = _closed("a table needs at least one column (as on SQLite)")
    unusual_column_name_characters = _open()
    symbol_names_w_double_quote = _open()
    unicode_ddl = _open()
    computed_columns = _closed(NO_COMPUTED)
    computed_columns_stored = _closed(NO_COMPUTED)
    computed_columns_virtual = _closed(NO_COMPUTED)
    computed_columns_default_persisted = _closed(NO_COMPUTED)
    computed_columns_reflect_persisted = _closed(NO_COMPUTED)
    identity_columns = _closed(NO_IDENTITY)
    identity_columns_standard = _closed(NO_IDENTITY)
    identity_columns_alter = _closed(NO_IDENTITY)
    indexes_with_ascdesc = _open("accepted; the direction is not kept")
    indexes_check_column_order = _open()
    indexes_with_expressions = _closed(NO_EXPR_INDEX)
    reflect_indexes_with_expressions = _closed(NO_EXPR_INDEX)

    # -- constraints ----------------------------------------------------------------------------
    foreign_keys = _open()
    foreign_key_ddl = _open()
    self_referential_foreign_keys = _open()
    named_constraints = _open()
    implicitly_named_constraints = _closed("unnamed constraints stay unnamed (as on SQLite)")
    deferrable_fks = _closed(NO_DEFERRABLE)
    on_update_cascade = _open()
    repeated_column_foreign_keys = _open("FOREIGN KEY (a, a) REFERENCES r (b, c)")
    repeated_remote_col_foreign_keys = _open("FOREIGN KEY (a, b) REFERENCES r (c, c)")
    duplicate_key_raises_integrity_error = _open()
    check_constraints_w_enforcement = _open()

    # -- reflection -----------------------------------------------------------------------------
    table_reflection = _open()
    primary_key_constraint_reflection = _open()
    reflects_pk_names = _open()
    foreign_key_constraint_reflection = _open()
    foreign_key_constraint_name_reflection = _open()
    foreign_key_name_reflection = _open()
    foreign_key_constraint_option_reflection_ondelete = _open()
    fk_constraint_option_reflection_ondelete_restrict = _open()
    fk_constraint_option_reflection_ondelete_noaction = _open()
    foreign_key_constraint_option_reflection_onupdate = _open()
    fk_constraint_option_reflection_onupdate_restrict = _open()
    index_reflection = _open()
    reflect_indexes_with_ascdesc = _open()
    unique_constraint_reflection = _open()
    check_constraint_reflection = _open()
    inline_check_constraint_reflection = _open()
    cross_schema_fk_reflection = _closed(NO_SCHEMAS)
    comment_reflection = _closed(NO_COMMENTS)
    comments = _closed(NO_COMMENTS)
    reflect_table_options = _closed("no table options (WITHOUT ROWID, STRICT, ...) to reflect")

    # -- schemas, views, temporary tables, sequences ---------------------------------------------
    schemas = _closed(NO_SCHEMAS)
    implicit_default_schema = _closed(NO_SCHEMAS)
    default_schema_name_switch = _closed(NO_SCHEMAS)
    schema_create_delete = _closed(NO_SCHEMAS)
    views = _closed(NO_VIEWS)
    temporary_views = _closed(NO_VIEWS)
    temporary_tables = _closed(NO_TEMP)
    temp_table_reflection = _closed(NO_TEMP)
    temp_table_names = _closed(NO_TEMP)
    has_temp_table = _closed(NO_TEMP)
    sequences = _closed(NO_SEQUENCES)

    # -- SELECT ---------------------------------------------------------------------------------
    subqueries = _open()
    offset = _open()
    bound_limit_offset = _open()
    sql_expression_limit_offset = _open()
    parens_in_union_contained_select_w_limit_offset = _closed(NO_COMPOUND_PARENS)
    parens_in_union_contained_select_wo_limit_offset = _closed(NO_COMPOUND_PARENS)
    order_by_col_from_union = _open()
    order_by_label_with_expression = _open()
    group_by_complex_expression = _open()
    boolean_col_expressions = _open()
    nullable_booleans = _open()
    nullsordering = _open("NULLS FIRST / NULLS LAST")
    standalone_binds = _open()
    standalone_null_binds_whereclause = _open()
    tuple_in = _open("(a, b) IN (VALUES (?, ?), ...)")
    tuple_in_w_empty = _open()
    selectone = _open()
    like_escapes = _open()
    mod_operator_as_percent_sign = _open()
    supports_is_distinct_from = _open("a IS b / a IS NOT b")

    def get_order_by_collation(self, config):
        if config.db.dialect.name in ("rome", "sqlite"):
            return "NOCASE"
        raise NotImplementedError()

    update_where_target_in_subquery = _open()
    intersect = _open()
    except_ = _open()
    regexp_match = _open("REGEXP")
    supports_bitwise_and = _open()
    supports_bitwise_or = _open()
    supports_bitwise_not = _open()
    supports_bitwise_xor = _open()
    supports_bitwise_shift = _open()
    aggregate_order_by = _open("group_concat(x, ',' ORDER BY y)")
    window_functions = _closed(NO_WINDOW)
    ctes = _closed(NO_CTE)
    ctes_with_update_delete = _closed(NO_CTE)
    ctes_with_values = _closed(NO_CTE)
    ctes_on_dml = _closed(NO_CTE)
    regexp_replace = _closed("no regexp_replace() (as on SQLite)")

    # -- INSERT / UPDATE / DELETE ---------------------------------------------------------------
    autoincrement_insert = _open()
    autoincrement_without_sequence = _open()
    autoincrement_on_composite_pk = _closed(
        "only a single integer primary key column autoincrements (as on SQLite)")
    insert_from_select = _open()
    implements_get_lastrowid = _open()
    emulated_lastrowid = _open()
    dbapi_lastrowid = _open()
    emulated_lastrowid_even_with_sequences = _closed(NO_SEQUENCES)
    update_from = _closed("no UPDATE ... FROM")
    delete_from = _closed("no DELETE with a join (DELETE ... USING / FROM), as on SQLite")
    server_defaults = _open()
    expression_server_defaults = _open()

    @property
    def empty_inserts(self):
        """INSERT INTO t DEFAULT VALUES"""
        return exclusions.only_if(
            lambda config: config.db.dialect.supports_empty_insert
            or config.db.dialect.supports_default_values, "empty inserts not supported")

    # RETURNING follows the dialect's flags (off until the engine implements it): the suite's
    # insert_returning / update_returning / delete_returning / insertmanyvalues read them.

    # -- types ----------------------------------------------------------------------------------
    unbounded_varchar = _open()
    nvarchar_types = _open()
    unicode_data = _open()
    unicode_data_no_special_types = _open()
    text_type = _open()
    empty_strings_varchar = _open()
    empty_strings_text = _open()
    expressions_against_unbounded_text = _open()
    datetime = _open()
    datetime_microseconds = _open()
    datetime_literals = _open()
    datetime_historic = _open()
    datetime_implicit_bound = _open()
    date = _open()
    date_historic = _open()
    date_implicit_bound = _open()
    date_coerces_from_datetime = _open()
    time = _open()
    time_microseconds = _open()
    time_implicit_bound = _open()
    binary_comparisons = _open()
    binary_literals = _open()
    precision_numerics_general = _open()
    precision_numerics_enotation_large = _open()
    precision_numerics_many_significant_digits = _closed(FLOAT_NUMERIC)
    precision_numerics_retains_significant_digits = _closed(FLOAT_NUMERIC)
    float_cast = _open()
    float_is_numeric = _open()
    float_or_double_precision_behaves_generically = _open()
    precision_generic_float_type = _open()
    literal_float_coercion = _open()
    floats_to_four_decimals = _open()
    fetch_null_from_numeric = _open()
    infinity_floats = _open()
    implicit_decimal_binds = _open()
    json_type = _open("SQLite's JSON type: text plus json_extract() / json_quote() / json_type()")
    json_array_indexes = _open()
    legacy_unconditional_json_extract = _open()
    uuid_data_type = _closed("no native UUID type; Uuid is stored as CHAR(32), as on SQLite")

    # -- transactions and connections -----------------------------------------------------------
    savepoints = _open()
    two_phase_transactions = _closed("no two-phase commit")
    isolation_level = _open()
    independent_connections = _open()
    independent_readonly_connections = _open()
    unicode_connections = _open()
    ad_hoc_engines = _open()
    fetch_rows_post_commit = _open()
    duplicate_names_in_cursor_description = _open()
    arraysize = _open()
    server_side_cursors = _closed("no server-side cursors (stream_results)")

    def get_isolation_levels(self, config):
        """ROME: SERIALIZABLE, plus AUTOCOMMIT when the DBAPI connection has an ``autocommit`` switch
        (both as the dialect reports them)."""
        return {"default": config.db.dialect.default_isolation_level, "supported": _levels(config)}

    @property
    def autocommit(self):
        return exclusions.only_if(
            lambda config: "AUTOCOMMIT" in self.get_isolation_levels(config)["supported"],
            "the DBAPI connection has no autocommit switch")

    skip_autocommit_rollback = _open("the dialect implements detect_autocommit_setting()")

    @property
    def autocommit_isolation(self):
        return self.autocommit

    # -- alembic --------------------------------------------------------------------------------
    alter_column = _closed(
        "no ALTER COLUMN (type, nullability, default); alembic's batch mode rebuilds the table")
    fk_ondelete_is_reflected = _open()
    fk_onupdate_is_reflected = _open()
    reflects_fk_options = _open()
    fk_onupdate = _open()
    fk_ondelete_restrict = _open()
    fk_onupdate_restrict = _open()
    fk_ondelete_noaction = _open()
    fk_initially = _closed(NO_DEFERRABLE)
    fk_deferrable = _closed(NO_DEFERRABLE)
    fk_deferrable_is_reflected = _closed(NO_DEFERRABLE)
    integer_subtype_comparisons = _open()


def closed_requirements():
    """{name: reason} of every requirement this class closes itself (for docs/limitations.md)."""
    return {name: attr.fget.rome_closed for name, attr in vars(Requirements).items()
            if isinstance(attr, property) and hasattr(attr.fget, "rome_closed")}

"""The models agree with a database built from operational-schema.sql."""

from __future__ import annotations

import pytest
from sqlalchemy import Boolean, Date, DateTime, Engine, Integer, Numeric, String, inspect
from sqlalchemy.types import JSON, TypeEngine

from data.models import Base
from data.schema import CONTRACT_DIR
from data.settings import PROJECT_ROOT
from data.types import UTCDateTime


def _family(sql_type: TypeEngine) -> str:
    if isinstance(sql_type, UTCDateTime):
        return "timestamp"
    for family, kinds in (
        ("boolean", (Boolean,)),
        ("timestamp", (DateTime,)),
        ("date", (Date,)),
        ("integer", (Integer,)),
        ("numeric", (Numeric,)),
        ("json", (JSON,)),
        ("text", (String,)),
    ):
        if isinstance(sql_type, kinds):
            return family
    if type(sql_type).__name__ in {"JSONB", "JSON"}:
        return "json"
    return type(sql_type).__name__


def _numeric_shape(sql_type: TypeEngine) -> tuple[int | None, int | None] | None:
    if isinstance(sql_type, Numeric) and not isinstance(sql_type, Integer):
        return (sql_type.precision, sql_type.scale)
    return None


def test_models_match_the_contract_database(pg_engine: Engine) -> None:
    inspector = inspect(pg_engine)
    operational = {
        name for name in inspector.get_table_names() if not name.startswith("dashboard_")
    }
    assert operational == set(Base.metadata.tables)
    for table in Base.metadata.sorted_tables:
        database_columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(database_columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            actual = database_columns[column.name]
            where = f"{table.name}.{column.name}"
            assert actual["nullable"] == column.nullable, where
            assert _family(actual["type"]) == _family(column.type), where
            assert _numeric_shape(actual["type"]) == _numeric_shape(column.type), where


def test_contract_foreign_keys_are_modelled(pg_engine: Engine) -> None:
    inspector = inspect(pg_engine)
    for table in Base.metadata.sorted_tables:
        expected = {(fk.parent.name, fk.column.table.name) for fk in table.foreign_keys}
        actual = {
            (fk["constrained_columns"][0], fk["referred_table"])
            for fk in inspector.get_foreign_keys(table.name)
        }
        assert actual == expected, table.name


@pytest.mark.parametrize("table", ["users", "candidatures", "matchings", "factures"])
def test_unique_constraints_are_modelled(pg_engine: Engine, table: str) -> None:
    inspector = inspect(pg_engine)
    actual = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
    model = Base.metadata.tables[table]
    expected = {
        tuple(c.name for c in constraint.columns)
        for constraint in model.constraints
        if constraint.__class__.__name__ == "UniqueConstraint"
    } | {(c.name,) for c in model.columns if c.unique}
    assert actual == expected


SHARED = PROJECT_ROOT.parent / "shared"


@pytest.mark.parametrize("name", ["operational-schema.sql", "kpi-definitions.md"])
def test_the_project_copy_of_the_contract_equals_shared(name: str) -> None:
    """The project tests itself on ``contract/``; where the steering ``../shared``
    folder is beside it, the copy must be the same text, byte for byte."""
    copy = CONTRACT_DIR / name
    assert copy.is_file(), f"contract/{name} is missing"
    original = SHARED / name
    if original.is_file():
        assert copy.read_bytes() == original.read_bytes(), (
            f"contract/{name} differs from ../shared/{name}: copy the new contract in"
        )

"""The migrations go down and up again, and leave the indexes the README promises."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, inspect

from data.db import create_db_engine
from data.migrate import alembic_config, upgrade
from tests.conftest import new_sqlite_database

PLAIN_TWINS = {
    "placements": "ix_dash_placements_user",
    "matchings": "ix_dash_matchings_date_match",
    "evaluations": "ix_dash_evaluations_created_at",
}
COVERING = {
    "placements": "ix_dash_kpi_placements_window",
    "matchings": "ix_dash_kpi_matchings_period",
    "evaluations": "ix_dash_kpi_evaluations_period",
}


def _indexes(engine: Engine, table: str) -> set[str]:
    return {str(index["name"]) for index in inspect(engine).get_indexes(table)}


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_postgresql_keeps_one_index_of_each_twin_pair(pg_engine: Engine) -> None:
    for table, plain in PLAIN_TWINS.items():
        assert _indexes(pg_engine, table) >= {COVERING[table]}
        assert plain not in _indexes(pg_engine, table)
    assert "ix_dash_candidatures_session_seats" in _indexes(pg_engine, "candidatures")
    _downgrade(pg_engine, "0007")
    for table, plain in PLAIN_TWINS.items():
        assert plain in _indexes(pg_engine, table)
    upgrade(pg_engine)
    for table, plain in PLAIN_TWINS.items():
        assert plain not in _indexes(pg_engine, table)


def test_sqlite_has_no_covering_index_and_keeps_the_plain_ones(tmp_path: Path) -> None:
    engine = create_db_engine(new_sqlite_database(tmp_path))
    try:
        for table, plain in PLAIN_TWINS.items():
            assert plain in _indexes(engine, table)
            assert COVERING[table] not in _indexes(engine, table)
    finally:
        engine.dispose()

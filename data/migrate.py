"""Create or upgrade the dashboard's own tables: ``python -m data.migrate``.

Runs Alembic to ``heads`` on the database of ``DATABASE_URL`` (or the
embedded demo database). The website's tables must already exist.
"""

from __future__ import annotations

import sys

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from data.db import create_db_engine, translate_errors
from data.errors import DashboardError
from data.settings import PROJECT_ROOT, get_settings


def alembic_config() -> Config:
    return Config(str(PROJECT_ROOT / "alembic.ini"))


def upgrade(engine: Engine) -> None:
    """Bring the dashboard's tables to the latest revision, in one transaction."""
    config = alembic_config()
    with translate_errors(), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def has_operational_tables(engine: Engine) -> bool:
    with translate_errors():
        return inspect(engine).has_table("candidatures")


def main() -> int:
    try:
        engine = create_db_engine(get_settings().database_url)
        if not has_operational_tables(engine):
            print(
                "Erreur : les tables du site (operational-schema.sql) sont absentes de cette base.",
                file=sys.stderr,
            )
            return 1
        upgrade(engine)
    except DashboardError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    print("Tables du tableau de bord à jour.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

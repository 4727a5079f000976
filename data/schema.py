"""Creating the website's tables where the dashboard must (demo and tests).

On PostgreSQL the contract file itself is executed, as the website does; on
SQLite (the embedded demo) the models create the equivalent tables.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from data.models import Base
from data.settings import PROJECT_ROOT

CONTRACT_DIR = PROJECT_ROOT / "contract"
"""The project's own copy of the contract files it is built on (the website's
schema and the KPI definitions), so that a fresh clone tests itself; a test
keeps it equal to ``../shared`` wherever that folder is present."""


def contract_sql_path() -> Path:
    """``contract/operational-schema.sql``: the website's tables, exactly as they are."""
    return CONTRACT_DIR / "operational-schema.sql"


def create_operational_tables(engine: Engine) -> None:
    """Create the website's tables: the contract SQL on PostgreSQL, the models on SQLite."""
    if engine.dialect.name == "postgresql":
        sql = contract_sql_path().read_text(encoding="utf-8")
        with engine.begin() as connection:
            connection.exec_driver_sql(sql)
    else:
        Base.metadata.create_all(engine)

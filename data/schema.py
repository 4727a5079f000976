"""Creating the website's tables where the dashboard must (demo and tests).

On PostgreSQL the contract file itself is executed, as the website does; on
SQLite (the embedded demo) the models create the equivalent tables.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from data.models import Base
from data.settings import PROJECT_ROOT

CONTRACT_CANDIDATES = (
    PROJECT_ROOT.parent / "shared" / "operational-schema.sql",
    PROJECT_ROOT / "tests" / "operational-schema.sql",
)


def contract_sql_path() -> Path:
    """``../shared/operational-schema.sql`` (the contract)."""
    for candidate in CONTRACT_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("operational-schema.sql introuvable (attendu dans ../shared/)")


def create_operational_tables(engine: Engine) -> None:
    """Create the website's tables: the contract SQL on PostgreSQL, the models on SQLite."""
    if engine.dialect.name == "postgresql":
        sql = contract_sql_path().read_text(encoding="utf-8")
        with engine.begin() as connection:
            connection.exec_driver_sql(sql)
    else:
        Base.metadata.create_all(engine)

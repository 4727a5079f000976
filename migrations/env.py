"""Alembic environment: runs on the connection handed over by data.migrate,
or on an engine built from the settings when called as ``alembic upgrade head``."""

from __future__ import annotations

from alembic import context

from data.db import create_db_engine
from data.owned import OwnedBase
from data.settings import get_settings

config = context.config
target_metadata = OwnedBase.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table="dashboard_alembic_version",
        render_as_batch=connection.dialect.name == "sqlite",
        # Only our tables are ours to compare; the website's are not.
        include_name=lambda name, type_, _parent: type_ != "table" or name.startswith("dashboard_"),
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_db_engine(get_settings().database_url)
    with engine.begin() as conn:
        _run(conn)

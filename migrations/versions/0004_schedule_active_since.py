"""Schedules: ``active_since``, from when a schedule's due times are owed.

The scheduler used to count due times from ``updated_at``, so editing a
schedule's name or recipients just after a due time, before the scheduler's
tick, dropped that run without a trace. ``active_since`` moves only on
creation, on resume and when the recurrence changes. Existing schedules start
from their last update, as before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from data.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "dashboard_report_schedules"


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("active_since", UTCDateTime(), nullable=True))
    op.execute(f"UPDATE {TABLE} SET active_since = updated_at")


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("active_since")

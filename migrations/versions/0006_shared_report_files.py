"""Several machines: report files in the database, scheduler processes visible.

- ``dashboard_report_files``: the files a run rendered (PDF, Excel: small),
  so that every app instance can offer them for download and any scheduler
  can attach them on a retry or a resend. They used to live on the disk of
  the machine that built them.
- ``dashboard_report_runs.message``: the composed subject and body (on time
  and late), kept with the run for the same reason (was ``message.json``).
- ``dashboard_scheduler_processes``: one row per running scheduler process,
  touched at every tick (and every lease renewal), so that the operations
  page and ``python -m data.health`` can tell the active scheduler and its
  standbys apart, and see one that stopped answering.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from data.types import JSONDocument, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_report_files",
        sa.Column(
            "run_id", sa.BigInteger(), sa.ForeignKey("dashboard_report_runs.id"), nullable=False
        ),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("attached", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("run_id", "filename", name="pk_dashboard_report_files"),
    )
    with op.batch_alter_table("dashboard_report_runs") as batch:
        batch.add_column(sa.Column("message", JSONDocument, nullable=True))
    op.create_table(
        "dashboard_scheduler_processes",
        sa.Column("worker", sa.Text(), primary_key=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("tick_seconds", sa.Integer(), nullable=False),
        sa.Column("lease_seconds", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_table("dashboard_scheduler_processes")
    with op.batch_alter_table("dashboard_report_runs") as batch:
        batch.drop_column("message")
    op.drop_table("dashboard_report_files")

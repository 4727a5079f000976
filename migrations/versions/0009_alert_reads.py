"""Indexes for the alert evaluation's reads at 1,000,000 applications.

1. A partial index on the staff accounts of ``users`` (both databases).

The website's ``users`` table holds every trainee and recruiter (920,000 of its
927,000 rows on the 1,000,000-application benchmark database) beside a handful of
staff. Reading the staff by role (the recipients of an alert, the people
applications may be assigned to) scanned the whole table: 150 ms a read with
parallel workers, once per alert opened, so the first alert evaluation on that
database ran for hours. The index holds the staff rows only, so the website pays
for it only when it writes a staff account.

2. On PostgreSQL, 0002's ``ix_dash_candidatures_pending_assignee`` (each member's
open applications) becomes covering, ``INCLUDE (id, statut, created_at)``: the staff
workload rule counts each member's open and overdue applications from the index
alone instead of fetching 25,000 rows (158 ms warm on the benchmark database). It
replaces the plain one, so the website keeps the same number of indexes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NAME = "ix_dash_users_staff"
PENDING_ASSIGNEE = "ix_dash_candidatures_pending_assignee"
# 0002's PENDING (data.workflow.PENDING_STATUSES when it was written).
PENDING = "statut IN ('nouvelle', 'en_etude', 'entretien', 'admise')"
# data.models.STAFF_ROLES when this was written (a migration does not follow the code).
STAFF = "role IN ('admin', 'direction', 'secretariat')"


def upgrade() -> None:
    op.create_index(
        NAME,
        "users",
        ["role", "id"],
        postgresql_where=sa.text(STAFF),
        sqlite_where=sa.text(STAFF),
        if_not_exists=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        _pending_assignee(include=["id", "statut", "created_at"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pending_assignee(include=[])
    op.drop_index(NAME, table_name="users", if_exists=True)


def _pending_assignee(include: list[str]) -> None:
    op.drop_index(PENDING_ASSIGNEE, table_name="candidatures", if_exists=True)
    op.create_index(
        PENDING_ASSIGNEE,
        "candidatures",
        ["assigned_to"],
        postgresql_where=sa.text(PENDING),
        postgresql_include=include,
    )

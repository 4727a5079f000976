"""Drop three plain indexes that 0003's covering indexes made twins (PostgreSQL).

Each index on the website's tables costs the website a write on every insert.
0003 added covering indexes whose keys start with the same columns as three
plain indexes of 0001, and kept both. Measured with ``python -m benchmarks``
(sections kpis and breakdowns, 1,000,000 applications, shared buffers touched,
a figure the machine's load does not change): without the three plain ones,
4,506,212 buffers against 4,516,097 with them; the planner reads the covering
index instead, at no cost. Dropped here:

- ``ix_dash_placements_user``      (twin of ``ix_dash_kpi_placements_window``)
- ``ix_dash_matchings_date_match`` (twin of ``ix_dash_kpi_matchings_period``)
- ``ix_dash_evaluations_created_at`` (twin of ``ix_dash_kpi_evaluations_period``)

Kept, by the same measurement: ``ix_dash_candidatures_session_seats`` (0002)
beside ``ix_dash_kpi_candidatures_session``: without it the seat counts read
the covering index, 6.6 times its size, and the same run touched 2 % more
buffers (4,603,687); without the covering one, the KPI statements lose their
index-only reads. SQLite (the embedded demo) has no covering indexes and keeps
the plain ones.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Plain index -> (table, columns, its covering twin from 0003).
TWINS = {
    "ix_dash_placements_user": (
        "placements",
        ["user_id", "date_debut"],
        "ix_dash_kpi_placements_window",
    ),
    "ix_dash_matchings_date_match": ("matchings", ["date_match"], "ix_dash_kpi_matchings_period"),
    "ix_dash_evaluations_created_at": (
        "evaluations",
        ["created_at"],
        "ix_dash_kpi_evaluations_period",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, _columns, _twin) in TWINS.items():
        op.drop_index(name, table_name=table, if_exists=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, columns, _twin) in TWINS.items():
        op.create_index(name, table, columns, if_not_exists=True)

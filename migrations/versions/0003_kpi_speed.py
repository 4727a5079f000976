"""KPI speed: the per-application event summary and covering indexes for the KPI
reads on 1,000,000 applications.

- ``dashboard_kpi_application_facts``: per application, the highest stage rank
  among its events and its first response (see ``data.kpis.summary``), built
  here from the whole event history, then kept exact by an incremental refresh;
- ``dashboard_kpi_refresh_state`` / ``dashboard_kpi_refresh_gaps``: how far that
  refresh has read, and the event ids it must re-read until they settle;
- PostgreSQL only: covering indexes (``INCLUDE``) so that every KPI statement
  reads only the period's rows, from the index alone where it can.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from data.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SUMMARY = "application_facts"
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Name -> (table, key columns, included columns, partial-index condition).
# PostgreSQL only: SQLite (the embedded demo) has no INCLUDE and no need for them.
COVERING_INDEXES = {
    # Cohort A in id order (a period's applications have neighbouring ids), with
    # what the funnel needs, merge-joined with the summary's primary key (kept
    # narrow: wider, the planner prefers the primary key and the table).
    "ix_dash_kpi_candidatures_cohort": ("candidatures", ["id"], ["created_at", "statut"], None),
    # Applications of a set of sessions: fill rate, completions and dropouts.
    "ix_dash_kpi_candidatures_session": (
        "candidatures",
        ["session_id", "statut"],
        ["id", "user_id", "formation_id"],
        None,
    ),
    # A trainee's placements starting within the 6-month window.
    "ix_dash_kpi_placements_window": (
        "placements",
        ["user_id", "date_debut"],
        ["type_contrat", "duree_mois"],
        None,
    ),
    # Money: each sum reads its own invoices from a narrow partial index
    # (the KPI's own condition), so the planner prefers it to the table.
    "ix_dash_kpi_factures_invoiced": (
        "factures",
        ["date_emission"],
        ["montant"],
        "statut <> 'annulee'",
    ),
    "ix_dash_kpi_factures_collected": (
        "factures",
        ["date_paiement"],
        ["montant"],
        "statut = 'payee'",
    ),
    "ix_dash_kpi_factures_due": ("factures", ["date_echeance"], ["montant"], "statut = 'emise'"),
    "ix_dash_kpi_matchings_period": ("matchings", ["date_match"], ["statut", "offre_id"], None),
    "ix_dash_kpi_evaluations_period": (
        "evaluations",
        ["created_at"],
        ["note", "candidature_id"],
        None,
    ),
}

# The stage ranks of contract/kpi-definitions.md (data.labels.RANKS), written out
# so that this revision keeps building the same summary whatever the code becomes.
RANK_CASE = (
    "CASE to_statut WHEN 'nouvelle' THEN 0 WHEN 'en_etude' THEN 1 WHEN 'entretien' THEN 2 "
    "WHEN 'admise' THEN 3 WHEN 'inscrite' THEN 4 WHEN 'en_formation' THEN 5 "
    "WHEN 'terminee' THEN 6 WHEN 'abandon' THEN 5 ELSE -1 END"
)
FOLD_SELECT = (
    f"SELECT candidature_id, max({RANK_CASE}), "
    "min(CASE WHEN from_statut = 'nouvelle' THEN changed_at END) "
    "FROM candidature_events GROUP BY candidature_id"
)
FACT_COLUMNS = "(candidature_id, max_event_rank, first_response_at)"

# PostgreSQL: one statement, so the facts, the ids missing from the history
# (rolled back or not yet committed: re-read by the refresh until they settle)
# and the high-water mark all come from the same snapshot.
PG_INITIAL_BUILD = f"""
WITH folded AS (
    INSERT INTO dashboard_kpi_application_facts {FACT_COLUMNS}
    {FOLD_SELECT}
    RETURNING 1
), gaps AS (
    INSERT INTO dashboard_kpi_refresh_gaps (name, lo, hi, horizon)
    SELECT '{SUMMARY}', lo, hi, NULL FROM (
        SELECT lag(id, 1, CAST(0 AS BIGINT)) OVER (ORDER BY id) + 1 AS lo, id - 1 AS hi
        FROM candidature_events
    ) AS holes
    WHERE hi >= lo
    RETURNING 1
)
INSERT INTO dashboard_kpi_refresh_state (name, seen_event_id, refreshed_at)
SELECT '{SUMMARY}', coalesce(max(id), 0), now() FROM candidature_events
"""


def _create_tables() -> None:
    op.create_table(
        "dashboard_kpi_application_facts",
        sa.Column("candidature_id", ID, primary_key=True, autoincrement=False),
        sa.Column("max_event_rank", sa.SmallInteger(), nullable=False),
        sa.Column("first_response_at", UTCDateTime()),
    )
    op.create_table(
        "dashboard_kpi_refresh_state",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("seen_event_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("refreshed_at", UTCDateTime()),
    )
    op.create_table(
        "dashboard_kpi_refresh_gaps",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("lo", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hi", sa.BigInteger(), nullable=False),
        sa.Column("horizon", sa.BigInteger()),
    )


def _initial_build(postgresql: bool) -> None:
    if postgresql:
        # Building the summary of a large history takes longer than the
        # application's statement timeout; it runs once, here.
        op.execute("SET LOCAL statement_timeout = 0")
        op.execute(PG_INITIAL_BUILD)
        return
    # SQLite has a single writer: no event can commit behind a higher id.
    op.execute(f"INSERT INTO dashboard_kpi_application_facts {FACT_COLUMNS} {FOLD_SELECT}")
    op.execute(
        "INSERT INTO dashboard_kpi_refresh_state (name, seen_event_id, refreshed_at) "
        f"SELECT '{SUMMARY}', coalesce(max(id), 0), CURRENT_TIMESTAMP FROM candidature_events"
    )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _create_tables()
    _initial_build(postgresql)
    if postgresql:
        for name, (table, columns, included, where) in COVERING_INDEXES.items():
            op.create_index(
                name,
                table,
                columns,
                if_not_exists=True,
                postgresql_include=included,
                postgresql_where=None if where is None else sa.text(where),
            )
        op.execute(
            "ANALYZE dashboard_kpi_application_facts, candidatures, placements, "
            "factures, matchings, evaluations"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, (table, *_definition) in COVERING_INDEXES.items():
            op.drop_index(name, table_name=table, if_exists=True)
    op.drop_table("dashboard_kpi_refresh_gaps")
    op.drop_table("dashboard_kpi_refresh_state")
    op.drop_table("dashboard_kpi_application_facts")

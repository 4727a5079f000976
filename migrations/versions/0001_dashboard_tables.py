"""Dashboard-owned tables: audit log, sign-in log, auth sessions, triage notes,
report schedules, runs, deliveries and the scheduler lease; base indexes on
the website's tables for the dashboard's reads.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from data.types import JSONDocument, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Indexes the dashboard's reads need on the website's tables (ours to add,
# per the contract). Name -> (table, columns).
OPERATIONAL_INDEXES = {
    "ix_dash_candidatures_created_at": ("candidatures", ["created_at"]),
    "ix_dash_candidatures_statut_created": ("candidatures", ["statut", "created_at", "id"]),
    "ix_dash_candidatures_session": ("candidatures", ["session_id"]),
    "ix_dash_candidatures_user": ("candidatures", ["user_id"]),
    "ix_dash_candidatures_assigned": ("candidatures", ["assigned_to"]),
    "ix_dash_candidature_events_candidature": (
        "candidature_events",
        ["candidature_id", "changed_at"],
    ),
    "ix_dash_sessions_date_debut": ("sessions_formation", ["date_debut"]),
    "ix_dash_sessions_date_fin": ("sessions_formation", ["date_fin"]),
    "ix_dash_factures_emission": ("factures", ["date_emission"]),
    "ix_dash_factures_paiement": ("factures", ["date_paiement"]),
    "ix_dash_factures_echeance": ("factures", ["statut", "date_echeance"]),
    "ix_dash_devis_sent_at": ("devis", ["sent_at"]),
    "ix_dash_evaluations_created_at": ("evaluations", ["created_at"]),
    "ix_dash_evaluations_candidature": ("evaluations", ["candidature_id"]),
    "ix_dash_matchings_date_match": ("matchings", ["date_match"]),
    "ix_dash_matchings_statut_score": ("matchings", ["statut", "score"]),
    "ix_dash_placements_user": ("placements", ["user_id", "date_debut"]),
    "ix_dash_offres_created_at": ("offres_emploi", ["created_at"]),
    "ix_dash_contacts_created_at": ("contacts", ["created_at"]),
}


def _now() -> sa.TextClause:
    return sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "dashboard_audit_log",
        sa.Column("id", ID, primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False, server_default=_now()),
        sa.Column("actor_id", sa.BigInteger()),
        sa.Column("actor_email", sa.Text()),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("details", JSONDocument),
    )
    op.create_index("ix_dashboard_audit_log_created_at", "dashboard_audit_log", ["created_at"])
    op.create_index("ix_dashboard_audit_log_entity", "dashboard_audit_log", ["entity", "entity_id"])
    op.create_index(
        "ix_dashboard_audit_log_actor", "dashboard_audit_log", ["actor_id", "created_at"]
    )

    op.create_table(
        "dashboard_signin_log",
        sa.Column("id", ID, primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False, server_default=_now()),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("user_id", sa.BigInteger()),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_dashboard_signin_log_email", "dashboard_signin_log", ["email", "created_at"]
    )
    op.create_index("ix_dashboard_signin_log_created_at", "dashboard_signin_log", ["created_at"])

    op.create_table(
        "dashboard_auth_sessions",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False, server_default=_now()),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
    )
    op.create_index("ix_dashboard_auth_sessions_user", "dashboard_auth_sessions", ["user_id"])

    op.create_table(
        "dashboard_triage_notes",
        sa.Column("id", ID, primary_key=True),
        sa.Column("candidature_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False, server_default=_now()),
    )
    op.create_index(
        "ix_dashboard_triage_notes_candidature",
        "dashboard_triage_notes",
        ["candidature_id", "created_at"],
    )

    op.create_table(
        "dashboard_report_schedules",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("formats", JSONDocument, nullable=False),
        sa.Column("frequency", sa.Text(), nullable=False),
        sa.Column("weekday", sa.Integer()),
        sa.Column("monthday", sa.Integer()),
        sa.Column("time_of_day", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("formation_slug", sa.Text()),
        sa.Column("recipients", JSONDocument, nullable=False),
        sa.Column("only_if_content", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("owner_id", sa.BigInteger()),
        sa.Column("created_at", UTCDateTime(), nullable=False, server_default=_now()),
        sa.Column("updated_at", UTCDateTime(), nullable=False, server_default=_now()),
        sa.Column("deleted_at", UTCDateTime()),
    )

    op.create_table(
        "dashboard_report_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "schedule_id",
            sa.BigInteger(),
            sa.ForeignKey("dashboard_report_schedules.id"),
            nullable=False,
        ),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("claimed_by", sa.Text()),
        sa.Column("claimed_at", UTCDateTime()),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("period_from", sa.Date()),
        sa.Column("period_to", sa.Date()),
        sa.Column("attachments", JSONDocument),
        sa.Column("error", sa.Text()),
        sa.UniqueConstraint("schedule_id", "due_at", name="uq_dashboard_report_runs_due"),
    )
    op.create_index("ix_dashboard_report_runs_status", "dashboard_report_runs", ["status"])

    op.create_table(
        "dashboard_report_deliveries",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "run_id", sa.BigInteger(), sa.ForeignKey("dashboard_report_runs.id"), nullable=False
        ),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime(), nullable=False, server_default=_now()),
        sa.UniqueConstraint("run_id", "recipient", name="uq_dashboard_report_deliveries_recipient"),
    )

    op.create_table(
        "dashboard_scheduler_lease",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )

    for name, (table, columns) in OPERATIONAL_INDEXES.items():
        op.create_index(name, table, columns, if_not_exists=True)


def downgrade() -> None:
    for name, (table, _columns) in OPERATIONAL_INDEXES.items():
        op.drop_index(name, table_name=table, if_exists=True)
    for table in (
        "dashboard_scheduler_lease",
        "dashboard_report_deliveries",
        "dashboard_report_runs",
        "dashboard_report_schedules",
        "dashboard_triage_notes",
        "dashboard_auth_sessions",
        "dashboard_signin_log",
        "dashboard_audit_log",
    ):
        op.drop_table(table)

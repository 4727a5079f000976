"""Alerts and the notification centre (issue 15).

- ``dashboard_alert_rules``: the built-in rules and the KPI goal lines, their
  thresholds, pause flag and last evaluation (time, duration, outcome).
- ``dashboard_alerts``: one alert per (rule, subject) from pending to resolved;
  a partial unique index keeps at most one open alert per (rule, subject).
- ``dashboard_alert_transitions``: every state change, under a unique claim key.
- ``dashboard_notifications``: one notice per user per transition, read or not,
  with its email's status (claimed before the SMTP call).
- ``dashboard_alert_preferences``: per user and kind of rule: app, immediate,
  digest (at an hour) or off.
- ``dashboard_alert_digests``: one daily digest per user and local day.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from data.types import JSONDocument, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OPEN = sa.text("state <> 'resolved'")


def upgrade() -> None:
    op.create_table(
        "dashboard_alert_rules",
        sa.Column("id", _BIG, primary_key=True),
        sa.Column("key", sa.Text(), nullable=False, unique=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("roles", JSONDocument, nullable=False),
        sa.Column("params", JSONDocument, nullable=False),
        sa.Column("for_minutes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("quiet_minutes", sa.Integer(), nullable=False, server_default="60"),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("memory", JSONDocument, nullable=True),
        sa.Column("last_evaluated_at", UTCDateTime(), nullable=True),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.Column("last_outcome", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "dashboard_alerts",
        sa.Column("id", _BIG, primary_key=True),
        sa.Column(
            "rule_id", sa.BigInteger(), sa.ForeignKey("dashboard_alert_rules.id"), nullable=False
        ),
        sa.Column("subject_key", sa.Text(), nullable=False),
        sa.Column("subject_label", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("details", JSONDocument, nullable=True),
        sa.Column("recipients", JSONDocument, nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("firing_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("last_true_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.BigInteger(), nullable=True),
        sa.Column("ack_comment", sa.Text(), nullable=True),
        sa.Column("snoozed_until", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "uq_dashboard_alerts_open",
        "dashboard_alerts",
        ["rule_id", "subject_key"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )
    op.create_index(
        "ix_dashboard_alerts_subject",
        "dashboard_alerts",
        ["rule_id", "subject_key", "resolved_at"],
    )
    op.create_index("ix_dashboard_alerts_state", "dashboard_alerts", ["state"])
    op.create_table(
        "dashboard_alert_transitions",
        sa.Column("id", _BIG, primary_key=True),
        sa.Column(
            "alert_id", sa.BigInteger(), sa.ForeignKey("dashboard_alerts.id"), nullable=False
        ),
        sa.Column("claim_key", sa.Text(), nullable=False, unique=True),
        sa.Column("from_state", sa.Text(), nullable=True),
        sa.Column("to_state", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_dashboard_alert_transitions_alert", "dashboard_alert_transitions", ["alert_id", "at"]
    )
    op.create_table(
        "dashboard_notifications",
        sa.Column("id", _BIG, primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "alert_id", sa.BigInteger(), sa.ForeignKey("dashboard_alerts.id"), nullable=False
        ),
        sa.Column(
            "transition_id",
            sa.BigInteger(),
            sa.ForeignKey("dashboard_alert_transitions.id"),
            nullable=False,
        ),
        sa.Column("rule_kind", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("email_status", sa.Text(), nullable=False, server_default="none"),
        sa.Column("email_error", sa.Text(), nullable=True),
        sa.Column("emailed_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("transition_id", "user_id", name="uq_dashboard_notifications_once"),
    )
    op.create_index(
        "ix_dashboard_notifications_user", "dashboard_notifications", ["user_id", "read_at"]
    )
    op.create_index("ix_dashboard_notifications_email", "dashboard_notifications", ["email_status"])
    op.create_table(
        "dashboard_alert_preferences",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_kind", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False, server_default="8"),
        sa.PrimaryKeyConstraint("user_id", "rule_kind", name="pk_dashboard_alert_preferences"),
    )
    op.create_table(
        "dashboard_alert_digests",
        sa.Column("id", _BIG, primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("user_id", "day", name="uq_dashboard_alert_digests_day"),
    )


def downgrade() -> None:
    op.drop_table("dashboard_alert_digests")
    op.drop_table("dashboard_alert_preferences")
    op.drop_table("dashboard_notifications")
    op.drop_table("dashboard_alert_transitions")
    op.drop_table("dashboard_alerts")
    op.drop_table("dashboard_alert_rules")

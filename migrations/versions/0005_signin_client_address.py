"""Sign-in log: the client address of each attempt, for throttling per address.

Attempts are throttled per (email, client address) with growing delays, per
client address, and by a server-wide ceiling of password checks a minute
(``data.auth``). Older rows have no address.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "dashboard_signin_log"
INDEX = "ix_dashboard_signin_log_address"


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("client_address", sa.Text(), nullable=True))
    op.create_index(INDEX, TABLE, ["client_address", "created_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("client_address")

"""Notifications: which deliveries that need a person have been told about, and how.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

from kmcomms.ledger.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("delivery_id", sa.String(32), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("notified_at", UTCDateTime, nullable=False),
        sa.Column("via", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", "state"),
    )

"""The local channels and the tracking server: each newsletter recipient of a delivery,
addresses never to be written to again, the links a delivery registered for click
tracking, and the key tracking tokens are signed with.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

from kmcomms.ledger.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recipients",
        sa.Column("delivery_id", sa.String(32), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message_id", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("sent_at", UTCDateTime),
        sa.PrimaryKeyConstraint("delivery_id", "email"),
    )
    op.create_table(
        "suppressions",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("suppressed_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "tracked_links",
        sa.Column("delivery_id", sa.String(32), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("link_id", sa.String(16), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", "link_id"),
    )
    op.create_table(
        "tracking_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )

"""The first ledger: deliveries, attempts, publications, approvals, reach, evidence, contacts.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from kmcomms.ledger.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("campaign", sa.String(100), nullable=False),
        sa.Column("message", sa.String(100), nullable=False),
        sa.Column("occurrence", sa.String(32), nullable=False),
        sa.Column("audience", sa.String(100), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("planned_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(32), sa.ForeignKey("deliveries.id"), nullable=False, index=True),
        sa.Column("worker", sa.String(100), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_table(
        "publications",
        sa.Column("delivery_id", sa.String(32), sa.ForeignKey("deliveries.id"), primary_key=True),
        sa.Column("remote_id", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("campaign", sa.String(100), nullable=False),
        sa.Column("message", sa.String(100), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=False),
        sa.Column("approved_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_approvals_message", "approvals", ["campaign", "message"])
    op.create_table(
        "reach_samples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(32), sa.ForeignKey("deliveries.id")),
        sa.Column("campaign", sa.String(100), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("observed_at", UTCDateTime, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("quality", sa.Text),
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("campaign", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("happened_on", UTCDateTime, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("notes", sa.Text),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("list", sa.String(100), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("audience", sa.String(100), nullable=False),
        sa.Column("consent_date", UTCDateTime),
        sa.Column("unsubscribed_at", UTCDateTime),
        sa.Column("bounced_at", UTCDateTime),
        sa.UniqueConstraint("list", "email", name="uq_contacts_list_email"),
    )

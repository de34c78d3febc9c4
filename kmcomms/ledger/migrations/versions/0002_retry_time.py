"""Retries wait: `deliveries.not_before`; and the index the dispatcher's claim query uses.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from kmcomms.ledger.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("not_before", UTCDateTime))
    op.create_index("ix_deliveries_state_due", "deliveries", ["state", "due_at"])

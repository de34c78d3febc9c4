"""Manual reach records keep what they name: `reach_samples.message`, `audience`,
`language` and `channel` (all nullable: a channel's samples and older records have none).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reach_samples") as batch:
        batch.add_column(sa.Column("message", sa.String(100)))
        batch.add_column(sa.Column("audience", sa.String(100)))
        batch.add_column(sa.Column("language", sa.String(35)))
        batch.add_column(sa.Column("channel", sa.String(100)))

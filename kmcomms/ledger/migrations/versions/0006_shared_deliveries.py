"""A delivery on a broadcast channel (blog, video listing, social) is one item shared by
every audience it reaches: `deliveries.audience` becomes `audiences`, the audience ids
separated by spaces (one id, as before, on a targeted channel).

Rows planned per audience before this keep their ids, history and publications; the
ledger's sync never publishes a shared item where one of them went out
(`kmcomms.plan.per_audience_ids`).

Revision ID: 0006
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain RENAME COLUMN (SQLite 3.25+, PostgreSQL): a batch copy of the table would
    # have to drop the table every other one refers to.
    op.execute("ALTER TABLE deliveries RENAME COLUMN audience TO audiences")
    if op.get_bind().dialect.name == "postgresql":  # SQLite does not enforce VARCHAR lengths
        op.execute("ALTER TABLE deliveries ALTER COLUMN audiences TYPE TEXT")

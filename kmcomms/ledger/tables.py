"""The ledger's tables (SQLAlchemy Core). The schema itself is made by the Alembic
migrations in `migrations/`; these definitions are what the code reads and writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "LedgerRow",
    "UTCDateTime",
    "approvals",
    "attempts",
    "contacts",
    "deliveries",
    "evidence",
    "metadata",
    "notifications",
    "publications",
    "reach_samples",
    "recipients",
    "suppressions",
    "tracked_links",
    "tracking_keys",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database: SQLite keeps
    no zone, so UTC is what is stored and what is read back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the ledger stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


LedgerRow: TypeAlias = Row[*tuple[Any, ...]]
"""A row read from a ledger table (a whole one, or joined with more columns): its columns
by name (`row.id`, `row.state`). Core tables carry no Python types, so each reads as Any."""

metadata = MetaData()

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("campaign", String(100), nullable=False),
    Column("message", String(100), nullable=False),
    Column("occurrence", String(32), nullable=False),
    # Space-separated audience ids (0006): one on a targeted channel, each audience that
    # shares the item on a broadcast channel.
    Column("audiences", Text, nullable=False),
    Column("language", String(35), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", UTCDateTime),
    Column("lease_owner", String(100)),
    Column("lease_until", UTCDateTime),
    Column("planned_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_deliveries_state_due", "state", "due_at"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(32), ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("worker", String(100), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
)

publications = Table(
    "publications",
    metadata,
    Column("delivery_id", String(32), ForeignKey("deliveries.id"), primary_key=True),
    Column("remote_id", Text),
    Column("url", Text),
    Column("published_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign", String(100), nullable=False),
    Column("message", String(100), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("approved_by", String(200), nullable=False),
    Column("approved_at", UTCDateTime, nullable=False),
    Index("ix_approvals_message", "campaign", "message"),
)

reach_samples = Table(
    "reach_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(32), ForeignKey("deliveries.id")),
    Column("campaign", String(100), nullable=False),
    Column("metric", String(64), nullable=False),
    Column("value", Float, nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("source", String(32), nullable=False),
    Column("quality", Text),
    # What a manual record names (0005): for a record tied to no delivery, where it counts.
    Column("message", String(100)),
    Column("audience", String(100)),
    Column("language", String(35)),
    Column("channel", String(100)),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign", String(100), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("happened_on", UTCDateTime, nullable=False),
    Column("source", Text),
    Column("url", Text),
    Column("notes", Text),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list", String(100), nullable=False),
    Column("email", String(320), nullable=False),
    Column("name", Text),
    Column("language", String(35), nullable=False),
    Column("audience", String(100), nullable=False),
    Column("consent_date", UTCDateTime),
    Column("unsubscribed_at", UTCDateTime),
    Column("bounced_at", UTCDateTime),
    UniqueConstraint("list", "email", name="uq_contacts_list_email"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("delivery_id", String(32), ForeignKey("deliveries.id"), primary_key=True),
    Column("state", String(16), primary_key=True),
    Column("notified_at", UTCDateTime, nullable=False),
    Column("via", String(64), nullable=False),
)
"""Who was told that a delivery needs a person, once per delivery and state: `via` names
how (log, email, webhook). A person's `kmcomms resolve --retry` clears its rows, so a new
failure of the same delivery is told again."""

recipients = Table(
    "recipients",
    metadata,
    Column("delivery_id", String(32), ForeignKey("deliveries.id"), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("name", Text),
    Column("language", String(35), nullable=False),
    Column("state", String(16), nullable=False),
    Column("message_id", Text),
    Column("error", Text),
    Column("sent_at", UTCDateTime),
)
"""Who a newsletter or briefing delivery goes to, frozen when its send starts: one row per
recipient, `pending` until that one message is `sent` (or `rejected`, with the server's
answer in `error`, or `suppressed`). A send that resumes after a crash writes only to the
pending ones."""

suppressions = Table(
    "suppressions",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("detail", Text),
    Column("suppressed_at", UTCDateTime, nullable=False),
)
"""Addresses never written to again, whatever list they are on or are imported into later:
`reason` is "unsubscribed" or "bounced"."""

tracked_links = Table(
    "tracked_links",
    metadata,
    Column("delivery_id", String(32), ForeignKey("deliveries.id"), primary_key=True),
    Column("link_id", String(16), primary_key=True),
    Column("url", Text, nullable=False),
)
"""The links a delivery was published with: the tracking server redirects a click only
to the address registered here for that delivery and link."""

tracking_keys = Table(
    "tracking_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("secret", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
"""The key tracking tokens are signed with: made on first use and kept in the store, so
every daemon sharing it signs and checks alike, and nobody has to configure one."""

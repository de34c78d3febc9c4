"""`ledger_view`: the ledger's rows for some campaigns, as evaluation's input shapes.

The reach samples are reduced in SQL, as `reduce_samples` does in Python, to one row per
delivery, metric and source (for samples tied to no delivery, per message, audience,
language and channel too: `_attributes`): additive sources de-duplicated (same time and value counted
once) then summed; running totals cut to their latest reading (on equal times the larger
value). So a million samples come back as a few thousand rows, and `evaluate` on them
gives what it gives on the raw rows.

On SQLite one GROUP BY pass does it (`_sqlite_samples`): a group whose times are all
different has no duplicates and no ties, so its sum is the additive value and its latest
reading is the row of `max(observed_at)` (SQLite's bare columns with max()). The few
groups with a repeated time are done again by the exact queries (`_exact_queries`:
de-duplicating GROUP BY, then DISTINCT ON on PostgreSQL or ROW_NUMBER() elsewhere),
which other databases use for every group.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Engine, Row, Select, and_, distinct, func, literal, or_, select
from sqlalchemy.dialects.postgresql import distinct_on

from kmcomms.evaluate.model import ADDITIVE_SOURCES, DeliveryRow, EvidenceRow, Sample
from kmcomms.ledger.tables import deliveries, evidence, reach_samples

__all__ = ["ledger_view"]

_BATCH = 5000  # rows fetched at a time: memory stays flat however big the ledger

# campaign, delivery, metric, source, message, audience, language, channel
_Key = tuple[str, str | None, str, str, str | None, str | None, str | None, str | None]
_ATTRIBUTES = ("message", "audience", "language", "channel")
if TYPE_CHECKING:  # SQLAlchemy 2.0's Select takes one tuple type, not 2.1's spread of column types
    # A query's columns vary (the grouping columns are spread in), so its rows are read by name.
    _Query = Select[*tuple[Any, ...]]


def _attributes() -> list[ColumnElement[str | None]]:
    """What a sample names, as the reduction groups by it: the message, audience, language
    and channel of a campaign-wide sample; a delivery's samples name nothing (they are
    placed by their delivery: see `kmcomms.reach.store_reach`), so grouping by the columns
    as stored keeps each delivery in one group."""
    return [reach_samples.c[name] for name in _ATTRIBUTES]


def _keep(ids: list[str], start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    rs = reach_samples
    keep: list[ColumnElement[bool]] = [rs.c.campaign.in_(ids)]
    if end is not None:
        keep.append(rs.c.observed_at <= end)
    if start is not None:
        # A delivery's samples belong to the period of the delivery, however late they
        # were observed; a campaign-wide record to the period it was observed in.
        in_period = select(deliveries.c.id).where(deliveries.c.campaign.in_(ids), deliveries.c.due_at >= start)
        keep.append(or_(and_(rs.c.delivery_id.is_(None), rs.c.observed_at >= start), rs.c.delivery_id.in_(in_period)))
    return keep


def _exact_queries(keep: list[ColumnElement[bool]], dialect: str) -> tuple[_Query, _Query]:
    rs = reach_samples
    # Only the additive sources need duplicates dropped (GROUP BY every identifying
    # column, the costly step): a repeated running total does not change the latest.
    attributes = _attributes()
    identity = [rs.c.campaign, rs.c.delivery_id, rs.c.metric, rs.c.source, rs.c.observed_at, rs.c.value]
    distinct_rows = (
        select(*identity, *attributes, func.max(rs.c.quality).label("quality"))
        .where(*keep, rs.c.source.in_(sorted(ADDITIVE_SOURCES)))
        .group_by(*identity, *attributes)
        .subquery()
    )
    d = distinct_rows.c
    group = [d.campaign, d.delivery_id, d.metric, d.source, *(d[name] for name in _ATTRIBUTES)]
    additive = select(
        *group,
        func.sum(d.value).label("value"),
        func.max(d.observed_at).label("observed_at"),
        func.max(d.quality).label("quality"),
        func.count().label("observations"),
    ).group_by(*group)
    partition = [rs.c.campaign, rs.c.delivery_id, rs.c.metric, rs.c.source, *attributes]
    columns = [rs.c.campaign, rs.c.delivery_id, rs.c.metric, rs.c.source, *attributes]
    quality = func.max(rs.c.quality).over(partition_by=partition).label("quality")
    latest_first = [rs.c.observed_at.desc(), rs.c.value.desc()]
    running_keep = [*keep, rs.c.source.not_in(sorted(ADDITIVE_SOURCES))]
    if dialect == "postgresql":  # one sort, the first row of each group
        running = (
            select(*columns, rs.c.value, rs.c.observed_at, quality, literal(1).label("observations"))
            .where(*running_keep)
            .ext(distinct_on(*partition))
            .order_by(*partition, *latest_first)
        )
        return additive, running
    ranked = (
        select(
            *columns,
            rs.c.value,
            rs.c.observed_at,
            quality,
            func.row_number().over(partition_by=partition, order_by=latest_first).label("rank"),
        )
        .where(*running_keep)
        .subquery()
    )
    r = ranked.c
    running = select(
        r.campaign,
        r.delivery_id,
        r.metric,
        r.source,
        *(r[name] for name in _ATTRIBUTES),
        r.value,
        r.observed_at,
        r.quality,
        literal(1).label("observations"),
    ).where(r.rank == 1)
    return additive, running


def _sample(row: Row[*tuple[Any, ...]]) -> Sample:
    return Sample(
        row.campaign,
        row.metric,
        row.value,
        row.observed_at,
        row.source,
        row.delivery_id,
        row.quality,
        row.observations,
        row.message,
        row.audience,
        row.language,
        row.channel,
    )


def _exact_samples(db: Connection, keep: list[ColumnElement[bool]]) -> list[Sample]:
    return [
        _sample(row)
        for query in _exact_queries(keep, db.dialect.name)
        for row in db.execute(query.execution_options(yield_per=_BATCH))
    ]


def _sqlite_query(keep: list[ColumnElement[bool]]) -> _Query:
    """One row per group: its latest value and sum, and whether any time repeats in it
    (`times` below `rows`)."""
    rs = reach_samples
    attributes = _attributes()
    group = [rs.c.campaign, rs.c.delivery_id, rs.c.metric, rs.c.source, *attributes]
    # Exactly one max() in the query, so the bare `value` is the one of the latest row.
    return (
        select(
            rs.c.campaign,
            rs.c.delivery_id,
            rs.c.metric,
            rs.c.source,
            *attributes,
            func.max(rs.c.observed_at).label("observed_at"),
            rs.c.value.label("latest"),
            func.sum(rs.c.value).label("total"),
            func.count().label("rows"),
            func.count(distinct(rs.c.observed_at)).label("times"),
            func.json_group_array(distinct(rs.c.quality)).label("qualities"),
        )
        .where(*keep)
        .group_by(*group)
    )


def _sqlite_samples(db: Connection, keep: list[ColumnElement[bool]]) -> list[Sample]:
    rs = reach_samples
    found: dict[_Key, Sample] = {}
    tied: list[_Key] = []
    for row in db.execute(_sqlite_query(keep).execution_options(yield_per=_BATCH)):
        key = (
            row.campaign,
            row.delivery_id,
            row.metric,
            row.source,
            row.message,
            row.audience,
            row.language,
            row.channel,
        )
        if row.times != row.rows:  # a time repeated: duplicates or a tie, done exactly below
            tied.append(key)
            continue
        additive = row.source in ADDITIVE_SOURCES
        quality = max((q for q in json.loads(row.qualities) if q is not None), default=None)
        found[key] = Sample(
            row.campaign,
            row.metric,
            row.total if additive else row.latest,
            row.observed_at,
            row.source,
            row.delivery_id,
            quality,
            row.rows if additive else 1,
            row.message,
            row.audience,
            row.language,
            row.channel,
        )
    if tied:
        linked = sorted({key[1] for key in tied if key[1] is not None})
        unlinked = sorted({key[0] for key in tied if key[1] is None})
        only = or_(rs.c.delivery_id.in_(linked), and_(rs.c.delivery_id.is_(None), rs.c.campaign.in_(unlinked)))
        again = {
            (s.campaign, s.delivery_id, s.metric, s.source, s.message, s.audience, s.language, s.channel): s
            for s in _exact_samples(db, [*keep, only])
        }
        found.update((key, again[key]) for key in tied)
    return list(found.values())


def ledger_view(
    engine: Engine, campaign_ids: Iterable[str], start: datetime | None = None, end: datetime | None = None
) -> tuple[list[DeliveryRow], list[Sample], list[EvidenceRow]]:
    """The deliveries, reduced reach samples and evidence of `campaign_ids`.

    `end` (aware; pass the evaluation's `as_of`) drops samples and evidence observed
    after it, before the reduction, so a running total is its latest reading up to `end`.
    `start` (aware, optional: a unit report's period) keeps the deliveries due from it
    and their samples, the campaign-wide samples observed from it and the evidence from
    it. Deliveries due after `end` are kept: planned ones count in delivery health and
    in coverage gaps.
    """
    ids = sorted(set(campaign_ids))
    if not ids:
        return [], [], []
    d = deliveries.c
    delivery_query = select(d.id, d.campaign, d.message, d.audiences, d.language, d.channel, d.due_at, d.state).where(
        d.campaign.in_(ids)
    )
    if start is not None:
        delivery_query = delivery_query.where(d.due_at >= start)
    e = evidence.c
    evidence_query = select(e.campaign, e.kind, e.title, e.happened_on, e.source, e.url, e.notes).where(
        e.campaign.in_(ids)
    )
    if start is not None:
        evidence_query = evidence_query.where(e.happened_on >= start)
    if end is not None:
        evidence_query = evidence_query.where(e.happened_on <= end)
    keep = _keep(ids, start, end)
    with engine.connect() as db:
        rows = [
            DeliveryRow(i, campaign, message, tuple(audiences.split()), *rest)
            for i, campaign, message, audiences, *rest in db.execute(delivery_query.execution_options(yield_per=_BATCH))
        ]
        samples = _sqlite_samples(db, keep) if db.dialect.name == "sqlite" else _exact_samples(db, keep)
        records = [EvidenceRow(*row) for row in db.execute(evidence_query.execution_options(yield_per=_BATCH))]
    return rows, samples, records

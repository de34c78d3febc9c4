"""`ledger_view`: the ledger's rows for some campaigns, as evaluation's input shapes.

The reach samples are reduced in SQL, as `reduce_samples` does in Python: additive
sources de-duplicated (GROUP BY every identifying column) then summed per delivery,
metric and source (GROUP BY); running totals cut to their latest reading (ROW_NUMBER()
over the same partition). So a million samples come back as one row per delivery,
metric and source, and `evaluate` on them gives what it gives on the raw rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, Select, and_, func, literal, or_, select

from kmcomms.evaluate.model import ADDITIVE_SOURCES, DeliveryRow, EvidenceRow, Sample
from kmcomms.ledger.tables import deliveries, evidence, reach_samples

__all__ = ["ledger_view"]

_BATCH = 5000  # rows fetched at a time: memory stays flat however big the ledger


def _samples_query(ids: list[str], start: datetime | None, end: datetime | None) -> tuple[Select, Select]:  # type: ignore[type-arg]
    rs = reach_samples
    keep = [rs.c.campaign.in_(ids)]
    if end is not None:
        keep.append(rs.c.observed_at <= end)
    if start is not None:
        # A delivery's samples belong to the period of the delivery, however late they
        # were observed; a campaign-wide record to the period it was observed in.
        in_period = select(deliveries.c.id).where(deliveries.c.campaign.in_(ids), deliveries.c.due_at >= start)
        keep.append(or_(and_(rs.c.delivery_id.is_(None), rs.c.observed_at >= start), rs.c.delivery_id.in_(in_period)))
    # Only the additive sources need duplicates dropped (GROUP BY every identifying
    # column, the costly step): a repeated running total does not change the latest.
    identity = [rs.c.campaign, rs.c.delivery_id, rs.c.metric, rs.c.source, rs.c.observed_at, rs.c.value]
    distinct = (select(*identity, func.max(rs.c.quality).label("quality"))
                .where(*keep, rs.c.source.in_(sorted(ADDITIVE_SOURCES))).group_by(*identity).subquery())
    d = distinct.c
    group = [d.campaign, d.delivery_id, d.metric, d.source]
    additive = select(*group, func.sum(d.value).label("value"), func.max(d.observed_at).label("observed_at"),
                      func.max(d.quality).label("quality"), func.count().label("observations")).group_by(*group)
    partition = [rs.c.campaign, rs.c.delivery_id, rs.c.metric, rs.c.source]
    ranked = select(*partition, rs.c.value, rs.c.observed_at,
                    func.max(rs.c.quality).over(partition_by=partition).label("quality"),
                    func.row_number().over(partition_by=partition,
                                           order_by=[rs.c.observed_at.desc(), rs.c.value.desc()]).label("rank"),
                    ).where(*keep, rs.c.source.not_in(sorted(ADDITIVE_SOURCES))).subquery()
    r = ranked.c
    running = select(r.campaign, r.delivery_id, r.metric, r.source, r.value, r.observed_at, r.quality,
                     literal(1).label("observations")).where(r.rank == 1)
    return additive, running


def ledger_view(engine: Engine, campaign_ids: Iterable[str], start: datetime | None = None,
                end: datetime | None = None) -> tuple[list[DeliveryRow], list[Sample], list[EvidenceRow]]:
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
    delivery_query = select(d.id, d.campaign, d.message, d.audience, d.language, d.channel, d.due_at, d.state
                            ).where(d.campaign.in_(ids))
    if start is not None:
        delivery_query = delivery_query.where(d.due_at >= start)
    e = evidence.c
    evidence_query = select(e.campaign, e.kind, e.title, e.happened_on, e.source, e.url, e.notes).where(e.campaign.in_(ids))
    if start is not None:
        evidence_query = evidence_query.where(e.happened_on >= start)
    if end is not None:
        evidence_query = evidence_query.where(e.happened_on <= end)
    with engine.connect() as db:
        rows = [DeliveryRow(*row) for row in db.execute(delivery_query.execution_options(yield_per=_BATCH))]
        samples = [Sample(row.campaign, row.metric, row.value, row.observed_at, row.source, row.delivery_id,
                          row.quality, row.observations)
                   for query in _samples_query(ids, start, end)
                   for row in db.execute(query.execution_options(yield_per=_BATCH))]
        records = [EvidenceRow(*row) for row in db.execute(evidence_query.execution_options(yield_per=_BATCH))]
    return rows, samples, records

"""The data evaluation reads and writes: plain frozen dataclasses, no database.

Inputs (what the ledger holds, as `ledger_view` reads it or a test builds it):
`DeliveryRow`, `Sample`, `EvidenceRow`. Output: one `CampaignEvaluation` per campaign,
which the reports (`kmcomms.report`) render. Names here are a contract with the
reports: extend, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "ADDITIVE_SOURCES",
    "LEVELS",
    "PROJECTION_MIN_DAYS",
    "PROJECTION_MIN_SHARE",
    "SMALL_NUMBERS",
    "CampaignEvaluation",
    "CoverageGap",
    "DeliveryRow",
    "EvidenceRow",
    "IndicatorResult",
    "ObjectiveResult",
    "RateCell",
    "ReachCell",
    "Sample",
    "Status",
]

#: Sample sources whose values count what happened at `observed_at` and so ADD UP
#: (a manual record of 500 leaflets, a tracking event of 1 click). Every other source
#: (a channel's API: "api", "channel:<adapter>") reports running totals, of which only
#: the latest per delivery and metric counts.
ADDITIVE_SOURCES: frozenset[str] = frozenset({"manual", "tracking"})

#: The AMEC levels, in the order of the chain (the reports' "results by AMEC level").
LEVELS: tuple[str, ...] = ("output", "outtake", "outcome", "impact")

#: A rate whose denominator is below this is flagged "small numbers": a comparison on it
#: says little (one more click moves it by several points).
SMALL_NUMBERS = 30

#: An indicator's trend is projected to its deadline only once at least this many days
#: of its time (from the campaign's start) have passed...
PROJECTION_MIN_DAYS = 14
#: ...and at least this share of the time from the start to the deadline. The projection
#: multiplies what was gained so far by (time to the deadline) / (time so far): a day
#: into four months, by 120, so one clinic or a launch-day spike would decide the
#: forecast. After a quarter of the time the factor is at most 4, and after 14 days the
#: data spans two weekly cycles (clinics held on set days, weekday and weekend views).
#: Before then the status is "too early".
PROJECTION_MIN_SHARE = 0.25


class Status(StrEnum):
    """An indicator's or objective's status, from worst to best as `rank` orders them."""

    MISSED = "missed"
    AT_RISK = "at risk"
    NO_DATA = "no data"
    TOO_EARLY = "too early"
    """Measured, short of the target, but too little of its time has passed to project
    a trend (`PROJECTION_MIN_DAYS`, `PROJECTION_MIN_SHARE`)."""
    ON_TRACK = "on track"
    MET = "met"

    @property
    def rank(self) -> int:
        """0 for the worst (missed) up to 5 for the best (met): an objective takes the
        status of lowest rank among its indicators."""
        return list(Status).index(self)


# ------------------------------------------------------------------------------ inputs


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One delivery from the ledger: a message occurrence × language × channel, for one
    audience (a targeted channel) or shared by several (a broadcast channel)."""

    id: str
    campaign: str
    message: str
    audiences: tuple[str, ...]
    language: str
    channel: str
    due_at: datetime
    """Aware UTC."""
    state: str
    """planned, blocked, sending, retrying, published, failed, unknown, missed, cancelled."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One reach observation, or (from `ledger_view`) the reduction of several: for an
    additive source, `value` is their sum and `observed_at` the latest of them; for a
    running-total source, the latest one itself. Reducing again changes nothing, so
    `evaluate` gives the same answer on raw and on reduced samples."""

    campaign: str
    metric: str
    value: float
    observed_at: datetime
    """Aware UTC."""
    source: str
    """"manual", "tracking" (both add up: `ADDITIVE_SOURCES`) or a channel's ("api",
    "channel:<adapter>": running totals)."""
    delivery_id: str | None = None
    """None for a record about the campaign as a whole (e.g. leaflets not tied to one
    delivery); such a sample is placed by its own `audience`, `language` and `channel`
    (see those)."""
    quality: str | None = None
    """A note on the data, e.g. "opens include machine opens"."""
    observations: int = 1
    """How many samples `value` is made of: for an additive source, the distinct ones
    summed; for a running total, 1 (its latest reading)."""
    message: str | None = None
    audience: str | None = None
    language: str | None = None
    channel: str | None = None
    """What a manual record names. For a sample with a delivery, the delivery's are
    authoritative and these are ignored (a reduction leaves them None). For a campaign-wide
    sample they decide which indicators it counts towards (a filter on channels, audiences
    or languages matches only a sample naming one of them: a sample naming none counts only
    towards indicators with no such filter) and its reach cell (None: the campaign-wide
    part of the cell)."""


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """An outcome or impact record (`kmcomms evidence add`)."""

    campaign: str
    kind: str
    """A Researchfish "influence on policy, practice, patients and the public" type slug."""
    title: str
    happened_on: datetime
    source: str | None = None
    url: str | None = None
    notes: str | None = None


# ----------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """One indicator against its baseline and target, as of the evaluation's `as_of`."""

    aim: str
    objective: str
    id: str
    metric: str
    level: str
    """AMEC level: output, outtake, outcome, impact."""
    channels: tuple[str, ...] | None
    """The indicator's own filters (None: not filtered on that)."""
    audiences: tuple[str, ...]
    """The audiences counted: the indicator's own, or else its objective's."""
    languages: tuple[str, ...] | None
    baseline: float
    target: float
    deadline: datetime
    """End of the `by` day in the campaign's time zone, as an aware UTC instant."""
    decreasing: bool
    """True when the target is below the baseline (success is going down)."""
    value: float | None
    """The current value; None when no sample matched (status "no data")."""
    projected: float | None
    """The value the trend reaches at the deadline; None when not projected (no data,
    met, too early, or the deadline has passed)."""
    status: Status
    observations: int
    """Samples behind `value` (see `Sample.observations`)."""
    sources: tuple[str, ...]
    """The sample sources behind `value`, sorted."""
    quality: tuple[str, ...]
    """Distinct quality notes of those samples, sorted."""
    projects_from: datetime | None = None
    """For status "too early": the instant from which the trend will be projected (aware
    UTC); None otherwise."""


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    aim: str
    id: str
    statement: str
    audiences: tuple[str, ...]
    status: Status
    """The worst status of its indicators (missed < at risk < no data < too early <
    on track < met); "no data" for an objective without indicators."""
    indicators: tuple[IndicatorResult, ...]


@dataclass(frozen=True, slots=True)
class ReachCell:
    """Reach of one metric for one audience × language × channel: the sum over its
    deliveries of the latest running totals plus the additive records. A delivery shared
    by several audiences is in the cell of each (so cells of one metric may add up to
    more than its total: see `CampaignEvaluation.totals`). Samples tied to no delivery
    sit in the cell of the audience, language and channel they name, None for what they
    do not name."""

    audience: str | None
    language: str | None
    channel: str | None
    metric: str
    value: float
    deliveries: int
    """Deliveries with a sample of this metric in the cell."""


@dataclass(frozen=True, slots=True)
class CoverageGap:
    """An audience (language None) or one of its languages not reached."""

    audience: str
    language: str | None
    problem: str
    """"no deliveries" (none planned or sent, cancelled ones aside) or "no reach"
    (deliveries, but no sample with a value above 0)."""
    deliveries: int


@dataclass(frozen=True, slots=True)
class RateCell:
    """A rate ("clicks per recipient") for one group of one dimension, over the deliveries
    of that group that have a denominator above 0."""

    rate: str
    """E.g. "clicks per recipient"."""
    numerator: str
    """The metric counted."""
    denominator: str
    """A metric ("recipients") or "listings" (published deliveries)."""
    dimension: str
    """"channel", "language" or "audience"."""
    group: str
    numerator_value: float
    denominator_value: float
    value: float
    deliveries: int
    small_numbers: bool
    """The denominator is below `SMALL_NUMBERS`: label the comparison as such."""


@dataclass(frozen=True, slots=True)
class CampaignEvaluation:
    """Everything the reports need about one campaign, as of `as_of`."""

    campaign: str
    title: str
    as_of: datetime
    objectives: tuple[ObjectiveResult, ...]
    """In the campaign's aim and objective order."""
    by_level: dict[str, tuple[IndicatorResult, ...]]
    """Indicators grouped by AMEC level, keys in `LEVELS` order (every level present)."""
    reach: tuple[ReachCell, ...]
    """Sorted by audience, language, channel, metric (None last)."""
    totals: dict[str, float]
    """Reach per metric with each delivery counted once, however many audiences share it."""
    gaps: tuple[CoverageGap, ...]
    health: dict[str, int]
    """Deliveries per state: every state of the ledger, 0 when none."""
    health_by_channel: dict[str, dict[str, int]]
    """Deliveries per channel and state (only states with deliveries)."""
    rates: tuple[RateCell, ...]
    """What worked: sorted by rate, dimension, group."""
    evidence: dict[str, tuple[EvidenceRow, ...]]
    """Evidence records by kind (Researchfish type slug), each by date."""
    sources: dict[str, int]
    """Samples counted per source (see `Sample.observations`; methods and limitations)."""
    quality: tuple[str, ...]
    """Distinct quality notes of the samples counted, sorted."""
    unlinked: int
    """Samples counted that are tied to no delivery (or to one not among the rows)."""

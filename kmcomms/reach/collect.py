"""The reach collector: ask each channel for the reach of what it published, and append
what it says to the ledger.

    collect(engine, channels, now, campaign=None)   # every channel once: `kmcomms collect`
    collect_channel(engine, channel, now)           # one channel instance: a daemon job
    collect_interval(channel)                       # how often that job runs

For every published delivery with a remote id (one published by hand has none: nothing to
ask), the delivery's channel instance is asked `collect(publication)`, which gives running
totals (metric → value). Each total becomes one new `reach_samples` row: `observed_at`
now, source "channel:<adapter>", and the adapter's quality note for that metric if it has
one (its `reach_notes` mapping, e.g. {"opens": "opens include machine opens"}). Samples
are only ever appended; reports read the latest per delivery and metric.

Failures stay where they happen. A channel that raises for one publication (a post deleted
remotely, a bug) is recorded and its other publications are still asked; a
`TransientError` (rate limit, timeout, server error) stops asking that channel this round,
keeping its `retry_after`, since asking the same unwell remote again only makes it worse.
One channel's failure never stops another channel. What each channel gave is written in
one transaction per channel, so a failure later in a round keeps the samples before it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from kmcomms.channels.base import Channel, Publication, TransientError
from kmcomms.errors import KmcommsError, one_line
from kmcomms.ledger.queries import published
from kmcomms.ledger.reach import add_samples

__all__ = ["DEFAULT_INTERVAL", "ChannelResult", "CollectReport", "collect", "collect_channel", "collect_interval"]

#: How often a channel is asked when its settings do not say (`collect_minutes`).
DEFAULT_INTERVAL = timedelta(minutes=60)


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """One channel's round: publications asked, samples appended, and what went wrong."""

    channel: str
    asked: int = 0
    samples: int = 0
    errors: tuple[tuple[str, str], ...] = ()
    """(delivery id, or "" for the channel as a whole; what went wrong), in order."""
    stopped: bool = False
    """A transient error ended the round early: later publications were not asked."""
    retry_after: float | None = None
    """Seconds the remote asked to wait before the next call, when it said."""

    def as_dict(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "asked": self.asked,
            "samples": self.samples,
            "errors": [{"delivery": d or None, "error": e} for d, e in self.errors],
            "stopped": self.stopped,
            "retry_after": self.retry_after,
        }


@dataclass(frozen=True, slots=True)
class CollectReport:
    observed_at: datetime
    channels: tuple[ChannelResult, ...]

    @property
    def samples(self) -> int:
        return sum(c.samples for c in self.channels)

    @property
    def failed(self) -> bool:
        return any(c.errors for c in self.channels)

    def as_dict(self) -> dict[str, object]:
        return {
            "observed_at": self.observed_at.isoformat(),
            "samples": self.samples,
            "channels": [c.as_dict() for c in self.channels],
        }


def collect_interval(channel: Channel) -> timedelta:
    """How often the daemon asks `channel`: its `collect_minutes` setting, or an hour."""
    minutes = channel.settings.collect_minutes
    return DEFAULT_INTERVAL if minutes is None else timedelta(minutes=minutes)


def _totals(answer: object) -> dict[str, float]:
    """The adapter's answer as metric → finite value ≥ 0, or an error saying what is wrong."""
    if not isinstance(answer, Mapping):
        raise TypeError(f"collect() gave {type(answer).__name__}, not a mapping of metric to value")
    totals = {}
    for metric, value in answer.items():
        if not isinstance(metric, str) or not metric or len(metric) > 64:
            raise ValueError(f"collect() gave the metric name {metric!r}: metrics are names of at most 64 characters")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"collect() gave {metric} = {value!r}: values are numbers of zero or more")
        totals[metric] = float(value)
    return totals


def _ask(
    engine: Engine, channel: Channel, now: datetime, rows: list[tuple[str, str, str, str | None, str]]
) -> ChannelResult:
    source = f"channel:{channel.settings.adapter}"[:32]  # the column's width; adapter names are short
    notes = channel.reach_notes
    samples: list[dict[str, object]] = []
    errors: list[tuple[str, str]] = []
    asked, stopped, retry_after = 0, False, None
    for delivery, campaign, remote_id, url, _ in rows:
        asked += 1
        try:
            totals = _totals(channel.collect(Publication(remote_id, url)))
        except TransientError as exc:
            errors.append((delivery, one_line(str(exc))))
            stopped, retry_after = True, exc.retry_after
            break
        except KmcommsError as exc:  # the adapter's own words
            errors.append((delivery, one_line(str(exc))))
            continue
        except Exception as exc:  # noqa: BLE001 - an adapter bug is that publication's failure too; its type helps find it
            errors.append((delivery, one_line(f"{type(exc).__name__}: {exc}")))
            continue
        samples += [
            {
                "delivery_id": delivery,
                "campaign": campaign,
                "metric": metric,
                "value": value,
                "observed_at": now,
                "source": source,
                "quality": notes.get(metric),
            }
            for metric, value in totals.items()
        ]
    add_samples(engine, samples)
    return ChannelResult(channel.name, asked, len(samples), tuple(errors), stopped, retry_after)


def collect_channel(engine: Engine, channel: Channel, now: datetime, campaign: str | None = None) -> ChannelResult:
    """Ask one channel instance about each of its publications (of `campaign`, or all) and
    append the samples; never raises for what the channel does."""
    return _ask(engine, channel, now, published(engine, channel.name, campaign))


def collect(
    engine: Engine, channels: Mapping[str, Channel], now: datetime, campaign: str | None = None
) -> CollectReport:
    """One round over every channel that has publications (of `campaign`, or all). A
    delivery whose channel is no longer in the settings is reported, not asked."""
    by_channel: dict[str, list[tuple[str, str, str, str | None, str]]] = {}
    for row in published(engine, None, campaign):
        by_channel.setdefault(row[4], []).append(row)
    results = []
    for name, rows in by_channel.items():
        if name in channels:
            results.append(_ask(engine, channels[name], now, rows))
        else:
            missing = (
                f"{len(rows)} published deliveries are on channel {name}, which kmcomms.toml no longer has — "
                "add it back to collect their reach"
            )
            results.append(ChannelResult(name, errors=(("", missing),)))
    return CollectReport(now, tuple(results))

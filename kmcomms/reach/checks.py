"""The checks a manual record passes (`kmcomms.reach.records`), each giving a sentence that
says what is wrong and how to fix it.

The campaign is a loaded (valid) one; audience, language, channel and message are the
campaign's, and together name something the campaign plans (a message to that audience,
on that channel); a metric close to one of the campaign's indicator metrics but not equal
is taken for a typo; value a finite number ≥ 0; dates YYYY-MM-DD, not after today in the
campaign's time zone at `as_of`; texts one line of at most TEXT_LIMIT characters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from kmcomms.campaign.fields import close_match, closest
from kmcomms.campaign.models import Campaign
from kmcomms.campaign.schedule import message_channels
from kmcomms.errors import one_line

__all__ = [
    "TEXT_LIMIT",
    "date_problem",
    "find_campaign",
    "metric_problem",
    "one_of",
    "plan_problems",
    "text_problem",
    "today_for",
    "value_problem",
]

_METRIC = re.compile(r"(?=.{1,64}$)[a-z0-9]+(?:-[a-z0-9]+)*")
#: Longest note or evidence text kept: a paragraph, not a document.
TEXT_LIMIT = 2000


def today_for(campaign: Campaign | None, as_of: datetime) -> date:
    """Today where the campaign is; with no campaign, the furthest-ahead zone's (UTC+14),
    so that no one's today is called the future."""
    if campaign is None:
        return (as_of.astimezone(UTC) + timedelta(hours=14)).date()
    return as_of.astimezone(ZoneInfo(campaign.timezone)).date()


def date_problem(name: str, text: str, today: date) -> tuple[date | None, str | None]:
    if not text:
        return None, f"{name} is empty — write the day it happened as YYYY-MM-DD, e.g. {today.isoformat()}"
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return None, f'{name} "{text}" is not a date — write YYYY-MM-DD, e.g. {today.isoformat()}'
    if day > today:
        return None, f"{name} {text} is in the future (today is {today.isoformat()}) — record what has happened"
    return day, None


def text_problem(name: str, text: str) -> str | None:
    if one_line(text) != text:
        return f"{name} has a line break or control character — write it on one line"
    if len(text) > TEXT_LIMIT:
        return f"{name} is {len(text)} characters long — shorten it to at most {TEXT_LIMIT}"
    return None


def one_of(name: str, value: str, choices: Sequence[str], where: str) -> str | None:
    if value in choices:
        return None
    listed = ", ".join(sorted(choices)) or "none"
    return f'{name} "{value}" is not one of {where}{close_match(value, choices)} — use one of: {listed}'


def find_campaign(given: str, campaigns: Mapping[str, Campaign], broken: bool) -> tuple[Campaign | None, str | None]:
    """The campaign whose id is `given`, or what is wrong with it; `broken`: some campaigns
    were left out for their errors."""
    if not given:
        return None, "campaign is empty — write the id of the campaign this counts for"
    if given in campaigns:
        return campaigns[given], None
    hint = close_match(given, campaigns)
    left_out = " (campaigns with errors are left out: run `kmcomms validate`)" if broken else ""
    return (
        None,
        f'campaign "{given}" is not a campaign of this workspace{hint}{left_out} — use the id in its campaign.yaml',
    )


def plan_problems(fields: Mapping[str, str], campaign: Campaign, channels: frozenset[str]) -> list[str]:
    """How the audience, language, channel and message in `fields` fail to fit the
    campaign's plan; `channels`: the workspace's channel names."""
    audience, language, channel, message_id = (
        fields.get(k, "") for k in ("audience", "language", "channel", "message")
    )
    problems = []
    if audience and (
        p := one_of("audience", audience, list(campaign.audiences), f"campaign {campaign.id}'s audiences")
    ):
        problems.append(p)
        audience = ""
    if language:
        if audience:
            choices, where = campaign.audiences[audience].languages, f"the languages {audience} is reached in"
        else:
            choices = sorted({campaign.language, *(lang for a in campaign.audiences.values() for lang in a.languages)})
            where = f"campaign {campaign.id}'s languages"
        if p := one_of("language", language, choices, where):
            problems.append(p)
    planned = {c for a in campaign.audiences.values() for c in a.channels} | {
        c for m in campaign.messages for c in (m.channels or ())
    }
    if channel and (p := one_of("channel", channel, sorted(planned | channels), "the workspace's channels")):
        problems.append(p)
        channel = ""
    if not message_id:
        return problems
    messages = {m.id: m for m in campaign.messages}
    if p := one_of("message", message_id, list(messages), f"campaign {campaign.id}'s messages"):
        return [*problems, p]
    message = messages[message_id]
    if audience and audience not in message.audiences:
        problems.append(
            f"message {message_id} is not addressed to {audience} (it goes to {', '.join(message.audiences)}) "
            "— leave message empty or name one of those audiences"
        )
    elif channel:
        reached = (
            message_channels(campaign, message, audience)
            if audience
            else sorted({c for a in message.audiences for c in message_channels(campaign, message, a)})
        )
        if channel not in reached:
            problems.append(
                f"no delivery of message {message_id}{f' to {audience}' if audience else ''} goes out on "
                f"{channel} (it goes out on {', '.join(reached) or 'no channel'}) — leave message empty "
                "or name one of those channels"
            )
    return problems


def metric_problem(metric: str, campaign: Campaign | None) -> str | None:
    """What is wrong with the name of the metric counted, or None."""
    metrics = sorted({i.metric for a in campaign.aims for o in a.objectives for i in o.indicators}) if campaign else []
    if not metric:
        return "metric is empty — write what was counted, e.g. leaflets, attendees, broadcasts"
    if not _METRIC.fullmatch(metric):
        return (
            f'metric "{metric}" is not a metric name — use at most 64 lowercase letters, digits and '
            "hyphens, e.g. leaflets"
        )
    if metric not in metrics and closest(metric, metrics):
        # A new metric is fine (reach no indicator counts yet); one a letter off is a typo.
        return (
            f'metric "{metric}" is not counted by any indicator{close_match(metric, metrics)} — '
            f"use the indicator's metric ({', '.join(metrics)})"
        )
    return None


def value_problem(text: str) -> tuple[float | None, str | None]:
    """The count written in `text`, or what is wrong with it."""
    try:
        value = float(text)
    except ValueError:
        return None, (
            f'value "{text}" is not a number — write digits only, e.g. 500'
            if text
            else "value is empty — write how many, e.g. 500"
        )
    if not math.isfinite(value) or value < 0:
        return None, f"value {text} is not a count — write a number of zero or more, e.g. 500"
    return value, None

"""Cross-checks of a campaign that its models alone cannot see: references between its
parts and to the workspace's channels, duplicate ids, and schedules that fall outside the
campaign or before its embargo. Each finding is positioned on the YAML node it is about."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from itertools import islice
from pathlib import Path
from typing import Any

from kmcomms.campaign.fields import close_match, parse_every
from kmcomms.campaign.models import Campaign, Message, Repeat
from kmcomms.campaign.schedule import message_channels, occurrences, to_utc
from kmcomms.campaign.source import YamlDocument
from kmcomms.errors import Diagnostic, Severity

__all__ = ["MAX_OCCURRENCES", "check_campaign"]

#: One message's repeat may go out this many times; more is a mistake in its dates.
MAX_OCCURRENCES = 10_000


@dataclass
class _Findings:
    doc: YamlDocument
    found: list[Diagnostic] = field(default_factory=list)

    def add(self, severity: Severity, loc: tuple[Any, ...], code: str, message: str, key: bool = False) -> None:
        line, column = self.doc.position(loc, key)
        self.found.append(Diagnostic(str(self.doc.path), line, column, severity, code, message))

    def error(self, loc: tuple[Any, ...], code: str, message: str, key: bool = False) -> None:
        self.add(Severity.ERROR, loc, code, message, key)

    def warn(self, loc: tuple[Any, ...], code: str, message: str, key: bool = False) -> None:
        self.add(Severity.WARNING, loc, code, message, key)

    def references(self, loc: tuple[Any, ...], names: Iterable[str], known: Iterable[str], what: str, fix: str) -> None:
        known = list(known)
        for i, name in enumerate(names):
            if name not in known:
                self.error(
                    (*loc, i),
                    f"unknown-{what.split()[0]}",
                    f'no {what} "{name}"{close_match(name, known)} — {fix}',
                )


def _unique_ids(findings: _Findings, items: Iterable[tuple[tuple[Any, ...], str]], what: str) -> None:
    first: dict[str, tuple[Any, ...]] = {}
    for loc, ident in items:
        if ident in first:
            line, _ = findings.doc.position(first[ident])
            findings.error(
                loc,
                "duplicate-id",
                f'{what} id "{ident}" is used twice (first on line {line}) — give each {what} its own id',
            )
        else:
            first[ident] = loc


def _theory_of_change(c: Campaign, f: _Findings, channels: list[str] | None) -> None:
    objectives, indicators = [], []
    for a, aim in enumerate(c.aims):
        if not aim.objectives:
            f.warn(
                ("aims", a),
                "aim-without-objective",
                f'aim "{aim.id}" has no objectives — add one so the aim can be worked towards and measured',
            )
        for o, objective in enumerate(aim.objectives):
            loc = ("aims", a, "objectives", o)
            objectives.append(((*loc, "id"), objective.id))
            f.references(
                (*loc, "audiences"),
                objective.audiences,
                c.audiences,
                "audience",
                "name one of the campaign's `audiences`",
            )
            if not objective.indicators:
                f.warn(
                    loc,
                    "objective-without-indicator",
                    f'objective "{objective.id}" has no indicator — add one (metric, level, target, by) so its progress can be reported',
                )
            for i, indicator in enumerate(objective.indicators):
                iloc = (*loc, "indicators", i)
                indicators.append(((*iloc, "id"), indicator.id))
                if channels is not None and indicator.channels:
                    f.references(
                        (*iloc, "channels"),
                        indicator.channels,
                        channels,
                        "channel",
                        "name a channel defined in kmcomms.toml",
                    )
                if indicator.audiences:
                    f.references(
                        (*iloc, "audiences"),
                        indicator.audiences,
                        c.audiences,
                        "audience",
                        "name one of the campaign's `audiences`",
                    )
                if indicator.by < c.starts:
                    f.warn(
                        (*iloc, "by"),
                        "deadline-before-start",
                        f"indicator deadline {indicator.by} is before the campaign starts ({c.starts}) — check the date",
                    )
    _unique_ids(f, [(("aims", a, "id"), aim.id) for a, aim in enumerate(c.aims)], "aim")
    _unique_ids(f, objectives, "objective")
    _unique_ids(f, indicators, "indicator")


def _audiences(c: Campaign, f: _Findings, channels: list[str] | None) -> None:
    addressed = {a for m in c.messages for a in m.audiences}
    in_objectives = {a for aim in c.aims for o in aim.objectives for a in o.audiences}
    for name, audience in c.audiences.items():
        loc = ("audiences", name)
        if not audience.channels:
            f.warn(
                (*loc, "channels"),
                "audience-without-channel",
                f'audience "{name}" has no channel, so no message can reach it — list the channels that reach it',
            )
        elif channels is not None:
            f.references(
                (*loc, "channels"), audience.channels, channels, "channel", "name a channel defined in kmcomms.toml"
            )
        if name not in addressed:
            f.warn(
                loc,
                "audience-not-addressed",
                f'no message is addressed to audience "{name}" — add it to a message\'s `audiences`',
                key=True,
            )
        if name not in in_objectives:
            f.warn(
                loc,
                "audience-without-objective",
                f'audience "{name}" is in no objective — name it in an objective so its reach counts',
                key=True,
            )


def _daylight_saving(c: Campaign, m: Message, walls: list[datetime], where: tuple[Any, ...], f: _Findings) -> None:
    zones = {c.audiences[a].timezone or c.timezone for a in m.audiences if a in c.audiences}
    try:
        notes = dict.fromkeys(note for wall in walls for zone in sorted(zones) if (note := to_utc(wall, zone).note))
    except OverflowError:  # a wall time in the year 1 or 9999 whose UTC instant Python cannot hold
        f.error(where, "date-overflow", "this time falls outside the years 1 to 9999 in UTC — use a real date")
        return
    for note in notes:
        f.warn(where, "daylight-saving", f"{note} — pick another time if that matters")


def _schedule(c: Campaign, m: Message, loc: tuple[Any, ...], f: _Findings) -> None:
    """A message's time (`at`) or repeat: inside the campaign, after the embargo, real."""
    embargo = c.embargo or datetime.combine(c.starts, time.min)
    if m.at is not None:
        _at(c, m, m.at, (*loc, "at"), embargo, f)
    else:
        assert m.repeat is not None
        _repeat(c, m, m.repeat, (*loc, "repeat"), embargo, f)


def _at(c: Campaign, m: Message, at: datetime, where: tuple[Any, ...], embargo: datetime, f: _Findings) -> None:
    _daylight_saving(c, m, [at], where, f)
    if not c.starts <= at.date() <= c.ends:
        f.error(
            where,
            "outside-campaign",
            f"{at:%Y-%m-%d %H:%M} is outside the campaign ({c.starts} to {c.ends}) — move it or change `starts`/`ends`",
        )
    elif at < embargo:
        f.error(
            where,
            "before-embargo",
            f"{at:%Y-%m-%d %H:%M} is before the embargo ({embargo:%Y-%m-%d %H:%M}) — move it after the embargo",
        )


def _repeat(c: Campaign, m: Message, repeat: Repeat, where: tuple[Any, ...], embargo: datetime, f: _Findings) -> None:
    for key, day in (("starts", repeat.starts), ("until", repeat.until)):
        if day is not None and not c.starts <= day <= c.ends:
            f.error(
                (*where, key),
                "outside-campaign",
                f"repeat {key} {day} is outside the campaign ({c.starts} to {c.ends}) — move it inside",
            )
    if repeat.on and parse_every(repeat.every)[1] == "days":
        f.error(
            (*where, "on"),
            "on-needs-weeks",
            '`on` picks weekdays, so it needs `every: "N weeks"` — change `every` or remove `on`',
        )
    try:
        walls = list(islice(occurrences(c, m), MAX_OCCURRENCES + 1))
    except OverflowError:  # the repeat steps past 9999-12-31, the last date Python has
        f.error(
            where,
            "date-overflow",
            "this repeat runs past the year 9999 — set `until` or the campaign's `ends` to a real date",
        )
        return
    if len(walls) > MAX_OCCURRENCES:
        # Planning makes every occurrence × audience × language × channel: a typo such as
        # `starts: 0027-01-11` with `every: 1 day` would plan millions of deliveries.
        f.error(
            where,
            "too-many-occurrences",
            f"this repeat goes out more than {MAX_OCCURRENCES:,} times — check `every`, `starts`, `until` and the campaign's dates",
        )
        return
    _daylight_saving(c, m, walls, (*where, "at"), f)
    if not walls:
        f.warn(
            where,
            "never-sent",
            "this repeat has no occurrence between its start and end — check `starts`, `until` and `on`",
        )
    elif walls[0] < embargo:
        f.error(
            (*where, "at"),
            "before-embargo",
            f"the first repeat ({walls[0]:%Y-%m-%d %H:%M}) is before the embargo ({embargo:%Y-%m-%d %H:%M}) — set `repeat.starts` after it",
        )


def _messages(c: Campaign, f: _Findings, channels: list[str] | None, folder: Path) -> None:
    for i, message in enumerate(c.messages):
        loc = ("messages", i)
        f.references(
            (*loc, "audiences"), message.audiences, c.audiences, "audience", "name one of the campaign's `audiences`"
        )
        if message.channels is not None and channels is not None:
            f.references(
                (*loc, "channels"), message.channels, channels, "channel", "name a channel defined in kmcomms.toml"
            )
        _schedule(c, message, loc, f)
        known = [a for a in message.audiences if a in c.audiences]
        if message.channels is not None:
            reached = {ch for a in known for ch in c.audiences[a].channels}
            for j, channel in enumerate(message.channels):
                if channel not in reached:
                    f.warn(
                        (*loc, "channels", j),
                        "channel-reaches-nobody",
                        f"none of this message's audiences is reached through \"{channel}\" — add it to an audience's `channels` or remove it here",
                    )
        for audience in known:
            if c.audiences[audience].channels and not message_channels(c, message, audience):
                f.warn(
                    (*loc, "audiences"),
                    "audience-gets-nothing",
                    f'message "{message.id}" reaches audience "{audience}" on no channel — its `channels` and the audience\'s have none in common',
                )
        for key, what in (("file", "video file"), ("poster", "video's poster")):
            name = getattr(message.video, key) if message.video else None
            if not name:
                continue
            try:
                target = (folder / name).resolve()
            except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the file system
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                f.error(
                    (*loc, "video", key), "bad-path", f"the {what} is not a usable file name ({reason}) — fix the name"
                )
                continue
            if not target.is_relative_to(folder.resolve()):
                f.error(
                    (*loc, "video", key),
                    "path-outside-campaign",
                    f"the {what} is outside the campaign folder — keep it inside the folder",
                )
    _unique_ids(f, [(("messages", i, "id"), m.id) for i, m in enumerate(c.messages)], "message")


def check_campaign(campaign: Campaign, doc: YamlDocument, channels: list[str] | None) -> list[Diagnostic]:
    """Every cross-check finding for one campaign. `channels` is the workspace's channel
    names, or None when there is no workspace to check them against."""
    f = _Findings(doc)
    if campaign.ends < campaign.starts:
        f.error(
            ("ends",),
            "ends-before-starts",
            f"the campaign ends ({campaign.ends}) before it starts ({campaign.starts}) — swap `starts` and `ends`",
        )
        return f.found
    if campaign.embargo and campaign.embargo.date() > campaign.ends:
        f.error(
            ("embargo",),
            "embargo-after-end",
            f"the embargo ({campaign.embargo:%Y-%m-%d %H:%M}) is after the campaign ends — nothing could go out",
        )
    _theory_of_change(campaign, f, channels)
    _audiences(campaign, f, channels)
    _messages(campaign, f, channels, doc.path.parent)
    return f.found

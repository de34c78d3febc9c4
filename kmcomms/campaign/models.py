"""The campaign format (`campaigns/<id>/campaign.yaml`) as pydantic models.

The keys and meanings are the contract in `campaign-format.md`: extend, never rename.
Field docstrings become descriptions in the JSON Schema, so editors show them.
Cross-references (an objective naming an audience, a message naming a channel) are
checked by `kmcomms.validation`, which also knows the workspace.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kmcomms.campaign.fields import (
    Every,
    LanguageCode,
    LocalDate,
    LocalDateTime,
    LocalTime,
    Slug,
    TimeZoneName,
    Url,
    Weekday,
    YoutubeId,
)

__all__ = [
    "Aim",
    "Audience",
    "AudienceKind",
    "Briefing",
    "CallToAction",
    "Campaign",
    "Indicator",
    "Level",
    "Message",
    "Need",
    "Objective",
    "Output",
    "Repeat",
    "Video",
]

AudienceKind = Literal["public", "patients", "clinicians", "policy", "community", "researchers"]
Intent = Literal["aware", "understand", "act"]
Level = Literal["output", "outtake", "outcome", "impact"]
Need = Literal["offline", "easy-read", "large-print", "audio", "bsl"]


class Spec(BaseModel):
    """A block of the campaign file: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Output(Spec):
    doi: str | None = None
    """The output's DOI, e.g. 10.1234/example.5678."""
    award: str | None = None
    """The funder's award id, e.g. NIHR200929."""
    title: str | None = None
    url: Url | None = None


class Indicator(Spec):
    id: Slug
    metric: Slug
    """What is counted: views, clicks, opens, recipients, downloads, attendees, citations, …"""
    level: Level
    """AMEC level: output, outtake, outcome or impact."""
    channels: list[str] | None = None
    """Count only these channels (default: all of the objective's)."""
    languages: list[LanguageCode] | None = None
    audiences: list[str] | None = None
    baseline: float = 0
    target: float
    by: LocalDate
    """The deadline for the target."""


class Objective(Spec):
    id: Slug
    statement: str
    audiences: list[str] = Field(min_length=1)
    indicators: list[Indicator] = []


class Aim(Spec):
    id: Slug
    statement: str
    objectives: list[Objective] = []


class Audience(Spec):
    name: str
    kind: AudienceKind
    languages: list[LanguageCode] = Field(min_length=1)
    intent: Intent
    reading_age: int | None = Field(default=None, ge=5, le=25)
    """Target reading age in years; checked for English text."""
    timezone: TimeZoneName | None = None
    """Local times for this audience (default: the campaign's)."""
    needs: list[Need] = []
    channels: list[str]
    """Names of workspace channels that reach this audience."""


class CallToAction(Spec):
    text: str
    url: Url | None = None
    """Where to act online; leave out for an offline action (say where in `text`)."""


class Video(Spec):
    youtube_id: YoutubeId | None = None
    peertube_id: str | None = None
    file: str | None = None
    """A local video file, relative to the campaign folder."""
    poster: str | None = None
    """A still image for the video (JPEG, PNG or WebP), relative to the campaign folder: the
    video page shows it before the video is played."""
    transcript: Url | None = None


class Briefing(Spec):
    summary: str | None = None
    key_points: list[str] = Field(min_length=1)
    evidence: str | None = None
    """How strong the evidence is."""
    uncertainty: str | None = None
    """What is not known."""
    recommendations: list[str] = []
    contacts: list[str] = []


class Repeat(Spec):
    every: Every
    """"N days" or "N weeks"."""
    on: list[Weekday] | None = None
    """Weekdays, with weeks (default: the weekday of the first day)."""
    at: LocalTime
    starts: LocalDate | None = None
    """First day (default: the campaign's start)."""
    until: LocalDate | None = None
    """Last day (default: the campaign's end)."""


class Message(Spec):
    id: Slug
    audiences: list[str] = Field(min_length=1)
    channels: list[str] | None = None
    """Default: each audience's channels."""
    at: LocalDateTime | None = None
    """One occurrence, local wall time: YYYY-MM-DD HH:MM."""
    repeat: Repeat | None = None
    title: str
    summary: str | None = None
    body: str
    """Inline Markdown, or the path of a .md file beside campaign.yaml."""
    call_to_action: CallToAction | None = None
    video: Video | None = None
    briefing: Briefing | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> Message:
        if (self.at is None) == (self.repeat is None):
            raise ValueError(
                "a message needs exactly one schedule — give `at` (one time) or `repeat`, not both or neither"
            )
        return self


class Campaign(Spec):
    id: Slug
    """Slug; defaults to the folder name."""
    title: str
    owner: str
    timezone: TimeZoneName
    """IANA zone for every local time in this file."""
    language: LanguageCode
    """The language the text is written in."""
    starts: LocalDate
    ends: LocalDate
    embargo: LocalDateTime | None = None
    """Local time before which nothing is published."""
    outputs: list[Output] = []
    aims: list[Aim] = Field(min_length=1)
    assumptions: list[str] = []
    audiences: dict[Slug, Audience] = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)

"""The rendering step: delivery → translated, sanitised, tagged draft for its channel kind.

Templates are Jinja2 files in `kmcomms/templates/`; a workspace overrides one by putting a
file of the same name in its own `templates/` folder. Fixed words come from
`kmcomms.translations.words` in the delivery's language; right-to-left languages get `dir="rtl"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict
from zoneinfo import ZoneInfo

import jinja2

from kmcomms.campaign.adapters import Kind, adapter_fact, channel_kind
from kmcomms.campaign.load import LoadedCampaign
from kmcomms.campaign.models import Message
from kmcomms.campaign.workspace import Workspace
from kmcomms.errors import KmcommsError
from kmcomms.plan.deliveries import Delivery
from kmcomms.render.drafts import Blocked, BlogPost, Briefing, Draft, Link, Newsletter, SocialPost, VideoListing
from kmcomms.render.markup import LinkRegister, plain, plain_text, to_html, utm_tags
from kmcomms.translations.catalogs import Catalog, incomplete, load_catalog
from kmcomms.translations.strings import paragraphs, source_messages
from kmcomms.translations.words import direction, format_day, words

if TYPE_CHECKING:
    from kmcomms.render.tracking import Tracker

__all__ = ["UNSUBSCRIBE_PLACEHOLDER", "Renderer"]

#: GA4 recognises these `utm_medium` values for its default channel groups.
MEDIUM = {
    Kind.BLOG: "referral",
    Kind.NEWSLETTER: "email",
    Kind.VIDEO: "video",
    Kind.BRIEFING: "email",
    Kind.SOCIAL: "social",
}
FALLBACK_NOTE = "Sent in the source language: the translation is not complete."
#: The newsletter adapter puts each recipient's own unsubscribe address here.
UNSUBSCRIBE_PLACEHOLDER = "{{unsubscribe_url}}"

_ANGLES = str.maketrans({"<": "‹", ">": "›"})  # YouTube refuses < and > in titles and descriptions
_BLOCKS = re.compile(r"\n\s*\n")


class _BriefingText(TypedDict):
    """A message's briefing fields in one language, each one there ("" or () when not written)."""

    summary: str
    key_points: tuple[str, ...]
    evidence: str
    uncertainty: str
    recommendations: tuple[str, ...]
    contacts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Text:
    """A message's words in one language, ready for a template."""

    language: str
    fallback: bool
    title: str
    summary: str
    body_markdown: str
    call_to_action: str
    briefing: _BriefingText


class _Common(TypedDict):
    """The fields every draft has but its links (see `Draft`), given to each kind's draft."""

    delivery: str
    campaign: str
    message: str
    audiences: tuple[str, ...]
    channel: str
    language: str
    direction: str
    fallback: bool
    title: str
    acknowledgement: str
    source_language: str
    audience_languages: tuple[str, ...]


class _Context(_Common):
    """What a template is given: the draft's common fields and the words and settings it shows."""

    _: Callable[[str], str]
    fallback_note: str
    reader_language: str
    acknowledgement_language: str
    acknowledgement_direction: str
    reader_direction: str
    summary: str
    body_html: str
    call_to_action: str
    call_to_action_url: str | None
    unit: str
    date: str
    unsubscribe_url: str
    briefing: _BriefingText
    open_pixel_url: str


def _environment(workspace_root: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(workspace_root / "templates"),
                jinja2.PackageLoader("kmcomms", "templates"),
            ]
        ),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        # A renderer lives as long as one load of the workspace (the daemon makes a new one
        # when files change), so templates need not be looked at on disk at every render.
        auto_reload=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Renderer:
    """Renders deliveries of the given campaigns with a workspace's settings and templates."""

    def __init__(
        self, workspace: Workspace, campaigns: Iterable[LoadedCampaign], tracker: Tracker | None = None
    ) -> None:
        self.workspace = workspace
        self.tracker = tracker
        self.campaigns = {loaded.campaign.id: loaded for loaded in campaigns}
        self.templates = _environment(workspace.root)

    def kind(self, delivery: Delivery) -> Kind:
        """The kind of draft `delivery` renders to, from its channel."""
        channel = self.workspace.settings.channels.get(delivery.channel)
        kind = channel_kind(channel) if channel else None
        if kind is None:
            raise KmcommsError(
                f'channel "{delivery.channel}" has no known kind — set `kind = "blog"` (or newsletter, video,'
                f" briefing, social) in [channels.{delivery.channel}]"
            )
        return kind

    def render(self, delivery: Delivery) -> Draft | Blocked:
        """The draft `delivery`'s channel will receive, or why it cannot be sent as it is."""
        loaded = self.campaigns[delivery.campaign]
        message = next(m for m in loaded.campaign.messages if m.id == delivery.message)
        text = self._text(loaded, message, delivery.language)
        if isinstance(text, str):
            return Blocked(delivery.id, text)
        kind = self.kind(delivery)
        register = LinkRegister(
            delivery.id,
            utm_tags(
                campaign=delivery.campaign,
                medium=MEDIUM[kind],
                source=delivery.channel,
                content=f"{'+'.join(delivery.audiences)}-{delivery.language}",
                delivery=delivery.id,
            ),
            self.tracker,
        )
        say = words(text.language)
        unit = self.workspace.settings.unit
        common = self._common(delivery, loaded, text)
        # A social post carries no body, so the body's links are not registered for it.
        body_html = to_html(text.body_markdown, None if kind is Kind.SOCIAL else register)
        cta_url = (
            register(message.call_to_action.url) if message.call_to_action and message.call_to_action.url else None
        )
        day = delivery.due.astimezone(ZoneInfo(delivery.timezone)).date()
        # The note that the text fell back is for the reader, in the reader's language.
        note = words(delivery.language).gettext(FALLBACK_NOTE) if text.fallback else ""
        # The acknowledgement is as written (in the unit's language) where it is not translated.
        acknowledged_in = text.language if text.language in unit.acknowledgements else unit.language
        context: _Context = {
            **common,
            "_": say.gettext,
            "fallback_note": note,
            "reader_language": delivery.language,
            "acknowledgement_language": acknowledged_in,
            "acknowledgement_direction": direction(acknowledged_in),
            "reader_direction": direction(delivery.language),
            "summary": text.summary,
            "body_html": body_html,
            "call_to_action": text.call_to_action,
            "call_to_action_url": cta_url,
            "unit": unit.name,
            "date": format_day(day, text.language),
            "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
            "briefing": text.briefing,
            "open_pixel_url": self.tracker.open_url(delivery.id) if self.tracker else "",
        }
        adapter = self.workspace.settings.channels[delivery.channel].adapter
        return _BUILDERS[kind](_Job(self.templates.get_template, context, common, register, delivery, message, adapter))

    def _common(self, delivery: Delivery, loaded: LoadedCampaign, text: _Text) -> _Common:
        """The fields every draft of `delivery` has, its words being `text`."""
        unit = self.workspace.settings.unit
        return {
            "delivery": delivery.id,
            "campaign": delivery.campaign,
            "message": delivery.message,
            "audiences": delivery.audiences,
            "channel": delivery.channel,
            "language": text.language,
            "direction": direction(text.language),
            "fallback": text.fallback,
            "title": text.title,
            "acknowledgement": unit.acknowledgements.get(text.language, unit.acknowledgement),
            "source_language": loaded.campaign.language,
            "audience_languages": tuple(
                dict.fromkeys(
                    language
                    for audience in delivery.audiences
                    for language in loaded.campaign.audiences[audience].languages
                )
            ),
        }

    def _text(self, loaded: LoadedCampaign, message: Message, language: str) -> _Text | str:
        """The message's words in `language`, in the source language under the
        "source" policy, or the reason it is blocked."""
        campaign = loaded.campaign
        body = loaded.bodies[message.id].text
        translated: Catalog | None = None  # None: the words as written
        fallback = False
        if language != campaign.language:
            catalog = load_catalog(self.workspace.translations_dir, campaign.id, language)
            reason = incomplete(catalog, source_messages(loaded, message.id), language=language)
            if reason is None and catalog is not None:
                translated = catalog
            elif self.workspace.settings.policy.missing_translation == "block":
                return reason or f"no translation into {language}"
            else:
                fallback, language = True, campaign.language

        def lookup(field: str, source: str) -> str:
            if translated is None:
                return source
            return translated.get(f"{message.id}/{field}", source) or source

        def translate(field: str, source: str) -> str:
            # Every field but the body is plain text, whatever markup was typed into it.
            return plain(lookup(field, source))

        briefing = message.briefing
        return _Text(
            language=language,
            fallback=fallback,
            title=translate("title", message.title),
            summary=translate("summary", message.summary) if message.summary else "",
            body_markdown="\n\n".join(lookup("body", block) for block in paragraphs(body)),
            call_to_action=translate("call_to_action", message.call_to_action.text) if message.call_to_action else "",
            # Every key is always there, so a briefing channel renders any message.
            briefing={
                "summary": translate("briefing.summary", briefing.summary) if briefing and briefing.summary else "",
                "key_points": tuple(translate("briefing.key_points", p) for p in briefing.key_points)
                if briefing
                else (),
                "evidence": translate("briefing.evidence", briefing.evidence) if briefing and briefing.evidence else "",
                "uncertainty": translate("briefing.uncertainty", briefing.uncertainty)
                if briefing and briefing.uncertainty
                else "",
                "recommendations": tuple(translate("briefing.recommendations", r) for r in briefing.recommendations)
                if briefing
                else (),
                "contacts": tuple(plain(contact) for contact in briefing.contacts) if briefing else (),
            },
        )


@dataclass(frozen=True, slots=True)
class _Job:
    """Everything a kind's builder needs for one delivery."""

    template: Callable[[str], jinja2.Template]
    context: _Context
    common: _Common
    register: LinkRegister
    delivery: Delivery
    message: Message
    adapter: str

    def render(self, name: str, **extra: object) -> str:
        return self.template(name).render({**self.context, **extra})

    def links(self) -> tuple[Link, ...]:
        return tuple(self.register.links.values())


def _excerpt(summary: str, body_html: str, limit: int = 200) -> str:
    # From the body it is text the author may have written as markup, so it is made plain;
    # a link keeps its words, not its (tracking) address: excerpts are shown as text.
    text = summary or plain(_BLOCKS.split(plain_text(body_html, addresses=False))[0])
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _blog(job: _Job) -> BlogPost:
    html = job.render("blog.html.j2")
    slug = job.message.id if job.message.at else f"{job.message.id}-{job.delivery.occurrence[:10]}"
    return BlogPost(
        **job.common,
        slug=slug,
        excerpt=_excerpt(job.context["summary"], job.context["body_html"]),
        tags=(job.delivery.campaign, *job.delivery.audiences),
        html=html,
        links=job.links(),
    )


def _newsletter(job: _Job) -> Newsletter:
    html = job.render("newsletter.html.j2")
    text = job.render("newsletter.txt.j2", body_text=plain_text(job.context["body_html"]))
    return Newsletter(
        **job.common,
        subject=job.context["title"],
        html=html,
        text=text,
        links=job.links(),
        preheader=_excerpt(job.context["summary"], job.context["body_html"], 90),
    )


def _video(job: _Job) -> VideoListing:
    video = job.message.video
    transcript = job.register(video.transcript) if video and video.transcript else None
    description = job.render("video.txt.j2", body_text=plain_text(job.context["body_html"]), transcript_url=transcript)
    return VideoListing(
        **(job.common | {"title": job.common["title"].translate(_ANGLES)}),
        description=description.translate(_ANGLES).strip(),
        tags=(job.delivery.campaign, *job.delivery.audiences),
        youtube_id=video.youtube_id if video else None,
        peertube_id=video.peertube_id if video else None,
        file=video.file if video else None,
        poster=video.poster if video else None,
        transcript=transcript,
        html=job.render("video.html.j2"),
        links=job.links(),
    )


def _briefing(job: _Job) -> Briefing:
    points = job.context["briefing"]
    return Briefing(
        **job.common,
        date=job.context["date"],
        summary=points["summary"] or job.context["summary"],
        key_points=points["key_points"],
        evidence=points["evidence"],
        uncertainty=points["uncertainty"],
        recommendations=points["recommendations"],
        contacts=points["contacts"],
        html=job.render("briefing.html.j2"),
        links=job.links(),
    )


#: How long a post may be on a channel whose adapter sets no `post_limit` (a webhook's):
#: Mastodon's default, the most common.
POST_LIMIT = 500


def _post_limit(adapter: str) -> int:
    """How long a post may be on `adapter`: its class's `post_limit`, else POST_LIMIT."""
    limit = adapter_fact(adapter, "post_limit")
    return limit if isinstance(limit, int) else POST_LIMIT


def _social(job: _Job) -> SocialPost:
    limit = _post_limit(job.adapter)
    text = job.render("social.txt.j2").strip()
    summary = job.context["summary"]
    if len(text) > limit and summary:
        # Shorten the summary, never the title or the link: the post must still lead somewhere.
        keep = max(0, len(summary) - (len(text) - limit) - 1)
        text = job.render("social.txt.j2", summary=summary[:keep].rstrip() + "…").strip()
    return SocialPost(**job.common, text=text, limit=limit, links=job.links())


_BUILDERS: dict[Kind, Callable[[_Job], Draft]] = {
    Kind.BLOG: _blog,
    Kind.NEWSLETTER: _newsletter,
    Kind.VIDEO: _video,
    Kind.BRIEFING: _briefing,
    Kind.SOCIAL: _social,
}

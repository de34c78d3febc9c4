"""Previews: every delivery rendered, shown as text or written as a browsable site.

Nothing here touches a channel: it renders and writes files into the folder it is given.
An email's unsubscribe placeholder, which the channel fills with each recipient's own
address, is shown in the site as a link to `EXAMPLE_UNSUBSCRIBE`, saying so.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict

from kmcomms.plan.deliveries import Delivery
from kmcomms.render.drafts import Blocked, Draft
from kmcomms.render.renderer import UNSUBSCRIBE_PLACEHOLDER, Renderer
from kmcomms.translations.words import direction, words

__all__ = ["EXAMPLE_UNSUBSCRIBE", "draft_fields", "draft_json", "write_site"]

#: What a preview shows for each recipient's own unsubscribe address: a reserved name
#: (RFC 2606) that says what it stands for and leads nowhere.
EXAMPLE_UNSUBSCRIBE = "https://unsubscribe.example/each-recipient-gets-their-own"

#: Fields that are whole documents, shown last and in full.
_DOCUMENTS = ("html", "text", "description")


def draft_fields(draft: Draft) -> list[tuple[str, str]]:
    """(name, text) pairs of a draft for people: short fields first, documents last."""
    data = dataclasses.asdict(draft)
    data.pop("links")
    short = [
        (k, ", ".join(v) if isinstance(v, list | tuple) else str(v)) for k, v in data.items() if k not in _DOCUMENTS
    ]
    links = [("links", "\n".join(f"{link.id}  {link.url}" for link in draft.links))] if draft.links else []
    return [("kind", str(draft.kind)), *short, *links, *[(k, data[k]) for k in _DOCUMENTS if k in data]]


def draft_json(draft: Draft | Blocked) -> dict[str, object]:
    if isinstance(draft, Blocked):
        return {"delivery": draft.delivery, "blocked": draft.reason}
    return {"kind": str(draft.kind), **json.loads(json.dumps(dataclasses.asdict(draft), ensure_ascii=False))}


class _Shown(TypedDict):
    """What the preview page template is given of one draft."""

    kind: str
    article: str
    document: str
    fields: list[tuple[str, str]]
    example_unsubscribe: str


def _shown(draft: Draft) -> _Shown:
    """What the preview page of `draft` shows: a post's article as the site has it; an email's
    or a briefing's whole document in a frame, then its other fields; any other draft's
    fields. Unsubscribe placeholders become the example address."""
    fields = [
        (name, value.replace(UNSUBSCRIBE_PLACEHOLDER, EXAMPLE_UNSUBSCRIBE)) for name, value in draft_fields(draft)
    ]
    document = getattr(draft, "html", "")
    shown: _Shown = {
        "kind": str(draft.kind),
        "article": "",
        "document": "",
        "fields": fields,
        "example_unsubscribe": EXAMPLE_UNSUBSCRIBE if UNSUBSCRIBE_PLACEHOLDER in document else "",
    }
    if document.lstrip().startswith("<!DOCTYPE"):
        shown |= {
            "document": document.replace(UNSUBSCRIBE_PLACEHOLDER, html.escape(EXAMPLE_UNSUBSCRIBE)),
            "fields": [(name, value) for name, value in fields if name != "html"],
        }
    elif document:
        shown |= {"article": document, "fields": []}
    return shown


def write_site(renderer: Renderer, deliveries: Iterable[Delivery], folder: Path) -> int:
    """Write `index.html` and one page per delivery under `folder/d/`; returns the count."""
    pages = folder / "d"
    pages.mkdir(parents=True, exist_ok=True)
    page = renderer.templates.get_template("preview/delivery.html.j2")
    rows = []
    for delivery in deliveries:
        draft = renderer.render(delivery)
        meta = (
            f"{delivery.campaign} / {delivery.message} · {', '.join(delivery.audiences)} · {delivery.language} · "
            f"{delivery.channel} · {delivery.due:%Y-%m-%d %H:%M} UTC · {delivery.id}"
        )
        href = f"d/{delivery.id}.html"
        if isinstance(draft, Blocked):
            content = page.render(
                language="en", direction="ltr", title=delivery.message, meta=meta, blocked=draft.reason
            )
            row = {
                "kind": renderer.kind(delivery),
                "title": delivery.message,
                "text_language": "en",
                "text_direction": "ltr",
                "fallback": False,
                "blocked": draft.reason,
            }
        else:
            content = page.render(
                language=draft.language,
                direction=draft.direction,
                title=draft.title,
                meta=meta,
                blocked=None,
                **_shown(draft),
            )
            row = {
                "kind": draft.kind,
                "title": draft.title,
                "text_language": draft.language,
                "text_direction": draft.direction,
                "fallback": draft.fallback,
                "blocked": None,
            }
        (folder / href).write_text(content, encoding="utf-8")
        rows.append(
            {
                "due": f"{delivery.due:%Y-%m-%d %H:%M}",
                "campaign": delivery.campaign,
                "message": delivery.message,
                "audiences": ", ".join(delivery.audiences),
                "language": delivery.language,
                "channel": delivery.channel,
                "href": href,
                **row,
            }
        )
    index = renderer.templates.get_template("preview/index.html.j2").render(
        _=words("en").gettext, unit=renderer.workspace.settings.unit.name, deliveries=rows, direction=direction("en")
    )
    (folder / "index.html").write_text(index, encoding="utf-8")
    return len(rows)

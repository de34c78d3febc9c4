"""Previews: every delivery rendered, shown as text or written as a browsable site.

Nothing here touches a channel: it renders and writes files into the folder it is given.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path

from kmcomms.plan import Delivery
from kmcomms.render import Blocked, Draft, Renderer
from kmcomms.words import direction, words

__all__ = ["draft_fields", "draft_json", "write_site"]

#: Fields that are whole documents, shown last and in full.
_DOCUMENTS = ("html", "text", "description")


def draft_fields(draft: Draft) -> list[tuple[str, str]]:
    """(name, text) pairs of a draft for people: short fields first, documents last."""
    data = dataclasses.asdict(draft)
    data.pop("links")
    short = [(k, ", ".join(v) if isinstance(v, list | tuple) else str(v)) for k, v in data.items() if k not in _DOCUMENTS]
    links = [("links", "\n".join(f"{link.id}  {link.url}" for link in draft.links))] if draft.links else []
    return [("kind", str(draft.kind)), *short, *links, *[(k, data[k]) for k in _DOCUMENTS if k in data]]


def draft_json(draft: Draft | Blocked) -> dict[str, object]:
    if isinstance(draft, Blocked):
        return {"delivery": draft.delivery, "blocked": draft.reason}
    return {"kind": str(draft.kind), **json.loads(json.dumps(dataclasses.asdict(draft), ensure_ascii=False))}


def write_site(renderer: Renderer, deliveries: Iterable[Delivery], folder: Path) -> int:
    """Write `index.html` and one page per delivery under `folder/d/`; returns the count."""
    pages = folder / "d"
    pages.mkdir(parents=True, exist_ok=True)
    page = renderer.templates.get_template("preview/delivery.html.j2")
    rows = []
    for delivery in deliveries:
        draft = renderer.render(delivery)
        meta = (f"{delivery.campaign} / {delivery.message} · {', '.join(delivery.audiences)} · {delivery.language} · "
                f"{delivery.channel} · {delivery.due:%Y-%m-%d %H:%M} UTC · {delivery.id}")
        href = f"d/{delivery.id}.html"
        if isinstance(draft, Blocked):
            html = page.render(language="en", direction="ltr", title=delivery.message, meta=meta, blocked=draft.reason,
                               html="", fields=[])
            title, kind, fallback = delivery.message, renderer.kind(delivery), False
        else:
            document = getattr(draft, "html", "")
            if document.lstrip().startswith("<!DOCTYPE"):
                html = document  # an e-mail or briefing is its own page, exactly as sent
            else:
                html = page.render(language=draft.language, direction=draft.direction, title=draft.title, meta=meta,
                                   blocked=None, html=document, fields=draft_fields(draft))
            title, kind, fallback = draft.title, draft.kind, draft.fallback
        (folder / href).write_text(html, encoding="utf-8")
        rows.append({"due": f"{delivery.due:%Y-%m-%d %H:%M}", "campaign": delivery.campaign, "message": delivery.message,
                     "audiences": ", ".join(delivery.audiences), "language": delivery.language, "channel": delivery.channel,
                     "kind": kind, "title": title, "href": href, "fallback": fallback,
                     "blocked": draft.reason if isinstance(draft, Blocked) else None})
    index = renderer.templates.get_template("preview/index.html.j2").render(
        _=words("en").gettext, unit=renderer.workspace.settings.unit.name, deliveries=rows, direction=direction("en"))
    (folder / "index.html").write_text(index, encoding="utf-8")
    return len(rows)

"""Markdown to safe HTML, with every link tagged for analytics and registered for tracking.

Markdown is converted with python-markdown, then sanitised with nh3 (the Rust ammonia
sanitiser): only the tags and attributes a message needs survive; scripts, event
handlers, `style`, iframes, SVG, and any link that is not http(s) or mailto are removed.
Links are rewritten in the same pass, so no unsanitised HTML is ever tagged.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import markdown
import nh3

from kmcomms.render.drafts import Link

if TYPE_CHECKING:
    from kmcomms.render.tracking import Tracker

__all__ = ["LinkRegister", "plain", "plain_text", "to_html", "utm_tags"]

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "dl",
    "dt",
    "em",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}

_TAGS = re.compile(r"<[^>]*>")


def utm_tags(*, campaign: str, medium: str, source: str, content: str, delivery: str) -> dict[str, str]:
    """The UTM parameters of a delivery's links: lowercase, no personal data."""
    return {
        "utm_source": source.lower(),
        "utm_medium": medium.lower(),
        "utm_campaign": campaign.lower(),
        "utm_content": content.lower(),
        "utm_id": delivery.lower(),
    }


class LinkRegister:
    """Tags http(s) links of one delivery with its UTM parameters and gives each original
    address a stable id (the same address in the same delivery keeps its id). With a
    `tracker`, the address written in the text is the tracking server's click address."""

    def __init__(self, delivery: str, tags: dict[str, str], tracker: Tracker | None = None) -> None:
        self.delivery = delivery
        self.tags = tags
        self.tracker = tracker
        self.links: dict[str, Link] = {}
        self._encoded = urlencode(tags)

    def __call__(self, url: str) -> str:
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return url
        known = self.links.get(url)
        if known is None:
            present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
            # Tags the author set by hand are theirs to keep, and their query stays as
            # written (a server or a signature may read it byte for byte): ours go after it.
            ours = (
                urlencode([(key, value) for key, value in self.tags.items() if key not in present])
                if present & self.tags.keys()
                else self._encoded
            )
            query = "&".join(part for part in (parts.query, ours) if part)
            tagged = urlunsplit(parts._replace(query=query))
            link_id = hashlib.blake2b(f"{self.delivery} {url}".encode(), digest_size=5).hexdigest()
            known = self.links[url] = Link(link_id, url, tagged)
        # With tracking on, the reader gets the tracking server's address, which counts the
        # click and redirects to the tagged one registered for this delivery.
        return self.tracker.click_url(self.delivery, known.id) if self.tracker else known.url


_markdown = markdown.Markdown(extensions=["extra", "sane_lists"], output_format="html")


@lru_cache(maxsize=1024)
def _convert(text: str) -> str:
    # python-markdown is the slow step; the same body goes to many deliveries that differ
    # only in their link tags, which the sanitiser adds per delivery below.
    _markdown.reset()
    return _markdown.convert(text)


def to_html(text: str, tag_link: Callable[[str], str] | None = None) -> str:
    """Markdown `text` as sanitised HTML; each link's address passes through `tag_link`."""
    raw = _convert(text)

    def attribute(tag: str, name: str, value: str) -> str | None:
        if tag == "a" and name == "href" and tag_link is not None:
            return tag_link(value)
        return value

    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=attribute,
    )


_ANCHOR = re.compile(r'<a\s[^>]*?href="([^"]*)"[^>]*>(.*?)</a>', re.DOTALL)


def _spell_out(match: re.Match[str]) -> str:
    address, words = html.unescape(match[1]), match[2]
    shown = html.unescape(_TAGS.sub("", words)).strip()
    # An autolink's words are its address (before tagging): write the tagged one, once.
    return address if shown and address.startswith(shown) else f"{words} ({address})"


def plain_text(fragment: str, *, addresses: bool = True) -> str:
    """Sanitised HTML as plain text: tags dropped, entities decoded, paragraphs kept, and
    each link's address written after its words (a text part has no hrefs), unless
    `addresses` is false (an excerpt: links are the page's to give)."""
    text = _ANCHOR.sub(_spell_out, fragment) if addresses else fragment
    text = re.sub(r"</(p|li|h\d|blockquote|tr)>|<br\s*/?>", "\n", text)
    text = html.unescape(_TAGS.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in text.splitlines())).strip()


_TAG_START = re.compile(r"<\s*[A-Za-z!/?]")
# "Name <a@b.org>" is how contacts are written; only a plain address counts as one.
_EMAIL = re.compile(r"<[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+>")


def plain(text: str) -> str:
    """A short field (title, summary, call to action, briefing point) as plain text that no
    platform can read as markup (a WordPress title is HTML): a `<` that could open a tag
    becomes `‹`, and its `>` `›`, so what was typed stays visible and inert."""
    return text.replace("<", "‹").replace(">", "›") if _TAG_START.search(_EMAIL.sub("", text)) else text

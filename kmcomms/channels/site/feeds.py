"""The site's machine-read files: an Atom feed per language (made with feedgen) and the
sitemap. Both need absolute addresses, so they are made against the site's `base_url`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast
from urllib.parse import urlsplit
from xml.etree import ElementTree

from feedgen.feed import FeedGenerator

from kmcomms.channels.site.entry import Record, absolute_url, newest_first, utc
from kmcomms.channels.site.pages import feed_path, section_index

__all__ = ["feeds", "sitemap"]

_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def entry_id(base_url: str, record: Record) -> str:
    """A tag URI (RFC 4151) from the site's host, the first day of publication and the key:
    it stays the same when the entry is edited or its page moves, so readers never see an
    edited post as a new one."""
    host = urlsplit(base_url).hostname or "localhost"
    return f"tag:{host},{record.published.date().isoformat()}:{record.key}"


def feeds(records: list[Record], base_url: str, title: str) -> Iterator[tuple[str, bytes]]:
    """(path, Atom document) per language: every entry of the language, newest first."""
    languages = sorted({r.language for r in records})
    for language in languages:
        entries = newest_first([r for r in records if r.language == language])
        path = feed_path(language)
        feed = FeedGenerator()
        feed.id(absolute_url(base_url, path))
        feed.title(title)
        feed.author(name=title)
        feed.language(language)
        feed.link(href=absolute_url(base_url, section_index(language, "posts")), rel="alternate", type="text/html")
        feed.link(href=absolute_url(base_url, path), rel="self", type="application/atom+xml")
        feed.updated(utc(max(r.updated for r in entries)))
        for record in entries:
            item = feed.add_entry(order="append")
            item.id(entry_id(base_url, record))
            item.title(record.title)
            item.link(href=absolute_url(base_url, record.path), rel="alternate", type="text/html")
            item.published(utc(record.published))
            item.updated(utc(record.updated))
            if record.summary:
                item.summary(record.summary)
            # Only posts travel whole: video and briefing pages hold players and files,
            # linked relative to their own folder, which a feed reader cannot resolve.
            if record.section == "posts":
                item.content(record.html, type="html")
        yield path, feed.atom_str(pretty=True)


def sitemap(records: list[Record], base_url: str) -> bytes:
    """The sitemap (sitemaps.org 0.9): the language chooser, every list page and every entry."""
    pages: dict[str, Record] = {}  # path → the most recently updated record it shows: its lastmod
    for record in records:
        for path in (
            "index.html",
            section_index(record.language, "posts"),
            section_index(record.language, record.section),
            record.path,
        ):
            if path not in pages or pages[path].updated < record.updated:
                pages[path] = record
    root = ElementTree.Element("urlset", xmlns=_SITEMAP_NS)
    for path in sorted(pages):
        url = ElementTree.SubElement(root, "url")
        ElementTree.SubElement(url, "loc").text = absolute_url(base_url, path)
        ElementTree.SubElement(url, "lastmod").text = utc(pages[path].updated).isoformat()
    ElementTree.indent(root)
    # Typed Any for a named encoding: it is bytes for any encoding but "unicode".
    return cast(bytes, ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"

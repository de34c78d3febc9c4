"""The site's HTML pages, rendered from its records with the templates in
`kmcomms/templates/site/`.

Every link between pages is relative to the page it is on, so a site works
wherever it is served from, and opened straight from the disk.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import jinja2
from babel import Locale, UnknownLocaleError

from kmcomms.site.entry import SECTIONS, Record, newest_first
from kmcomms.words import format_day, words

__all__ = ["CSS_PATH", "environment", "href", "language_name", "render_pages", "section_index"]

CSS_PATH = "assets/site.css"
#: The label of each section's link, in English: the msgid looked up in the page's language.
SECTION_LABELS = {"posts": "Posts", "videos": "Videos", "briefings": "Briefings"}
_H1 = re.compile(r"<h1[\s>]", re.IGNORECASE)


@functools.cache  # one environment per process: templates are parsed once
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the site's templates: HTML autoescaped, strict about
    missing values. Adapters render their entry fragments with it too."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("kmcomms", "templates/site"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.cache
def language_name(language: str) -> str:
    """`language` in its own words ("اردو" for "ur"), or the tag when Babel does not know it."""
    try:
        return Locale.parse(language.replace("-", "_")).get_display_name() or language
    except (UnknownLocaleError, ValueError):
        return language


@dataclass(frozen=True)
class _Language:
    """One language's part of the site: its records by section, and what its pages share."""

    code: str
    sections: dict[str, list[Record]]

    @property
    def newest(self) -> Record:
        """The newest record: its acknowledgement and direction speak for the language's pages."""
        return newest_first([r for records in self.sections.values() for r in records])[0]

    def nav(self, here: str, current: str, multilingual: bool) -> list[dict[str, object]]:
        """The language's navigation from the page at `here`: its posts, each other section
        that has entries, and the language chooser when there is another language. The
        link to the `current` section's list is marked as the page the reader is on."""
        say = words(self.code).gettext
        items = [{"href": href(here, section_index(self.code, section)), "label": say(SECTION_LABELS[section]),
                  "current": section == current}
                 for section in SECTIONS if section == "posts" or self.sections[section]]
        if multilingual:
            items.append({"href": href(here, "index.html"), "label": say("Languages"), "current": False})
        return items


def section_index(language: str, section: str) -> str:
    """The path of a section's list page: the language's home for posts."""
    folder = "/".join(part for part in (language, SECTIONS[section]) if part)
    return f"{folder}/index.html"


def href(here: str, target: str) -> str:
    """The relative link from the page at `here` to `target` (both relative to the site root)."""
    return posixpath.relpath(target, posixpath.dirname(here) or ".")


def render_pages(records: list[Record], title: str) -> Iterator[tuple[str, str]]:
    """(path, HTML) of every page: the language chooser, each language's post list and
    section lists, and each entry's page."""
    by_language: dict[str, _Language] = {}
    for record in newest_first(records):
        language = by_language.setdefault(record.language, _Language(record.language, {s: [] for s in SECTIONS}))
        language.sections[record.section].append(record)
    if not by_language:
        return
    env = environment()
    yield "index.html", _home(env, sorted(by_language.values(), key=lambda lang: lang.code), title, records)
    multilingual = len(by_language) > 1
    for language in by_language.values():
        say = words(language.code).gettext
        for section, entries in language.sections.items():
            if section == "posts" or entries:
                path = section_index(language.code, section)
                yield path, _page(env, "list.html.j2", path, language, section, multilingual, title,
                                  language.newest.acknowledgement, direction=language.newest.direction,
                                  heading=title if section == "posts" else say(SECTION_LABELS[section]),
                                  entries=[_item(r, path) for r in entries])
            for record in entries:
                yield record.path, _page(env, "entry.html.j2", record.path, language, "", multilingual, title,
                                         record.acknowledgement, direction=record.direction, heading=record.title,
                                         entry=record, has_h1=bool(_H1.search(record.html)))


def _item(record: Record, here: str) -> dict[str, object]:
    return {"href": href(here, record.path), "title": record.title, "summary": record.summary,
            "date": format_day(record.published.date(), record.language), "iso": record.published.date().isoformat()}


def _page(env: jinja2.Environment, template: str, path: str, language: _Language, current: str, multilingual: bool,
          title: str, acknowledgement: str, **context: object) -> str:
    """A page of `language` at `path`; `current` is the section whose list it is ("" for an entry)."""
    return env.get_template(template).render(
        _=words(language.code).gettext, language=language.code, site_title=title, css=href(path, CSS_PATH),
        home=href(path, section_index(language.code, "posts")), feed=href(path, f"{language.code}/feed.xml"),
        nav=language.nav(path, current, multilingual), acknowledgement=acknowledgement, **context)


def _home(env: jinja2.Environment, languages: list[_Language], title: str, records: list[Record]) -> str:
    """The language chooser, written in the language most entries are in (the unit's own,
    as a rule); each language's link is written in that language."""
    counts = Counter(r.language for r in records)
    # On a tie, the language the campaigns are written in.
    sources = Counter(r.extra.get("source_language") for r in records)
    main = min(counts, key=lambda code: (-counts[code], -sources[code], code))
    newest = next(lang for lang in languages if lang.code == main).newest
    return env.get_template("home.html.j2").render(
        _=words(main).gettext, language=main, direction=newest.direction, site_title=title, css=CSS_PATH,
        home="index.html", feed=None, nav=[], acknowledgement=newest.acknowledgement, heading=title,
        languages=[{"code": lang.code, "name": language_name(lang.code), "direction": lang.newest.direction,
                    "href": section_index(lang.code, "posts")} for lang in languages])

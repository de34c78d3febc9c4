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
from markupsafe import Markup, escape

from kmcomms.channels.site.about import About, in_page
from kmcomms.channels.site.entry import SECTIONS, Record, newest_first
from kmcomms.translations.words import format_day, words

__all__ = ["CSS_PATH", "environment", "href", "language_name", "render_pages", "section_index"]

CSS_PATH = "assets/site.css"
#: How many of each section's newest entries the home page lists per language.
LATEST = 3
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


def section_label(section: str, language: str) -> str:
    """The name of `section` in `language`, as its link and its list's heading say it."""
    say = words(language).gettext
    return {"posts": say("Posts"), "videos": say("Videos"), "briefings": say("Briefings")}[section]


def _every_label(section: str, language: str) -> str:
    """The words of the link to a section's whole list, in `language`."""
    say = words(language).gettext
    return {"posts": say("All posts"), "videos": say("All videos"), "briefings": say("All briefings")}[section]


@dataclass(frozen=True)
class _Language:
    """One language's part of the site: its records by section, and what its pages share."""

    code: str
    sections: dict[str, list[Record]]

    @property
    def newest(self) -> Record:
        """The language's newest entry."""
        return newest_first([r for records in self.sections.values() for r in records])[0]

    @property
    def direction(self) -> str:
        """The direction of the language's pages: its entries' (the newest one's)."""
        return self.newest.direction

    def shown(self) -> list[str]:
        """The sections the language has pages for: posts (its home), and each other
        section that has entries."""
        return [section for section in SECTIONS if section == "posts" or self.sections[section]]

    def nav(self, here: str, current: str, multilingual: bool) -> list[dict[str, object]]:
        """The language's navigation from the page at `here`: its sections, and the
        language chooser when there is another language. The link to the `current`
        section's list is marked as the page the reader is on."""
        items = [
            {
                "href": href(here, section_index(self.code, section)),
                "label": section_label(section, self.code),
                "current": section == current,
            }
            for section in self.shown()
        ]
        if multilingual:
            items.append(
                {"href": href(here, "index.html"), "label": words(self.code).gettext("Languages"), "current": False}
            )
        return items


def section_index(language: str, section: str) -> str:
    """The path of a section's list page: the language's home for posts."""
    folder = "/".join(part for part in (language, SECTIONS[section]) if part)
    return f"{folder}/index.html"


def feed_path(language: str) -> str:
    """The path of a language's Atom feed."""
    return f"{language}/feed.xml"


def href(here: str, target: str) -> str:
    """The relative link from the page at `here` to `target` (both relative to the site root)."""
    return posixpath.relpath(target, posixpath.dirname(here) or ".")


def carries_acknowledgement(record: Record) -> bool:
    """Whether the entry's own content holds its acknowledgement (a post's article does):
    then its page's footer need not say it again."""
    text = record.acknowledgement.strip()
    return bool(text) and (text in record.html or str(escape(text)) in record.html)


def render_pages(records: list[Record], title: str, about: About) -> Iterator[tuple[str, str]]:
    """(path, HTML) of every page: the home page, each language's post list and section
    lists, and each entry's page. `about` gives the unit's purpose and acknowledgement;
    where it has no acknowledgement, a page's footer says the one its entry (or its
    language's newest entry) was published with."""
    by_language: dict[str, _Language] = {}
    for record in newest_first(records):
        language = by_language.setdefault(record.language, _Language(record.language, {s: [] for s in SECTIONS}))
        language.sections[record.section].append(record)
    if not by_language:
        return
    env = environment()
    site = _Pages(env, title, about, multilingual=len(by_language) > 1)
    yield "index.html", site.home(sorted(by_language.values(), key=lambda lang: lang.code), records)
    for language in by_language.values():
        for section in language.shown():
            path = section_index(language.code, section)
            entries = language.sections[section]
            purpose = in_page(about.purpose_in(language.code), language.code) if section == "posts" else None
            yield (
                path,
                site.page(
                    "list.html.j2",
                    path,
                    language,
                    section,
                    heading=title if section == "posts" else section_label(section, language.code),
                    purpose=purpose,
                    entries=[_item(r, path) for r in entries],
                ),
            )
        for records_of_section in language.sections.values():
            for record in records_of_section:
                yield (
                    record.path,
                    site.page(
                        "entry.html.j2",
                        record.path,
                        language,
                        "",
                        record,
                        direction=record.direction,
                        heading=record.title,
                        has_h1=bool(_H1.search(record.html)),
                    ),
                )


def _item(record: Record, here: str) -> dict[str, object]:
    return {
        "href": href(here, record.path),
        "title": record.title,
        "summary": record.summary,
        "date": format_day(record.published.date(), record.language),
        "iso": record.published.date().isoformat(),
    }


@dataclass(frozen=True)
class _Pages:
    """What every page of one build shares: the templates, the site's title and the unit."""

    env: jinja2.Environment
    title: str
    about: About
    multilingual: bool

    def acknowledgement(self, language: _Language, record: Record | None) -> Markup | None:
        """The footer's acknowledgement on a page of `language` (showing `record`, on an
        entry's page): none when the entry's content holds it already, so a page says it once."""
        if record is not None and carries_acknowledgement(record):
            return None
        said = self.about.acknowledgement_in(language.code)
        if said is None:
            newest = record or language.newest
            return escape(newest.acknowledgement) if newest.acknowledgement else None
        return in_page(said, language.code)

    def page(
        self,
        template: str,
        path: str,
        language: _Language,
        current: str,
        record: Record | None = None,
        **context: object,
    ) -> str:
        """A page of `language` at `path`: the list of the section `current`, or ("") the
        page of the entry `record`."""
        context.setdefault("direction", language.direction)
        return self.env.get_template(template).render(
            _=words(language.code).gettext,
            language=language.code,
            site_title=self.title,
            css=href(path, CSS_PATH),
            home=href(path, section_index(language.code, "posts")),
            feed=href(path, feed_path(language.code)),
            nav=language.nav(path, current, self.multilingual),
            entry=record,
            acknowledgement=self.acknowledgement(language, record),
            **context,
        )

    def home(self, languages: list[_Language], records: list[Record]) -> str:
        """The home page: the unit's name and purpose, and for each language (in its own
        words) its newest posts, videos and briefings and its feed. The page is written in
        the language most entries are in (the unit's own on a tie)."""
        counts = Counter(r.language for r in records)
        chosen = min(counts, key=lambda code: (-counts[code], code != self.about.language, code))
        main = next(lang for lang in languages if lang.code == chosen)
        return self.env.get_template("home.html.j2").render(
            _=words(main.code).gettext,
            language=main.code,
            direction=main.direction,
            site_title=self.title,
            css=CSS_PATH,
            home="index.html",
            feed=None,
            nav=[],
            heading=self.title,
            acknowledgement=self.acknowledgement(main, None),
            purpose=in_page(self.about.purpose_in(main.code), main.code),
            # The page's own language first: its readers come for it.
            languages=[_overview(lang) for lang in sorted(languages, key=lambda lang: lang is not main)],
        )


def _overview(language: _Language) -> dict[str, object]:
    """A language's part of the home page, in its own words."""
    code = language.code
    sections = [
        {
            "label": section_label(section, code),
            "href": section_index(code, section),
            "every": _every_label(section, code),
            "entries": [_item(r, "index.html") for r in records[:LATEST]],
        }
        for section, records in language.sections.items()
        if records
    ]
    return {
        "code": code,
        "name": language_name(code),
        "direction": language.direction,
        "href": section_index(code, "posts"),
        "feed": feed_path(code),
        "feed_label": words(code).gettext("Atom feed"),
        "sections": sections,
    }

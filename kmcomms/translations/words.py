"""The fixed words of kmcomms's own templates, in each campaign language.

Messages are written by people; the words around them ("Read more",
"Unsubscribe", "Published on {date}") come from the gettext catalogs in
`kmcomms/locale/<lang>/LC_MESSAGES/kmcomms.po`, with English as the msgid.
Also here: which way a language is written, and a day written out in it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from types import MappingProxyType
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.pofile import read_po
from markupsafe import Markup, escape

__all__ = ["Words", "direction", "format_day", "words"]

_DOMAIN = "kmcomms"


@dataclass(frozen=True)
class Words:
    """The translations for one language; anything missing stays in English."""

    language: str
    table: Mapping[str, str] = field(default_factory=dict, repr=False)

    def gettext(self, text: str, **params: object) -> str:
        # Format after looking up, so the msgid is the stable English text with
        # its {placeholders}, exactly as the catalog stores it.
        return self.table.get(text, text).format(**params)

    def html(self, text: str, **params: object) -> Markup:
        """`gettext` for HTML written without a template: the translation escaped, and
        each parameter escaped unless it is `Markup` already (`<strong>{0}</strong>`)."""
        return Markup(escape(self.table.get(text, text))).format(**params)


def _tags(language: str) -> list[str]:
    """Catalog names to try: for "pt-BR", "pt_BR" then plain "pt"."""
    tag = language.replace("-", "_")
    return [tag] if "_" not in tag else [tag, tag.split("_")[0]]


@functools.cache  # campaigns render many deliveries per language; parse each catalog once
def words(language: str) -> Words:
    """The words for `language`; an unknown language gets English throughout."""
    for tag in _tags(language):
        po = files("kmcomms") / "locale" / tag / "LC_MESSAGES" / f"{_DOMAIN}.po"
        if not po.is_file():
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=None, domain=_DOMAIN)
        # Fuzzy entries are a translator's unfinished guess, so they stay out.
        # Machine-draft entries are used: they are drafts, and their catalogs say so.
        table = {
            m.id: m.string
            for m in catalog
            if m.id and isinstance(m.id, str) and m.string and isinstance(m.string, str) and not m.fuzzy
        }
        return Words(language, MappingProxyType(table))
    return Words(language)


@functools.cache  # parsing a locale costs more than the formatting it is used for
def _locale(language: str) -> Locale | None:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None


def direction(language: str) -> Literal["rtl", "ltr"]:
    """The `dir` attribute for `language`: "rtl" for Arabic, Urdu, Yiddish…, else "ltr"."""
    locale = _locale(language)
    return "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr"


def format_day(day: date, language: str) -> str:
    """`day` written out in `language` (e.g. "11 stycznia 2027"), English if Babel lacks it.
    Plain "en" is written the British way ("11 January 2027"): kmcomms serves UK units;
    "en-US" gives the American form."""
    return format_date(day, format="long", locale=_locale(_DATE_VARIANT.get(language, language)) or "en_GB")


_DATE_VARIANT = {"en": "en_GB"}

"""What the site says about the unit on its pages (`[unit]` in kmcomms.toml): its purpose
on the home pages and its acknowledgement in the footers, each in the page's language
where it is translated, else as written, marked with the language it is written in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from kmcomms.translations.words import direction

__all__ = ["About", "Said", "in_page"]


@dataclass(frozen=True)
class Said:
    """A text and the language it is written in."""

    text: str
    language: str


@dataclass(frozen=True)
class About:
    """The unit's `purpose` and `acknowledgement`, written in `language`, with their
    translations by language code. Empty texts are not shown."""

    language: str = "en"
    purpose: str = ""
    purposes: Mapping[str, str] = field(default_factory=dict)
    acknowledgement: str = ""
    acknowledgements: Mapping[str, str] = field(default_factory=dict)

    def purpose_in(self, language: str) -> Said | None:
        return self._pick(language, self.purposes, self.purpose)

    def acknowledgement_in(self, language: str) -> Said | None:
        return self._pick(language, self.acknowledgements, self.acknowledgement)

    def _pick(self, language: str, translations: Mapping[str, str], text: str) -> Said | None:
        # Looked up as the renderer looks up a delivery's acknowledgement: by the exact code.
        if translations.get(language):
            return Said(translations[language], language)
        return Said(text, self.language) if text else None


def in_page(said: Said | None, language: str) -> Markup | None:
    """`said` as HTML for a page in `language`: in another language, it is wrapped in a
    span that says which, and which way it runs; the paragraph around it keeps the page's
    direction, so it lines up with the rest of the page."""
    if said is None:
        return None
    if said.language == language:
        return escape(said.text)
    return Markup('<span lang="{0}" dir="{1}">{2}</span>').format(said.language, direction(said.language), said.text)

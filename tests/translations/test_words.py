"""Template words: every word the code and templates look up is in the catalog template, every
catalog parses and is complete, placeholders survive, directions and days."""

from __future__ import annotations

import re
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract
from markupsafe import Markup

from kmcomms.translations.words import direction, format_day, words

PACKAGE = Path(__file__).resolve().parents[2] / "kmcomms"
LOCALE = files("kmcomms") / "locale"
LANGUAGES = ["ur", "pa", "pl", "ro", "so", "ar", "yi"]


def _read(path):
    with path.open("rb") as handle:
        return read_po(handle)


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{[^{}]*\}", text))


TEMPLATE_IDS = [m.id for m in _read(LOCALE / "kmcomms.pot") if m.id]


#: How code looks words up: `_("…")` in templates, `words(language).gettext("…")`, `say("…")`
#: (`say = words(language).gettext`) and `say.html("…")` in Python.
KEYWORDS = {**DEFAULT_KEYWORDS, "say": None, "html": None}


def used_words() -> dict[str, list[str]]:
    """Every word kmcomms looks up, with where: extracted as pybabel would."""
    found: dict[str, list[str]] = {}
    sources = [("python", path) for path in PACKAGE.rglob("*.py")]
    sources += [(babel_extract, path) for path in (PACKAGE / "templates").rglob("*.j2")]
    for method, path in sorted(sources, key=lambda source: source[1]):
        with path.open("rb") as handle:
            for line, message, _, _ in extract(
                method, handle, keywords=KEYWORDS, options={"trim_blocks": "true", "lstrip_blocks": "true"}
            ):
                found.setdefault(message, []).append(f"{path.relative_to(PACKAGE)}:{line}")
    return found


def test_every_word_the_code_looks_up_is_in_the_catalog_template():
    used = used_words()
    assert {"Posts", "Atom feed", "Watch on {platform}", "You are unsubscribed", "Skip to content"} <= set(used)
    missing = {message: where for message, where in used.items() if message not in TEMPLATE_IDS}
    assert missing == {}, "add these to kmcomms/locale/kmcomms.pot and translate them in every catalog"


def test_template_lists_the_words():
    assert "Read more" in TEMPLATE_IDS
    assert "Published on {date}" in TEMPLATE_IDS
    assert len(TEMPLATE_IDS) == len(set(TEMPLATE_IDS)) == 36


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_translates_every_word_and_keeps_placeholders(language):
    catalog = _read(LOCALE / language / "LC_MESSAGES" / "kmcomms.po")
    assert str(catalog.locale) == language
    assert catalog.plural_forms  # header carries Babel's Plural-Forms
    entries = {m.id: m for m in catalog if m.id}
    assert sorted(entries) == sorted(TEMPLATE_IDS)
    for msgid, message in entries.items():
        assert message.string.strip(), (language, msgid)
        assert _placeholders(message.string) == _placeholders(msgid), (language, msgid)
        assert not message.fuzzy and "python-format" not in message.flags
        assert "machine-draft" in message.flags  # until a native speaker reviews it


@pytest.mark.parametrize("language", LANGUAGES)
def test_words_uses_the_catalog(language):
    say = words(language)
    assert say.gettext("Summary") != "Summary"
    assert "BRU" in say.gettext("You are receiving this because you asked for news from {unit}.", unit="BRU")


@pytest.mark.parametrize("language", ["ur", "ar", "yi", "fa"])
def test_right_to_left(language):
    assert direction(language) == "rtl"


@pytest.mark.parametrize("language", ["en", "pl", "pa", "xx", "en-GB"])
def test_left_to_right(language):
    assert direction(language) == "ltr"


def test_format_day_in_the_language():
    assert "stycznia" in format_day(date(2027, 1, 11), "pl")
    assert format_day(date(2027, 1, 11), "xx") == "11 January 2027"
    assert format_day(date(2027, 1, 11), "en") == "11 January 2027"  # British, for UK units
    assert format_day(date(2027, 1, 11), "en-US") == "January 11, 2027"


def test_unknown_language_falls_back_to_english():
    say = words("xx")
    assert say.gettext("Read more") == "Read more"
    assert say.gettext("Published on {date}", date="today") == "Published on today"
    assert words("pl").gettext("No such entry") == "No such entry"


def test_words_as_html_escape_the_translation_and_the_values():
    say = words("ur")
    assert say.html("Unsubscribe {email}", email="<a@b.org>") == "&lt;a@b.org&gt; کی سبسکرپشن ختم کریں"
    assert (
        say.html("Unsubscribe {email}", email=Markup("<bdi>a@b.org</bdi>")) == "<bdi>a@b.org</bdi> کی سبسکرپشن ختم کریں"
    )
    assert words("xx").html("Watch on {platform}", platform="A & B") == "Watch on A &amp; B"


def test_region_falls_back_to_the_language():
    assert words("pl-PL").gettext("Summary") == words("pl").gettext("Summary") == "Podsumowanie"

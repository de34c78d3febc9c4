"""Template words: every catalog parses and is complete, placeholders survive, directions and days."""

from __future__ import annotations

import re
from datetime import date
from importlib.resources import files

import pytest
from babel.messages.pofile import read_po

from kmcomms.words import direction, format_day, words

LOCALE = files("kmcomms") / "locale"
LANGUAGES = ["ur", "pa", "pl", "ro", "so", "ar", "yi"]


def _read(path):
    with path.open("rb") as handle:
        return read_po(handle)


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{[^{}]*\}", text))


TEMPLATE_IDS = [m.id for m in _read(LOCALE / "kmcomms.pot") if m.id]


def test_template_lists_the_words():
    assert "Read more" in TEMPLATE_IDS
    assert "Published on {date}" in TEMPLATE_IDS
    assert len(TEMPLATE_IDS) == len(set(TEMPLATE_IDS)) == 21


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


def test_region_falls_back_to_the_language():
    assert words("pl-PL").gettext("Summary") == words("pl").gettext("Summary") == "Podsumowanie"

"""Reading age: the words a reader reads in a rendered draft, and how hard they are.

The reading age of English text is its Flesch–Kincaid grade + 5 (`reading_age`), with
syllables counted by hyphenation and spelling rules. `reading_age_problems` checks a
draft addressed to the public or to patients against its audience's `reading_age`,
measured on the message's own words: the templates' boilerplate, the unit's
acknowledgement and addresses are left out.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser

import pyphen

from kmcomms.campaign.models import Audience
from kmcomms.errors import Severity
from kmcomms.render.drafts import Draft, Problem, SocialPost, VideoListing

__all__ = ["NHS_READING_AGE", "READING_AGE_KINDS", "flesch_kincaid_grade", "reading_age", "reading_age_problems"]

#: Audience kinds whose English text is checked for reading age.
READING_AGE_KINDS = frozenset({"public", "patients"})
NHS_READING_AGE = "9 to 11"

# Boilerplate the kmcomms templates put around a message: not the author's words, so it
# is left out of the reading age. English msgids: reading age is measured on English only.
_SKIP_TAGS = frozenset({"head", "title", "style", "script", "template", "footer"})
_SKIP_CLASSES = frozenset({"km-preheader", "km-footer", "km-date", "km-note", "km-kind"})
_BOILERPLATE = (
    re.compile(r"^Sent in the source language: the translation is not complete\.$", re.MULTILINE),
    re.compile(r"^You are receiving this because you asked for news from .*$", re.MULTILINE),
    re.compile(r"^Unsubscribe(: .*)?$", re.MULTILINE),
    re.compile(r"^Published on .*$", re.MULTILINE),
)
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
_URL = re.compile(r"\b(?:https?|ftp|mailto):\S+|\bwww\.\S+|\S+@\S+\.\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


# --- The formula -------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d+(?:[.,:]\d+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_VOWELS = re.compile(r"[aeiouyàâäéèêëîïôöûüœæ]", re.IGNORECASE)


@functools.cache
def _dictionary() -> pyphen.Pyphen:
    # left/right = 1: pyphen's defaults (2, 2) never split off a final syllable, so
    # "people" and "wanted" would count as one.
    return pyphen.Pyphen(lang="en_US", left=1, right=1)


def _silent_ending(word: str) -> bool:
    """Whether a final e, -es or -ed is no syllable: make, makes, asked (but table, places, wanted)."""
    if word.endswith("e"):
        return not re.search(r"[^aeiouy]le$", word)
    if word.endswith("es"):
        return bool(re.search(r"[^aeiouy]es$", word)) and not re.search(r"(?:[sxzcg]|ch|sh|[^aeiouy]l)es$", word)
    return bool(re.search(r"[^tde]ed$", word))


def _vowel_groups(word: str) -> int:
    """Syllables of a lowercase word by the usual spelling rules: groups of vowels, less
    a silent final e (make, but table) or -es/-ed (makes, asked, but places, wanted),
    plus vowels side by side that are two syllables (vi-de-o, ra-di-o, ar-e-a)."""
    core = word.removeprefix("y")  # a first y is a consonant: you, year
    count = len(re.findall(r"[aeiouy]+", core))
    if count > 1 and _silent_ending(word):
        count -= 1
    count += len(re.findall(r"(?<![tscxlng])i[ao]|(?<!p)eo|(?<![qgs])ua|iu", word))
    if len(word) > 3 and re.search(r"[^aeiouy]ea$", word):
        count += 1
    return count


@functools.lru_cache(maxsize=65536)
def _syllables(word: str) -> int:
    if word[0].isdigit():
        return 1
    total = 0
    for part in re.split(r"[-'’]", word):
        if not part:
            continue
        if part.isupper() and len(part) > 1 and not _VOWELS.search(part):
            total += len(part)  # an initialism is read letter by letter: NHS, GP, HPV
            continue
        part = part.lower()
        # The hyphenation pieces that hold a vowel: the dictionary sometimes splits off a
        # lone consonant ("word-s", "con-sen-t"), which is no syllable, or a first y ("y-our").
        pieces = _dictionary().inserted(part, hyphen="\x00").split("\x00")
        pieces[0] = pieces[0].removeprefix("y")
        hyphenated = sum(1 for piece in pieces if _VOWELS.search(piece))
        # Hyphenation dictionaries leave a single vowel unsplit ("ma-ny", "o-ver", "a-bout"
        # stay whole): the spelling rules catch those. Against the CMU Pronouncing
        # Dictionary, the larger of the two is exact for 96% of the words in the example
        # campaigns (pyphen alone: 91%).
        total += max(1, hyphenated, _vowel_groups(part))
    return max(1, total)


def _counts(text: str) -> tuple[int, int, int]:
    """(words, sentences, syllables) of plain `text`. Blank lines end sentences too, so a
    heading or list item without a full stop does not run into the next sentence."""
    words = sentences = syllables = 0
    for block in re.split(r"\n\s*\n", _URL.sub(" ", text)):
        for sentence in _SENTENCE_END.split(_SPACE.sub(" ", block).strip()):
            found = _WORD.findall(sentence)
            if found:
                sentences += 1
                words += len(found)
                syllables += sum(_syllables(w) for w in found)
    return words, sentences, syllables


@functools.lru_cache(maxsize=4096)  # one text is checked for each audience that reads it
def flesch_kincaid_grade(text: str) -> float:
    """The Flesch–Kincaid grade level of English `text`:
    0.39 × words/sentences + 11.8 × syllables/words − 15.59 (0.0 for text without words).

    Syllables are counted with the pyphen (Hunspell) hyphenation dictionary, checked by
    spelling rules where it leaves a word whole: an estimate, as every readability
    formula is.
    """
    words, sentences, syllables = _counts(text)
    if not words:
        return 0.0
    return 0.39 * words / sentences + 11.8 * syllables / words - 15.59


def reading_age(text: str) -> float:
    """The reading age, in years, of English `text`: its Flesch–Kincaid (US) grade + 5,
    the age at which UK children are in the matching school year."""
    return flesch_kincaid_grade(text) + 5


# --- The words a reader reads ------------------------------------------------------------


class _Page(HTMLParser):
    """An HTML draft's readable text, without the templates' boilerplate."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # open elements: (tag, skipped)
        self.feed(source)
        self.close()

    @property
    def _skipping(self) -> bool:
        return any(skipped for _, skipped in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag in _VOID_TAGS:
            return
        classes = set((dict(attrs).get("class") or "").split())
        self._stack.append((tag, tag in _SKIP_TAGS or bool(classes & _SKIP_CLASSES)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS and self._stack and self._stack[-1][0] == tag:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _readable(text: str, acknowledgement: str) -> str:
    """`text` without the acknowledgement and the templates' fixed English lines."""
    if acknowledgement.strip():
        text = re.sub(r"\s+".join(map(re.escape, acknowledgement.split())), "\n\n", text)
    for pattern in _BOILERPLATE:
        text = pattern.sub("", text)
    return text


def _draft_text(draft: Draft, markup: str | None) -> str:
    """The words a reader reads: title, summary and body, as plain text."""
    if markup is not None:
        return _Page(markup).text
    if isinstance(draft, VideoListing):
        return f"{draft.title}\n\n{draft.description}"
    if isinstance(draft, SocialPost):
        return draft.text
    return draft.title


def reading_age_problems(draft: Draft, audience: Audience, markup: str | None, acknowledgement: str) -> list[Problem]:
    """A warning when `draft` (`markup`: its HTML, if it has any), in English for the public
    or patients, reads above `audience`'s reading age; `acknowledgement` is left out."""
    if draft.language != "en" or audience.kind not in READING_AGE_KINDS or audience.reading_age is None:
        return []
    text = _readable(_draft_text(draft, markup), acknowledgement)
    if not _WORD.search(text):
        return []
    grade = flesch_kincaid_grade(text)
    age = round(grade + 5, 1)
    if age <= audience.reading_age:
        return []
    return [
        Problem(
            Severity.WARNING,
            "reading-age",
            f"reading age is {age:.1f} (Flesch–Kincaid grade {grade:.1f}), above the audience's {audience.reading_age} "
            f"— use shorter sentences and everyday words; the NHS aims for {NHS_READING_AGE}",
        )
    ]

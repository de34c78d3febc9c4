"""The text of a social post as the platforms count and mark it up: its length in
graphemes (user-perceived characters, as Bluesky and Mastodon count them), the web
addresses in it, and Bluesky's rich-text link facets, which place each address by its
UTF-8 byte offsets (on Bluesky a link is clickable only with its facet)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["facets", "graphemes", "links"]

_URL = re.compile(r"https?://[^\s<>\"]+")
# Punctuation that ends a sentence rather than an address (Latin, Arabic script, CJK).
_TRAILING = ".,;:!?'\")]}»”’۔،。、"


def links(text: str) -> list[tuple[int, int, str]]:
    """Every http(s) address in `text` as (start, end, address), in character offsets,
    without the punctuation that closes a sentence (a ")" stays when the address opened one)."""
    found = []
    for match in _URL.finditer(text):
        url = match[0]
        while url and url[-1] in _TRAILING and not (url[-1] == ")" and url.count("(") >= url.count(")")):
            url = url[:-1]
        found.append((match.start(), match.start() + len(url), url))
    return found


def facets(text: str) -> list[dict[str, Any]]:
    """Link facets for `text`: each address's UTF-8 byte range and its `#link` feature."""
    result = []
    for start, end, url in links(text):
        first = len(text[:start].encode("utf-8"))
        result.append(
            {
                "index": {"byteStart": first, "byteEnd": first + len(text[start:end].encode("utf-8"))},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
        )
    return result


def graphemes(text: str) -> int:
    """How many user-perceived characters `text` has, as Bluesky and Mastodon count them.

    Python has no grapheme segmentation, so this follows the rules of Unicode extended
    grapheme clusters that matter in the scripts kmcomms writes: combining and spacing
    marks (Urdu and Arabic diacritics, Indic vowel signs), joiners and emoji sequences
    (skin tones, ZWJ families, tags), flags (regional indicator pairs) and CR LF each stay
    with what they follow. Hangul jamo and prepended marks are counted apart, which can
    only overcount: a post this passes, the platform accepts.
    """
    count, previous, flag_open = 0, "", False
    for char in text:
        point = ord(char)
        regional = 0x1F1E6 <= point <= 0x1F1FF
        joins = bool(previous) and (
            unicodedata.category(char) in ("Mn", "Mc", "Me")
            or char in "\u200c\u200d"
            or 0x1F3FB <= point <= 0x1F3FF
            or 0xE0020 <= point <= 0xE007F
            or previous == "\u200d"
            or (previous == "\r" and char == "\n")
            or (regional and flag_open)
        )
        flag_open = regional and not flag_open
        count += not joins
        previous = char
    return count

"""A policy briefing as a tagged PDF (PDF/UA-1), printed by WeasyPrint from its own HTML.

`briefing_pdf(draft)` prints `draft.html`: the very document the briefing's site page is
cut from and its mail carries, so the PDF cannot say anything the page does not. The
template's print styles (`@media print` in `briefing.html.j2`) lay the A4 page out in the
POST-note shape; this module adds what depends on the briefing and on the machine: the
fonts of the briefing's script, and at the foot of every page the acknowledgement and
"page / pages". The PDF is tagged (headings, lists, links, in reading order), carries
the page's language and title, and says it is PDF/UA-1.

Fonts: each script has its Noto family (`SCRIPT_FONTS`: Noto Sans for Latin, Cyrillic and
Greek, Noto Naskh Arabic for Arabic and Urdu, Noto Sans Hebrew for Yiddish, Noto Sans
Gurmukhi for Panjabi, …), found by fontconfig among the system's fonts (Debian/Ubuntu:
`apt install fonts-noto-core`) or in the folder the channel's `fonts` setting names (for
a machine where fonts cannot be installed). A character the family lacks is set in any
installed font that has it (an English address in an Urdu briefing). Without the family, the PDF is still
made in another installed font that has the letters, with a warning saying what to
install (`BriefingPdf.warnings`); letters that no installed font has would print as
empty boxes, so then no PDF is made and `PdfError` says what to install.

WeasyPrint, and Pango under it, are loaded when the first PDF is made, not at import.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import cast

from babel import Locale, UnknownLocaleError
from babel.core import get_global

from kmcomms.errors import KmcommsError
from kmcomms.render.drafts import Briefing

__all__ = ["SCRIPT_FONTS", "BriefingPdf", "Family", "PdfError", "briefing_pdf", "check_fonts", "script_of"]


@dataclass(frozen=True, slots=True)
class Family:
    """The font family a script is set in, and where to get it."""

    name: str
    """As fontconfig and CSS know it: "Noto Naskh Arabic"."""
    file: str
    """Its regular face's file, for the channel's `fonts` folder."""
    package: str = "fonts-noto-core"
    """The Debian/Ubuntu package that installs it."""

    @property
    def advice(self) -> str:
        """What to do to have it, for a message that ends with it."""
        cask = "font-" + self.name.lower().replace(" ", "-")
        return (
            f"install {self.package} (Debian/Ubuntu: apt install {self.package}; macOS: brew install --cask "
            f"{cask}) or put {self.file} in the folder the channel's `fonts` setting names"
        )


def _noto(name: str) -> Family:
    return Family(name, name.replace(" ", "") + "-Regular.ttf")


#: The family each script (ISO 15924 code) is set in; other scripts get whatever
#: installed font has their letters.
SCRIPT_FONTS: dict[str, Family] = {
    "Latn": _noto("Noto Sans"),
    "Cyrl": _noto("Noto Sans"),
    "Grek": _noto("Noto Sans"),
    "Arab": _noto("Noto Naskh Arabic"),  # Urdu too
    "Hebr": _noto("Noto Sans Hebrew"),
    "Guru": _noto("Noto Sans Gurmukhi"),
    "Beng": _noto("Noto Sans Bengali"),
    "Deva": _noto("Noto Sans Devanagari"),
    "Gujr": _noto("Noto Sans Gujarati"),
    "Ethi": _noto("Noto Sans Ethiopic"),
    "Taml": _noto("Noto Sans Tamil"),
    "Thai": _noto("Noto Sans Thai"),
}
LATIN = SCRIPT_FONTS["Latn"]
#: Pango, under WeasyPrint, as its installation notes name the packages.
PANGO = (
    "install Pango (Debian/Ubuntu: apt install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; "
    "macOS: brew install pango)"
)
_VARIANT = "pdf/ua-1"  # tagged, with language, title and the PDF/UA identification
_FONT_FILES = {".ttf", ".otf", ".ttc"}
_GREY = "#4c4c4c"  # the template's


class PdfError(KmcommsError):
    """No PDF can be made as it should be (no font has the briefing's letters, WeasyPrint
    cannot load Pango); the message says what to install."""


@dataclass(frozen=True, slots=True)
class BriefingPdf:
    """A briefing's PDF and what the reader may find wrong with it (a missing font)."""

    data: bytes
    warnings: tuple[str, ...] = ()


def script_of(language: str) -> str:
    """The script `language` names ("pa-Arab" → "Arab") or is usually written in
    ("ur" → "Arab", "pa" → "Guru"); Latin when unknown."""
    tag = language.replace("-", "_")
    named = [part.title() for part in tag.split("_")[1:] if len(part) == 4 and part.isalpha()]
    if named:
        return named[0]
    likely: Mapping[str, str] = get_global("likely_subtags")
    for key in (tag, tag.split("_")[0]):
        parts = likely.get(key, "").split("_")
        if len(parts) > 1 and len(parts[1]) == 4:
            return parts[1]
    return "Latn"


def _named(language: str) -> str:
    """'Gurmukhi (Punjabi)': the script and the language, in English, for a message."""
    script = script_of(language)
    try:
        name = Locale.parse(language, sep="-").get_display_name("en") or language
    except (ValueError, UnknownLocaleError):
        name = language
    return f"{Locale('en').scripts.get(script, script)} ({name})"


# ---------------------------------------------------------------------------- fonts


@dataclass(frozen=True, slots=True)
class _Face:
    """A font file of the `fonts` folder, as an @font-face rule declares it."""

    family: str
    path: Path
    weight: int
    italic: bool


@functools.lru_cache(maxsize=256)  # keyed by the file's change time too, so an edit is seen
def _face(path: Path, _changed: int) -> _Face | None:
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with path.open("rb") as file, TTFont(file, lazy=True, fontNumber=0) as font:
            family = font["name"].getBestFamilyName()
            metrics = font["OS/2"]
            return _Face(family, path, metrics.usWeightClass, bool(metrics.fsSelection & 1)) if family else None
    except (TTLibError, KeyError, OSError, AssertionError):  # what fontTools raises for a file that is no font
        return None


def _folder_faces(folder: Path | None) -> tuple[list[_Face], list[str]]:
    """The fonts of `folder`, and a warning for each file there that is not one."""
    if folder is None:
        return [], []
    if not folder.is_dir():
        return [], [f"the fonts folder {folder} does not exist — create it or correct the channel's `fonts` setting"]
    faces, warnings = [], []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in _FONT_FILES):
        face = _face(path, path.stat().st_mtime_ns)
        if face is None:
            warnings.append(f"{path} is not a font kmcomms can read: it is left out")
        else:
            faces.append(face)
    return faces, warnings


def _css_string(text: str) -> str:
    """`text` as a CSS string: quotes, backslashes and line breaks escaped."""
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\{ord(c):x} " for c in text) + '"'


def _direction(text: str, default: str) -> str:
    """The direction of `text`'s first strong character (as `dir="auto"` decides)."""
    for character in text:
        kind = unicodedata.bidirectional(character)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return default


def _stylesheet(language: str, direction: str, acknowledgement: str, faces: list[_Face]) -> str:
    """What the PDF adds to the page's own print styles: the fonts of the script (and
    the folder's) in every element, whatever the template says (!important: a stylesheet
    given to WeasyPrint is the user's, which the template's rules would otherwise beat),
    and the foot of every page."""
    family = SCRIPT_FONTS.get(script_of(language))
    # The folder's fonts stand in for installed ones of their family; a family of its own
    # is there for characters the Noto families lack.
    names = dict.fromkeys([*([family.name] if family else []), LATIN.name, *(face.family for face in faces)])
    stack = ", ".join([*map(_css_string, names), "sans-serif"])
    rules = [
        f"@font-face {{ font-family: {_css_string(face.family)}; src: url({_css_string(face.path.as_uri())}); "
        f"font-weight: {face.weight}; font-style: {'italic' if face.italic else 'normal'}; }}"
        for face in faces
    ]
    # The acknowledgement may be in another language than the briefing (one not yet
    # translated): it runs in its own direction. The page number reads left to right
    # in every script (U+2066 … U+2069 isolate it from a right-to-left line).
    page = "'\\2066' counter(page) ' / ' counter(pages) '\\2069'"
    footer = (
        f"content: {_css_string(acknowledgement + chr(10))} {page}; white-space: pre-line; "
        f"direction: {_direction(acknowledgement, direction)}; font: 7.5pt/1.4 {stack}; color: {_GREY}; "
        "vertical-align: top; padding-top: 6mm;"
    )
    # The foot grows with the acknowledgement (a line of it holds more than 90 characters).
    lines = 1 + math.ceil(len(acknowledgement) / 90)
    return "\n".join(
        [
            *rules,
            f"* {{ font-family: {stack} !important; }}",
            f"@page {{ margin-bottom: {max(28, 10 + 4 * lines)}mm !important; @bottom-center {{ {footer} }} }}",
        ]
    )


# ---------------------------------------------------------------------------- WeasyPrint


def _weasyprint() -> ModuleType:
    try:
        import weasyprint
    except OSError as exc:  # cffi could not open a library WeasyPrint needs
        raise PdfError(f"briefing PDFs need Pango, which WeasyPrint cannot load ({exc}) — {PANGO}") from exc
    return cast(ModuleType, weasyprint)  # typed as Any: WeasyPrint ships no type hints


@contextmanager
def _boxes() -> Iterator[list[str]]:
    """Collects the characters WeasyPrint draws as an empty box (no installed font has
    them) in this thread while the block runs. WeasyPrint logs a warning for each one
    drawn; they are held back, for the caller to say once what is missing."""
    logger, thread, found = logging.getLogger("weasyprint"), threading.get_ident(), []

    def keep(record: logging.LogRecord) -> bool:
        if record.thread == thread and str(record.msg).startswith(".notdef glyph") and record.args:
            found.append(str(record.args[0]))  # type: ignore[index]  # this warning's args are a tuple, not a mapping
            return False
        return True

    logger.addFilter(keep)
    try:
        yield found
    finally:
        logger.removeFilter(keep)


def _print(html: str, language: str, direction: str, acknowledgement: str, fonts: Path | None) -> BriefingPdf:
    weasyprint = _weasyprint()
    from weasyprint.text.fonts import FontConfiguration

    faces, warnings = _folder_faces(fonts)
    font_config = FontConfiguration()  # a fresh fontconfig view: fonts installed since are found
    stylesheet = weasyprint.CSS(
        string=_stylesheet(language, direction, acknowledgement, faces), font_config=font_config
    )
    with _boxes() as boxed:
        document = weasyprint.HTML(string=html).render(
            stylesheets=[stylesheet], font_config=font_config, pdf_variant=_VARIANT
        )
        data = document.write_pdf(pdf_variant=_VARIANT)
    used = sorted({font.family for font in document.fonts.values()})
    family = SCRIPT_FONTS.get(script_of(language))
    # Letters (and their marks and digits) as boxes would lose words; a symbol, not.
    if words := [c for c in dict.fromkeys(boxed) if unicodedata.category(c)[0] in "LMN"]:
        advice = family.advice if family and family.name not in used else "install a font that has them"
        shown = [c for c in words if unicodedata.category(c)[0] == "L"] or words
        raise PdfError(
            f"no installed font has the letters {' '.join(shown[:10])} of this {_named(language)} "
            f"briefing, so its PDF would show them as empty boxes — {advice}"
        )
    if family is not None and family.name not in used:
        instead = ", ".join(name for name in used if name != LATIN.name) or "no font"
        warnings.append(
            f"no {family.name} font for {_named(language)}: the PDF is set in {instead} instead — {family.advice}"
        )
    if symbols := "".join(dict.fromkeys(boxed)):
        warnings.append(
            f"no installed font has {' '.join(symbols[:12])}, so the PDF shows empty boxes there — "
            "install a font that has them, or leave them out"
        )
    return BriefingPdf(data, tuple(warnings))


def briefing_pdf(draft: Briefing, *, fonts: Path | None = None) -> BriefingPdf:
    """The briefing printed from its HTML as a tagged A4 PDF (PDF/UA-1), in the fonts of
    its language's script. `fonts` is a folder of fonts used before the system's.

    Raises `PdfError` when the PDF cannot be read as it should: letters of the briefing
    no installed font has, or WeasyPrint without Pango. A font that is missing while
    another has the letters is a warning in the result."""
    return _print(draft.html, draft.language, draft.direction, draft.acknowledgement, fonts)


def check_fonts(fonts: Path | None = None) -> list[str]:
    """What is wrong with making briefing PDFs on this machine, before any is made: a
    PDF in Latin script printed and thrown away (a briefing's own language is known only
    when it is made)."""
    sample = '<!DOCTYPE html><html lang="en"><title>Policy briefing</title><p>Policy briefing</p></html>'
    try:
        return list(_print(sample, "en", "ltr", "", fonts).warnings)
    except PdfError as exc:
        return [str(exc)]

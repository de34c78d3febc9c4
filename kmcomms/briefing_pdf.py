"""A policy briefing as a PDF: the POST-note shape on A4, in the briefing's own script.

`briefing_pdf(draft)` lays out the title, date, summary, key points, the message's body,
how strong the evidence is and what is uncertain, numbered recommendations and contacts,
with the unit's acknowledgement and the page number in the footer of every page.

Fonts: each script needs its own (Noto Sans for Latin, Cyrillic and Greek, Noto Naskh
Arabic for Arabic and Urdu, Noto Sans Hebrew for Yiddish, Noto Sans Gurmukhi for Panjabi,
…). They are looked up in a folder the caller names first, then in the Debian/Ubuntu font
folders (`apt install fonts-noto-core`). The font of the briefing's script is required
(`FontMissing` says which file and package); the others found are fallbacks, so an
English address in Urdu text still renders. Text is shaped with HarfBuzz, so Arabic script
joins and runs right to left, and a right-to-left briefing is aligned to the right.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from babel import Locale
from babel.core import get_global
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from kmcomms.errors import KmcommsError
from kmcomms.render.drafts import Briefing
from kmcomms.words import words

__all__ = [
    "FONT_DIRS",
    "SCRIPT_FONTS",
    "Face",
    "FontMissing",
    "body_blocks",
    "briefing_blocks",
    "briefing_pdf",
    "face_for",
    "script_of",
]

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/dejavu"),
)
FONT_PACKAGE = "fonts-noto-core"


def _noto(stem: str) -> tuple[str, str]:
    return f"{stem}-Regular.ttf", f"{stem}-Bold.ttf"


#: Font files for each script (ISO 15924 code), in order of preference: (regular, bold).
SCRIPT_FONTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Latn": (_noto("NotoSans"), ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")),
    "Arab": (_noto("NotoNaskhArabic"), _noto("NotoSansArabic")),
    "Hebr": (_noto("NotoSansHebrew"),),
    "Guru": (_noto("NotoSansGurmukhi"),),
    "Beng": (_noto("NotoSansBengali"),),
    "Deva": (_noto("NotoSansDevanagari"),),
    "Gujr": (_noto("NotoSansGujarati"),),
    "Ethi": (_noto("NotoSansEthiopic"),),
    "Taml": (_noto("NotoSansTamil"),),
    "Thai": (_noto("NotoSansThai"),),
}
SCRIPT_FONTS["Cyrl"] = SCRIPT_FONTS["Grek"] = SCRIPT_FONTS["Latn"]  # Noto Sans covers both
# Urdu gets Naskh too, not Nastaliq: fpdf2 draws Noto Nastaliq Urdu well, but its text
# layer then holds the font's dot and stroke glyphs, so the PDF cannot be searched,
# quoted or read aloud. Naskh keeps the words.
_RTL_ALIGN = {"rtl": Align.R, "ltr": Align.L}
_ACCENT = (0, 94, 184)  # the briefing HTML's rule colour
_GREY = (76, 76, 76)
_TEXT = (26, 26, 26)


class FontMissing(KmcommsError):
    """No font for the script of a briefing's language was found; the message says what
    to install."""


@dataclass(frozen=True, slots=True)
class Face:
    """A font family's files: bold is the regular file where the family has no bold."""

    regular: Path
    bold: Path


def script_of(language: str) -> str:
    """The script `language` names ("pa-Arab" → "Arab") or is usually written in
    ("ur" → "Arab", "pa" → "Guru"); Latin when unknown."""
    tag = language.replace("-", "_")
    named = [part.title() for part in tag.split("_")[1:] if len(part) == 4 and part.isalpha()]
    if named:
        return named[0]
    likely = get_global("likely_subtags")
    for key in (tag, tag.split("_")[0]):
        parts = likely.get(key, "").split("_")
        if len(parts) > 1 and len(parts[1]) == 4:
            return parts[1]
    return "Latn"


def _find(name: str, folders: Sequence[Path]) -> Path | None:
    return next((folder / name for folder in folders if (folder / name).is_file()), None)


def _face(candidates: Iterable[tuple[str, str]], folders: Sequence[Path]) -> Face | None:
    for regular_name, bold_name in candidates:
        regular = _find(regular_name, folders)
        if regular is not None:
            return Face(regular, _find(bold_name, folders) or regular)
    return None


def _folders(fonts: Path | None) -> tuple[Path, ...]:
    return (fonts, *FONT_DIRS) if fonts is not None else FONT_DIRS


def face_for(language: str, fonts: Path | None = None) -> Face:
    """The font for text in `language`, looked up in `fonts` (a folder) first, then in
    `FONT_DIRS`. Raises `FontMissing` naming the files and the package to install."""
    script = script_of(language)
    candidates = SCRIPT_FONTS.get(script)
    if candidates is None:
        names = Locale("en").scripts
        known = ", ".join(sorted({names.get(code, code) for code in SCRIPT_FONTS}))
        raise FontMissing(f"kmcomms has no font for the {names.get(script, script)} script ({script}) of "
                          f"{language!r} — briefings can be made in these scripts: {known}")
    face = _face(candidates, _folders(fonts))
    if face is None:
        names = " or ".join(regular for regular, _ in candidates)
        where = ", ".join(str(folder) for folder in _folders(fonts))
        raise FontMissing(f"no font for {language!r} ({script} script): {names} is in none of {where} — "
                          f"install it (Debian/Ubuntu: apt install {FONT_PACKAGE}) or put it in the "
                          f"folder the channel's `fonts` setting names")
    return face


@functools.cache  # the folders do not change while a process runs; PDFs are made often
def _fallback_faces(fonts: Path | None) -> tuple[Face, ...]:
    """Every script's font that is installed, Latin first: the fallbacks for characters
    the main font lacks (an address in Latin letters, a name in another script)."""
    found = [_face(SCRIPT_FONTS[script], _folders(fonts)) for script in dict.fromkeys(["Latn", *SCRIPT_FONTS])]
    return tuple(dict.fromkeys(face for face in found if face is not None))


# ---------------------------------------------------------------------------- the body

_BLOCKS = {"p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "tr", "dt", "dd"}


class _Body(HTMLParser):
    """The blocks of the briefing HTML's body section (`<section class="km-body">`) as
    (marker, text): "" for a paragraph, "h" for a heading, "•" or "3." for a list item.
    A link keeps its text and shows its address after it, so a printed copy still says
    where it leads."""

    def __init__(self, originals: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.originals = originals
        self.blocks: list[tuple[str, str]] = []
        self._depth = 0  # sections open inside the body section; 0 outside it
        self._lists: list[list[int]] = []  # per open list: [count] for <ol>, [] for <ul>
        self._marker = ""
        self._text: list[str] = []
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            if self._depth or "km-body" in (dict(attrs).get("class") or "").split():
                self._depth += 1
            return
        if not self._depth:
            return
        if tag in ("ul", "ol"):
            self._lists.append([0] if tag == "ol" else [])
        elif tag in _BLOCKS:
            self._flush()
            self._marker = "h" if tag.startswith("h") else ""
            if tag == "li" and self._lists:
                numbered = self._lists[-1]
                if numbered:
                    numbered[0] += 1
                self._marker = f"{numbered[0]}." if numbered else "•"
        elif tag == "a":
            self._href, self._link_text = dict(attrs).get("href"), []
        elif tag == "br":
            self._text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if not self._depth:
            return
        if tag == "section":
            self._depth -= 1
            self._flush()
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        elif tag in _BLOCKS:
            self._flush()
        elif tag == "a" and self._href is not None:
            address = self.originals.get(self._href, self._href)
            if address.startswith("mailto:"):
                address = address.removeprefix("mailto:").split("?")[0]
            if address and address != "".join(self._link_text).strip():
                self._text.append(f" ({address})")
            self._href = None
        elif tag in ("td", "th"):
            self._text.append("  ")

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._text.append(data)
            if self._href is not None:
                self._link_text.append(data)

    def _flush(self) -> None:
        text = re.sub(r"[ \t\r\n]*\n[ \t\r\n]*", "\n", re.sub(r"[ \t\r]+", " ", "".join(self._text))).strip()
        if text:
            self.blocks.append((self._marker, text))
        self._text, self._marker = [], ""


def body_blocks(draft: Briefing) -> list[tuple[str, str]]:
    """The message's body as it appears in the briefing HTML, block by block."""
    parser = _Body({link.url: link.original for link in draft.links})
    parser.feed(draft.html)
    parser.close()
    return parser.blocks


def briefing_blocks(draft: Briefing) -> list[tuple[str, str]]:
    """Everything after the title and date in reading order, as (marker, text) like
    `body_blocks`: summary, key points, the body, the evidence and its uncertainty,
    recommendations (numbered) and contacts, each under its heading in the briefing's
    language. The PDF and the mail's plain text are both written from it."""
    say = words(draft.language).gettext
    blocks: list[tuple[str, str]] = []

    def section(heading: str, texts: Sequence[str], marker: Callable[[int], str] = lambda _: "") -> None:
        if any(texts):
            blocks.append(("h", say(heading)))
            blocks.extend((marker(number), text) for number, text in enumerate(texts, 1) if text)

    section("Summary", [draft.summary])
    section("Key points", draft.key_points, lambda _: "•")
    blocks.extend(body_blocks(draft))
    section("How strong is the evidence", [draft.evidence])
    section("What we do not know", [draft.uncertainty])
    section("Recommendations", draft.recommendations, lambda number: f"{number}.")
    section("Contacts", draft.contacts, lambda _: "•")
    return blocks


# ---------------------------------------------------------------------------- the PDF

class _Document(FPDF):
    """An A4 page with the acknowledgement and "page / pages" in its footer."""

    def __init__(self, draft: Briefing, fonts: Path | None) -> None:
        super().__init__(format="A4", unit="mm")
        self.draft = draft
        self.align = _RTL_ALIGN.get(draft.direction, Align.L)
        main = face_for(draft.language, fonts)
        families = [main, *(face for face in _fallback_faces(fonts) if face != main)]
        for number, face in enumerate(families):
            self.add_font(f"f{number}", "", face.regular)
            self.add_font(f"f{number}", "B", face.bold)
        self.set_fallback_fonts([f"f{number}" for number in range(1, len(families))], exact_match=False)
        # Lines as tall as the main font's ascent and descent: Arabic marks reach further
        # above and below than Latin letters do.
        self.style(11)
        metrics = self.current_font.desc
        self.leading = max(1.45, (metrics.ascent - metrics.descent) / 1000)
        # Direction is the paragraph's base direction; runs in the other direction inside it
        # (an address in Urdu) are still ordered by the bidirectional algorithm.
        self.set_text_shaping(True, direction=draft.direction)
        self.set_margins(20, 18, 20)
        self.add_page()
        # The footer grows with the acknowledgement, so the page ends where the footer begins.
        self.style(8)
        lines = self.multi_cell(self.epw, self.line_height, draft.acknowledgement, dry_run=True, output="LINES")
        self.footer_height = self.line_height * (len(lines) + 1) + 6
        self.set_auto_page_break(True, margin=self.footer_height + 4)

    def style(self, size: float, bold: bool = False, colour: tuple[int, int, int] = _TEXT) -> None:
        # Set directly, never in `local_context`: text drawn after a restored context would
        # be written without its font.
        self.set_font("f0", "B" if bold else "", size)
        self.set_text_color(*colour)

    def _render_styled_text_line(self, *args: Any, **kwargs: Any) -> Any:
        # fpdf2 2.8.9: a line whose first run is in a fallback font (the bullet, an address
        # at the start of a right-to-left line) sets the main font inside its own q…Q and
        # then believes the font set for the page, so the next line is drawn in none
        # (py-pdf/fpdf2#1772). Forgetting that belief makes every line set its font.
        self.current_font_is_set_on_page = False
        return super()._render_styled_text_line(*args, **kwargs)

    @property
    def line_height(self) -> float:
        """The height of a line of text in the current font size, in mm."""
        return self.font_size * self.leading

    def footer(self) -> None:
        self.set_y(-self.footer_height)
        self.style(8, colour=_GREY)
        self.multi_cell(0, self.line_height, self.draft.acknowledgement, align=self.align,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(0, self.line_height, f"{self.page_no()} / {{nb}}", align=Align.C)

    def paragraph(self, text: str, size: float = 11, bold: bool = False, colour: tuple[int, int, int] = _TEXT,
                  after: float = 2.5) -> None:
        self.style(size, bold, colour)
        self.multi_cell(0, self.line_height, text, align=self.align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(after)

    def heading(self, text: str) -> None:
        # A heading never ends a page: it moves on with its first lines.
        self.style(11)
        if self.will_page_break(3 * self.line_height + 8):
            self.add_page()
        self.ln(2)
        self.paragraph(text, size=13, bold=True, colour=_ACCENT, after=1)

    def item(self, marker: str, text: str) -> None:
        """A list item: the marker on the side the text starts from, the text indented."""
        indent = 7.0
        self.style(11)
        if self.will_page_break(self.line_height):
            self.add_page()
        y, width = self.get_y(), self.epw - indent
        start, text_x = ((self.l_margin + width, self.l_margin) if self.align == Align.R
                         else (self.l_margin, self.l_margin + indent))
        self.set_xy(start, y)
        self.cell(indent, self.line_height, marker, align=self.align)
        self.set_xy(text_x, y)
        self.multi_cell(width, self.line_height, text, align=self.align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)


def briefing_pdf(draft: Briefing, unit_name: str | None = None, *, fonts: Path | None = None) -> bytes:
    """The briefing as a PDF document (A4), in the fonts of its language's script.

    `unit_name` heads the first page beside "Policy briefing" and is the PDF's author;
    `fonts` is a folder searched for fonts before the system's. Raises `FontMissing` when
    no font for the briefing's script is installed.
    """
    say = words(draft.language).gettext
    pdf = _Document(draft, fonts)
    pdf.set_title(draft.title)
    pdf.set_lang(draft.language)
    pdf.set_creator("kmcomms")
    pdf.set_subject(draft.summary)
    if unit_name:
        pdf.set_author(unit_name)

    pdf.paragraph(" · ".join(filter(None, [say("Policy briefing"), unit_name])), size=9, colour=_GREY, after=1)
    pdf.paragraph(draft.title, size=20, bold=True, after=1)
    pdf.paragraph(draft.date, size=10, colour=_GREY, after=1)
    pdf.set_draw_color(*_ACCENT)
    pdf.set_line_width(1)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(4)

    for marker, text in briefing_blocks(draft):
        if marker == "h":
            pdf.heading(text)
        elif marker:
            pdf.item(marker, text)
        else:
            pdf.paragraph(text)
    return bytes(pdf.output())

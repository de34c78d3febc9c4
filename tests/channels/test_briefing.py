"""Policy briefings: the PDF, printed by WeasyPrint from the briefing's own HTML and read
back with the tools the world uses (pdfinfo, pdftotext, pypdf) in Latin, Arabic (Arabic
and Urdu), Hebrew (Yiddish) and Gurmukhi (Panjabi) script; fonts missing from a real
fontconfig setup; and the `briefing` channel (the site page with its PDF, one mail per
contact through a real SMTP server on loopback, nothing sent twice).

Drafts come from real workspaces: the golden one (English, Polish, Arabic) copied into a
temporary folder, with Urdu, Panjabi and Yiddish catalogs written for the tests.
"""

from __future__ import annotations

import dataclasses
import html
import io
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from smtp_inbox import Inbox, inbox_fixture  # noqa: F401  # the `inbox` fixture
from sqlalchemy import Engine, delete, select
from workspaces import write_translation

import kmcomms
from kmcomms.campaign.load import load_paths
from kmcomms.campaign.workspace import load_workspace
from kmcomms.channels.base import PermanentError, Publication, TransientError
from kmcomms.channels.briefing import BriefingChannel, briefing_text, local_sender
from kmcomms.channels.contacts import import_contacts
from kmcomms.channels.letters import message_id
from kmcomms.channels.registry import adapter_class, open_channels
from kmcomms.channels.smtp import SmtpOptions
from kmcomms.ledger.contacts import suppress
from kmcomms.ledger.store import open_store
from kmcomms.ledger.sync import sync
from kmcomms.ledger.tables import contacts, recipients
from kmcomms.plan.deliveries import Delivery, Window, plan_of
from kmcomms.render.drafts import Briefing
from kmcomms.render.pdf import SCRIPT_FONTS, PdfError, briefing_pdf, check_fonts, script_of
from kmcomms.render.renderer import Renderer
from kmcomms.render.tracking import Tracker

GOLDEN_WORKSPACE = Path(__file__).resolve().parents[1] / "golden" / "workspace"
NOW = datetime(2027, 1, 1, tzinfo=UTC)
UNIT = "Golden Research Unit"
NOTO = Path("/usr/share/fonts/truetype/noto")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
#: The golden campaign's strings in Urdu, Panjabi and Yiddish: whole sentences where a
#: test reads them back, elsewhere the English after a word of the language (its
#: "translation" prefix), so Latin text sits inside the briefing's own script.
TRANSLATIONS = {
    "ur": (
        "ترجمہ ",
        {
            "Free flu clinics this winter": "اس موسم سرما میں فلو کے مفت کلینک",
            "Free school clinics reach children who miss their GP appointment.": "مفت اسکول کلینک ان بچوں تک پہنچتے ہیں جو اپنے ڈاکٹر کی ملاقات سے رہ جاتے ہیں۔",
            "Clinics run in every local school.": "ہر مقامی اسکول میں کلینک چلتے ہیں۔",
            "The nasal spray takes a minute.": "ناک کا اسپرے ایک منٹ لیتا ہے۔",
            "Fund clinics for three more years.": "مزید تین سال کے لیے کلینکوں کو فنڈ دیں۔",
        },
    ),
    "pa": (
        "ਅਨੁਵਾਦ ",
        {
            "Free flu clinics this winter": "ਇਸ ਸਰਦੀ ਵਿੱਚ ਮੁਫ਼ਤ ਫਲੂ ਕਲੀਨਿਕ",
            "Free school clinics reach children who miss their GP appointment.": "ਮੁਫ਼ਤ ਸਕੂਲ ਕਲੀਨਿਕ ਉਨ੍ਹਾਂ ਬੱਚਿਆਂ ਤੱਕ ਪਹੁੰਚਦੇ ਹਨ ਜਿਨ੍ਹਾਂ ਦੀ ਡਾਕਟਰ ਨਾਲ ਮੁਲਾਕਾਤ ਖੁੰਝ ਜਾਂਦੀ ਹੈ।",
            "Clinics run in every local school.": "ਹਰ ਸਥਾਨਕ ਸਕੂਲ ਵਿੱਚ ਕਲੀਨਿਕ ਚੱਲਦੇ ਹਨ।",
            "The nasal spray takes a minute.": "ਨੱਕ ਦੀ ਸਪਰੇਅ ਇੱਕ ਮਿੰਟ ਲੈਂਦੀ ਹੈ।",
            "Fund clinics for three more years.": "ਤਿੰਨ ਹੋਰ ਸਾਲਾਂ ਲਈ ਕਲੀਨਿਕਾਂ ਨੂੰ ਫੰਡ ਦਿਓ।",
        },
    ),
    "yi": (
        "איבערזעצונג ",
        {
            "Free flu clinics this winter": "פֿרייע גריפּ־קליניקן דעם ווינטער",
            "Free school clinics reach children who miss their GP appointment.": "פֿרייע שול־קליניקן דערגרייכן קינדער וואָס פֿאַרפֿעלן זייער באַזוך בײַם דאָקטער.",
            "Clinics run in every local school.": "קליניקן אַרבעטן אין יעדער אָרטיקער שול.",
            "The nasal spray takes a minute.": "דער נאָז־שפּריץ דויערט אַ מינוט.",
            "Fund clinics for three more years.": "פֿינאַנצירט די קליניקן נאָך דרײַ יאָר.",
        },
    ),
}
LANGUAGES = ["en", "pl", "ar", *TRANSLATIONS]
#: The family each language is set in, as the PDF names its fonts.
FONTS = {
    "en": "Noto-Sans",
    "pl": "Noto-Sans",
    "ar": "Noto-Naskh-Arabic",
    "ur": "Noto-Naskh-Arabic",
    "pa": "Noto-Sans-Gurmukhi",
    "yi": "Noto-Sans-Hebrew",
}


# ============================================================================== workspaces


def copy_golden(root: Path, languages: str = "en, pl, ar") -> Path:
    """The golden workspace copied to `root`, its audience reached in `languages`, with
    the catalogs of `TRANSLATIONS` for those of them it has none for."""
    shutil.copytree(GOLDEN_WORKSPACE, root)
    campaign = root / "campaigns" / "flu-clinics" / "campaign.yaml"
    text = campaign.read_text(encoding="utf-8")
    campaign.write_text(text.replace("[en, pl, ar]", f"[{languages}]"), encoding="utf-8")
    for language, (prefix, sentences) in TRANSLATIONS.items():
        if language in languages.split(", "):
            write_translation(root, language, lambda text, s=sentences, p=prefix: s.get(text, p + text))
    return root


def briefings(root: Path) -> dict[str, tuple[Delivery, Briefing]]:
    """The briefing deliveries of the workspace at `root` and their drafts, by language."""
    result = load_paths([root])
    assert result.errors == [], result.errors
    [workspace] = result.workspaces
    renderer = Renderer(workspace, result.campaigns)
    found = {}
    for delivery in plan_of(result, Window(start=NOW), NOW).deliveries:
        if delivery.channel == "briefing":
            draft = renderer.render(delivery)
            assert isinstance(draft, Briefing), draft
            found[delivery.language] = (delivery, draft)
    return found


@pytest.fixture(scope="module")
def drafts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Briefing]:
    """The golden briefing in each of `LANGUAGES`."""
    root = copy_golden(tmp_path_factory.mktemp("drafts") / "unit", ", ".join(LANGUAGES))
    found = {language: draft for language, (_, draft) in briefings(root).items()}
    assert sorted(found) == sorted(LANGUAGES) and not any(draft.fallback for draft in found.values())
    return found


@pytest.fixture(scope="module")
def pdfs(drafts: dict[str, Briefing]) -> dict[str, bytes]:
    """Each draft's PDF, made once."""
    made = {language: briefing_pdf(draft) for language, draft in drafts.items()}
    assert {language: pdf.warnings for language, pdf in made.items()} == dict.fromkeys(LANGUAGES, ())
    return {language: pdf.data for language, pdf in made.items()}


# ============================================================================== reading PDFs


def letters(text: str) -> str:
    """Only the letters and digits of `text`, compatibility-normalised and case-folded:
    what survives of a sentence read back from a PDF whatever the extractor did with
    spaces, line breaks, punctuation, marks, presentation forms, capitals the page's
    style made, and the order of a right-to-left line's neutral characters."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c)[0] in "LN").casefold()


def words_of(text: str) -> list[str]:
    """The letters of each word of `text`: an extractor may put the words of a mixed or
    right-to-left line (Urdu words around an English name) in visual order, but it keeps
    each word's letters in order, or the word is lost."""
    return [word for token in re.split(r"[\s:;,.()·•/־-]+", text) if (word := letters(token))]


def assert_holds(text: str, *parts: str) -> None:
    """Every word of each of `parts` is in `text`, in its own letters."""
    found = letters(text)
    for part in parts:
        for word in words_of(part):
            assert word in found, f"{word!r} of {part!r} is not in the PDF's text"


def read(document: bytes) -> PdfReader:
    assert document.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(document))


def page_texts(document: bytes) -> list[str]:
    """Each page's text as pypdf reads it."""
    return [page.extract_text() for page in read(document).pages]


def run(tool: str, document: bytes, *args: str) -> str:
    """What a Poppler tool (pdfinfo, pdftotext) says of `document`."""
    done = subprocess.run(
        [tool, *args, "-", *(["-"] if tool == "pdftotext" else [])], input=document, capture_output=True, check=True
    )
    return done.stdout.decode()


def pdfinfo(document: bytes) -> dict[str, str]:
    return dict(line.split(":", 1) for line in run("pdfinfo", document).splitlines() if ":" in line) | {
        "meta": run("pdfinfo", document, "-meta")
    }


def poppler_pages(document: bytes) -> list[str]:
    """Each page's text as pdftotext reads it (pages end with a form feed)."""
    return run("pdftotext", document, "-enc", "UTF-8").split("\f")[:-1]


def fonts_of(document: bytes) -> set[str]:
    """The names of the fonts the pages use, without the subset prefix."""
    return {
        str(font["/BaseFont"]).split("+")[-1]
        for page in read(document).pages
        for font in page["/Resources"]["/Font"].values()
    }


def structure(document: bytes) -> Iterator[str]:
    """The structure types of the PDF's tag tree, depth first ("H1", "P", "L", "LI", …)."""

    def walk(element: object) -> Iterator[str]:
        element = element.get_object() if hasattr(element, "get_object") else element
        if isinstance(element, DictionaryObject):
            if "/S" in element:
                yield str(element["/S"])[1:]
            kids = element.get("/K", [])
            yield from (tag for kid in (kids if isinstance(kids, list) else [kids]) for tag in walk(kid))

    yield from walk(read(document).trailer["/Root"]["/StructTreeRoot"])


class _PageText(HTMLParser):
    """The text of each paragraph, heading and list item of an HTML document's <main>."""

    BLOCKS = frozenset({"p", "li", "h1", "h2", "h3"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._main = False
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._main = self._main or tag == "main"
        if self._main and tag in self.BLOCKS:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS and self._text is not None:
            self.blocks.append(" ".join("".join(self._text).split()))
            self._text = None
        self._main = self._main and tag != "main"

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def main_blocks(html: str) -> list[str]:
    parser = _PageText()
    parser.feed(html)
    return [block for block in parser.blocks if block]


# =================================================================================== the PDF


def test_the_english_pdf_holds_every_part_of_the_briefing_in_post_note_order(
    drafts: dict[str, Briefing], pdfs: dict[str, bytes]
) -> None:
    draft = drafts["en"]
    [text] = poppler_pages(pdfs["en"])  # in the order of the page (pypdf reads list markers last)
    assert_holds(
        text,
        "Policy briefing",
        UNIT,
        draft.title,
        "12 January 2027",
        "Summary",
        draft.summary,
        "Key points",
        *draft.key_points,
        "How strong is the evidence",
        draft.evidence,
        "What we do not know",
        draft.uncertainty,
        "Recommendations",
        *draft.recommendations,
        "Contacts",
        *draft.contacts,
        draft.acknowledgement,
    )
    order = [
        text.index(part)
        for part in ("Summary", "Key points", "How strong", "What we do not", "Recommendations", "Contacts")
    ]
    assert order == sorted(order)
    # Key points bulleted, recommendations numbered, the message's body between them.
    assert "• Clinics run in every local school." in text
    assert "1. Fund clinics for three more years." in text
    assert "Every child from age two can have the free flu vaccine" in text
    assert re.search(r"\b1 ?/ ?1\b", text)  # pdftotext may lose the narrow spaces of the page's foot


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_pdf_is_tagged_pdf_ua_on_a4_with_its_language_title_and_author(
    drafts: dict[str, Briefing], pdfs: dict[str, bytes], language: str
) -> None:
    info = pdfinfo(pdfs[language])
    assert info["Tagged"].strip() == "yes"
    assert info["Page size"].split()[:3] == ["595.276", "x", "841.89"]  # A4, in points
    assert re.search(r'pdfuaid:part(="|>)1\b', info["meta"]), info["meta"]
    assert (info["Title"].strip(), info["Author"].strip(), info["Creator"].strip()) == (
        drafts[language].title,
        UNIT,
        "kmcomms",
    )
    assert read(pdfs[language]).trailer["/Root"]["/Lang"] == language
    # The tags are the page's structure: one title, a heading per part, lists, links.
    tags = list(structure(pdfs[language]))
    assert tags.count("H1") == 1 and tags.count("H2") == 6
    assert {"P", "L", "LI", "Lbl", "LBody", "Link"} <= set(tags)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_reads_back_in_its_own_words_and_font(
    drafts: dict[str, Briefing], pdfs: dict[str, bytes], language: str
) -> None:
    draft, document = drafts[language], pdfs[language]
    parts = (draft.title, draft.summary, *draft.key_points, *draft.recommendations, draft.acknowledgement)
    # pdftotext breaks a Hebrew word where a point is raised above its letter (WeasyPrint
    # writes it with a text rise): Yiddish is read back with pypdf alone.
    for pages in (page_texts(document), *([poppler_pages(document)] if language != "yi" else [])):
        assert len(pages) == 1
        assert_holds(pages[0], *parts)
    # The letters the script's font draws, and Latin ones (the unit, an address) in Noto Sans.
    assert {FONTS[language], "Noto-Sans"} <= fonts_of(document)
    assert "a.nurse@example.org" in poppler_pages(document)[0]
    assert read(document).trailer["/Root"]["/Lang"] == language


@pytest.mark.parametrize("language", ["en", "ar", "ur", "yi", "pa"])
def test_right_to_left_briefings_run_from_the_right_margin(pdfs: dict[str, bytes], language: str) -> None:
    width, margin = 595.276, 20 / 25.4 * 72  # A4 and the page's side margins, in points
    kicker, title = line_edges(pdfs[language])[:2]  # "Policy briefing · unit", then the title
    if language in ("ar", "ur", "yi"):
        assert abs(kicker[1] - (width - margin)) < 2 and abs(title[1] - (width - margin)) < 2
        assert title[0] > margin + 20
    else:
        assert abs(kicker[0] - margin) < 2 and abs(title[0] - margin) < 2
        assert title[1] < width - margin - 20


def line_edges(document: bytes) -> list[tuple[float, float]]:
    """Where each line of the first page starts and ends (x, in points), top to bottom,
    from the words pdftotext finds there."""
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        run("pdftotext", document, "-bbox", "-l", "1"),
    )
    # A word is on the line above when its middle is more than 5pt higher; a lone raised
    # point (pdftotext's word of a Hebrew mark) is no word.
    words = sorted(
        ((float(top) + float(bottom)) / 2, float(start), float(end))
        for start, top, end, bottom, word in found
        if letters(html.unescape(word))
    )
    lines: list[list[tuple[float, float, float]]] = []
    for word in words:
        if lines and word[0] - lines[-1][-1][0] <= 5:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [(min(start for _, start, _ in line), max(end for _, _, end in line)) for line in lines]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_page_carries_the_acknowledgement_and_its_number(drafts: dict[str, Briefing], language: str) -> None:
    draft = drafts[language]
    evidence = " ".join([draft.evidence] * 150)
    long = dataclasses.replace(draft, html=draft.html.replace(draft.evidence, evidence), evidence=evidence)
    pages = poppler_pages(briefing_pdf(long).data)
    assert 3 <= len(pages) <= 6
    for number, text in enumerate(pages, 1):
        assert_holds(text, draft.acknowledgement)
        assert re.search(rf"\b{number} ?/ ?{len(pages)}\b", text), text[-200:]
    assert_holds(pages[-1], *draft.recommendations, *draft.contacts)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pdf_says_what_the_page_says(drafts: dict[str, Briefing], pdfs: dict[str, bytes], language: str) -> None:
    draft = drafts[language]
    page = main_blocks(draft.html)  # every paragraph, heading and list item of the page
    assert {*draft.key_points, *draft.recommendations} <= set(page)
    assert_holds("\n".join(page_texts(pdfs[language])), *page)


def test_a_workspace_briefing_template_changes_the_page_and_the_pdf_alike(tmp_path: Path) -> None:
    root = copy_golden(tmp_path / "unit", "en")
    (root / "templates").mkdir()
    template = (Path(kmcomms.__file__).parent / "templates" / "briefing.html.j2").read_text(encoding="utf-8")
    note = "Read this first: the clinics close on Fridays."
    (root / "templates" / "briefing.html.j2").write_text(
        template.replace("<main>", f"<main>\n<p>{note}</p>"), encoding="utf-8"
    )
    [(_, draft)] = briefings(root).values()
    assert note in main_blocks(draft.html)
    assert_holds(page_texts(briefing_pdf(draft).data)[0], note)


# =================================================================================== fonts


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Makes a fontconfig setup in which only the given font files are installed, as
    WeasyPrint reads it (FONTCONFIG_FILE): a machine without the Noto fonts."""

    def install(*fonts: Path) -> None:
        setup = Path(tempfile.mkdtemp(prefix="fontconfig-", dir=tmp_path))
        (setup / "fonts").mkdir()
        for font in fonts:
            (setup / "fonts" / font.name).symlink_to(font)
        config = setup / "fonts.conf"
        config.write_text(
            '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
            f"<fontconfig><dir>{setup / 'fonts'}</dir><cachedir>{setup / 'cache'}</cachedir>"
            "</fontconfig>\n",
            encoding="utf-8",
        )
        monkeypatch.setenv("FONTCONFIG_FILE", str(config))

    return install


NOTO_SANS = (NOTO / "NotoSans-Regular.ttf", NOTO / "NotoSans-Bold.ttf")
DEJAVU_SANS = (DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSans-Bold.ttf")


def test_without_its_noto_font_an_arabic_briefing_is_set_in_another_with_a_warning(
    drafts: dict[str, Briefing], installed: Callable[..., None]
) -> None:
    installed(*NOTO_SANS, *DEJAVU_SANS)  # DejaVu Sans has Arabic letters
    draft = drafts["ar"]
    pdf = briefing_pdf(draft)
    [warning] = pdf.warnings
    assert warning.startswith("no Noto Naskh Arabic font for Arabic (Arabic): the PDF is set in DejaVu Sans")
    assert "apt install fonts-noto-core" in warning and "put NotoNaskhArabic-Regular.ttf in the folder" in warning
    assert "DejaVu-Sans" in fonts_of(pdf.data) and "Noto-Naskh-Arabic" not in fonts_of(pdf.data)
    # (pypdf: pdftotext reads DejaVu's lam-alef ligature back to front)
    assert_holds(page_texts(pdf.data)[0], draft.title, *draft.key_points)


def test_letters_no_installed_font_has_make_no_pdf_and_say_what_to_install(
    drafts: dict[str, Briefing], installed: Callable[..., None]
) -> None:
    installed(*NOTO_SANS, *DEJAVU_SANS)  # neither has Gurmukhi
    with pytest.raises(PdfError) as raised:
        briefing_pdf(drafts["pa"])
    message = str(raised.value)
    shown = re.match(r"no installed font has the letters ((?:\S )+)of this Gurmukhi \(Punjabi\) briefing", message)
    assert shown and all(unicodedata.name(letter).startswith("GURMUKHI LETTER") for letter in shown[1].split())
    assert "empty boxes — install fonts-noto-core (Debian/Ubuntu: apt install fonts-noto-core;" in message
    assert "put NotoSansGurmukhi-Regular.ttf in the folder the channel's `fonts` setting names" in message


def test_the_fonts_folder_stands_in_for_installed_fonts(
    drafts: dict[str, Briefing], installed: Callable[..., None], tmp_path: Path
) -> None:
    installed(*NOTO_SANS)
    folder = tmp_path / "fonts"
    folder.mkdir()
    (folder / "NotoSansGurmukhi-Regular.ttf").symlink_to(NOTO / "NotoSansGurmukhi-Regular.ttf")
    (folder / "notes.ttf").write_text("not a font", encoding="utf-8")
    draft = drafts["pa"]
    pdf = briefing_pdf(draft, fonts=folder)
    assert pdf.warnings == (f"{folder / 'notes.ttf'} is not a font kmcomms can read: it is left out",)
    assert "Noto-Sans-Gurmukhi" in fonts_of(pdf.data)
    assert_holds(poppler_pages(pdf.data)[0], draft.title, *draft.key_points, *draft.recommendations)
    assert briefing_pdf(drafts["en"], fonts=tmp_path / "nowhere").warnings == (
        f"the fonts folder {tmp_path / 'nowhere'} does not exist — create it or correct the channel's `fonts` setting",
    )


def test_a_symbol_no_font_has_is_a_warning(drafts: dict[str, Briefing], installed: Callable[..., None]) -> None:
    installed(*NOTO_SANS)
    draft = drafts["en"]
    pdf = briefing_pdf(dataclasses.replace(draft, html=draft.html.replace("</h1>", " 🙂</h1>")))
    assert pdf.warnings == (
        "no installed font has 🙂, so the PDF shows empty boxes there — install a font that has "
        "them, or leave them out",
    )


def test_check_fonts_says_what_is_missing_before_any_briefing_is_made(installed: Callable[..., None]) -> None:
    assert check_fonts() == []
    installed(*DEJAVU_SANS)
    [problem] = check_fonts()
    assert problem.startswith(
        "no Noto Sans font for Latin (English): the PDF is set in DejaVu Sans instead — install fonts-noto-core"
    )


def test_weasyprint_is_loaded_only_when_a_pdf_is_made() -> None:
    # Loading it (and Pango) takes most of a second: commands that make no PDF go without.
    modules = (
        "kmcomms.cli, kmcomms.daemon.service, kmcomms.daemon.demo, kmcomms.channels.registry, kmcomms.channels.briefing"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, {modules}; print(sorted(name for name in sys.modules "
            "if name.split('.')[0] in ('weasyprint', 'fontTools')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "[]\n"


@pytest.mark.parametrize(
    ("language", "script", "family"),
    [
        ("en", "Latn", "Noto Sans"),
        ("pl", "Latn", "Noto Sans"),
        ("ru", "Cyrl", "Noto Sans"),
        ("ar", "Arab", "Noto Naskh Arabic"),
        ("ur", "Arab", "Noto Naskh Arabic"),
        ("pa", "Guru", "Noto Sans Gurmukhi"),
        ("pa-Arab", "Arab", "Noto Naskh Arabic"),
        ("yi", "Hebr", "Noto Sans Hebrew"),
        ("so", "Latn", "Noto Sans"),
    ],
)
def test_each_language_is_set_in_the_family_of_its_script(language: str, script: str, family: str) -> None:
    assert script_of(language) == script
    assert SCRIPT_FONTS[script].name == family
    assert (NOTO / SCRIPT_FONTS[script].file).is_file()  # the file of that name is what fonts-noto-core installs


def test_the_mails_text_is_the_briefing_in_the_pages_order(drafts: dict[str, Briefing]) -> None:
    text = briefing_text(drafts["en"])
    assert text.startswith(
        "Free flu clinics this winter\n12 January 2027\n\nSummary\n\nFree school clinics reach "
        "children who miss their GP appointment.\n\nKey points\n\n• Clinics run in every local "
        "school.\n• The nasal spray takes a minute.\n\nEvery child from age two can have the free "
        "flu vaccine, as a quick nasal spray.\n\nRead the clinic times (https://example.org/clinics?"
        "area=north&utm_source=Leaflet&utm_medium=email&"
    )
    assert text.endswith(
        "\n\nRecommendations\n\n1. Fund clinics for three more years.\n\nContacts\n\n• Dr A. Nurse, "
        "a.nurse@example.org\n\nThis work is funded by the National Institute for Health and Care "
        "Research (NIHR).\n"
    )
    arabic = briefing_text(drafts["ar"])
    assert "\n\nالتوصيات\n\n1. " in arabic and drafts["ar"].acknowledgement in arabic


# ============================================================================= the channel

SENDER = "Golden Research Unit <briefings@example.org>"
TRACKER = Tracker("https://track.example.org", "k" * 40)
#: The decision makers on the list: two read English, one Arabic; a clinician (another
#: audience) and an address that unsubscribed get nothing.
CONTACTS = """\
email,name,language,audience,consent_date
ada@example.org,Ada Lovelace,en,families,2026-10-01
bea@example.org,"Béa Ståhl, MP",en,families,2026-10-01
amal@example.org,أمل حسن,ar,families,2026-10-01
doc@example.org,Dr Doc,en,clinicians,2026-10-01
gone@example.org,Gone,en,families,2026-10-01
"""
READERS = {"en": {"ada@example.org", "bea@example.org"}, "ar": {"amal@example.org"}}


@dataclasses.dataclass
class Case:
    root: Path
    engine: Engine
    channel: BriefingChannel
    deliveries: dict[str, tuple[Delivery, Briefing]]
    inbox: Inbox

    def publish(self, language: str) -> Publication:
        delivery, draft = self.deliveries[language]
        return self.channel.publish(draft, delivery.id)

    def messages(self) -> dict[str, EmailMessage]:
        return self.inbox.messages()


@pytest.fixture
def case(tmp_path: Path, inbox: Inbox) -> Case:
    """The golden workspace whose briefing channel mails through `inbox`, its deliveries
    in a SQLite ledger, the contacts imported, the channel made as `publish` makes it."""
    root = copy_golden(tmp_path / "unit", "en, pl, ar")
    settings = root / "kmcomms.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace(
            'list = "policy-leads"',
            (
                f'list = "policy-leads"\nhost = "127.0.0.1"\nport = {inbox.port}\nsender = "{SENDER}"\nrate = 0\n'
                'path = "public"\nbase_url = "https://unit.example.org/"'
            ),
        ),
        encoding="utf-8",
    )
    deliveries = briefings(root)
    engine = open_store(f"sqlite:///{tmp_path / 'ledger.db'}", root)
    sync(engine, [delivery for delivery, _ in deliveries.values()], NOW)
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    import_contacts(engine, tmp_path / "contacts.csv", "policy-leads", NOW)
    suppress(engine, "gone@example.org", "unsubscribed", None, NOW)
    [workspace] = load_paths([root]).workspaces
    cls = adapter_class(workspace.settings.channels["briefing"].adapter)
    assert cls is BriefingChannel
    options = cls.Settings.model_validate(workspace.settings.channels["briefing"].model_dump())
    return Case(root, engine, cls("briefing", options, root, store=engine, tracker=TRACKER), deliveries, inbox)


def test_each_contact_gets_one_message_with_the_briefing_and_its_pdf(case: Case) -> None:
    publication = case.publish("en")
    delivery, draft = case.deliveries["en"]
    page = case.root / "public" / "en" / "briefings" / "clinics.html"
    assert publication == Publication(delivery.id, "https://unit.example.org/en/briefings/clinics.html")

    messages = case.messages()
    assert set(messages) == READERS["en"]
    for received in case.inbox.received:  # as the composer wrote it: a client follows this address
        [address] = received.recipients
        header = f"\r\nList-Unsubscribe: <{TRACKER.unsubscribe_url('policy-leads', address)}>\r\n"
        assert header.encode() in received.data
    for address, message in messages.items():
        assert message["Subject"] == draft.title
        assert message["From"] == SENDER
        assert message["Message-ID"] == message_id(delivery.id, address, "example.org")
        assert message["List-Unsubscribe"] == f"<{TRACKER.unsubscribe_url('policy-leads', address)}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Content-Language"] == "en"
        assert message.get_content_type() == "multipart/mixed"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert html.startswith("<!DOCTYPE html>") and html.count("<body>") == html.count("</body>") == 1
        assert "&lt;" not in html
        for body in (text, html):
            assert publication.url in body and TRACKER.unsubscribe_url("policy-leads", address) in body
            assert draft.key_points[0] in body and draft.recommendations[0] in body
            assert draft.acknowledgement in body
        [attachment] = message.iter_attachments()
        assert (attachment.get_content_type(), attachment.get_filename()) == ("application/pdf", "clinics.pdf")
        document = attachment.get_content()
        assert document.startswith(b"%PDF-")
        assert read(document).metadata.title == draft.title
        assert_holds(
            "\n".join(page_texts(document)),
            draft.title,
            *draft.key_points,
            *draft.recommendations,
            draft.acknowledgement,
        )
    assert messages["bea@example.org"]["To"] == '"Béa Ståhl, MP" <bea@example.org>'

    # The page on the site, its PDF beside it (the same document), in the site's lists.
    [pdf_link] = re.findall(r'href="([^"]+\.pdf)"', page.read_text(encoding="utf-8"))
    assert (page.parent / pdf_link).read_bytes() == document
    html = page.read_text(encoding="utf-8")
    assert f"<h1>{draft.title}</h1>" in html and draft.key_points[0] in html and html.count("<h1") == 1
    assert "clinics.html" in (case.root / "public" / "en" / "briefings" / "index.html").read_text(encoding="utf-8")
    # Each recipient is in the ledger, sent once.
    with case.engine.connect() as db:
        rows = db.execute(select(recipients.c.email, recipients.c.state).where(recipients.c.delivery_id == delivery.id))
        assert dict(rows.all()) == dict.fromkeys(READERS["en"], "sent")


def test_the_arabic_briefing_goes_to_the_arabic_reader_right_to_left(case: Case) -> None:
    publication = case.publish("ar")
    _, draft = case.deliveries["ar"]
    [(address, message)] = case.messages().items()
    assert address == "amal@example.org" and message["Content-Language"] == "ar"
    assert 'dir="rtl"' in message.get_body(("html",)).get_content()
    [attachment] = message.iter_attachments()
    document = attachment.get_content()
    assert "Noto-Naskh-Arabic" in fonts_of(document)
    assert_holds("\n".join(page_texts(document)), draft.title, *draft.key_points)
    assert publication.url == "https://unit.example.org/ar/briefings/clinics.html"
    assert 'dir="rtl"' in (case.root / "public" / "ar" / "briefings" / "clinics.html").read_text(encoding="utf-8")


def test_publishing_again_sends_nothing_new_and_a_deferred_recipient_gets_one_copy(case: Case) -> None:
    delivery, _ = case.deliveries["en"]
    assert case.channel.find(delivery.id) is None
    case.inbox.refuse["bea@example.org"] = "450 4.2.1 Mailbox busy, try later"
    with pytest.raises(TransientError, match="1 recipients .* deferred"):
        case.publish("en")
    assert case.inbox.by_recipient() == {"ada@example.org": 1}
    # On the site, but not every recipient has it: not published yet.
    assert case.channel.site.find(delivery.id) is not None
    assert case.channel.find(delivery.id) is None

    del case.inbox.refuse["bea@example.org"]
    first = case.publish("en")
    again = case.publish("en")
    assert first == again == case.channel.find(delivery.id)
    assert case.inbox.by_recipient() == {"ada@example.org": 1, "bea@example.org": 1}
    assert case.channel.collect(first) == {"recipients": 2, "rejected": 0, "unknown": 0, "suppressed": 0}


def test_a_list_without_readers_fails_and_a_sound_channel_checks_clean(case: Case) -> None:
    with case.engine.begin() as db:
        db.execute(delete(contacts))
    with pytest.raises(PermanentError, match="nobody to send"):
        case.publish("en")
    assert case.inbox.received == []
    assert case.channel.check() == []


def test_a_missing_font_is_a_warning_and_the_briefing_goes_out(
    case: Case, installed: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    installed(*NOTO_SANS, *DEJAVU_SANS)  # no Noto Naskh Arabic, but DejaVu Sans has the letters
    caplog.set_level(logging.WARNING)
    delivery, draft = case.deliveries["ar"]
    case.publish("ar")
    [record] = [r for r in caplog.records if r.name == "kmcomms.channels.briefing"]
    assert record.levelno == logging.WARNING and record.getMessage().startswith(
        "[channels.briefing] no Noto Naskh Arabic font for Arabic (Arabic): the PDF is set in DejaVu Sans instead — "
        "install fonts-noto-core"
    )
    assert record.kmcomms_fields == {"delivery": delivery.id, "channel": "briefing", "language": "ar"}
    [message] = case.messages().values()
    [attachment] = message.iter_attachments()
    assert "DejaVu-Sans" in fonts_of(attachment.get_content())
    assert_holds("\n".join(page_texts(attachment.get_content())), draft.title, *draft.key_points)
    assert not [r for r in caplog.records if r.name == "weasyprint"]


def test_letters_no_font_has_fail_the_delivery_and_nothing_goes_out(case: Case, installed: Callable[..., None]) -> None:
    installed(*NOTO_SANS)  # no font with Arabic letters at all
    with pytest.raises(
        PermanentError,
        match=r"^\[channels.briefing\] no installed font has the letters .* of this "
        r"Arabic \(Arabic\) briefing.*apt install fonts-noto-core",
    ):
        case.publish("ar")
    assert case.inbox.received == []
    assert not (case.root / "public" / "ar").exists()
    # Latin is fine on this machine: the channel's check finds nothing to say about fonts.
    assert case.channel.check() == []
    installed(*DEJAVU_SANS)
    assert any(
        problem.startswith("[channels.briefing] no Noto Sans font for Latin (English)")
        for problem in case.channel.check()
    )


#: A workspace whose `[channels.briefing]` is the user-facing contract's
#: (../shared/campaign-format.md), word for word: the adapter and the list, no mail settings.
CONTRACT_SETTINGS = """\
[unit]
id = "hpru-vi"
name = "NIHR Health Protection Research Unit in Vaccines and Immunisation"
acknowledgement = "This work is funded by the National Institute for Health and Care Research (NIHR)."

[channels.briefing]
adapter = "briefing"
list = "policy-leads"                 # the decision makers who receive briefings
"""


def test_the_contracts_briefing_block_loads_mailing_through_this_machine_and_check_asks_for_a_sender(
    tmp_path: Path,
) -> None:
    (tmp_path / "kmcomms.toml").write_text(CONTRACT_SETTINGS, encoding="utf-8")
    channel = open_channels(load_workspace(tmp_path))["briefing"]
    assert isinstance(channel, BriefingChannel)
    options = channel.options
    assert (options.host, options.port, options.list, options.starttls, options.password) == (
        "127.0.0.1",
        25,
        "policy-leads",
        None,
        None,
    )
    assert options.sender == local_sender() and options.sender_address.startswith("kmcomms@")
    [problem] = [p for p in channel.check() if "set sender" in p]
    assert problem.startswith("[channels.briefing] no sender is set") and options.sender in problem
    assert 'set sender = "Name <address>"' in problem
    # Once set, the sender is not a problem; the smtp newsletter still requires its server and sender.
    channel.settings = type(options).model_validate({**options.model_dump(exclude_unset=True), "sender": SENDER})
    assert not any("set sender" in p for p in channel.check())
    with pytest.raises(ValueError, match=r"host\n.*Field required.*\n.*\nsender\n.*Field required"):
        SmtpOptions.model_validate({"adapter": "smtp", "list": "news"})


@pytest.mark.parametrize(
    ("name", "sender"),
    [
        ("mail.unit.example.ac.uk", "kmcomms@mail.unit.example.ac.uk"),
        ("VM", "kmcomms@vm.localdomain"),  # a name without a domain
        ("localhost", "kmcomms@localhost.localdomain"),
        ("under_score", "kmcomms@localhost.localdomain"),  # not a host name a mail address takes
    ],
)
def test_the_default_sender_is_an_address_whatever_the_machine_is_called(
    monkeypatch: pytest.MonkeyPatch, name: str, sender: str
) -> None:
    monkeypatch.setattr("socket.getfqdn", lambda: name)
    local_sender.cache_clear()
    try:
        assert local_sender() == sender
    finally:
        local_sender.cache_clear()

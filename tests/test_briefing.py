"""Policy briefings: the PDF (opened and read back with pypdf, in Latin and Arabic script)
and the `briefing` channel (the site page with its PDF, one mail per contact through a real
SMTP server on loopback, nothing sent twice).

Drafts come from real workspaces: the golden one (English, Polish, Arabic) copied into a
temporary folder, with an Urdu catalog written for the tests that need Urdu.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from kmcomms import briefing_pdf as pdf_module
from kmcomms.briefing_pdf import FontMissing, body_blocks, briefing_pdf, face_for
from kmcomms.campaign import load_paths
from kmcomms.plan import Delivery, Window
from kmcomms.render import Briefing, Renderer
from kmcomms.translations import merge_catalog, po_bytes, po_path, template_catalog

GOLDEN_WORKSPACE = Path(__file__).resolve().parent / "golden" / "workspace"
NOW = datetime(2027, 1, 1, tzinfo=UTC)
UNIT = "Golden Research Unit"
#: Urdu for the golden campaign's strings: whole sentences where a test reads them back,
#: elsewhere the English kept after an Urdu word, so Latin text sits inside Urdu text.
URDU = {
    "Free flu clinics this winter": "اس موسم سرما میں فلو کے مفت کلینک",
    "Clinics run in every local school.": "ہر مقامی اسکول میں کلینک چلتے ہیں۔",
    "The nasal spray takes a minute.": "ناک کا اسپرے ایک منٹ لیتا ہے۔",
    "Fund clinics for three more years.": "مزید تین سال کے لیے کلینکوں کو فنڈ دیں۔",
}


# ============================================================================== workspaces


def copy_golden(root: Path, languages: str = "en, pl, ar") -> Path:
    """The golden workspace copied to `root`, its audience reached in `languages`."""
    shutil.copytree(GOLDEN_WORKSPACE, root)
    campaign = root / "campaigns" / "flu-clinics" / "campaign.yaml"
    campaign.write_text(campaign.read_text(encoding="utf-8").replace("[en, pl, ar]", f"[{languages}]"), encoding="utf-8")
    return root


def write_urdu(root: Path) -> None:
    result = load_paths([root])
    [loaded] = result.campaigns
    catalog = merge_catalog(template_catalog(loaded, root), None, "ur")
    for entry in catalog:
        if entry.id:
            entry.string = URDU.get(entry.id, f"ترجمہ {entry.id}")
    target = po_path(root / "translations", loaded.campaign.id, "ur")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(po_bytes(catalog))


def briefings(root: Path) -> dict[str, tuple[Delivery, Briefing]]:
    """The briefing deliveries of the workspace at `root` and their drafts, by language."""
    result = load_paths([root])
    assert result.errors == [], result.errors
    [workspace] = result.workspaces
    renderer = Renderer(workspace, result.campaigns)
    found = {}
    for delivery in result.plan(Window(start=NOW), NOW).deliveries:
        if delivery.channel == "briefing":
            draft = renderer.render(delivery)
            assert isinstance(draft, Briefing), draft
            found[delivery.language] = (delivery, draft)
    return found


@pytest.fixture(scope="module")
def drafts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Briefing]:
    """The golden briefing in en, pl, ar and ur."""
    root = copy_golden(tmp_path_factory.mktemp("drafts") / "unit", "en, pl, ar, ur")
    write_urdu(root)
    return {language: draft for language, (_, draft) in briefings(root).items()}


# =================================================================================== PDF


def letters(text: str) -> str:
    """Only the letters and digits of `text`, compatibility-normalised: what survives of a
    sentence read back from a PDF whatever the extractor did with spaces, line breaks,
    punctuation, presentation forms and the order of a right-to-left line's neutral characters."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c)[0] in "LN")


def runs(text: str) -> list[str]:
    """The letters of `text` in runs of one direction: an extractor may put the runs of a
    mixed line (Urdu words around an English name) in visual rather than reading order."""
    found: list[str] = []
    for char in letters(text):
        rtl = unicodedata.bidirectional(char) in ("R", "AL")
        if found and (unicodedata.bidirectional(found[-1][-1]) in ("R", "AL")) == rtl:
            found[-1] += char
        else:
            found.append(char)
    return found


def read(document: bytes) -> PdfReader:
    assert document.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(document))


def page_texts(reader: PdfReader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def fonts_of(reader: PdfReader) -> set[str]:
    """The base names of the fonts the pages use, without the subset prefix."""
    return {str(font["/BaseFont"]).split("+")[-1] for page in reader.pages
            for font in page["/Resources"]["/Font"].values()}


def assert_holds(text: str, *parts: str) -> None:
    for part in parts:
        for run in runs(part):
            assert run in letters(text), f"{run!r} of {part!r} is not in the PDF"


def test_the_english_pdf_holds_every_part_of_the_briefing(drafts: dict[str, Briefing]) -> None:
    draft = drafts["en"]
    reader = read(briefing_pdf(draft, UNIT))
    [text] = page_texts(reader)
    assert_holds(text, draft.title, "12 January 2027", "Policy briefing", UNIT, "Summary", draft.summary,
                 "Key points", *draft.key_points, "How strong is the evidence", draft.evidence,
                 "What we do not know", draft.uncertainty, "Recommendations", *draft.recommendations,
                 "Contacts", *draft.contacts, draft.acknowledgement)
    # Parts in their POST-note order; key points bulleted, recommendations numbered.
    order = [text.index(part) for part in ("Summary", "Key points", "How strong", "What we do not", "Recommendations",
                                           "Contacts")]
    assert order == sorted(order)
    assert "• Clinics run in every local school." in text
    assert "1. Fund clinics for three more years." in text
    # The message's body is there too, a link with the address it leads to.
    assert "Every child from age two can have the free flu vaccine" in text
    assert_holds(text, "clinic times (https://example.org/clinics?area=north&utm_source=Leaflet) or write to us"
                       " (team@example.org)")
    assert "1 / 1" in text
    metadata = reader.metadata
    assert (metadata.title, metadata.author, metadata.creator) == (draft.title, UNIT, "kmcomms")
    assert reader.trailer["/Root"]["/Lang"] == "en"
    assert fonts_of(reader) >= {"NotoSans", "NotoSansBold"}


def test_every_page_carries_the_acknowledgement_and_its_number(drafts: dict[str, Briefing]) -> None:
    draft = dataclasses.replace(drafts["en"], evidence=" ".join(["Two trials and a cohort study agree."] * 250))
    texts = page_texts(read(briefing_pdf(draft)))
    assert len(texts) >= 3
    for number, text in enumerate(texts, 1):
        assert_holds(text, draft.acknowledgement)
        assert f"{number} / {len(texts)}" in text
    assert_holds(texts[-1], *draft.recommendations, *draft.contacts)


def test_the_polish_pdf_keeps_its_letters(drafts: dict[str, Briefing]) -> None:
    draft = drafts["pl"]
    reader = read(briefing_pdf(draft, UNIT))
    [text] = page_texts(reader)
    assert "12 stycznia 2027" in text
    assert "ł" in draft.title
    assert_holds(text, draft.title, *draft.key_points)
    assert reader.trailer["/Root"]["/Lang"] == "pl"


@pytest.mark.parametrize("language", ["ar", "ur"])
def test_an_arabic_script_pdf_is_shaped_in_naskh_with_latin_inside(drafts: dict[str, Briefing], language: str) -> None:
    draft = drafts[language]
    assert draft.direction == "rtl"
    reader = read(briefing_pdf(draft, UNIT))
    text = "\n".join(page_texts(reader))
    assert_holds(text, draft.title, draft.summary, *draft.key_points, *draft.recommendations, draft.acknowledgement)
    # Latin text inside: the contact's address, the links' addresses (a fallback font).
    assert "a.nurse@example.org" in text and "team@example.org" in text
    assert fonts_of(reader) >= {"NotoNaskhArabic", "NotoNaskhArabicBold", "NotoSans"}
    assert reader.metadata.title == draft.title
    assert reader.trailer["/Root"]["/Lang"] == language


def line_starts(document: bytes, word: str) -> list[float]:
    """Where (x, in points from the left) each piece of text holding `word` begins."""
    starts: list[float] = []

    def visit(text: str, _cm: list[float], tm: list[float], _font: object, _size: object) -> None:
        if word in text:
            starts.append(tm[4])

    read(document).pages[0].extract_text(visitor_text=visit)
    return starts


def test_a_right_to_left_briefing_is_aligned_to_the_right(drafts: dict[str, Briefing]) -> None:
    width = 595.28  # A4 in points
    [english] = line_starts(briefing_pdf(drafts["en"]), "Recommendations")
    [arabic] = line_starts(briefing_pdf(drafts["ar"]), "التوصيات")
    assert english < width / 4 < width / 2 < arabic


def test_a_missing_font_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module, "FONT_DIRS", ())
    with pytest.raises(FontMissing, match=r"NotoNaskhArabic-Regular\.ttf.*apt install fonts-noto-core"):
        face_for("ur", tmp_path)
    # The `fonts` folder is searched: a family without a bold file uses its regular one.
    (tmp_path / "NotoNaskhArabic-Regular.ttf").symlink_to("/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf")
    face = face_for("ur", tmp_path)
    assert face.regular == face.bold == tmp_path / "NotoNaskhArabic-Regular.ttf"
    with pytest.raises(FontMissing, match="no font for the Simplified script"):
        face_for("zh")


def test_the_body_keeps_its_blocks_lists_and_link_addresses(drafts: dict[str, Briefing]) -> None:
    assert body_blocks(drafts["en"]) == [
        ("", "Every child from age two can have the free flu vaccine, as a quick nasal spray."),
        ("", "Read the clinic times (https://example.org/clinics?area=north&utm_source=Leaflet)"
             " or write to us (team@example.org)."),
        ("•", "Bring the consent form."),
        ("•", "Ask the nurse your questions."),
    ]

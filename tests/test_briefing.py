"""Policy briefings: the PDF (opened and read back with pypdf, in Latin, Arabic, Gurmukhi
and Hebrew script) and the `briefing` channel (the site page with its PDF, one mail per contact through a real
SMTP server on loopback, nothing sent twice).

Drafts come from real workspaces: the golden one (English, Polish, Arabic) copied into a
temporary folder, with an Urdu catalog written for the tests that need Urdu.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import unicodedata
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from pypdf import PdfReader
from smtp_inbox import Inbox, inbox_fixture  # noqa: F401  # the `inbox` fixture
from sqlalchemy import Engine, delete, select
from workspaces import write_translation

from kmcomms import briefing_pdf as pdf_module
from kmcomms.briefing_pdf import FontMissing, body_blocks, briefing_pdf, face_for
from kmcomms.campaign import load_paths
from kmcomms.channels.base import PermanentError, Publication, TransientError
from kmcomms.channels.briefing import BriefingChannel, local_sender
from kmcomms.channels.registry import adapter_class, open_channels
from kmcomms.channels.smtp import SmtpOptions
from kmcomms.contacts import import_contacts, suppress
from kmcomms.ledger.ledger import sync
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import contacts, recipients
from kmcomms.mail import message_id
from kmcomms.plan import Delivery, Window
from kmcomms.render import Briefing, Renderer
from kmcomms.tracking import Tracker
from kmcomms.workspace import load_workspace

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
    text = campaign.read_text(encoding="utf-8")
    campaign.write_text(text.replace("[en, pl, ar]", f"[{languages}]"), encoding="utf-8")
    return root


def write_urdu(root: Path) -> None:
    write_translation(root, "ur", lambda text: URDU.get(text, f"ترجمہ {text}"))


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


def words_of(text: str) -> list[str]:
    """The letters of each word of `text`: an extractor may put the parts of a mixed or
    right-to-left line (Urdu words around an English name, a colon) in visual order."""
    return [word for token in re.split(r"[\s:;,.()·•/-]+", text) if (word := letters(token))]


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
        for word in words_of(part):
            assert word in letters(text), f"{word!r} of {part!r} is not in the PDF"


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


@pytest.mark.parametrize(("language", "font"), [
    ("en", "NotoSans"), ("pl", "NotoSans"), ("ro", "NotoSans"), ("so", "NotoSans"), ("ar", "NotoNaskhArabic"),
    ("ur", "NotoNaskhArabic"), ("pa", "NotoSansGurmukhi"), ("pa-Arab", "NotoNaskhArabic"), ("yi", "NotoSansHebrew"),
])
def test_each_language_is_set_in_the_font_of_its_script(language: str, font: str) -> None:
    face = face_for(language)
    assert (face.regular.name, face.bold.name) == (f"{font}-Regular.ttf", f"{font}-Bold.ttf")


@pytest.mark.parametrize(("language", "direction", "title", "font"), [
    ("pa", "ltr", "ਐਚਪੀਵੀ ਟੀਕਾ: ਸਥਾਨਕ ਆਗੂ ਕੀ ਕਰ ਸਕਦੇ ਹਨ", "NotoSansGurmukhi"),
    ("yi", "rtl", "די HPV וואַקצין: וואָס לאָקאַלע פירער קענען טאָן", "NotoSansHebrew"),
])
def test_gurmukhi_and_hebrew_script_briefings_keep_their_words(drafts: dict[str, Briefing], language: str,
                                                             direction: str, title: str, font: str) -> None:
    # The golden campaign has no Panjabi or Yiddish catalog: its English draft, retitled.
    draft = dataclasses.replace(drafts["en"], language=language, direction=direction, title=title)
    reader = read(briefing_pdf(draft, UNIT))
    assert_holds(page_texts(reader)[0], title, *draft.key_points)
    assert {font, "NotoSans"} <= fonts_of(reader)


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
        ("", "Read the clinic times (https://example.org/clinics?area=north&utm_source=Leaflet) or write to us"
             + " (team@example.org)."),
        ("•", "Bring the consent form."),
        ("•", "Ask the nurse your questions."),
    ]


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
    settings.write_text(settings.read_text(encoding="utf-8").replace('list = "policy-leads"', (
        f'list = "policy-leads"\nhost = "127.0.0.1"\nport = {inbox.port}\nsender = "{SENDER}"\nrate = 0\n'
        'path = "public"\nbase_url = "https://unit.example.org/"')), encoding="utf-8")
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
        reader = read(document)
        assert reader.metadata.title == draft.title
        assert_holds("\n".join(page_texts(reader)), draft.title, *draft.key_points, *draft.recommendations,
                     draft.acknowledgement)
    assert messages["bea@example.org"]["To"] == "\"Béa Ståhl, MP\" <bea@example.org>"

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
    reader = read(attachment.get_content())
    assert "NotoNaskhArabic" in fonts_of(reader)
    assert_holds("\n".join(page_texts(reader)), draft.title, *draft.key_points)
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


def test_a_missing_font_fails_the_delivery_with_what_to_install(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module, "FONT_DIRS", ())
    case.channel.settings = case.channel.options.model_copy(update={"fonts": "fonts"})
    (case.root / "fonts").mkdir()
    with pytest.raises(PermanentError, match="apt install fonts-noto-core"):
        case.publish("ar")
    assert case.inbox.received == []
    assert any("NotoSans-Regular.ttf" in problem for problem in case.channel.check())


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
        tmp_path: Path) -> None:
    (tmp_path / "kmcomms.toml").write_text(CONTRACT_SETTINGS, encoding="utf-8")
    channel = open_channels(load_workspace(tmp_path))["briefing"]
    assert isinstance(channel, BriefingChannel)
    options = channel.options
    assert (options.host, options.port, options.list, options.starttls, options.password) == (
        "127.0.0.1", 25, "policy-leads", None, None)
    assert options.sender == local_sender() and options.sender_address.startswith("kmcomms@")
    [problem] = [p for p in channel.check() if "set sender" in p]
    assert problem.startswith("[channels.briefing] no sender is set") and options.sender in problem
    assert 'set sender = "Name <address>"' in problem
    # Once set, the sender is not a problem; the smtp newsletter still requires its server and sender.
    channel.settings = type(options).model_validate({**options.model_dump(exclude_unset=True), "sender": SENDER})
    assert not any("set sender" in p for p in channel.check())
    with pytest.raises(ValueError, match=r"host\n.*Field required.*\n.*\nsender\n.*Field required"):
        SmtpOptions.model_validate({"adapter": "smtp", "list": "news"})


@pytest.mark.parametrize(("name", "sender"), [
    ("mail.unit.example.ac.uk", "kmcomms@mail.unit.example.ac.uk"),
    ("VM", "kmcomms@vm.localdomain"),  # a name without a domain
    ("localhost", "kmcomms@localhost.localdomain"),
    ("under_score", "kmcomms@localhost.localdomain"),  # not a host name a mail address takes
])
def test_the_default_sender_is_an_address_whatever_the_machine_is_called(
        monkeypatch: pytest.MonkeyPatch, name: str, sender: str) -> None:
    monkeypatch.setattr("socket.getfqdn", lambda: name)
    local_sender.cache_clear()
    try:
        assert local_sender() == sender
    finally:
        local_sender.cache_clear()

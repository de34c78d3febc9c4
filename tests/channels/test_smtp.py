"""The `smtp` newsletter adapter against a real SMTP server on loopback (aiosmtpd), with
drafts rendered from a real workspace (English, Polish, and Urdu written right to left)
and the ledger on SQLite and PostgreSQL: one message per recipient in their language, the
headers and links each must carry, suppression, refusals and bounces, a server that drops
or defers, AUTH and STARTTLS, and no password in any error or log line.

The server is smtp_inbox.py's, the workspace files workspaces.py's. The crash proof
(SIGKILL mid-list, then resumed) is in test_smtp_crash.py.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
import os
import shutil
import ssl
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from smtp_inbox import Hook, Inbox, inbox_fixture, start  # noqa: F401  # the `inbox` fixture
from sqlalchemy import Engine, select
from workspaces import SENDER, audience, campaign_yaml, settings_toml, smtp_channel, write_translations

from kmcomms.campaign.load import load_paths
from kmcomms.channels.base import PermanentError, TransientError
from kmcomms.channels.contacts import import_contacts
from kmcomms.channels.letters import Composer, message_id
from kmcomms.channels.mail import Mailer, Server
from kmcomms.channels.registry import open_channels
from kmcomms.channels.smtp import Smtp, SmtpOptions
from kmcomms.channels.smtp_send import _Commits
from kmcomms.daemon.demo import free_port
from kmcomms.ledger.contacts import suppress
from kmcomms.ledger.store import open_store
from kmcomms.ledger.sync import sync
from kmcomms.ledger.tables import contacts, recipients, suppressions
from kmcomms.plan.deliveries import Delivery, Window, plan_of
from kmcomms.render.drafts import BlogPost, Draft, Newsletter
from kmcomms.render.renderer import Renderer
from kmcomms.render.tracking import Tracker
from kmcomms.testing.drafts import letter

NOW = datetime(2027, 1, 11, 9, 1, tzinfo=UTC)
TRACKING = "http://127.0.0.1:8750"
TRACKER = Tracker(TRACKING, "k" * 40)
PASSWORD = "pa55-w0rd+secret"


# ---------------------------------------------------------------------------- the workspace

CAMPAIGN = campaign_yaml(
    """\
  - id: launch
    audiences: [parents]
    at: 2027-01-11 09:00
    title: Your questions about the HPV vaccine
    summary: Clinicians answer what parents ask most.
    body: |
      Read [the guide](https://example.org/guide) before the school session.

      Questions? Ask your school nurse.
    call_to_action:
      text: Book a clinic
      url: https://example.org/book
  - id: reminder
    audiences: [parents]
    at: 2027-01-25 09:00
    title: It is not too late
    body: Ask your school nurse or GP.
""",
    title="HPV vaccine newsletter",
    audiences=audience(languages="en, pl, ur", channels="newsletter"),
    timezone="UTC",
    starts="2027-01-10",
    metric="recipients",
)

#: Who is on the list: English, Polish and Urdu readers of the audience, a German reader
#: (the audience is not reached in German: gets English), a clinician (another audience)
#: and an address that unsubscribed before.
CONTACTS = """\
email,name,language,audience,consent_date
ada@example.org,Ada Lovelace,en,parents,2026-10-01
bea@example.org,"Béa Ståhl, Jr.",en,parents,2026-10-01
jan@example.org,Jan Kowalski,pl,parents,2026-10-01
zofia@example.org,Zofia Żółć,pl,parents,2026-10-01
amina@example.org,امینہ خان,ur,parents,2026-10-01
dieter@example.org,Dieter,de,parents,2026-10-01
doc@example.org,Dr Doc,en,clinicians,2026-10-01
gone@example.org,Gone,en,parents,2026-10-01
"""
LANGUAGE_OF = {
    "ada@example.org": "en",
    "bea@example.org": "en",
    "dieter@example.org": "en",
    "jan@example.org": "pl",
    "zofia@example.org": "pl",
    "amina@example.org": "ur",
}
PREFIX = {"pl": "[pl] ", "ur": "اردو "}


def write_workspace(root: Path, url: str, port: int, extra: str = "", tracking: bool = True) -> Path:
    (root / "campaigns" / "news").mkdir(parents=True)
    settings = settings_toml(url, tracking=TRACKING if tracking else None, channels=smtp_channel(port, extra=extra))
    (root / "kmcomms.toml").write_text(settings, encoding="utf-8")
    (root / "campaigns" / "news" / "campaign.yaml").write_text(CAMPAIGN, encoding="utf-8")
    write_translations(root, PREFIX)
    return root


@dataclass
class Newsroom:
    """A workspace with its ledger synced, the contacts imported and the channel open."""

    root: Path
    engine: Engine
    channel: Smtp
    renderer: Renderer
    deliveries: dict[tuple[str, str], Delivery] = field(default_factory=dict)

    def draft(self, message: str = "launch", language: str = "en") -> Newsletter:
        draft = self.renderer.render(self.deliveries[(message, language)])
        assert isinstance(draft, Newsletter), draft
        return draft

    def publish(self, message: str = "launch", language: str = "en"):
        return self.channel.publish(self.draft(message, language), self.key(message, language))

    def key(self, message: str = "launch", language: str = "en") -> str:
        return self.deliveries[(message, language)].id

    def rows(self, message: str = "launch", language: str = "en") -> dict[str, Any]:
        with self.engine.connect() as db:
            return {
                r.email: r
                for r in db.execute(select(recipients).where(recipients.c.delivery_id == self.key(message, language)))
            }


def open_newsroom(root: Path, url: str, port: int, extra: str = "", tracking: bool = True) -> Newsroom:
    write_workspace(root, url, port, extra, tracking)
    result = load_paths([root])
    assert not result.errors, result.errors
    [workspace] = result.workspaces
    engine = open_store(url, root)
    planned = [d for d in plan_of(result, Window(start=datetime(2027, 1, 1, tzinfo=UTC)), NOW).deliveries]
    sync(engine, planned, NOW)
    tracker = TRACKER if tracking else None
    channel = open_channels(workspace, store=engine, tracker=tracker)["newsletter"]
    assert isinstance(channel, Smtp)
    channel.clock = lambda: NOW
    (root / "people.csv").write_text(CONTACTS, encoding="utf-8")
    import_contacts(engine, root / "people.csv", "news", NOW)
    import_contacts(engine, root / "people.csv", "other-list", NOW)
    suppress(engine, "gone@example.org", "unsubscribed", "one-click", NOW)
    room = Newsroom(root, engine, channel, Renderer(workspace, result.campaigns, tracker))
    room.deliveries = {(d.message, d.language): d for d in planned}
    return room


@pytest.fixture
def room(tmp_path: Path, store_url: str, inbox: Inbox) -> Iterator[Newsroom]:
    newsroom = open_newsroom(tmp_path / "unit", store_url, inbox.port)
    yield newsroom
    newsroom.engine.dispose()


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.html_attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]
        if tag == "html":
            self.html_attrs = dict(attrs)


def parse_html(markup: str) -> _Hrefs:
    parser = _Hrefs()
    parser.feed(markup)
    return parser


# ---------------------------------------------------------------------------- sending


def test_each_recipient_gets_one_message_in_their_language_with_every_header_and_link(
    room: Newsroom, inbox: Inbox
) -> None:
    publications = {language: room.publish("launch", language) for language in ("en", "pl", "ur")}
    got = inbox.messages()
    # Nobody outside the audience, nobody unsubscribed, nobody twice (messages() checks).
    assert set(got) == set(LANGUAGE_OF)
    names = {
        "ada@example.org": "Ada Lovelace",
        "bea@example.org": "Béa Ståhl, Jr.",
        "jan@example.org": "Jan Kowalski",
        "zofia@example.org": "Zofia Żółć",
        "amina@example.org": "امینہ خان",
        "dieter@example.org": "Dieter",
    }
    for address, message in got.items():
        language = LANGUAGE_OF[address]
        draft = room.draft("launch", language)
        key = draft.delivery
        # Structure: multipart/alternative, the plain text first, the HTML (preferred) last.
        assert message.get_content_type() == "multipart/alternative"
        text, markup = (part.get_content() for part in message.iter_parts())
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        # Headers.
        assert message["From"] == SENDER and message["Subject"] == draft.subject
        assert (message["To"].addresses[0].addr_spec, message["To"].addresses[0].display_name) == (
            address,
            names[address],
        )
        assert (
            message["Message-ID"]
            == message_id(key, address, "unit.example.org")
            == room.rows("launch", language)[address].message_id
        )
        assert message["Date"].datetime == NOW
        assert message["List-Id"] == "<news.unit.example.org>"
        assert message["Content-Language"] == language
        unsubscribe = TRACKER.unsubscribe_url("news", address)
        assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert TRACKER.read_unsubscribe(unsubscribe.rsplit("/", 1)[1]) == ("news", address)
        assert "Precedence" not in message and "Auto-Submitted" not in message
        # The document in the reader's language and direction, with its own unsubscribe link.
        page = parse_html(markup)
        assert page.html_attrs == {"lang": language, "dir": "rtl" if language == "ur" else "ltr"}
        assert unsubscribe in page.hrefs and unsubscribe in text and "{{unsubscribe_url}}" not in text + markup
        assert [h for h in page.hrefs if "/u/" in h] == [unsubscribe]
        for link in draft.links:
            assert TRACKER.click_url(key, link.id) in page.hrefs
        if language != "en":
            assert draft.title.startswith(PREFIX[language]) and draft.title in markup and draft.title in text
        # Every line fits SMTP's limit, whatever the text.
        assert max(len(line) for line in inbox.received[0].data.split(b"\r\n")) <= 998
    for language, publication in publications.items():
        settled = room.rows("launch", language)
        assert {r.state for r in settled.values()} == {"sent"} and all(r.sent_at == NOW for r in settled.values())
        assert publication.remote_id == f"{room.key('launch', language)}:{len(settled)}/{len(settled)}"
        assert room.channel.find(room.key("launch", language)) == publication
        assert room.channel.collect(publication) == {
            "recipients": len(settled),
            "rejected": 0,
            "unknown": 0,
            "suppressed": 0,
        }
    # Mostly ASCII (markup, addresses) travels as quoted-printable, the shorter there.
    assert got["amina@example.org"].get_payload()[1]["Content-Transfer-Encoding"] == "quoted-printable"


def test_a_text_mostly_in_another_script_travels_as_base64_and_names_are_encoded(room: Newsroom) -> None:
    urdu = "کیا آپ کے بچے کو ویکسین لگی ہے؟ " * 40
    draft = dataclasses.replace(
        room.draft("launch", "ur"),
        text=f"{urdu}\n{{{{unsubscribe_url}}}}\n",
        html=f'<html><body><p>{urdu}</p><a href="{{{{unsubscribe_url}}}}">x</a></body></html>',
    )
    composer = Composer(
        draft,
        sender=SENDER,
        list_id="<news.unit.example.org>",
        date=NOW,
        one_click=False,
        unsubscribe=lambda address: f"https://u.example.org/?a={address}&b=1",
    )
    letter = composer.compose("amina@example.org", "امینہ\r\nBcc: evil@example.org")
    assert (letter.recipient, letter.message_id) == (
        "amina@example.org",
        message_id(draft.delivery, "amina@example.org", "unit.example.org"),
    )
    message = email.message_from_bytes(letter.data, policy=email.policy.default)
    assert [p["Content-Transfer-Encoding"] for p in message.iter_parts()] == ["base64", "base64"]
    text, markup = (p.get_content() for p in message.iter_parts())
    assert text == f"{urdu}\nhttps://u.example.org/?a=amina@example.org&b=1\n"
    assert 'href="https://u.example.org/?a=amina@example.org&amp;b=1"' in markup  # escaped in HTML only
    # A line break in a name cannot start a header of its own.
    assert "Bcc" not in message and message["To"].addresses[0].display_name == "امینہ Bcc: evil@example.org"
    assert letter.data.isascii() and max(len(line) for line in letter.data.split(b"\r\n")) <= 998


@pytest.mark.parametrize(
    "subject",
    [
        "Extra MMR clinics for Charedi families in Stamford Hill: how you can help",  # Python folds this whole
        "The films are out",
        "A subject so long that it has to be folded somewhere, at a space between two of its words, to keep lines short",
        "ویکسین کے بارے میں آپ کے سوالات، ڈاکٹروں کے جوابات: ایچ پی وی ویکسین کے بارے میں",
    ],
)
def test_the_subject_starts_on_the_subject_line_and_reads_back_as_written(subject: str) -> None:
    composer = Composer(
        letter(subject=subject),
        sender=SENDER,
        list_id="<news.unit.example.org>",
        date=NOW,
        one_click=False,
        unsubscribe=lambda address: f"mailto:news@unit.example.org?to={address}",
    )
    data = composer.compose("ada@example.org", "Ada").data
    head = data.split(b"\r\n\r\n")[0].split(b"\r\n")
    start = next(i for i, line in enumerate(head) if line.startswith(b"Subject:"))
    assert head[start].startswith(b"Subject: ") and head[start][len(b"Subject: ") :].strip()  # not "Subject:" alone
    assert max(len(line) for line in head) <= 78
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Subject"] == subject  # no leading space


def test_publishing_again_resends_nothing_and_find_answers_from_the_ledger(room: Newsroom, inbox: Inbox) -> None:
    key = room.key()
    assert room.channel.find(key) is None  # never started
    first = room.publish()
    assert room.publish() == first and room.channel.find(key) == first
    assert inbox.by_recipient() == Counter({"ada@example.org": 1, "bea@example.org": 1, "dieter@example.org": 1})


def test_a_contact_imported_after_the_send_started_does_not_join_it(room: Newsroom, inbox: Inbox) -> None:
    room.publish()
    (room.root / "late.csv").write_text(
        "email,name,language,audience,consent_date\nlate@example.org,,en,parents,2027-01-11\n"
    )
    import_contacts(room.engine, room.root / "late.csv", "news", NOW)
    room.publish()
    assert "late@example.org" not in inbox.by_recipient()
    room.publish("reminder", "en")  # the next delivery has them
    assert inbox.by_recipient()["late@example.org"] == 1


def test_a_550_user_unknown_rejects_and_suppresses_the_address_and_later_sends_skip_it(
    room: Newsroom, inbox: Inbox
) -> None:
    inbox.refuse["bea@example.org"] = "550 5.1.1 <bea@example.org>: Recipient address rejected: User unknown"
    inbox.refuse["dieter@example.org"] = "550 5.7.1 Message rejected as spam"  # says nothing about the address
    publication = room.publish()
    assert set(inbox.by_recipient()) == {"ada@example.org"}
    rows = room.rows()
    assert (rows["bea@example.org"].state, rows["dieter@example.org"].state, rows["ada@example.org"].state) == (
        "rejected",
        "rejected",
        "sent",
    )
    assert "5.1.1" in rows["bea@example.org"].error and "spam" in rows["dieter@example.org"].error
    assert publication.remote_id.endswith(":1/3")
    assert room.channel.collect(publication) == {"recipients": 1, "rejected": 2, "unknown": 0, "suppressed": 0}
    with room.engine.connect() as db:
        assert dict(db.execute(select(suppressions.c.email, suppressions.c.reason)).all()) == {
            "gone@example.org": "unsubscribed",
            "bea@example.org": "bounced",
        }
        assert db.execute(
            select(contacts.c.bounced_at).where(contacts.c.email == "bea@example.org")
        ).scalars().all() == [NOW, NOW]
    inbox.refuse.clear()
    room.publish("reminder", "en")
    assert "bea@example.org" not in room.rows("reminder", "en") and inbox.by_recipient()["dieter@example.org"] == 1


def refuse_once(stage: str, at: int, reply: str | Callable[[Any], None]) -> Hook:
    """A hook that answers the `at`-th message at `stage` with `reply` once (a callable
    reply acts on the server instead, e.g. drops the connection)."""
    done: list[bool] = []

    def hook(now: str, n: int, server: Any, envelope: Any) -> str | None:
        if now != stage or n != at or done:
            return None
        done.append(True)
        if callable(reply):
            reply(server)
            return "451 4.3.0 dropped"
        return reply

    return hook


def drop(server: Any) -> None:
    server.transport.close()


def test_a_421_stops_the_send_and_the_resume_sends_the_rest_once(room: Newsroom, inbox: Inbox) -> None:
    inbox.hook = refuse_once("DATA", 2, "421 4.3.2 Service shutting down")
    with pytest.raises(TransientError, match="421 4.3.2"):
        room.publish()
    rows = room.rows()
    assert sorted(r.state for r in rows.values()) == ["pending", "pending", "sent"]
    assert room.channel.find(room.key()) is None  # cut short: publishing again resumes
    room.publish()
    assert inbox.by_recipient() == Counter({"ada@example.org": 1, "bea@example.org": 1, "dieter@example.org": 1})


def test_a_connection_dropped_before_data_is_reopened_and_nothing_is_lost(room: Newsroom, inbox: Inbox) -> None:
    inbox.hook = refuse_once("MAIL", 2, drop)
    room.publish()
    assert inbox.by_recipient() == Counter({"ada@example.org": 1, "bea@example.org": 1, "dieter@example.org": 1})


def test_a_connection_dropped_during_data_leaves_that_one_unknown_and_never_resent(
    room: Newsroom, inbox: Inbox
) -> None:
    inbox.hook = refuse_once("DATA", 2, drop)
    with pytest.raises(TransientError, match="may have it"):
        room.publish()
    publication = room.publish()
    rows = room.rows()
    assert rows["bea@example.org"].state == "unknown" and "may have it" in rows["bea@example.org"].error
    # The server never kept it (it dropped the line): an honest "unknown", not a second copy.
    assert inbox.by_recipient() == Counter({"ada@example.org": 1, "dieter@example.org": 1})
    assert publication.remote_id.endswith(":2/3")
    assert room.channel.collect(publication)["unknown"] == 1


def test_a_4xx_for_one_recipient_defers_only_it(room: Newsroom, inbox: Inbox) -> None:
    inbox.refuse["bea@example.org"] = "450 4.2.1 Mailbox busy, try later"
    with pytest.raises(TransientError, match="1 recipients of .* deferred"):
        room.publish()
    assert room.rows()["bea@example.org"].state == "pending" and "4.2.1" in room.rows()["bea@example.org"].error
    assert set(inbox.by_recipient()) == {"ada@example.org", "dieter@example.org"}
    inbox.refuse.clear()
    room.publish()
    assert inbox.by_recipient() == Counter({"ada@example.org": 1, "bea@example.org": 1, "dieter@example.org": 1})


def test_an_address_suppressed_while_a_send_waits_to_resume_is_skipped(room: Newsroom, inbox: Inbox) -> None:
    inbox.hook = refuse_once("DATA", 1, "421 4.3.2 Try later")
    with pytest.raises(TransientError):
        room.publish()
    suppress(room.engine, "bea@example.org", "unsubscribed", "clicked", NOW)
    publication = room.publish()
    assert room.rows()["bea@example.org"].state == "suppressed"
    assert inbox.by_recipient() == Counter({"ada@example.org": 1, "dieter@example.org": 1})
    assert room.channel.collect(publication) == {"recipients": 2, "rejected": 0, "unknown": 0, "suppressed": 1}


def test_two_workers_sending_one_delivery_at_once_never_send_one_recipient_twice(room: Newsroom, inbox: Inbox) -> None:
    # What happens when a lease expires during a long send and another daemon takes the
    # delivery too: each row is taken by a conditional update, so by one worker only.
    many = [f"reader{n:03d}@example.org" for n in range(150)]
    (room.root / "many.csv").write_text(
        "email,name,language,audience,consent_date\n" + "".join(f"{a},,en,parents,2026-12-01\n" for a in many)
    )
    import_contacts(room.engine, room.root / "many.csv", "news", NOW)
    [workspace] = load_paths([room.root]).workspaces
    second = open_channels(workspace, store=room.engine, tracker=TRACKER)["newsletter"]
    draft, key = room.draft(), room.key()
    failures: list[BaseException] = []

    def publish(channel: Any) -> None:
        try:
            channel.publish(draft, key)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    workers = [threading.Thread(target=publish, args=(channel,)) for channel in (room.channel, second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert inbox.by_recipient() == Counter(
        {a: 1 for a in [*many, "ada@example.org", "bea@example.org", "dieter@example.org"]}
    )
    assert {r.state for r in room.rows().values()} == {"sent"}


def test_a_server_that_is_down_is_transient_and_nothing_is_marked_sent(tmp_path: Path, store_url: str) -> None:
    room = open_newsroom(tmp_path / "unit", store_url, free_port())
    with pytest.raises(TransientError, match="cannot connect"):
        room.publish()
    assert {r.state for r in room.rows().values()} == {"pending"}
    room.engine.dispose()


def test_a_delivery_with_nobody_to_send_to_fails_and_says_how_to_fix_it(room: Newsroom, inbox: Inbox) -> None:
    with room.engine.begin() as db:
        db.execute(contacts.delete().where(contacts.c.language == "ur"))
    with pytest.raises(
        PermanentError,
        match='nobody to send .* list "news" has no contact of audience "parents" '
        "reading ur .*`kmcomms contacts import FILE --list news`",
    ):
        room.publish("launch", "ur")
    assert inbox.received == []


def test_a_channel_without_a_store_or_given_another_kind_of_draft_refuses(room: Newsroom) -> None:
    draft = room.draft()
    common = {f.name: getattr(draft, f.name) for f in dataclasses.fields(Draft)}
    post = BlogPost(**common, slug="s", excerpt="", tags=(), html="")
    with pytest.raises(PermanentError, match="sends newsletters, not blog drafts"):
        room.channel.publish(post, room.key())
    storeless = Smtp("newsletter", room.channel.options, room.root)
    with pytest.raises(PermanentError, match="keeps its recipients in the store, and has none here"):
        storeless.publish(draft, room.key())


def test_without_tracking_the_unsubscribe_is_a_mailto_and_check_says_one_click_needs_tracking(
    tmp_path: Path, store_url: str, inbox: Inbox
) -> None:
    room = open_newsroom(
        tmp_path / "unit", store_url, inbox.port, extra='reply_to = "Comms <comms@unit.example.org>"', tracking=False
    )
    room.publish()
    message = inbox.messages()["ada@example.org"]
    mailto = "mailto:comms@unit.example.org?subject=unsubscribe%20news"
    assert message["List-Unsubscribe"] == f"<{mailto}>" and "List-Unsubscribe-Post" not in message
    assert message["Reply-To"] == "Comms <comms@unit.example.org>"
    assert mailto in parse_html(message.get_payload()[1].get_content()).hrefs
    # The inbox is a mail catcher on this machine: nothing reaches a mailbox provider, whose
    # rules for bulk senders do not apply. A real mail server is told one-click needs tracking.
    assert room.channel.check() == []
    real = Smtp("newsletter", room.channel.options.model_copy(update={"host": "mail.unit.example.org"}), room.root)
    [problem] = real.check()
    assert "one-click unsubscribe (RFC 8058" in problem and "[tracking] base_url" in problem
    room.engine.dispose()


def test_the_rate_is_kept_between_messages(inbox: Inbox) -> None:
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    with Mailer(Server("127.0.0.1", inbox.port), rate=4, sleep=sleep, clock=lambda: clock[0]) as mailer:
        for n in range(5):
            mailer.send("news@unit.example.org", f"r{n}@example.org", b"Subject: hi\r\n\r\nhello\r\n")
            clock[0] += 0.05  # the message itself took 50 ms
    assert len(inbox.received) == 5
    assert slept == pytest.approx([0.2] * 4)  # 1/4 s apart: 50 ms sending, 200 ms waiting
    with Mailer(Server("127.0.0.1", inbox.port), rate=0, sleep=sleep) as mailer:
        mailer.send("news@unit.example.org", "r@example.org", b"Subject: hi\r\n\r\nhello\r\n")
    assert len(slept) == 4


# ---------------------------------------------------------------------------- settings and secrets


def options(**changes: Any) -> SmtpOptions:
    return SmtpOptions.model_validate(
        {"adapter": "smtp", "host": "mail.example.org", "sender": SENDER, "list": "news", **changes}
    )


def test_settings_have_sensible_defaults_and_refuse_what_cannot_work() -> None:
    assert (options().port, options().use_starttls, options().use_ssl) == (25, False, False)
    assert (
        options(port=587).use_starttls,
        options(port=465).use_ssl,
        options(port=587, starttls=False).use_starttls,
    ) == (True, True, False)
    channel = Smtp("newsletter", options(password="${SMTP_TEST_PASSWORD}"), Path("."))
    os.environ["SMTP_TEST_PASSWORD"] = PASSWORD
    try:
        server = channel.server()
    finally:
        del os.environ["SMTP_TEST_PASSWORD"]
    assert (server.username, server.password) == ("news@unit.example.org", PASSWORD) and PASSWORD not in repr(server)
    assert Smtp("n", options(), Path(".")).server().username is None  # no password: no AUTH
    for bad, expected in (
        (dict(sender="news"), "is not a sender"),
        (dict(sender="News <a@b@c.org>"), "is not a sender"),
        (dict(port=465, starttls=True, ssl=True), "cannot both be on"),
        (dict(list_id="not a list id"), "is not a list id"),
        (dict(list="News Letter"), "not a valid id"),
        (dict(rate=-1), "greater than or equal to 0"),
        (dict(hostname="x"), "Extra inputs"),
    ):
        with pytest.raises(ValueError, match=expected):
            options(**bad)
    assert Smtp("n", options(list_id="HPRU news <news.hpru.example>"), Path(".")).options.list_id


def test_check_names_an_unset_password_variable_and_a_password_in_clear_text() -> None:
    channel = Smtp("newsletter", options(password="${SMTP_UNSET_FOR_TEST}"), Path("."), tracker=TRACKER)
    problems = channel.check()
    assert any("SMTP_UNSET_FOR_TEST is not set" in p for p in problems)
    clear = Smtp("newsletter", options(password="hunter2-literal"), Path("."), tracker=TRACKER).check()
    assert any("clear text" in p for p in clear) and any("not https" in p for p in clear)
    assert all("hunter2-literal" not in p for p in clear)
    tls = Smtp(
        "newsletter", options(port=587, password="x"), Path("."), tracker=Tracker("https://t.example.org", "k" * 40)
    ).check()
    assert tls == []


def run_with_auth(
    root: Path,
    store_url: str,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    **server_options: Any,
) -> tuple[Newsroom, Inbox, Exception | None]:
    """Publish the English launch through a server that requires AUTH (and STARTTLS with
    `tls_context`), the channel's password being `password`. Runs on the same ledger
    again resume the same delivery. The caller disposes of the room's engine."""
    server = Inbox(account=("news@unit.example.org", PASSWORD))
    controller = start(server, authenticator=server.authenticate, auth_required=True, **server_options)
    monkeypatch.setenv("SMTP_PASSWORD", password)
    extra = 'password = "${SMTP_PASSWORD}"' + ("\nstarttls = true" if "tls_context" in server_options else "")
    room = open_newsroom(root, store_url, server.port, extra=extra)
    caught = None
    with caplog.at_level(logging.DEBUG, logger="kmcomms"):
        try:
            room.publish()
        except Exception as exc:  # noqa: BLE001 - examined by the caller
            caught = exc
    controller.stop()
    return room, server, caught


def our_log(caplog: pytest.LogCaptureFixture) -> str:
    """What kmcomms logged (the test server logs the AUTH exchange itself)."""
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records if r.name.startswith("kmcomms"))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # loopback only
def test_a_refused_password_is_permanent_and_never_shown_and_the_right_one_sends(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wr0ng-s3cret-value"
    room, server, caught = run_with_auth(
        tmp_path / "bad", store_url, wrong, monkeypatch, caplog, auth_require_tls=False
    )
    assert isinstance(caught, PermanentError) and server.received == []
    assert "refused the user name or password" in str(caught) and "535 5.7.8" in str(caught)
    assert "***" in str(caught)  # the server echoed the password: masked
    shown = [str(caught), repr(caught), str(caught.__cause__), str(caught.__context__), our_log(caplog)]
    assert all(wrong not in text for text in shown)
    assert {r.state for r in room.rows().values()} == {"pending"}
    room.engine.dispose()
    room, server, caught = run_with_auth(
        tmp_path / "good", store_url, PASSWORD, monkeypatch, caplog, auth_require_tls=False
    )
    room.engine.dispose()
    assert caught is None and len(server.received) == 3 and set(server.logins) == {"news@unit.example.org"}
    assert PASSWORD not in our_log(caplog)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_an_untrusted_certificate_is_permanent_then_starttls_and_auth_send(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key, cert = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    room, server, caught = run_with_auth(
        tmp_path / "bad", store_url, PASSWORD, monkeypatch, caplog, tls_context=context, require_starttls=True
    )
    room.engine.dispose()
    assert isinstance(caught, PermanentError) and "certificate is not trusted" in str(caught) and server.received == []
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts it as its CA
    room, server, caught = run_with_auth(
        tmp_path / "good", store_url, PASSWORD, monkeypatch, caplog, tls_context=context, require_starttls=True
    )
    room.engine.dispose()
    assert caught is None and len(server.received) == 3 and all(r.tls for r in server.received)
    assert server.logins == ["news@unit.example.org"]


def test_on_sqlite_sends_commit_cheaply_make_the_record_durable_every_tenth_of_a_second_and_restore(
    tmp_path: Path,
) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    now = [0.0]
    full, normal = 2, 1  # PRAGMA synchronous values
    with engine.connect() as db:
        assert db.exec_driver_sql("PRAGMA synchronous").scalar() == full
        db.commit()
        modes = []
        with _Commits(db, clock=lambda: now[0]) as commits:
            for moment, durable in (
                (0.0, False),
                (0.05, False),
                (0.09, False),
                (0.1, False),
                (0.15, False),
                (0.25, False),
                (0.26, True),
            ):
                now[0] = moment
                with db.begin():
                    commits.next_commit(durable)
                    modes.append(db.exec_driver_sql("PRAGMA synchronous").scalar())
        assert db.exec_driver_sql("PRAGMA synchronous").scalar() == full  # the pooled connection as it was
        db.commit()
    engine.dispose()
    assert modes == [full, normal, normal, full, normal, full, full]

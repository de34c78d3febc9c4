"""The listmonk adapter against a listmonk on loopback (tests/fake_listmonk.py) that checks
every request against the documented API: the shared channel contract, then what is
particular to listmonk — the campaign it creates, lists by audience and language, the
unsubscribe placeholder, never sending twice (also after a crash between creating and
starting), scheduling, reach, settings checks and error mapping."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_listmonk import FakeListmonk
from sqlalchemy import insert

from kmcomms.channels.base import PermanentError, Publication, TransientError
from kmcomms.channels.listmonk import Listmonk, ListmonkOptions
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import deliveries
from kmcomms.testing.contract import ChannelContract, Harness, makers
from kmcomms.testing.drafts import KEY, NEWSLETTER_HTML, blog_post, letter
from kmcomms.testing.fake_api import LoopbackServer, serve

TOKEN = "lm-tok-8f1e2d3c4b5a"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeListmonk]:
    monkeypatch.setenv("KM_TEST_LISTMONK_TOKEN", TOKEN)
    yield from serve(FakeListmonk("kmcomms", TOKEN, lists={3: 120, 4: 40, 7: 9}, templates=(1, 5)))


@pytest.fixture
def make(fake: FakeListmonk) -> Iterator[Callable[..., Listmonk]]:
    """`make(**settings)`: a channel on the fake listmonk."""
    yield from makers(
        Listmonk,
        "newsletter",
        {
            "adapter": "listmonk",
            "url": fake.url,
            "user": "kmcomms",
            "token": "${KM_TEST_LISTMONK_TOKEN}",
            "lists": {"en": [3], "ur": 4, "parents/pl": [7]},
        },
        Path("."),
    )


@pytest.fixture
def channel(make: Callable[..., Listmonk]) -> Listmonk:
    return make()


class TestListmonkContract(ChannelContract):
    adapter = "listmonk"

    @pytest.fixture
    def harness(self, fake: FakeListmonk, channel: Listmonk) -> Harness:
        return Harness(channel, letter(), lambda: len(fake.campaigns), fake.fail_next, secrets=(TOKEN,))


# ---------------------------------------------------------------------------- what is sent


def test_a_newsletter_becomes_one_started_campaign_as_documented(fake: FakeListmonk, channel: Listmonk) -> None:
    publication = channel.publish(letter(), KEY)
    assert publication == Publication("1")
    assert fake.requested() == ["GET /api/campaigns", "POST /api/campaigns", "PUT /api/campaigns/1/status"]
    lookup, create, start = fake.seen
    assert lookup.args == {"query": [KEY], "per_page": ["all"]}
    assert all(seen.headers["Authorization"] == f"token kmcomms:{TOKEN}" for seen in fake.seen)
    body = create.body
    assert body["name"] == f"The films are out [kmcomms {KEY}]"
    assert body["subject"] == "The films are out: watch them" and body["lists"] == [3]
    assert body["type"] == "regular" and body["content_type"] == "html" and body["send_at"] is None
    assert body["tags"] == ["kmcomms", "vaccines"] and "template_id" not in body
    assert '<a href="{{ UnsubscribeURL }}">' in body["body"] and "{{unsubscribe_url}}" not in body["body"]
    assert body["altbody"] == "The films are out.\n\nUnsubscribe: {{ UnsubscribeURL }}\n"
    assert start.body == {"status": "running"}
    campaign = fake.campaigns[1]
    assert campaign["status"] == "running" and campaign["sent"] == 120


def test_other_braces_are_escaped_for_listmonks_template_engine(fake: FakeListmonk, channel: Listmonk) -> None:
    # The fake compiles the body as listmonk would: a raw "{{ price }}" is refused …
    raw = requests.post(
        f"{fake.url}/api/campaigns",
        headers={"Authorization": f"token kmcomms:{TOKEN}"},
        json={
            "name": "n",
            "subject": "s",
            "lists": [3],
            "type": "regular",
            "content_type": "html",
            "body": "{{ price }}",
        },
    )
    assert raw.status_code == 400 and 'function "price" not defined' in raw.json()["message"]
    fake.problems.clear()
    # … and what the adapter sends prints it as written.
    channel.publish(
        letter(
            html=NEWSLETTER_HTML.replace("Clinicians answer.", "Costs {{ price }} }} {{"),
            text="{{x}} {{unsubscribe_url}}",
        ),
        KEY,
    )
    sent = fake.campaigns[1]
    assert 'Costs {{ "{{" }} price }} }} {{ "{{" }}' in sent["body"]
    assert sent["altbody"] == '{{ "{{" }}x}} {{ UnsubscribeURL }}'


def test_settings_add_the_template_and_the_sender(fake: FakeListmonk, make: Callable[..., Listmonk]) -> None:
    channel = make(template_id=5, from_email="KM Unit <km@example.org>")
    channel.publish(letter(), KEY)
    body = fake.seen[1].body
    assert body["template_id"] == 5 and body["from_email"] == "KM Unit <km@example.org>"


def test_each_audience_and_language_goes_to_its_lists(fake: FakeListmonk, channel: Listmonk) -> None:
    channel.publish(letter("0000000000a1", language="ur"), "0000000000a1")
    channel.publish(letter("0000000000a2", language="pl"), "0000000000a2")  # "parents/pl" wins
    assert [c["lists"] for c in fake.campaigns.values()] == [
        [{"id": 4, "name": "List 4"}],
        [{"id": 7, "name": "List 7"}],
    ]
    with pytest.raises(
        PermanentError,
        match=r'no list for audience "clinicians" in pl — add `"clinicians/pl" = \[ID\]` or `pl = \[ID\]`',
    ):
        channel.publish(letter("0000000000a3", language="pl", audiences=("clinicians",)), "0000000000a3")
    assert len(fake.campaigns) == 2


def test_a_fallback_goes_to_the_readers_it_was_planned_for(
    fake: FakeListmonk, make: Callable[..., Listmonk], tmp_path: Path
) -> None:
    engine = open_store("sqlite:///ledger.db", tmp_path)
    now = datetime(2027, 1, 11, 9, tzinfo=UTC)
    with engine.begin() as db:
        db.execute(
            insert(deliveries).values(
                id=KEY,
                campaign="vaccines",
                message="launch",
                occurrence="o",
                audiences="parents",
                language="ur",
                channel="newsletter",
                due_at=now,
                timezone="Europe/London",
                state="sending",
                attempts=1,
                planned_at=now,
                updated_at=now,
            )
        )
    fallback = letter(fallback=True)  # in English, for the Urdu readers
    without_ledger = make()
    with pytest.raises(PermanentError, match="cannot tell which readers"):
        without_ledger.publish(fallback, KEY)
    options = without_ledger.settings
    channel = Listmonk("newsletter", options, tmp_path, store=engine)
    channel.publish(fallback, KEY)
    channel.session.close()
    engine.dispose()
    assert fake.campaigns[1]["lists"] == [{"id": 4, "name": "List 4"}]


def test_only_newsletters_with_an_unsubscribe_link_are_taken(fake: FakeListmonk, channel: Listmonk) -> None:
    with pytest.raises(PermanentError, match="sends newsletters, not blog drafts"):
        channel.publish(blog_post(delivery=KEY), KEY)
    with pytest.raises(PermanentError, match="no unsubscribe link"):
        channel.publish(letter(html="<p>Hi</p>"), KEY)
    assert fake.seen == []


# ---------------------------------------------------------------------------- never twice


def test_a_crash_between_creating_and_starting_sends_once(fake: FakeListmonk, channel: Listmonk) -> None:
    fake.fail_on(r"PUT /api/campaigns/\d+/status", 503, {"Retry-After": "5"})
    with pytest.raises(TransientError) as crashed:
        channel.publish(letter(), KEY)
    assert crashed.value.retry_after == 5
    assert fake.campaigns[1]["status"] == "draft"
    assert channel.find(KEY) is None  # a draft was never sent: the retry must send it
    fake.seen.clear()
    assert channel.publish(letter(subject="Corrected subject"), KEY) == Publication("1")
    assert fake.requested() == ["GET /api/campaigns", "PUT /api/campaigns/1", "PUT /api/campaigns/1/status"]
    assert len(fake.campaigns) == 1 and fake.campaigns[1]["status"] == "running"
    assert fake.campaigns[1]["subject"] == "Corrected subject"
    assert channel.find(KEY) == Publication("1")


def test_a_started_campaign_is_never_started_again(fake: FakeListmonk, channel: Listmonk) -> None:
    channel.publish(letter(), KEY)
    for status in ("running", "finished", "paused", "cancelled"):  # paused or cancelled by a person: left so
        fake.campaigns[1]["status"] = status
        fake.seen.clear()
        assert channel.publish(letter(), KEY) == Publication("1")
        assert fake.requested() == ["GET /api/campaigns"]
        assert channel.find(KEY) == Publication("1")
    assert len(fake.campaigns) == 1


def test_another_campaign_mentioning_the_id_is_not_taken_for_it(fake: FakeListmonk, channel: Listmonk) -> None:
    fake.campaigns[1] = {"id": 1, "name": "Notes", "subject": f"about {KEY}", "status": "finished"}
    assert channel.find(KEY) is None
    assert channel.publish(letter(), KEY) == Publication("2")


# ---------------------------------------------------------------------------- scheduling


def test_scheduling_hands_the_campaign_over_with_its_time(fake: FakeListmonk, make: Callable[..., Listmonk]) -> None:
    channel = make(send="schedule", delay_minutes=90)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    channel.now = lambda: start
    assert channel.publish(letter(), KEY) == Publication("1")
    assert fake.seen[1].body["send_at"] == (start + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert fake.seen[2].body == {"status": "scheduled"} and fake.campaigns[1]["status"] == "scheduled"
    assert channel.find(KEY) == Publication("1")
    fake.seen.clear()
    channel.publish(letter(), KEY)
    assert fake.requested() == ["GET /api/campaigns"]


def test_a_time_already_past_is_sent_at_once(fake: FakeListmonk, channel: Listmonk) -> None:
    channel.schedule(letter(), KEY, datetime.now(UTC) - timedelta(minutes=1))
    assert fake.seen[1].body["send_at"] is None and fake.campaigns[1]["status"] == "running"


# ---------------------------------------------------------------------------- reach


def test_reach_is_the_campaigns_counters(fake: FakeListmonk, channel: Listmonk) -> None:
    publication = channel.publish(letter(), KEY)
    fake.campaigns[1].update(views=61, clicks=17, bounces=2)
    assert channel.collect(publication) == {"recipients": 120.0, "opens": 61.0, "clicks": 17.0, "bounces": 2.0}
    with pytest.raises(PermanentError, match="404"):
        channel.collect(Publication("99"))


# ---------------------------------------------------------------------------- check


def test_check_asks_listmonk_about_the_credentials_lists_and_template(
    fake: FakeListmonk, make: Callable[..., Listmonk], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = make(template_id=5)
    assert good.check() == []
    assert fake.requested() == ["GET /api/lists", "GET /api/templates/5"]
    wrong = make(lists={"en": [3, 12]}, template_id=9)
    assert wrong.check() == [
        '[channels.newsletter] lists: "en" names list 12, which listmonk does not have',
        "[channels.newsletter] template_id: listmonk has no template 9",
    ]
    monkeypatch.setenv("KM_TEST_LISTMONK_TOKEN", "not-the-token")
    problems = good.check()
    assert len(problems) == 1 and "403" in problems[0] and "invalid API credentials" in problems[0]
    assert "not-the-token" not in problems[0]
    monkeypatch.delenv("KM_TEST_LISTMONK_TOKEN")
    assert good.check() == [
        "[channels.newsletter] token: the environment variable KM_TEST_LISTMONK_TOKEN is not set "
        "— export it before running kmcomms"
    ]


def test_settings_are_checked_when_loaded(fake: FakeListmonk) -> None:
    def options(**changes: Any) -> ListmonkOptions:
        return ListmonkOptions.model_validate(
            {
                "adapter": "listmonk",
                "url": "https://lists.example.org/",
                "user": "u",
                "token": "${T}",
                "lists": {"en": 3},
                **changes,
            }
        )

    assert options().lists == {"en": [3]} and options().url == "https://lists.example.org"
    assert "${T}" not in repr(options())
    for changes, words in [
        ({"url": "http://lists.example.org"}, "only allowed on this machine"),
        ({"lists": {}}, "at least 1 item"),
        ({"lists": {"en": []}}, "one or more"),
        ({"lists": {"english": [3]}}, "not a language code"),
        ({"lists": {"Parents/en": [3]}}, "not a valid id"),
        ({"send": "later"}, "'now' or 'schedule'"),
        ({"delay_minutes": 0}, "greater than or equal to 1"),
        ({"password": "x"}, "Extra inputs"),
    ]:
        with pytest.raises(ValueError, match=words):
            options(**changes)


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, PermanentError),
        (401, PermanentError),
        (403, PermanentError),
        (404, PermanentError),
        (409, TransientError),
        (422, PermanentError),
        (429, TransientError),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
    ],
)
def test_each_refusal_is_mapped_and_no_token_is_shown(
    fake: FakeListmonk, channel: Listmonk, status: int, kind: type[Exception], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_on(
        "POST /api/campaigns", status, {"Retry-After": "30"} if status == 429 else {}, message="listmonk says no"
    )
    with pytest.raises(kind) as caught:
        channel.publish(letter(), KEY)
    assert f"({status})" in str(caught.value) or f"answered {status}" in str(caught.value)
    assert "listmonk says no" in str(caught.value)
    if status == 429:
        assert isinstance(caught.value, TransientError) and caught.value.retry_after == 30
    assert TOKEN not in f"{caught.value} {caught.value!r} {caplog.text}"
    assert fake.campaigns == {}


def test_a_lookup_that_fails_leaves_find_unsure_rather_than_wrong(fake: FakeListmonk, channel: Listmonk) -> None:
    for status in (403, 500):
        fake.fail_next(status, {})
        with pytest.raises(TransientError, match="cannot tell whether"):
            channel.find(KEY)


def test_an_answer_that_is_not_json_is_transient(make: Callable[..., Listmonk]) -> None:
    with LoopbackServer() as proxy:  # a login page in front of listmonk
        proxy.expect_request("/api/campaigns").respond_with_data("<html>proxy login</html>", content_type="text/html")
        with pytest.raises(TransientError, match="no JSON"):
            make(url=proxy.url).publish(letter(), KEY)

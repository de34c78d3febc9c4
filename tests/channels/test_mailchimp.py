"""The Mailchimp adapter against Mailchimp's Marketing API on loopback
(tests/fake_mailchimp.py), which checks every request against the documented API: the
shared channel contract, then what is particular to Mailchimp — the campaign, its content
and the `*|UNSUB|*` link, segments by audience and language, never sending twice (also
after a crash between creating and sending), quarter-hour scheduling, the report with Apple
MPP opens apart, settings checks and error mapping."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_mailchimp import FakeMailchimp

from kmcomms.channels.base import PermanentError, Publication, TransientError
from kmcomms.channels.mailchimp import Mailchimp, MailchimpOptions, api_base, quarter_hour
from kmcomms.testing.contract import ChannelContract, Harness, makers
from kmcomms.testing.drafts import KEY, letter
from kmcomms.testing.fake_api import serve

API_KEY = "0123456789abcdef0123456789abcdef-us21"
LIST = "a1b2c3d4e5"


def members() -> list[dict[str, Any]]:
    languages = ["en"] * 6 + ["ur"] * 3 + ["pl"] * 2
    return [
        {"email": f"p{n}@example.org", "merge_fields": {"FNAME": f"P{n}", "LANGUAGE": lang}}
        for n, lang in enumerate(languages)
    ]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMailchimp]:
    monkeypatch.setenv("KM_TEST_MAILCHIMP_KEY", API_KEY)
    people = members()
    segments = {11: {p["email"] for p in people[:5]}, 12: {p["email"] for p in people[6:9]}}
    yield from serve(FakeMailchimp(API_KEY, {LIST: people}, {LIST: segments}))


@pytest.fixture
def make(fake: FakeMailchimp) -> Iterator[Callable[..., Mailchimp]]:
    """`make(**settings)`: a channel on the fake Mailchimp."""
    yield from makers(
        Mailchimp,
        "newsletter",
        {
            "adapter": "mailchimp",
            "api_key": "${KM_TEST_MAILCHIMP_KEY}",
            "base_url": f"{fake.url}/3.0",
            "list_id": LIST,
            "segments": {"en": 11, "parents/ur": 12},
            "language_field": "LANGUAGE",
            "from_name": "KM Unit",
            "reply_to": "km@example.org",
        },
        Path("."),
    )


@pytest.fixture
def channel(make: Callable[..., Mailchimp]) -> Mailchimp:
    return make()


class TestMailchimpContract(ChannelContract):
    adapter = "mailchimp"

    @pytest.fixture
    def harness(self, fake: FakeMailchimp, channel: Mailchimp) -> Harness:
        return Harness(channel, letter(), lambda: len(fake.campaigns), fake.fail_next, secrets=(API_KEY,))


# ---------------------------------------------------------------------------- what is sent


def test_a_newsletter_becomes_one_sent_campaign_as_documented(fake: FakeMailchimp, channel: Mailchimp) -> None:
    publication = channel.publish(letter(), KEY)
    campaign_id = next(iter(fake.campaigns))
    assert publication == Publication(campaign_id, f"https://eepurl.com/{campaign_id}")
    assert fake.requested("/3.0") == [
        "GET /campaigns",
        "POST /campaigns",
        f"PUT /campaigns/{campaign_id}/content",
        f"POST /campaigns/{campaign_id}/actions/send",
    ]
    lookup, create, content, send = fake.seen
    assert lookup.args["count"] == ["1000"] and lookup.args["offset"] == ["0"] and lookup.args["sort_dir"] == ["DESC"]
    assert create.body == {
        "type": "regular",
        "recipients": {"list_id": LIST, "segment_opts": {"saved_segment_id": 11}},
        "settings": {
            "subject_line": "The films are out: watch them",
            "preview_text": "Clinicians answer what parents ask",
            "title": f"The films are out [kmcomms {KEY}]",
            "from_name": "KM Unit",
            "reply_to": "km@example.org",
        },
    }
    assert '<a href="*|UNSUB|*">' in content.body["html"] and "{{unsubscribe_url}}" not in content.body["html"]
    assert content.body["plain_text"] == "The films are out.\n\nUnsubscribe: *|UNSUB|*\n"
    assert send.body is None
    assert all(seen.headers["Authorization"].startswith("Basic ") for seen in fake.seen)
    campaign = fake.campaigns[campaign_id]
    assert campaign["status"] == "sent" and campaign["emails_sent"] == 5  # segment 11


def test_the_data_centre_comes_from_the_key() -> None:
    assert api_base(API_KEY) == "https://us21.api.mailchimp.com/3.0"
    assert api_base("0123456789abcdef0123456789abcdef") is None


def test_a_key_without_its_data_centre_is_refused_without_showing_it(
    fake: FakeMailchimp, make: Callable[..., Mailchimp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KM_TEST_MAILCHIMP_KEY", "0123456789abcdef0123456789abcdef")
    channel = make(base_url=None)
    with pytest.raises(PermanentError, match="ends in its data centre") as caught:
        channel.publish(letter(), KEY)
    assert "0123456789abcdef" not in str(caught.value) and fake.seen == []


def test_each_audience_and_language_goes_to_its_segment(
    fake: FakeMailchimp, make: Callable[..., Mailchimp], channel: Mailchimp
) -> None:
    channel.publish(letter("0000000000b1", language="ur"), "0000000000b1")  # "parents/ur": segment 12
    channel.publish(letter("0000000000b2", language="pl"), "0000000000b2")  # no segment: the merge field
    first, second = fake.campaigns.values()
    assert first["recipients"]["segment_opts"] == {"saved_segment_id": 12} and first["emails_sent"] == 3
    assert second["recipients"]["segment_opts"] == {
        "match": "all",
        "conditions": [{"condition_type": "TextMerge", "field": "LANGUAGE", "op": "is", "value": "pl"}],
    }
    assert second["emails_sent"] == 2
    only_segments = make(language_field=None)
    with pytest.raises(
        PermanentError, match=r'no segment for audience "parents" in pl — add `"parents/pl" = ID` or `pl = ID`'
    ):
        only_segments.publish(letter("0000000000b3", language="pl"), "0000000000b3")
    assert len(fake.campaigns) == 2


# ---------------------------------------------------------------------------- never twice


def test_a_crash_between_creating_and_sending_sends_once(fake: FakeMailchimp, channel: Mailchimp) -> None:
    fake.fail_on(r"POST /3.0/campaigns/\w+/actions/send", 503)
    with pytest.raises(TransientError, match="503"):
        channel.publish(letter(), KEY)
    ((campaign_id, campaign),) = fake.campaigns.items()
    assert campaign["status"] == "save" and channel.find(KEY) is None
    fake.seen.clear()
    assert channel.publish(letter(subject="Corrected"), KEY).remote_id == campaign_id
    assert fake.requested("/3.0") == [
        "GET /campaigns",
        f"PATCH /campaigns/{campaign_id}",
        f"PUT /campaigns/{campaign_id}/content",
        f"POST /campaigns/{campaign_id}/actions/send",
    ]
    assert len(fake.campaigns) == 1 and campaign["status"] == "sent"
    assert campaign["settings"]["subject_line"] == "Corrected"
    assert channel.find(KEY) == Publication(campaign_id, f"https://eepurl.com/{campaign_id}")


def test_a_sent_or_stopped_campaign_is_never_sent_again(fake: FakeMailchimp, channel: Mailchimp) -> None:
    first = channel.publish(letter(), KEY)
    for status in ("sent", "sending", "schedule", "paused", "canceled"):
        fake.campaigns[first.remote_id]["status"] = status
        fake.seen.clear()
        assert channel.publish(letter(), KEY) == first
        assert fake.requested("/3.0") == ["GET /campaigns"]
    assert len(fake.campaigns) == 1


def test_the_lookup_pages_through_a_busy_account(fake: FakeMailchimp, channel: Mailchimp) -> None:
    first = channel.publish(letter(), KEY)
    mine = fake.campaigns[first.remote_id]
    for n in range(1500):  # newer campaigns, so ours is on the second page
        fake.campaigns[f"x{n:09d}"] = {
            **mine,
            "id": f"x{n:09d}",
            "web_id": 10 + n,
            "create_time": f"2999-01-01T00:00:{n % 60:02d}",
            "settings": {"title": f"Other {n}"},
        }
    fake.seen.clear()
    assert channel.find(KEY) == first
    assert [seen.args["offset"] for seen in fake.seen] == [["0"], ["1000"]]
    assert "campaigns.settings.title" in fake.seen[0].args["fields"][0]


# ---------------------------------------------------------------------------- scheduling


def test_scheduling_is_on_the_quarter_hour_after_the_delay(fake: FakeMailchimp, make: Callable[..., Mailchimp]) -> None:
    channel = make(send="schedule", delay_minutes=60)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=7, second=31, microsecond=0)
    channel.now = lambda: start
    publication = channel.publish(letter(), KEY)
    schedule = fake.seen[-1]
    assert schedule.path.endswith("/actions/schedule")
    assert schedule.body == {
        "schedule_time": start.replace(hour=10, minute=15, second=0).isoformat(),
        "timewarp": False,
    }
    assert fake.campaigns[publication.remote_id]["status"] == "schedule"
    assert channel.find(KEY) == publication
    fake.seen.clear()
    channel.publish(letter(), KEY)
    assert fake.requested("/3.0") == ["GET /campaigns"]


def test_quarter_hours() -> None:
    at = datetime(2027, 3, 28, 0, 45, tzinfo=UTC)
    assert quarter_hour(at) == at
    assert quarter_hour(at + timedelta(microseconds=1)) == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert quarter_hour(datetime(2027, 3, 28, 2, 1, tzinfo=UTC).astimezone(tz=None)) == datetime(
        2027, 3, 28, 2, 15, tzinfo=UTC
    )


def test_the_fake_refuses_a_time_off_the_quarter_hour(fake: FakeMailchimp) -> None:
    api, auth = f"{fake.url}/3.0", ("anyone", API_KEY)
    made = requests.post(
        f"{api}/campaigns",
        auth=auth,
        json={
            "type": "regular",
            "recipients": {"list_id": LIST},
            "settings": {"subject_line": "s", "from_name": "f", "reply_to": "r@example.org"},
        },
    ).json()
    requests.put(f"{api}/campaigns/{made['id']}/content", auth=auth, json={"html": "*|UNSUB|*"}).raise_for_status()
    refused = requests.post(
        f"{api}/campaigns/{made['id']}/actions/schedule", auth=auth, json={"schedule_time": "2999-01-01T10:07:00+00:00"}
    )
    assert refused.status_code == 400 and refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["detail"] == "Schedule time must be on the quarter-hour (:00, :15, :30, :45)."
    assert set(refused.json()) == {"type", "title", "status", "detail", "instance"}


# ---------------------------------------------------------------------------- reach


def test_reach_separates_apple_machine_opens_where_mailchimp_does(fake: FakeMailchimp, channel: Mailchimp) -> None:
    publication = channel.publish(letter(), KEY)
    report = fake.reports[publication.remote_id]
    report["opens"].update(opens_total=40, proxy_excluded_opens=25, unique_opens=30, proxy_excluded_unique_opens=18)
    report["clicks"].update(clicks_total=9, unique_clicks=7)
    report["bounces"].update(hard_bounces=1, soft_bounces=2)
    report["unsubscribed"] = 1
    assert channel.collect(publication) == {
        "recipients": 5.0,
        "opens": 25.0,
        "opens-automated": 15.0,
        "unique-opens": 18.0,
        "unique-opens-automated": 12.0,
        "clicks": 9.0,
        "unique-clicks": 7.0,
        "bounces": 3.0,
        "unsubscribes": 1.0,
    }
    assert fake.seen[-1].args["fields"] == ["emails_sent,unsubscribed,opens,clicks,bounces"]
    for name in ("proxy_excluded_opens", "proxy_excluded_unique_opens", "proxy_excluded_open_rate"):
        del report["opens"][name]
    totals = channel.collect(publication)
    assert totals["opens"] == 40 and totals["unique-opens"] == 30 and "opens-automated" not in totals


def test_an_unsent_campaign_has_nothing_yet_and_a_deleted_one_says_so(make: Callable[..., Mailchimp]) -> None:
    channel = make(send="schedule")
    publication = channel.publish(letter(), KEY)
    assert channel.collect(publication) == {}
    with pytest.raises(PermanentError, match="404"):
        channel.collect(Publication("0000000999"))


# ---------------------------------------------------------------------------- check


def test_check_asks_mailchimp_about_the_key_audience_segments_and_field(
    fake: FakeMailchimp, make: Callable[..., Mailchimp], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = make()
    assert good.check() == []
    assert fake.requested("/3.0") == [
        "GET /ping",
        f"GET /lists/{LIST}",
        f"GET /lists/{LIST}/segments/11",
        f"GET /lists/{LIST}/segments/12",
        f"GET /lists/{LIST}/merge-fields",
    ]
    wrong = make(segments={"en": 11, "pl": 99}, language_field="LANG")
    assert wrong.check() == [
        f'[channels.newsletter] segments: "pl" names segment 99, which audience {LIST} does not have',
        f"[channels.newsletter] language_field: audience {LIST} has no merge field LANG",
    ]
    nowhere = make(list_id="zzzz")
    assert nowhere.check() == ["[channels.newsletter] list_id: Mailchimp has no audience zzzz"]
    monkeypatch.setenv("KM_TEST_MAILCHIMP_KEY", "ffffffffffffffffffffffffffffffff-us21")
    problems = good.check()
    assert len(problems) == 1 and "401" in problems[0] and "API key may be invalid" in problems[0]
    assert "ffffffff" not in problems[0]


def test_settings_are_checked_when_loaded() -> None:
    def options(**changes: Any) -> MailchimpOptions:
        return MailchimpOptions.model_validate(
            {
                "adapter": "mailchimp",
                "api_key": "${K}",
                "list_id": LIST,
                "segments": {"en": 11},
                "from_name": "KM",
                "reply_to": "km@example.org",
                **changes,
            }
        )

    assert (
        options().base_url is None and options(base_url="http://127.0.0.1:9/3.0/").base_url == "http://127.0.0.1:9/3.0"
    )
    for changes, words in [
        ({"segments": {}}, "set `segments`"),
        ({"reply_to": "km at example.org"}, "not an e-mail address"),
        ({"segments": {"urdu": 3}}, "not a language code"),
        ({"segments": {"en": 0}}, "from 1"),
        ({"language_field": "language"}, "should match pattern"),
        ({"base_url": "http://us21.api.mailchimp.com/3.0"}, "only allowed on this machine"),
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
        (503, TransientError),
    ],
)
def test_each_refusal_is_mapped_and_no_key_is_shown(
    fake: FakeMailchimp, channel: Mailchimp, status: int, kind: type[Exception], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_on("POST /3.0/campaigns", status, message="Mailchimp says no")
    with pytest.raises(kind, match=f"{status}.*Mailchimp says no") as caught:
        channel.publish(letter(), KEY)
    assert API_KEY not in f"{caught.value} {caught.value!r} {caplog.text}" and fake.campaigns == {}


def test_too_many_connections_is_retried_when_mailchimp_says(fake: FakeMailchimp, channel: Mailchimp) -> None:
    fake.fail_on("POST /3.0/campaigns", 429)  # Mailchimp's own 429 gives no Retry-After
    with pytest.raises(TransientError, match="10 simultaneous connections") as bare:
        channel.publish(letter(), KEY)
    assert bare.value.retry_after is None
    fake.fail_on("GET /3.0/campaigns", 429, {"Retry-After": "17"})
    with pytest.raises(TransientError) as told:
        channel.publish(letter(), KEY)
    assert told.value.retry_after == 17


def test_an_invalid_resource_says_which_field(fake: FakeMailchimp, channel: Mailchimp) -> None:
    fake.segments[LIST].pop(11)  # deleted in Mailchimp since the settings were written
    with pytest.raises(PermanentError) as caught:
        channel.publish(letter(), KEY)
    assert "refused (400)" in str(caught.value)
    assert "recipients.segment_opts.saved_segment_id: The segment does not exist" in str(caught.value)


def test_a_campaign_not_ready_to_send_fails_with_mailchimps_reasons(fake: FakeMailchimp, channel: Mailchimp) -> None:
    fake.fail_on(r"PUT /3.0/campaigns/\w+/content", 200)  # the content never arrived: no *|UNSUB|* link
    with pytest.raises(PermanentError, match=r"not ready to send.*content: The campaign must have an unsubscribe link"):
        channel.publish(letter(), KEY)


def test_a_lookup_that_fails_leaves_find_unsure_rather_than_wrong(fake: FakeMailchimp, channel: Mailchimp) -> None:
    for status in (401, 500):
        fake.fail_next(status, {})
        with pytest.raises(TransientError, match="cannot tell whether"):
            channel.find(KEY)

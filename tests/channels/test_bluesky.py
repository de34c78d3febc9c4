"""The `bluesky` adapter against a PDS and AppView on loopback (tests/fake_bluesky.py)
that check every request against the XRPC contract and the post lexicon."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_bluesky import ERROR_BODIES, TID, FakeBluesky
from pydantic import ValidationError

from kmcomms.channels.base import PermanentError, Publication, TransientError
from kmcomms.channels.bluesky import Bluesky, BlueskyOptions, record_key
from kmcomms.channels.social_text import facets, graphemes, links
from kmcomms.render.drafts import SocialPost
from kmcomms.testing.contract import (
    ChannelContract,
    Harness,
    found_then_withdrawn,
    makers,
    refused_for_a_wrong_secret,
)
from kmcomms.testing.drafts import social_post
from kmcomms.testing.fake_api import serve

HANDLE = "unit.bsky.test"
PASSWORD = "abcd-efgh-ijkl-mnop"
NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
URDU = "والدین کے سوالات، معالجین کے جوابات — مزید پڑھیں: https://unit.example.org/ur/films?utm_source=bluesky"
POLISH = "Zażółć gęślą jaźń: https://x.org/a"


def post(text: str = URDU, key: str = "d1", language: str = "ur") -> SocialPost:
    return social_post(text, key, language, limit=300)


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    yield from serve(FakeBluesky(HANDLE, PASSWORD))


@pytest.fixture
def make(fake: FakeBluesky, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`make(**settings)`: a channel on the fake PDS, its clock at NOW."""
    monkeypatch.setenv("KM_TEST_BLUESKY_PASSWORD", PASSWORD)
    yield from makers(
        Bluesky,
        "social",
        {
            "adapter": "bluesky",
            "handle": HANDLE,
            "service": fake.url,
            "appview": fake.url,
            "app_password": "${KM_TEST_BLUESKY_PASSWORD}",
        },
        tmp_path,
        clock=lambda: NOW,
    )


class TestBlueskyContract(ChannelContract):
    adapter = "bluesky"

    @pytest.fixture
    def harness(self, make: Any, fake: FakeBluesky) -> Harness:
        channel = make()
        assert channel.check() == []  # logged in: the errors below land on the post itself
        return Harness(channel, post(), fake.items, fake.fail_next, secrets=(PASSWORD, "access-0", "refresh-0"))


def test_a_post_is_a_record_with_langs_created_at_and_link_facets_at_byte_offsets(make: Any, fake: FakeBluesky) -> None:
    publication = make().publish(post(POLISH, language="pl"), "d1")
    rkey = record_key("d1")
    assert publication == Publication(
        f"at://{fake.did}/app.bsky.feed.post/{rkey}", f"https://bsky.app/profile/{HANDLE}/post/{rkey}"
    )
    (create,) = fake.calls("com.atproto.repo.createRecord")
    assert create.headers["Authorization"] == "Bearer access-0"
    assert create.body == {
        "repo": fake.did,
        "collection": "app.bsky.feed.post",
        "rkey": rkey,
        "record": {
            "$type": "app.bsky.feed.post",
            "text": POLISH,
            "createdAt": "2027-01-11T09:00:00.000Z",
            "langs": ["pl"],
            # "Zażółć gęślą jaźń: " is 19 characters and 28 bytes (ż ó ł ć ę ś ą ź ń take two each)
            "facets": [
                {
                    "index": {"byteStart": 28, "byteEnd": 43},
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://x.org/a"}],
                }
            ],
        },
    }


def test_facets_hold_their_address_after_any_script(make: Any, fake: FakeBluesky) -> None:
    texts = [
        URDU,
        "مزید: https://a.example/x، اور https://b.example/y۔",
        "Szczepienia 💉👨‍👩‍👧 (https://c.example/(z)).",
        "no link at all",
    ]
    channel = make()
    for n, text in enumerate(texts):
        channel.publish(post(text, key=f"d{n}"), f"d{n}")
    records = [call.body["record"] for call in fake.calls("com.atproto.repo.createRecord")]
    uris = [[f["features"][0]["uri"] for f in r.get("facets", [])] for r in records]
    assert uris == [
        ["https://unit.example.org/ur/films?utm_source=bluesky"],
        ["https://a.example/x", "https://b.example/y"],
        ["https://c.example/(z)"],
        [],
    ]
    assert "facets" not in records[3]
    for record in records:  # the fake checks each range too; here, independently of the adapter's arithmetic
        data = record["text"].encode("utf-8")
        for facet in record.get("facets", []):
            assert data[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode() == facet["features"][0]["uri"]
    assert facets(URDU)[0]["index"]["byteStart"] > URDU.index("https")  # bytes, not characters


@pytest.mark.parametrize(
    "taken",
    [
        (500, ERROR_BODIES[500]),
        (400, {"error": "InvalidSwap", "message": "Record already exists"}),
        (400, {"error": "InvalidRequest", "message": "Record already exists: at://…"}),
    ],
    ids=["mst-error-500", "invalid-swap", "already-exists"],
)
def test_publishing_again_collides_on_the_record_key_and_returns_the_first_post(
    make: Any, fake: FakeBluesky, taken: tuple[int, dict[str, str]]
) -> None:
    fake.taken = taken  # each way a PDS refuses a create under a taken key
    first = make().publish(post(), "d1")
    again = make().publish(post(), "d1")  # a new process, as after a crash: nothing in memory
    assert again == first and fake.items() == 1
    assert [c.body["rkey"] for c in fake.calls("com.atproto.repo.createRecord")] == [record_key("d1")] * 2
    assert len(fake.calls("com.atproto.repo.getRecord")) == 1


def test_record_keys_are_tids_derived_from_the_delivery_and_never_change() -> None:
    keys = {record_key(f"{n:012x}") for n in range(2000)}
    assert len(keys) == 2000 and all(TID.fullmatch(k) for k in keys)
    assert record_key("d1") == record_key("d1") == "2lhdqbbsp7mbw"  # changing this breaks retries across upgrades
    assert record_key("0123456789ab") == "2uk5uv62smpt5"


def test_the_session_is_opened_once_refreshed_when_expired_and_reopened_when_refused(
    make: Any, fake: FakeBluesky
) -> None:
    channel = make()
    for n in range(3):
        channel.publish(post(key=f"d{n}"), f"d{n}")
    assert channel.find("d0") is not None and fake.sessions == 1
    fake.expire_access_tokens()
    channel.publish(post(key="d3"), "d3")
    assert (fake.sessions, fake.refreshes) == (1, 1)
    (refresh,) = fake.calls("com.atproto.server.refreshSession")
    assert refresh.headers["Authorization"] == "Bearer refresh-0"
    assert fake.calls("com.atproto.repo.createRecord")[-1].headers["Authorization"] == "Bearer access-1"
    fake.expire_access_tokens()
    fake.refresh.clear()  # the refresh token was revoked too: log in again
    channel.publish(post(key="d4"), "d4")
    assert (fake.sessions, fake.refreshes, fake.items()) == (2, 1, 5)
    fake.access.clear()  # revoked outright: refused, and the next call logs in afresh
    with pytest.raises(PermanentError, match="401.*AuthenticationRequired"):
        channel.publish(post(key="d5"), "d5")
    channel.publish(post(key="d5"), "d5")
    assert fake.sessions == 3 and fake.items() == 6


def test_find_and_withdraw(make: Any, fake: FakeBluesky) -> None:
    found_then_withdrawn(make(), post(), fake.items)
    (delete,) = fake.calls("com.atproto.repo.deleteRecord")
    assert delete.body == {"repo": fake.did, "collection": "app.bsky.feed.post", "rkey": record_key("d1")}


def test_reach_comes_from_the_appview_without_a_login(make: Any, fake: FakeBluesky) -> None:
    channel = make()
    published = channel.publish(post(), "d1")
    fake.counts[record_key("d1")].update(likeCount=7, repostCount=3, replyCount=1, quoteCount=2)
    assert channel.collect(published) == {"likes": 7, "reposts": 3, "replies": 1, "quotes": 2}
    (reach,) = fake.calls("app.bsky.feed.getPosts")
    assert "Authorization" not in reach.headers
    assert channel.collect(Publication(f"at://{fake.did}/app.bsky.feed.post/2222222222222")) == {}  # not indexed


def test_the_length_is_300_graphemes_and_3000_bytes_checked_before_any_call(make: Any, fake: FakeBluesky) -> None:
    channel = make()
    assert channel.publish(post("👍🏽" * 300, key="d1"), "d1").remote_id  # 600 code points, 300 graphemes
    for text, words in [("ś" * 301, "301 characters"), ("🏴󠁧󠁢󠁳󠁣󠁴󠁿" * 300, r"300 characters \(8400 bytes\)")]:
        with pytest.raises(PermanentError, match=words):
            channel.publish(post(text, key="d2"), "d2")
    assert len(fake.calls("com.atproto.repo.createRecord")) == 1


def test_graphemes_are_counted_as_people_see_them() -> None:
    hand_counted = {
        "abc": 3,
        "e\u0301": 1,
        "👨‍👩‍👧": 1,
        "🇬🇧🇵🇰": 2,
        "🇬🇧🇵": 2,
        "👍🏽": 1,
        "ہیں": 3,
        "بَچّے": 3,
        "\r\n": 1,
        "🏴󠁧󠁢󠁳󠁣󠁴󠁿": 1,
        "ਪੰਜਾਬੀ": 3,
        "": 0,
    }
    assert {text: graphemes(text) for text in hand_counted} == hand_counted


def test_links_leave_the_sentences_punctuation_out() -> None:
    text = "(see https://en.wikipedia.org/wiki/Vaccine_(disambiguation)). And https://x.org/a۔ then https://y.org/b, ok"
    assert [url for _, _, url in links(text)] == [
        "https://en.wikipedia.org/wiki/Vaccine_(disambiguation)",
        "https://x.org/a",
        "https://y.org/b",
    ]


def test_errors_are_mapped_with_the_xrpc_message_and_rate_limits_say_when(make: Any, fake: FakeBluesky) -> None:
    channel = make()
    channel.check()
    fake.fail_on(
        "POST /xrpc/com.atproto.repo.createRecord",
        429,
        {
            "RateLimit-Limit": "5000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(int(NOW.timestamp()) + 600),
            "RateLimit-Policy": "5000;w=3600",
        },
    )
    with pytest.raises(TransientError, match="429.*RateLimitExceeded: Rate Limit Exceeded") as limited:
        channel.publish(post(), "d1")
    assert limited.value.retry_after == 600
    fake.fail_on("POST /xrpc/com.atproto.repo.createRecord", 400)
    with pytest.raises(PermanentError, match=r"refused \(400\): InvalidRequest: Input/record must be an object"):
        channel.publish(post(), "d1")
    fake.fail_on("POST /xrpc/com.atproto.repo.createRecord", 502)
    with pytest.raises(TransientError, match="502.*UpstreamFailure"):
        channel.publish(post(), "d1")
    fake.fail_on("GET /xrpc/com.atproto.repo.getRecord", 500)
    with pytest.raises(TransientError, match="looking up d1.*500"):
        channel.find("d1")
    assert fake.items() == 0


def test_a_wrong_password_is_permanent_named_by_check_and_never_shown(
    make: Any, fake: FakeBluesky, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert make().check() == [] and make().publish(post(), "d0").remote_id
    monkeypatch.setenv("KM_TEST_BLUESKY_PASSWORD", "wrong-password-value")
    refused_for_a_wrong_secret(
        make, post(), "wrong-password-value", "AuthenticationRequired: Invalid identifier or password"
    )
    fake.fail_on("POST /xrpc/com.atproto.server.createSession", 429, {"Retry-After": "45"})
    with pytest.raises(TransientError) as limited:
        make().publish(post(), "d1")
    assert limited.value.retry_after == 45
    monkeypatch.delenv("KM_TEST_BLUESKY_PASSWORD")
    assert ["KM_TEST_BLUESKY_PASSWORD is not set" in p for p in make().check()] == [True]
    assert not [w for w in (PASSWORD, "wrong-password-value", "access-0", "refresh-0") if w in caplog.text]
    assert caplog.records


def test_settings_refuse_what_cannot_work() -> None:
    good = BlueskyOptions.model_validate(
        {"adapter": "bluesky", "handle": "@unit.bsky.social", "app_password": "${BLUESKY_APP_PASSWORD}"}
    )
    assert (good.handle, good.service, good.appview) == (
        "unit.bsky.social",
        "https://bsky.social",
        "https://public.api.bsky.app",
    )
    assert "BLUESKY_APP_PASSWORD" not in repr(good)
    assert BlueskyOptions.model_validate({"adapter": "bluesky", "handle": "did:plc:abc123", "app_password": "x"})
    for bad in [
        {"handle": "not a handle"},
        {"handle": "nodot"},
        {"service": "http://bsky.social"},
        {"appview": "ftp://x"},
        {"app_password": None},
        {"password": "x"},
    ]:
        with pytest.raises(ValidationError):
            BlueskyOptions.model_validate({"adapter": "bluesky", "handle": "u.bsky.social", "app_password": "x", **bad})

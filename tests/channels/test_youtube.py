"""The `youtube` adapter against a YouTube Data API v3 and Google token endpoint on loopback
(tests/fake_youtube.py), which check every request against YouTube's discovery document
and its documented limits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import Clock
from fake_youtube import Discovery, FakeYouTube
from pydantic import ValidationError

from kmcomms.channels.base import PermanentError, Publication, TransientError
from kmcomms.channels.youtube import YouTube, YouTubeOptions
from kmcomms.channels.youtube_api import until_quota_reset
from kmcomms.render.drafts import VideoListing
from kmcomms.testing.contract import ChannelContract, Harness, configured
from kmcomms.testing.drafts import blog_post

NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)  # 01:00 in California: 23 hours to the quota reset
VIDEO = "dQw4w9WgXcQ"
PLAYLIST = "PLkmcommsFilms"
ACK = "This work is funded by the NIHR."
TEXT = {
    "en": ("The films are out", "Clinicians answer what parents ask most.\n\n" + ACK),
    "ur": ("فلمیں آ گئی ہیں", "ڈاکٹر والدین کے سوالوں کے جواب دیتے ہیں۔\n\n" + ACK),
    "pl": ("Filmy już są", "Lekarze odpowiadają na pytania rodziców.\n\n" + ACK),
}


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def fake(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeYouTube]:
    with FakeYouTube(clock=clock) as server:
        server.add_video(VIDEO, title="upload 2027-01-04 final.mp4", tags=["vaccines"], defaultAudioLanguage="en")
        server.add_playlist(PLAYLIST)
        monkeypatch.setenv("YT_CLIENT_SECRET", server.client_secret)
        monkeypatch.setenv("YT_REFRESH_TOKEN", server.refresh_token)
        yield server
    assert server.faults == []  # the fake's own answers matched the discovery document


def youtube(fake: FakeYouTube, clock: Clock, **settings: Any) -> YouTube:
    return configured(
        YouTube,
        "video",
        {
            "adapter": "youtube",
            "client_id": fake.client_id,
            "client_secret": "${YT_CLIENT_SECRET}",
            "refresh_token": "${YT_REFRESH_TOKEN}",
            "token_url": fake.token_url,
            "api_url": fake.api_url,
            **settings,
        },
        Path("."),
        requests.Session(),
        clock=clock,
    )


def common(language: str) -> dict[str, Any]:
    """What every draft has, for a delivery of the films campaign in `language`."""
    return {
        "delivery": f"delivery-{language}",
        "campaign": "films",
        "message": "launch",
        "audiences": ("parents",),
        "channel": "video",
        "language": language,
        "direction": "rtl" if language == "ur" else "ltr",
        "fallback": False,
        "title": TEXT[language][0],
        "acknowledgement": ACK,
        "links": (),
        "source_language": "en",
        "audience_languages": ("en", "ur", "pl"),
    }


def listing(language: str = "en", **changes: Any) -> VideoListing:
    return VideoListing(
        **{
            **common(language),
            "description": TEXT[language][1],
            "tags": ("films", "parents"),
            "youtube_id": VIDEO,
            "peertube_id": None,
            "file": None,
            "transcript": None,
            **changes,
        }
    )


def publish(channel: YouTube, *languages: str) -> list[Publication]:
    return [channel.publish(listing(language), f"delivery-{language}") for language in languages]


# ---------------------------------------------------------------------------- the validator


UPDATE = Discovery().method("PUT", "youtube/v3/videos")
GOOD_BODY = {
    "id": VIDEO,
    "snippet": {"title": "A title", "categoryId": "27", "tags": ["a"], "defaultLanguage": "en"},
    "status": {"privacyStatus": "private", "publishAt": "2027-02-01T09:00:00Z"},
    "localizations": {"ur": {"title": "عنوان", "description": "تفصیل"}},
}


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"snippet": {**GOOD_BODY["snippet"], "colour": "red"}}, "Unknown name \"colour\" at 'resource.snippet'"),
        ({"snippet": {**GOOD_BODY["snippet"], "categoryId": 27}}, "'resource.snippet.categoryId' (string), 27"),
        ({"snippet": {**GOOD_BODY["snippet"], "tags": "a,b"}}, "'resource.snippet.tags' (array)"),
        ({"status": {"privacyStatus": "secret"}}, "'resource.status.privacyStatus' (string)"),
        ({"status": {"privacyStatus": "private", "publishAt": "next Monday"}}, "'resource.status.publishAt'"),
        ({"status": {"embeddable": "yes"}}, "'resource.status.embeddable' (boolean)"),
        (
            {"localizations": {"ur": {"title": "t", "subtitle": "s"}}},
            'Unknown name "subtitle" at \'resource.localizations["ur"]\'',
        ),
        ({"localizations": ["ur"]}, "'resource.localizations' (object)"),
        ({"id": None}, "'resource.id' (string)"),
    ],
)
def test_the_validator_refuses_what_the_discovery_document_does_not_allow(
    change: dict[str, Any], complaint: str
) -> None:
    discovery = Discovery()
    assert discovery.body(UPDATE, GOOD_BODY) == []
    problems = discovery.body(UPDATE, {**GOOD_BODY, **change})
    assert any(complaint in problem for problem in problems), problems


def test_the_validator_knows_required_fields_parameters_and_parts() -> None:
    discovery = Discovery()
    assert "'resource.id' is required" in discovery.body(UPDATE, {"snippet": GOOD_BODY["snippet"]})
    insert = discovery.method("POST", "youtube/v3/playlistItems")
    assert insert is not None
    assert discovery.body(insert, {"snippet": {"playlistId": PLAYLIST}}) == [
        "'resource.snippet.resourceId' is required"
    ]
    assert discovery.parameters(UPDATE, {}) == ["Required parameter: part"]
    assert discovery.parameters(UPDATE, {"part": ["snippet,colour"]}) == ["'colour' is not a valid value for part"]
    assert discovery.parameters(UPDATE, {"part": ["snippet"], "id": [VIDEO]})[0].startswith("Invalid JSON payload")
    listing_method = discovery.method("GET", "youtube/v3/videos")
    assert listing_method is not None
    assert discovery.parameters(listing_method, {"part": ["statistics"], "maxResults": ["51"]})  # maximum is 50
    assert discovery.parameters(listing_method, {"part": ["statistics,snippet"], "id": [f"{VIDEO},abc"]}) == []


def _token(fake: FakeYouTube) -> str:
    answer = requests.post(
        fake.token_url,
        data={
            "grant_type": "refresh_token",
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "refresh_token": fake.refresh_token,
        },
        timeout=10,
    )
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


@pytest.mark.parametrize(
    ("snippet", "status", "localizations", "reason"),
    [
        ({"title": "x" * 101}, None, None, "invalidTitle"),
        ({"title": "Films <b>out</b>"}, None, None, "invalidTitle"),
        ({"description": "ł" * 2501}, None, None, "invalidDescription"),  # 5002 bytes in 2501 characters
        ({"tags": [f"tag number {i}" for i in range(40)]}, None, None, "invalidTags"),  # 40 × 15 characters with quotes
        ({"categoryId": "999"}, None, None, "invalidCategoryId"),
        ({}, {"privacyStatus": "public", "publishAt": "2027-02-01T09:00:00Z"}, None, "invalidPublishAt"),
        ({}, {"privacyStatus": "private", "publishAt": "2027-01-01T09:00:00Z"}, None, "invalidPublishAt"),
        ({"defaultLanguage": None}, None, {"ur": {"title": "t", "description": "d"}}, "defaultLanguageNotSet"),
        ({}, None, {"ur": {"title": "y" * 101, "description": "d"}}, "invalidTitle"),
    ],
)
def test_the_fake_holds_requests_to_the_documented_limits(
    fake: FakeYouTube,
    snippet: dict[str, Any],
    status: dict[str, Any] | None,
    localizations: dict[str, Any] | None,
    reason: str,
) -> None:
    body: dict[str, Any] = {
        "id": VIDEO,
        "snippet": {
            k: v
            for k, v in {"title": "Fine", "categoryId": "27", "defaultLanguage": "en", **snippet}.items()
            if v is not None
        },
    }
    parts = ["snippet"]
    for part, value in (("status", status), ("localizations", localizations)):
        if value is not None:
            body[part] = value
            parts.append(part)
    answer = requests.put(
        f"{fake.api_url}/videos",
        params={"part": ",".join(parts)},
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {_token(fake)}"},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 400 and error["errors"][0]["reason"] == reason and error["message"]
    assert len(fake.problems) == 1
    assert fake.videos[VIDEO]["snippet"]["title"] == "upload 2027-01-04 final.mp4"  # nothing changed


def test_the_fake_refuses_a_part_the_body_has_but_part_does_not_list(fake: FakeYouTube) -> None:
    answer = requests.put(
        f"{fake.api_url}/videos",
        params={"part": "snippet"},
        timeout=10,
        json={"id": VIDEO, "snippet": {"title": "t", "categoryId": "27"}, "status": {"privacyStatus": "public"}},
        headers={"Authorization": f"Bearer {_token(fake)}"},
    )
    assert answer.status_code == 400 and fake.problems


# ---------------------------------------------------------------------------- publishing a listing


def test_publishing_sets_the_listing_in_the_default_language(fake: FakeYouTube, clock: Clock) -> None:
    channel = youtube(fake, clock, playlist_id=PLAYLIST)
    publication = channel.publish(listing("en"), "delivery-en")
    assert publication == Publication(VIDEO, f"https://www.youtube.com/watch?v={VIDEO}")
    video = fake.videos[VIDEO]
    snippet = video["snippet"]
    assert (snippet["title"], snippet["description"]) == TEXT["en"]
    assert snippet["defaultLanguage"] == "en"
    assert snippet["tags"] == ["vaccines", "films", "parents"]  # the video's own tags kept, the draft's added
    assert snippet["categoryId"] == "22"  # no category_id setting: the video's own
    assert snippet["defaultAudioLanguage"] == "en"  # a field kmcomms does not manage, written back
    assert video["localizations"] == {}
    # read first; the status is not touched without a privacy setting
    calls = [(c.method, c.path.rsplit("/", 1)[1], c.params.get("part")) for c in fake.api_calls()]
    assert calls == [
        ("GET", "videos", "snippet,localizations,status"),
        ("PUT", "videos", "snippet,localizations"),
        ("GET", "playlistItems", "id"),
        ("POST", "playlistItems", "snippet"),
    ]
    assert fake.problems == []
    assert fake.quota_used == 1 + 50 + 1 + 50


def test_each_language_adds_its_localization_without_clobbering_the_others(fake: FakeYouTube, clock: Clock) -> None:
    channel = youtube(fake, clock, category_id="27")
    publish(channel, "ur", "en", "pl")
    video = fake.videos[VIDEO]
    assert (video["snippet"]["title"], video["snippet"]["description"]) == TEXT["en"]
    assert video["snippet"]["defaultLanguage"] == "en" and video["snippet"]["categoryId"] == "27"
    assert video["localizations"] == {
        lang: {"title": TEXT[lang][0], "description": TEXT[lang][1]} for lang in ("ur", "pl")
    }
    # Urdu edited later: only its localization changes
    channel.update(Publication(VIDEO), listing("ur", title="فلمیں اب دیکھیں"))
    assert video["localizations"]["ur"]["title"] == "فلمیں اب دیکھیں"
    assert video["localizations"]["pl"]["title"] == TEXT["pl"][0]
    assert video["snippet"]["title"] == TEXT["en"][0]
    assert video["snippet"]["tags"] == ["vaccines", "films", "parents"]
    assert fake.problems == []


def test_the_first_delivery_in_another_language_keeps_the_uploaders_title(fake: FakeYouTube, clock: Clock) -> None:
    youtube(fake, clock).publish(listing("ur"), "delivery-ur")
    snippet = fake.videos[VIDEO]["snippet"]
    assert snippet["title"] == "upload 2027-01-04 final.mp4"  # until the English delivery sets it
    assert snippet["defaultLanguage"] == "en"  # the campaign's source language, needed for localizations
    assert set(fake.videos[VIDEO]["localizations"]) == {"ur"}


def test_a_video_whose_uploader_chose_another_default_language_gets_english_as_a_localization(
    fake: FakeYouTube, clock: Clock
) -> None:
    fake.add_video("plVideo0001", title="Filmy", defaultLanguage="pl")
    youtube(fake, clock).publish(listing("en", youtube_id="plVideo0001"), "delivery-en")
    video = fake.videos["plVideo0001"]
    assert video["snippet"]["title"] == "Filmy" and video["snippet"]["defaultLanguage"] == "pl"
    assert video["localizations"] == {"en": {"title": TEXT["en"][0], "description": TEXT["en"][1]}}


def test_tags_that_do_not_fit_are_left_out(fake: FakeYouTube, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    fake.add_video("tagVideo001", tags=["x" * 495])
    youtube(fake, clock).publish(listing("en", youtube_id="tagVideo001", tags=("ok", "too-long")), "delivery-en")
    assert fake.videos["tagVideo001"]["snippet"]["tags"] == ["x" * 495, "ok"]  # 495 + "," + "ok" = 498
    assert "too-long" in caplog.text and fake.problems == []


def test_privacy_setting_and_scheduling(fake: FakeYouTube, clock: Clock) -> None:
    fake.videos[VIDEO]["status"].update(license="creativeCommon", embeddable=False)

    def status() -> dict[str, Any]:
        return fake.videos[VIDEO]["status"]

    youtube(fake, clock, privacy="unlisted").publish(listing("en"), "delivery-en")
    assert status()["privacyStatus"] == "unlisted"
    assert (status()["license"], status()["embeddable"]) == ("creativeCommon", False)  # sent back, not reset
    assert fake.api_calls("PUT", "videos")[-1].params["part"] == "snippet,localizations,status"

    channel = youtube(fake, clock, privacy="public")
    when = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
    channel.schedule(listing("ur"), "delivery-ur", when)
    assert status()["privacyStatus"] == "private" and status()["publishAt"] == "2027-01-12T09:00:00Z"
    channel.update(Publication(VIDEO), listing("ur", title="فلمیں اب دیکھیں"))  # an edit does not publish early
    assert status()["privacyStatus"] == "private" and status()["publishAt"] == "2027-01-12T09:00:00Z"
    assert fake.api_calls("PUT", "videos")[-1].params["part"] == "snippet,localizations"
    channel.publish(listing("en"), "delivery-en")  # due: public now, the schedule dropped as YouTube requires
    assert status()["privacyStatus"] == "public" and "publishAt" not in status()
    assert fake.problems == []

    puts = len(fake.api_calls("PUT"))
    with pytest.raises(PermanentError, match="not in the future"):
        channel.schedule(listing("en"), "delivery-en", NOW - timedelta(minutes=1))
    assert len(fake.api_calls("PUT")) == puts


def test_the_playlist_gets_each_video_once(fake: FakeYouTube, clock: Clock) -> None:
    channel = youtube(fake, clock, playlist_id=PLAYLIST)
    publish(channel, "en", "ur", "pl", "en")
    assert fake.playlist_items(PLAYLIST) == [VIDEO]
    assert len(fake.api_calls("POST", "playlistItems")) == 1
    fake.add_video("otherVideo1")
    fake.add_playlist("PLpeople")
    requests.post(
        f"{fake.api_url}/playlistItems",
        params={"part": "snippet"},
        timeout=10,
        headers={"Authorization": f"Bearer {_token(fake)}"},
        json={"snippet": {"playlistId": "PLpeople", "resourceId": {"kind": "youtube#video", "videoId": "otherVideo1"}}},
    )
    youtube(fake, clock, playlist_id="PLpeople").publish(listing("en", youtube_id="otherVideo1"), "d-other")
    assert fake.playlist_items("PLpeople") == ["otherVideo1"]  # a person had added it: not again


def test_find_tells_a_listing_that_was_set_from_one_that_failed(fake: FakeYouTube, clock: Clock) -> None:
    channel = youtube(fake, clock)
    assert channel.find("delivery-ur") is None
    fake.quota_limit = 2  # the read fits; the update does not
    with pytest.raises(TransientError):
        channel.publish(listing("ur"), "delivery-ur")
    fake.quota_limit = 10_000
    assert channel.find("delivery-ur") is None  # it was about to be set, and YouTube does not have it
    channel.publish(listing("ur"), "delivery-ur")
    assert channel.find("delivery-ur") == Publication(VIDEO, f"https://www.youtube.com/watch?v={VIDEO}")
    fake.videos[VIDEO]["localizations"]["ur"]["title"] = "changed by a person on YouTube"
    assert channel.find("delivery-ur") is None


# ---------------------------------------------------------------------------- OAuth


def test_the_token_is_cached_and_refreshed_before_it_expires(fake: FakeYouTube, clock: Clock) -> None:
    channel = youtube(fake, clock)
    channel.publish(listing("en"), "delivery-en")
    assert fake.tokens_issued == 1
    token_call = next(c for c in fake.seen if c.path == "/token")
    assert "grant_type=refresh_token" in token_call.body
    clock.advance(seconds=3500)  # 99 s left: still good
    channel.collect(Publication(VIDEO))
    assert fake.tokens_issued == 1
    clock.advance(seconds=45)  # 54 s left: inside the 60 s margin, replaced before it can expire in flight
    channel.collect(Publication(VIDEO))
    assert fake.tokens_issued == 2
    assert fake.unauthorised == 0


def test_a_token_refused_early_is_refreshed_once_and_the_call_retried(fake: FakeYouTube, clock: Clock) -> None:
    channel = youtube(fake, clock)
    channel.check()
    fake.revoke_access_tokens()
    assert channel.collect(Publication(VIDEO)) == {"views": 0.0, "likes": 0.0, "comments": 0.0}
    assert (fake.unauthorised, fake.tokens_issued) == (1, 2)


def test_a_revoked_refresh_token_says_to_authorise_again(fake: FakeYouTube, clock: Clock) -> None:
    secret = fake.refresh_token
    fake.refresh_token = "1//another-one"
    with pytest.raises(PermanentError, match="authorise kmcomms again and set refresh_token") as caught:
        youtube(fake, clock).publish(listing("en"), "delivery-en")
    assert "invalid_grant" in str(caught.value) and secret not in str(caught.value)
    assert fake.api_calls() == []


def test_a_wrong_client_secret_is_permanent_and_not_shown(
    fake: FakeYouTube, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YT_CLIENT_SECRET", "GOCSPX-wrong-secret")
    with pytest.raises(PermanentError, match="check client_id and client_secret") as caught:
        youtube(fake, clock).publish(listing("en"), "delivery-en")
    assert "GOCSPX" not in f"{caught.value} {caught.value!r}"


def test_an_unset_secret_names_its_variable_and_sends_nothing(
    fake: FakeYouTube, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("YT_REFRESH_TOKEN")
    with pytest.raises(PermanentError, match="refresh_token: the environment variable YT_REFRESH_TOKEN is not set"):
        youtube(fake, clock).publish(listing("en"), "delivery-en")
    assert fake.seen == []


def test_token_endpoint_outages_are_transient(fake: FakeYouTube, clock: Clock) -> None:
    fake.fail_token(503, {"Retry-After": "5"})
    with pytest.raises(TransientError) as caught:
        youtube(fake, clock).publish(listing("en"), "delivery-en")
    assert caught.value.retry_after == 5
    fake.fail_token(429)
    assert "getting an access token" in youtube(fake, clock).check()[0]


# ---------------------------------------------------------------------------- errors and limits


@pytest.mark.parametrize(
    ("when", "hours"),
    [
        (NOW, 23),  # 01:00 PST
        (datetime(2027, 7, 1, 12, 0, tzinfo=UTC), 19),  # 05:00 PDT
        (datetime(2027, 3, 14, 7, 30, tzinfo=UTC), 0.5),  # 23:30 PST the night before clocks go forward
        (datetime(2027, 3, 14, 9, 0, tzinfo=UTC), 22),  # 01:00 PST on a day of 23 hours
    ],
)
def test_quotas_reset_at_midnight_pacific_time(when: datetime, hours: float) -> None:
    assert until_quota_reset(when) == hours * 3600


@pytest.mark.parametrize("reason", ["quotaExceeded", "dailyLimitExceeded"])
def test_a_spent_quota_is_transient_until_midnight_pacific(fake: FakeYouTube, clock: Clock, reason: str) -> None:
    fake.fail_next(403, reason=reason)
    with pytest.raises(TransientError, match="resets at midnight Pacific time, in 23.0 h") as caught:
        youtube(fake, clock).publish(listing("en"), "delivery-en")
    assert caught.value.retry_after == 23 * 3600


def test_the_quota_as_the_fake_counts_it(fake: FakeYouTube, clock: Clock) -> None:
    fake.quota_limit = 60  # a listing with no playlist costs 51
    channel = youtube(fake, clock)
    channel.publish(listing("en"), "delivery-en")
    clock.advance(hours=2)
    with pytest.raises(TransientError) as caught:
        channel.publish(listing("ur"), "delivery-ur")
    assert caught.value.retry_after == 21 * 3600
    assert fake.videos[VIDEO]["localizations"] == {}


@pytest.mark.parametrize(
    ("status", "reason", "headers", "wait"),
    [
        (403, "rateLimitExceeded", {"Retry-After": "30"}, 30),
        (403, "userRateLimitExceeded", {}, None),
        (429, None, {"Retry-After": "45"}, 45),
        (500, None, {}, None),
        (502, None, {}, None),  # Google's front end says it in HTML
        (503, None, {"Retry-After": "120"}, 120),
    ],
)
def test_rate_limits_and_outages_are_transient(
    fake: FakeYouTube, clock: Clock, status: int, reason: str | None, headers: dict[str, str], wait: float | None
) -> None:
    fake.fail_next(status, headers, reason)
    with pytest.raises(TransientError) as caught:
        youtube(fake, clock).publish(listing("en"), "delivery-en")
    assert caught.value.retry_after == wait
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda fake: None, "YouTube has no video aaaaaaaaaaa that this account can see — check video.youtube_id"),
        (lambda fake: fake.add_video("aaaaaaaaaaa", owner="UCsomeoneElse"), "must own the video"),
        (
            lambda fake: fake.add_video(
                "aaaaaaaaaaa", status={"uploadStatus": "rejected", "rejectionReason": "copyright"}
            ),
            r"is rejected on YouTube \(copyright\) — upload it again",
        ),
    ],
)
def test_a_video_that_cannot_be_listed_is_a_permanent_failure(
    fake: FakeYouTube, clock: Clock, prepare: Any, message: str
) -> None:
    prepare(fake)
    with pytest.raises(PermanentError, match=message):
        youtube(fake, clock).publish(listing("en", youtube_id="aaaaaaaaaaa"), "delivery-en")
    assert fake.videos.get("aaaaaaaaaaa", {}).get("localizations", {}) == {}


def test_the_documented_refusals_are_permanent_and_say_what_to_do(fake: FakeYouTube, clock: Clock) -> None:
    channel = youtube(fake, clock)
    fake.fail_next(404)
    with pytest.raises(PermanentError, match="check video.youtube_id in the campaign"):
        channel.publish(listing("en"), "delivery-en")
    with pytest.raises(PermanentError, match="invalidTitle|title is empty, over 100 characters"):
        channel.publish(listing("en", title="t" * 101), "delivery-en")
    assert len(fake.problems) == 1  # refused by the fake's limits, and not retried
    fake.fail_next(403, reason="insufficientPermissions")
    with pytest.raises(PermanentError, match="youtube.force-ssl scope"):
        channel.publish(listing("en"), "delivery-en")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"youtube_id": None}, "has no video.youtube_id"),
        ({"youtube_id": "https://youtu.be/dQw4w9WgXcQ"}, "is not a YouTube video id"),
    ],
)
def test_a_message_without_a_usable_video_id_fails_before_any_request(
    fake: FakeYouTube, clock: Clock, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(PermanentError, match=message):
        youtube(fake, clock).publish(listing("en", **changes), "delivery-en")
    with pytest.raises(PermanentError, match="publishes video listings, not blog drafts"):
        youtube(fake, clock).publish(blog_post(delivery="delivery-en"), "delivery-en")
    assert fake.seen == []


def test_no_secret_reaches_a_message_a_log_or_an_address(
    fake: FakeYouTube, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = (fake.client_secret, fake.refresh_token)
    channel = youtube(fake, clock, playlist_id=PLAYLIST)
    errors: list[BaseException] = []
    publish(channel, "en")
    fake.revoke_access_tokens()
    channel.collect(Publication(VIDEO))
    for status in (400, 403, 500, 401):  # the 401 revokes the refresh token too
        fake.fail_next(status)
        with pytest.raises((PermanentError, TransientError)) as caught:
            channel.publish(listing("ur"), "delivery-ur")
        errors.append(caught.value)
    problems = channel.check()
    tokens = [f"ya29.fake-access-{n}" for n in range(1, fake.tokens_issued + 1)]
    said = " ".join([caplog.text, *problems, *(f"{e} {e!r}" for e in errors)])
    assert problems and fake.tokens_issued >= 2
    assert not [s for s in (*secrets, *tokens) if s in said]
    assert not [c for c in fake.seen if any(s in c.path or s in str(c.params) for s in (*secrets, *tokens))]


# ---------------------------------------------------------------------------- reach and check


def test_collect_reads_the_video_statistics(fake: FakeYouTube, clock: Clock) -> None:
    fake.videos[VIDEO]["statistics"] = {
        "viewCount": "1234",
        "likeCount": "56",
        "favoriteCount": "0",
        "commentCount": "7",
    }
    assert youtube(fake, clock).collect(Publication(VIDEO)) == {"views": 1234.0, "likes": 56.0, "comments": 7.0}
    fake.videos[VIDEO]["statistics"] = {"viewCount": "1300", "commentCount": "7"}  # likes hidden by the owner
    assert youtube(fake, clock).collect(Publication(VIDEO)) == {"views": 1300.0, "comments": 7.0}
    assert fake.api_calls("GET", "videos")[-1].params == {"part": "statistics", "id": VIDEO}


def test_check_says_what_is_wrong(fake: FakeYouTube, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    assert youtube(fake, clock, playlist_id=PLAYLIST).check() == []
    assert youtube(fake, clock, playlist_id="PLmissing").check() == [
        "[channels.video] playlist_id: YouTube has no playlist PLmissing"
    ]
    fake.add_playlist("PLtheirs", owner="UCsomeoneElse")
    assert "belongs to another channel" in youtube(fake, clock, playlist_id="PLtheirs").check()[0]
    fake.has_channel = False
    assert "has no YouTube channel" in youtube(fake, clock).check()[0]
    fake.refresh_token = "1//changed"
    [problem] = youtube(fake, clock).check()
    assert problem.startswith("[channels.video] Google refused the refresh token") and "1//" not in problem
    [problem] = youtube(fake, clock, token_url="http://127.0.0.1:9/token").check()
    assert problem.startswith(
        "[channels.video] POST http://127.0.0.1:9/token (getting an access token): connection failed"
    )
    monkeypatch.delenv("YT_CLIENT_SECRET")
    assert youtube(fake, clock).check() == [
        "[channels.video] client_secret: the environment variable YT_CLIENT_SECRET is not set — export it before running kmcomms"
    ]


def test_settings_are_checked() -> None:
    base = {"adapter": "youtube", "client_id": "c", "client_secret": "${S}", "refresh_token": "${R}"}
    options = YouTubeOptions.model_validate({**base, "category_id": 28})
    assert options.category_id == "28" and options.api_url == "https://www.googleapis.com/youtube/v3"
    assert options.token_url == "https://oauth2.googleapis.com/token" and options.privacy is None
    for bad in (
        {"category_id": "Education"},
        {"privacy": "secret"},
        {"api_url": "http://youtube.example.org/v3"},
        {"token_url": "https://user:pw@oauth2.googleapis.com/token"},
        {"playlist": "PL"},
    ):
        with pytest.raises(ValidationError):
            YouTubeOptions.model_validate({**base, **bad})
    assert "hunter2" not in repr(YouTubeOptions.model_validate({**base, "client_secret": "hunter2-value"}))


# ---------------------------------------------------------------------------- the shared contract


class TestYouTubeContract(ChannelContract):
    """items() counts the playlist's items: the one thing on YouTube that publishing
    creates (a listing changes a video that a person uploaded)."""

    adapter = "youtube"

    @pytest.fixture
    def harness(self, fake: FakeYouTube, clock: Clock) -> Harness:
        return Harness(
            channel=youtube(fake, clock, playlist_id=PLAYLIST),
            draft=listing("en"),
            items=lambda: len(fake.playlist_items(PLAYLIST)),
            fail_next=fake.fail_next,
            secrets=(fake.client_secret, fake.refresh_token, "ya29."),
        )

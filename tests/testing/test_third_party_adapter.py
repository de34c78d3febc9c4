"""The kit is enough: an adapter for a made-up platform ("Noticeboard"), its fake platform
and its tests, written as a third party would write them, with only what the README's
"Writing a channel" documents (`HttpChannel` and `kmcomms.testing`) and nothing from
kmcomms's tests/. In a real package the three parts would be a module, a test helper and a
test module.
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import SecretStr
from werkzeug import Request, Response

from kmcomms.campaign.adapters import Kind
from kmcomms.channels.base import ChannelOptions, PermanentError, Publication
from kmcomms.channels.http import HttpChannel
from kmcomms.render.drafts import Draft, SocialPost
from kmcomms.testing.contract import ChannelContract, Harness, configured, makers, refused_for_a_wrong_secret
from kmcomms.testing.drafts import social_post
from kmcomms.testing.fake_api import FakeApi, Refusal, serve

# ---------------------------------------------------------------------------- the adapter


class NoticeboardOptions(ChannelOptions):
    url: str
    token: SecretStr
    """Write "${NOTICEBOARD_TOKEN}" and set the variable."""


class Noticeboard(HttpChannel):
    """Posts social drafts as notices; the delivery id goes as the `Idempotency-Key`."""

    kind = Kind.SOCIAL
    Settings = NoticeboardOptions
    idempotent = True

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        assert isinstance(self.settings, NoticeboardOptions)
        headers = {"Authorization": f"Bearer {self.secret('token', self.settings.token)}", **kwargs.pop("headers", {})}
        response = self.request(method, f"{self.settings.url}{path}", what, headers=headers, **kwargs)
        if not response.ok:
            raise self.refused(response, what)
        return response.json()

    def publish(self, draft: Draft, key: str) -> Publication:
        if not isinstance(draft, SocialPost):
            raise PermanentError(f"{self.name} takes social drafts, not {draft.kind}", self.name)
        notice = self._call(
            "POST",
            "/api/notices",
            "posting the notice",
            headers={"Idempotency-Key": key},
            json={"text": draft.text, "language": draft.language},
        )
        return Publication(notice["id"], notice["url"])

    def find(self, key: str) -> Publication | None:
        found = self._call("GET", "/api/notices", "looking for the notice", params={"key": key})
        return Publication(found[0]["id"], found[0]["url"]) if found else None

    def collect(self, publication: Publication) -> dict[str, float]:
        stats = self._call("GET", f"/api/notices/{publication.remote_id}/stats", "reading the notice's reach")
        return {"views": stats["views"], "shares": stats["shares"]}

    def check(self) -> list[str]:
        try:
            self._call("GET", "/api/me", "checking the token")
        except PermanentError as problem:
            return [f"[channels.{self.name}] {problem}"]
        return []


# ---------------------------------------------------------------------------- its fake platform


class FakeNoticeboard(FakeApi):
    """Noticeboard's documented API, holding notices in memory."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.notices: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}
        self.route("GET", "/api/me", lambda request, body: self.answer({"name": "unit"}))
        self.route("POST", "/api/notices", self._post)
        self.route("GET", "/api/notices", self._find)
        self.route("GET", r"/api/notices/(\w+)/stats", self._stats)

    def items(self) -> int:
        return len(self.notices)

    def authorise(self, request: Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise Refusal(401, "bad token")

    def error(
        self, status: int, message: str | None, errors: list[dict[str, str]], headers: dict[str, str]
    ) -> Response:
        return self.answer({"message": message or HTTPStatus(status).phrase}, status, headers)

    def _post(self, request: Request, body: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            self.problems.append("a notice posted without an Idempotency-Key")
        elif key in self.keys:
            return self.answer(self.notices[self.keys[key]])
        if not (body or {}).get("text"):
            raise Refusal(422, "text is required", malformed=True)
        notice_id = f"n{len(self.notices) + 1}"
        self.notices[notice_id] = {"id": notice_id, "url": f"{self.url}/n/{notice_id}", "key": key}
        if key:
            self.keys[key] = notice_id
        return self.answer(self.notices[notice_id], 201)

    def _find(self, request: Request, body: Any) -> Response:
        return self.answer([n for n in self.notices.values() if n["key"] == request.args.get("key")])

    def _stats(self, request: Request, body: Any, notice_id: str) -> Response:
        if notice_id not in self.notices:
            raise Refusal(404)
        return self.answer({"views": 12, "shares": 3})


# ---------------------------------------------------------------------------- its tests

TOKEN = "noticeboard-s3cret"
SETTINGS = {"adapter": "noticeboard", "token": "${KM_TEST_NOTICEBOARD_TOKEN}"}


@pytest.fixture
def board(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNoticeboard]:
    monkeypatch.setenv("KM_TEST_NOTICEBOARD_TOKEN", TOKEN)
    yield from serve(FakeNoticeboard(TOKEN))


class TestNoticeboardContract(ChannelContract):
    adapter = "noticeboard"

    @pytest.fixture
    def harness(self, board: FakeNoticeboard) -> Iterator[Harness]:
        with requests.Session() as session:
            channel = configured(Noticeboard, "board", {**SETTINGS, "url": board.url}, session=session)
            yield Harness(
                channel,
                social_post("The films are out", language="en", limit=500),
                board.items,
                board.fail_next,
                secrets=(TOKEN,),
            )


def test_a_wrong_token_is_named_by_check_and_never_shown(
    board: FakeNoticeboard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KM_TEST_NOTICEBOARD_TOKEN", "a-revoked-token")
    for make in makers(Noticeboard, "board", {**SETTINGS, "url": board.url}, tmp_path):
        refused_for_a_wrong_secret(
            make, social_post("The films are out", language="en", limit=500), "a-revoked-token", "401", "bad token"
        )

"""The YouTube Data API v3 as the `youtube` adapter speaks it: an OAuth access token from
the account's refresh token (replaced before it expires, and once more when a call is
refused with 401), one call per request, and Google's refusals turned into kmcomms'
errors — a used-up daily quota into a wait until it resets at midnight Pacific time, a
refusal a person can act on into a hint at what to change. See `kmcomms.channels.youtube`
for the settings and what the adapter does with the calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import requests
from pydantic import SecretStr

from kmcomms.channels.base import ChannelError, PermanentError, TransientError
from kmcomms.channels.http import HttpChannel, error_message, retry_after

__all__ = ["Account", "DataApi", "until_quota_reset"]

# The adapter's requests, logged under its name.
log = logging.getLogger("kmcomms.channels.youtube")

#: Google resets its API quotas at midnight in this zone.
PACIFIC = ZoneInfo("America/Los_Angeles")
#: An access token is replaced this long before it expires, so that none expires in flight.
REFRESH_MARGIN = timedelta(seconds=60)
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
#: What a person can do about a refusal, by Google's error reason.
HINTS = {
    "videoNotFound": "check video.youtube_id in the campaign",
    "forbidden": "the authorised account must own the video, or manage its channel",
    "insufficientPermissions": "authorise kmcomms again with the youtube.force-ssl scope",
    "playlistNotFound": "check playlist_id",
    "authError": "authorise kmcomms again and set refresh_token",
}


def until_quota_reset(now: datetime) -> float:
    """Seconds from `now` (aware) to the next midnight Pacific time, when Google resets
    the day's quota."""
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=PACIFIC)
    return (midnight - now).total_seconds()


def _google_reasons(response: requests.Response) -> set[str]:
    """The `reason`s in Google's error body `{"error": {"errors": [{"reason": …}]}}`."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return set()
    if not isinstance(error, dict) or not isinstance(error.get("errors"), list):
        return set()
    return {str(e.get("reason")) for e in error["errors"] if isinstance(e, dict)}


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires: datetime


class Account(Protocol):
    """The settings the API is called with (`YouTubeOptions` has them)."""

    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> SecretStr: ...
    @property
    def refresh_token(self) -> SecretStr: ...
    @property
    def token_url(self) -> str: ...
    @property
    def api_url(self) -> str: ...


class DataApi:
    """Data API calls for the YouTube channel `channel` (its session, timeout and errors),
    as `account`; `clock` (aware) tells when a token expires and when the quota resets."""

    def __init__(self, channel: HttpChannel, account: Account, clock: Callable[[], datetime]) -> None:
        self.channel = channel
        self.account = account
        self.clock = clock
        self._token: _Token | None = None

    def _access_token(self) -> str:
        now = self.clock()
        if self._token is None or now >= self._token.expires - REFRESH_MARGIN:
            self._token = self._refresh(now)
        return self._token.value

    def _refresh(self, now: datetime) -> _Token:
        what = "getting an access token"
        form = {
            "grant_type": "refresh_token",
            "client_id": self.account.client_id,
            "client_secret": self.channel.secret("client_secret", self.account.client_secret),
            "refresh_token": self.channel.secret("refresh_token", self.account.refresh_token),
        }
        response = self.channel.request("POST", self.account.token_url, what, data=form)
        if response.status_code == 200:
            data = self._json(response, what)
            if not isinstance(data.get("access_token"), str):
                raise TransientError(
                    f"{what}: {self.account.token_url} answered without an access_token", self.channel.name
                )
            return _Token(data["access_token"], now + timedelta(seconds=float(data.get("expires_in") or 3600)))
        try:
            body = response.json()
            code, said = str(body.get("error")), str(body.get("error_description") or "")
        except (ValueError, AttributeError):
            raise self.channel.refused(response, what) from None
        where = f"[channels.{self.channel.name}]"
        if code == "invalid_grant":
            raise PermanentError(
                f"{where} Google refused the refresh token ({code}: {said}): it was revoked or has "
                "expired — authorise kmcomms again and set refresh_token",
                self.channel.name,
            )
        if code in ("invalid_client", "unauthorized_client"):
            raise PermanentError(
                f"{where} Google refused the OAuth client ({code}: {said}) — check client_id and client_secret",
                self.channel.name,
            )
        raise self.channel.refused(response, what)

    def _json(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TransientError(
                f"{what}: {response.url} answered {response.status_code} without a JSON object", self.channel.name
            )
        return data

    def call(
        self, method: str, resource: str, what: str, params: dict[str, str], body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One Data API call with a fresh-enough token; a 401 gets a new token and one retry
        (the token may have been revoked or expired early); refusals mapped to errors."""
        url = f"{self.account.api_url}/{resource}"
        for first in (True, False):
            headers = {"Authorization": f"Bearer {self._access_token()}"}
            response = self.channel.request(method, url, what, params=params, json=body, headers=headers)
            log.debug("%s %s (%s): %s", method, resource, what, response.status_code)
            if response.status_code != 401 or not first:
                break
            self._token = None
        if 200 <= response.status_code < 300:
            return self._json(response, what)
        raise self._refusal(response, what)

    def _refusal(self, response: requests.Response, what: str) -> ChannelError:
        reasons = _google_reasons(response)
        said = error_message(response)
        if reasons & QUOTA_REASONS:
            wait = until_quota_reset(self.clock())
            return TransientError(
                f"{what}: YouTube's daily quota is used up ({said}); it resets at midnight Pacific "
                f"time, in {wait / 3600:.1f} h",
                self.channel.name,
                retry_after=wait,
            )
        if reasons & RATE_REASONS:
            return TransientError(
                f"{what}: YouTube asks to slow down ({said})",
                self.channel.name,
                retry_after=retry_after(response.headers.get("Retry-After")),
            )
        hint = next((HINTS[reason] for reason in sorted(reasons) if reason in HINTS), None)
        return self.channel.refused(response, what, f"{said} — {hint}" if hint else None)

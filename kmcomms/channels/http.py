"""What every adapter that speaks HTTP shares: requests through the injected session with a
timeout, transport failures and refusals mapped to transient or permanent errors
(honouring `Retry-After`), short error messages that never carry a header (so never a
token), secrets read from the environment only when a request is made, and the rule that
plain http is only for this machine."""

from __future__ import annotations

import email.utils
import ipaddress
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

from kmcomms import __version__
from kmcomms.campaign.workspace import expand
from kmcomms.channels.base import Channel, ChannelError, PermanentError, TransientError
from kmcomms.errors import SettingError

__all__ = ["RETRYABLE_4XX", "HttpChannel", "error_message", "retry_after", "secure_url", "shorten"]

#: Status codes besides 5xx that say "the same request may succeed later".
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
#: How much of a refusal's message goes into the ledger and the logs.
MESSAGE_LIMIT = 200
USER_AGENT = f"kmcomms/{__version__}"


def _loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_url(value: str, *, bare: str | None = None) -> str:
    """`value` if it is https, or http on this machine (localhost, 127.0.0.0/8, ::1), without
    a user or password in it; else ValueError saying what to write. Trailing / removed.
    With `bare` (why, in words), it must have no ?query or #fragment either."""
    parts = urlsplit(value)
    if bare is not None and (parts.query or parts.fragment):
        raise ValueError(f"must have no ?query or #fragment — {bare}")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an https:// address (or http:// on this machine: localhost, 127.0.0.1, ::1)")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"plain http:// is only allowed on this machine, not to {parts.hostname} — use https://")
    if parts.username or parts.password:
        raise ValueError("must not carry a user or password — put the secret in its own setting")
    return value.rstrip("/")


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: a number of seconds or an HTTP date
    (RFC 9110 §10.2.3). None when absent or unreadable; never negative."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_message(response: requests.Response) -> str:
    """The error a refusal's body gives, in one short line."""
    try:
        data: Any = response.json()
    except ValueError:
        return shorten(response.text or response.reason or "")
    found: Any = None
    if isinstance(data, dict):
        found = data.get("error") or data.get("message") or data.get("detail") or data.get("title")
        if isinstance(found, dict):
            found = found.get("message") or found.get("detail")
        errors = data.get("errors")
        if found is None and isinstance(errors, list) and errors and isinstance(errors[0], dict):
            found = errors[0].get("message")
    if not isinstance(found, str):
        found = json.dumps(data, ensure_ascii=False)
    return shorten(found)


class HttpChannel(Channel):
    """A channel that talks to a remote over HTTP through `self.session`."""

    def secret(self, setting: str, value: SecretStr) -> str:
        """The secret `value` of `setting`, with `${VAR}` read from the environment now;
        a missing variable is a `PermanentError` that names it (never a value)."""
        try:
            return expand(value.get_secret_value())
        except SettingError as exc:
            raise PermanentError(f"[channels.{self.name}] {setting}: {exc}", self.name) from None

    def request(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        """One request with the channel's timeout, redirects not followed; transport
        failures become `TransientError` (`what` says what was being done, for the
        message). Nothing here puts a header into a message."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **kwargs.pop("headers", {})}
        try:
            return self.session.request(
                method, url, timeout=self.timeout, allow_redirects=False, headers=headers, **kwargs
            )
        except requests.Timeout:
            # Sent, perhaps: the outcome is unknown; the adapter's key or lookup makes the retry safe.
            raise TransientError(f"{method} {url} ({what}): no answer within {self.timeout:g} s", self.name) from None
        except requests.ConnectionError as exc:
            raise TransientError(
                f"{method} {url} ({what}): connection failed ({shorten(str(exc), 160)})", self.name
            ) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
        ) as exc:
            raise PermanentError(f"{method} {url}: {type(exc).__name__}", self.name) from None
        except requests.RequestException as exc:  # a broken or undecodable answer: try again
            raise TransientError(f"{method} {url} ({what}): {type(exc).__name__}", self.name) from None

    def refused(self, response: requests.Response, what: str, message: str | None = None) -> ChannelError:
        """The error for a response that is not a success: transient for 5xx, 429 and the
        other retryable codes (with Retry-After), permanent otherwise. `message` replaces
        the body's own error text where the platform's is unhelpful."""
        status = response.status_code
        said = message or error_message(response)
        if status in RETRYABLE_4XX or status >= 500:
            return TransientError(
                f"{what}: {response.url} answered {status}: {said}",
                self.name,
                retry_after=retry_after(response.headers.get("Retry-After")),
            )
        if 300 <= status < 400:
            return PermanentError(
                f"{what}: {response.url} answered {status}, a redirect to "
                f"{response.headers.get('Location', '(nowhere)')} — set the address to the final one",
                self.name,
            )
        return PermanentError(f"{what}: refused ({status}): {said}", self.name)

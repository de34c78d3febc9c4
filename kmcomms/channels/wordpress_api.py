"""The WordPress REST API as the `wordpress` adapter speaks it: calls signed in with the
user's application password, WordPress's refusals with what to change, and the look-ups
a post needs — its categories and tags by name (made when missing) and the featured
image in the media library (uploaded once). See `kmcomms.channels.wordpress` for the
settings and what the adapter does with the calls.
"""

from __future__ import annotations

import hashlib
import html
import logging
import mimetypes
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from kmcomms.channels.base import ChannelError, PermanentError
from kmcomms.channels.http import HttpChannel, error_message

__all__ = ["Site", "error_code"]

# The adapter's requests, logged under its name.
log = logging.getLogger("kmcomms.channels.wordpress")

#: What to change, for the refusals people meet (by WordPress error code, else by status).
HINTS: dict[str | int, str] = {
    401: "check `user` and `password` (an application password: Users → Profile → Application Passwords; "
    "WordPress accepts them only over https)",
    "rest_cannot_publish": 'the user may not publish: give them the Author role or above, or set status = "pending"',
    "rest_no_route": "no such REST route: is `url` the address of the WordPress site, with its REST API on?",
}


def _error(response: requests.Response) -> dict[str, Any]:
    """WordPress's error body (`{"code": …, "message": …, "data": {"status": …}}`), or {}
    when something else answered."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) and isinstance(body.get("code"), str) else {}


def error_code(response: requests.Response) -> str | None:
    """The `code` of WordPress's error body, or None when something else answered."""
    return _error(response).get("code")


def _signed_out(body: dict[str, Any]) -> bool:
    """Whether WordPress answered as to someone not signed in. A wrong application password
    does not make it answer 401: it serves the request anonymously, which for a post
    look-up is a 400 whose details say 401 (rest_forbidden_status)."""
    details = (body.get("data") or {}).get("details") if isinstance(body.get("data"), dict) else None
    return isinstance(details, dict) and any(
        isinstance(d, dict) and isinstance(d.get("data"), dict) and d["data"].get("status") == 401
        for d in details.values()
    )


class Site:
    """The REST API of the WordPress site at `url`, for the channel `channel` (its
    session, timeout and errors), signed in as `user` with the application `password`.
    Term ids and the featured image's media id are looked up once per instance."""

    def __init__(self, channel: HttpChannel, url: str, user: str, password: SecretStr) -> None:
        self.channel = channel
        self.url = url
        self.user = user
        self.password = password
        self._terms: dict[tuple[str, str], int] = {}
        self._media: int | None = None

    def call(
        self,
        method: str,
        route: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> requests.Response:
        """One REST call to `route` (e.g. "/wp/v2/posts"), signed in; a status not in `ok`
        raises the error it means."""
        auth = (self.user, self.channel.secret("password", self.password))
        response = self.channel.request(
            method, f"{self.url}/", what, params={"rest_route": route, **(params or {})}, auth=auth, **kwargs
        )
        log.debug("%s %s (%s): %s", method, route, what, response.status_code)
        if response.status_code in ok:
            return response
        raise self.refused(response, what)

    def json(self, response: requests.Response, what: str) -> Any:
        """The JSON an answer holds; a `PermanentError` when it holds none (not a WordPress site)."""
        try:
            return response.json()
        except ValueError:
            raise PermanentError(
                f"{what}: {response.url} answered {response.status_code} with something that is not "
                "JSON — is `url` the address of a WordPress site?",
                self.channel.name,
            ) from None

    def refused(self, response: requests.Response, what: str) -> ChannelError:
        """The error a refusal means, with WordPress's own message and what to change."""
        body = _error(response)
        if not body:  # not WordPress speaking: a proxy, a firewall, the host
            return self.channel.refused(response, what)
        said = f"{error_message(response)} ({body['code']})"
        hint: str | None
        if _signed_out(body):
            said, hint = f"{said}: WordPress did not sign user {self.user!r} in", HINTS[401]
        else:
            hint = HINTS.get(body["code"]) or HINTS.get(response.status_code)
        return self.channel.refused(response, what, f"{said} — {hint}" if hint else said)

    def id_of(self, item: Any, what: str) -> int:
        """The id of the post, term or media item an answer describes."""
        found = item.get("id") if isinstance(item, dict) else None
        if not isinstance(found, int) or isinstance(found, bool):
            raise PermanentError(
                f"{what}: the answer names nothing by id — is `url` the address of a WordPress site?", self.channel.name
            )
        return found

    def term(self, taxonomy: str, name: str, *, make: bool = True) -> int | None:
        """The id of the category or tag called `name` (as WordPress compares names: case
        aside), made when missing if `make`."""
        if (taxonomy, name) in self._terms:
            return self._terms[(taxonomy, name)]
        what = f"looking up the {taxonomy} {name!r}"
        found = self.json(self.call("GET", f"/wp/v2/{taxonomy}", what, params={"search": name, "per_page": 100}), what)
        same = (
            [
                term
                for term in found
                if isinstance(term, dict) and html.unescape(str(term.get("name"))).casefold() == name.casefold()
            ]
            if isinstance(found, list)
            else []
        )
        if same:
            term_id = self.id_of(same[0], what)
        elif not make:
            return None
        else:
            what = f"making the {taxonomy} {name!r}"
            response = self.call("POST", f"/wp/v2/{taxonomy}", what, json={"name": name}, ok=(201, 400))
            body = self.json(response, what)
            if response.status_code == 400 and error_code(response) == "term_exists":  # made meanwhile by someone else
                body = {"id": (body.get("data") or {}).get("term_id")}
            elif response.status_code == 400:
                raise self.refused(response, what)
            term_id = self.id_of(body, what)
        self._terms[(taxonomy, name)] = term_id
        return term_id

    def featured_image(self, path: Path) -> int:
        """The media id of the featured image, uploaded if the library lacks it."""
        if self._media is not None:
            return self._media
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PermanentError(
                f"featured_image: cannot read {path}: {exc.strerror or exc}", self.channel.name
            ) from None
        # WordPress makes the media item's slug from its file name: the hash finds it again.
        slug = f"kmcomms-{hashlib.sha256(data).hexdigest()[:16]}"
        what = f"looking up the featured image {path.name}"
        found = self.json(self.call("GET", "/wp/v2/media", what, params={"slug": slug}), what)
        if isinstance(found, list) and found:
            self._media = self.id_of(found[0], what)
            return self._media
        what = f"uploading the featured image {path.name}"
        headers = {
            "Content-Type": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            "Content-Disposition": f'attachment; filename="{slug}{path.suffix.lower()}"',
        }
        self._media = self.id_of(
            self.json(self.call("POST", "/wp/v2/media", what, data=data, headers=headers), what), what
        )
        return self._media

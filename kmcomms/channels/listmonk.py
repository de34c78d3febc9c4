"""`listmonk`: each newsletter delivery becomes one campaign on a listmonk server, sent (or
scheduled) to the lists of the delivery's audience and language.

Settings (`[channels.<name>]`, `adapter = "listmonk"`):

    [channels.newsletter]
    adapter = "listmonk"
    url = "https://lists.example.org"   # listmonk's root: https, or http on this machine
    user = "kmcomms"                    # an API user (Admin → Users, type "API")
    token = "${LISTMONK_TOKEN}"         # its token: from the environment, never the file
    lists = { en = [3], ur = [4], "policy-makers/en" = [7] }
    send = "now"                        # or "schedule"
    delay_minutes = 60                  # with send = "schedule": how long after hand-over
    template_id = 5                     # optional, see below
    from_email = "KM Unit <km@example.org>"   # optional: listmonk's default otherwise

- `lists`: which listmonk list ids a delivery goes to. A key is a language (`ur`) or an
  audience and a language (`"policy-makers/en"`); the audience/language key wins. A
  delivery whose audience and language no key names fails with a message saying which key
  to add, so nobody gets a newsletter in a language they did not sign up for. A delivery
  that fell back to the source language (a translation was missing) goes to the list of
  the language it was planned in, read from the ledger.
- `send = "now"` starts the campaign at once; `"schedule"` schedules it `delay_minutes`
  after kmcomms hands it over, which leaves time to look at it (or cancel it) in listmonk.
- `template_id`: a drafted newsletter is a whole HTML document, so give listmonk a campaign
  template whose body is only `{{ template "content" . }}`; without one, listmonk wraps it
  in its default template.

What is sent: `POST /api/campaigns` with the name `"<title> [kmcomms <delivery id>]"`, the
subject, the lists, the HTML body and its plain-text `altbody` (kmcomms's
`{{unsubscribe_url}}` becomes listmonk's `{{ UnsubscribeURL }}`; any other `{{` is escaped,
since listmonk runs the body as a Go template), content type html and tags `kmcomms` and
the campaign id; then `PUT /api/campaigns/{id}/status` "running", or with `send_at`,
"scheduled". Authentication is `Authorization: token <user>:<token>`.

Never twice: listmonk has no idempotency key, so before creating, the adapter asks for a
campaign whose name carries the delivery id (`GET /api/campaigns?query=<id>`). One that is
still a draft (a crash came between creating and starting it) is brought up to date and
started; one that is running, scheduled, finished, or paused or cancelled by a person is
left alone. `find()` asks the same way and counts a draft as not published.

Reach (`collect`): the campaign's counters, as running totals: `recipients` (sent),
`opens` (listmonk's views: a tracking pixel, so machine opens such as Apple Mail Privacy
Protection's are in them), `clicks` and `bounces`. listmonk has no rate limits of its own;
a 429 from a proxy in front of it is retried after its `Retry-After`.

The campaign machinery listmonk and Mailchimp share (`CampaignOptions`, `CampaignChannel`)
lives here, ahead of the listmonk adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests
from pydantic import Field, SecretStr, field_validator

from kmcomms.channels.base import PermanentError, Publication
from kmcomms.channels.campaigns import CampaignChannel, CampaignOptions, audience_language_keys
from kmcomms.channels.http import secure_url
from kmcomms.render.drafts import Newsletter
from kmcomms.render.renderer import UNSUBSCRIBE_PLACEHOLDER

__all__ = ["Listmonk", "ListmonkOptions"]

log = logging.getLogger("kmcomms.channels.listmonk")


class ListmonkOptions(CampaignOptions):
    url: str
    """listmonk's root address: https, or http on this machine."""
    user: str = Field(min_length=1)
    """The API user's name."""
    token: SecretStr
    """The API user's token; write "${VAR}" and set VAR."""
    lists: dict[str, list[int]] = Field(min_length=1)
    """Language, or "audience/language" → listmonk list ids."""
    template_id: int | None = Field(default=None, gt=0)
    from_email: str | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return secure_url(value)

    @field_validator("lists", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # `ur = 4` is as good as `ur = [4]`.
        if isinstance(value, Mapping):
            return {k: [v] if isinstance(v, int) else v for k, v in value.items()}
        return value

    @field_validator("lists")
    @classmethod
    def _check_lists(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        if any(not ids or min(ids) < 1 for ids in value.values()):
            raise ValueError("each key needs one or more listmonk list ids (whole numbers from 1)")
        return dict(audience_language_keys(value))


def _go_template(text: str) -> str:
    """`text` with kmcomms's unsubscribe placeholder as listmonk's, and every other `{{`
    written so that listmonk's Go template engine prints it rather than runs it."""
    return "{{ UnsubscribeURL }}".join(part.replace("{{", '{{ "{{" }}') for part in text.split(UNSUBSCRIBE_PLACEHOLDER))


class Listmonk(CampaignChannel):
    """Newsletters as listmonk campaigns (see the module)."""

    Settings = ListmonkOptions
    unsent_status = "draft"
    reach_notes: ClassVar[Mapping[str, str]] = {"opens": "opens include machine opens (Apple Mail Privacy Protection)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert isinstance(self.settings, ListmonkOptions)
        self.options: ListmonkOptions = self.settings

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        auth = f"token {self.options.user}:{self.secret('token', self.options.token)}"
        response = self.request(
            method, f"{self.options.url}/api{path}", what, headers={"Authorization": auth}, **kwargs
        )
        log.debug("%s /api%s (%s): %s", method, path, what, response.status_code)
        return response

    def _api(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """The `data` of listmonk's answer to `method /api<path>`; a refusal raised."""
        response = self._call(method, path, what, **kwargs)
        if not 200 <= response.status_code < 300:
            raise self.refused(response, what)
        body = self.payload(response, what)
        return body.get("data") if isinstance(body, dict) else None

    def lookup(self, key: str) -> tuple[Publication, str] | None:
        # listmonk's `query` matches name and subject (ILIKE %…%); the marker decides.
        data = self._api(
            "GET", "/campaigns", f"looking up the campaign of {key}", params={"query": key, "per_page": "all"}
        )
        results = data.get("results") if isinstance(data, dict) else None
        found = sorted((c for c in results or [] if self.marker(key) in str(c.get("name", ""))), key=lambda c: c["id"])
        if len(found) > 1:
            log.warning(
                "listmonk holds %d campaigns for %s (ids %s): taking the first",
                len(found),
                key,
                ", ".join(str(c["id"]) for c in found),
            )
        return (Publication(str(found[0]["id"])), str(found[0].get("status"))) if found else None

    def deliver(self, draft: Newsletter, key: str, when: datetime | None) -> Publication:
        lists, language = self.pick(self.options.lists, draft, key)
        if lists is None:
            raise PermanentError(
                f'[channels.{self.name}] lists: no list for audience "{draft.audience}" in {language} '
                f'— add `"{draft.audience}/{language}" = [ID]` or `{language} = [ID]`',
                self.name,
            )
        campaign: dict[str, Any] = {
            "name": self.campaign_name(draft, key),
            "subject": draft.subject,
            "lists": lists,
            "type": "regular",
            "content_type": "html",
            "body": _go_template(draft.html),
            "altbody": _go_template(draft.text),
            "tags": ["kmcomms", draft.campaign],
            # Go's time.Time reads RFC 3339 only: the zone is required.
            "send_at": None if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if self.options.template_id is not None:
            campaign["template_id"] = self.options.template_id
        if self.options.from_email:
            campaign["from_email"] = self.options.from_email
        found = self.lookup(key)
        if found is not None and found[1] != self.unsent_status:
            # Sent, running or scheduled — or paused or cancelled by a person: never again.
            log.info("%s: listmonk campaign %s is already %s", key, found[0].remote_id, found[1])
            return found[0]
        if found is None:
            made = self._api("POST", "/campaigns", f"creating the campaign of {key}", json=campaign)
            publication = Publication(str(made["id"]))
        else:  # a crash left it a draft: bring it up to date (a scheduled time may have passed)
            publication = found[0]
            self._api("PUT", f"/campaigns/{publication.remote_id}", f"updating the campaign of {key}", json=campaign)
        status = "running" if when is None else "scheduled"
        self._api(
            "PUT",
            f"/campaigns/{publication.remote_id}/status",
            f"starting the campaign of {key}",
            json={"status": status},
        )
        return publication

    def collect(self, publication: Publication) -> dict[str, float]:
        """Running totals: `recipients` (sent), `opens` (views, machine opens included),
        `clicks`, `bounces`."""
        data = (
            self._api("GET", f"/campaigns/{publication.remote_id}", f"reading campaign {publication.remote_id}") or {}
        )
        return {
            metric: float(data.get(field) or 0)
            for metric, field in (
                ("recipients", "sent"),
                ("opens", "views"),
                ("clicks", "clicks"),
                ("bounces", "bounces"),
            )
        }

    def probe(self) -> list[str]:
        data = self._api("GET", "/lists", "reading the lists", params={"per_page": "all"})
        known = {item.get("id") for item in (data.get("results") or [])} if isinstance(data, dict) else set()
        problems = [
            f'[channels.{self.name}] lists: "{key}" names list {list_id}, which listmonk does not have'
            for key, ids in self.options.lists.items()
            for list_id in ids
            if list_id not in known
        ]
        if self.options.template_id is not None:
            response = self._call("GET", f"/templates/{self.options.template_id}", "reading the template")
            if response.status_code == 404:
                problems.append(
                    f"[channels.{self.name}] template_id: listmonk has no template {self.options.template_id}"
                )
            elif not 200 <= response.status_code < 300:
                raise self.refused(response, "reading the template")
        return problems

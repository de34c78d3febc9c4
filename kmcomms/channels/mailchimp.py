"""`mailchimp`: each newsletter delivery becomes one regular campaign in a Mailchimp
audience, sent (or scheduled) to the segment of the delivery's audience and language.

Settings (`[channels.<name>]`, `adapter = "mailchimp"`):

    [channels.newsletter]
    adapter = "mailchimp"
    api_key = "${MAILCHIMP_API_KEY}"    # from the environment, never the file; ends in -us21 or so
    list_id = "a1b2c3d4e5"              # the audience: Audience → Settings → Audience ID
    segments = { ur = 4021, "policy-makers/en" = 4022 }   # saved segment ids
    language_field = "LANGUAGE"         # and/or: the merge field holding a contact's language
    from_name = "KM Unit"
    reply_to = "km@example.org"
    send = "now"                        # or "schedule"
    delay_minutes = 60                  # with send = "schedule": how long after hand-over
    # base_url = "https://us21.api.mailchimp.com/3.0"   # default: from the key's data centre

- `api_key`: a Marketing API key, sent as HTTP Basic (any user name, the key as password).
  Its suffix after the last `-` is the data centre: `…-us21` talks to
  `https://us21.api.mailchimp.com/3.0`. `base_url` replaces that address (tests, proxies):
  https, or http on this machine.
- Who gets a delivery: the saved segment `segments` names for its audience and language
  (the `"audience/language"` key first, then the language); else, when `language_field` is
  set, the audience's contacts whose merge field (e.g. `*|LANGUAGE|*`) is the delivery's
  language code (`ur`, `en`…); else the delivery fails and says which key to add. At
  least one of the two must be set. A delivery that fell back to the source language (a
  translation was missing) goes to the readers of the language it was planned in, read
  from the ledger.
- `send = "now"` sends at once; `"schedule"` schedules the campaign `delay_minutes` after
  kmcomms hands it over, rounded up to the quarter hour as Mailchimp requires, which leaves
  time to look at it (or unschedule it) in Mailchimp. Scheduling may need a paid plan:
  Mailchimp's refusal is shown as it is.

What is sent: `POST /campaigns` (type regular, the recipients above, settings
`subject_line`, `preview_text`, `title` = `"<title> [kmcomms <delivery id>]"`, `from_name`,
`reply_to`), `PUT /campaigns/{id}/content` with the HTML and the plain text (kmcomms's
`{{unsubscribe_url}}` becomes Mailchimp's `*|UNSUB|*`), then `POST
/campaigns/{id}/actions/send`, or `…/actions/schedule` with `schedule_time`.

Never twice: Mailchimp has no idempotency key, so before creating, the adapter looks
through the account's campaigns (newest first, `fields` trimmed) for the title carrying
the delivery id. One still in `save` (a crash came between creating and sending it) gets
its settings and content again and is sent; one scheduled, sending, sent, or paused or
cancelled by a person is left alone. `find()` looks the same way and counts `save` as not
published.

Reach (`collect`, from `GET /reports/{id}`), as running totals: `recipients`
(emails_sent), `opens` and `unique-opens`, `clicks` (clicks_total) and `unique-clicks`,
`bounces` (hard + soft) and `unsubscribes`. Where Mailchimp reports
`proxy_excluded_opens`/`proxy_excluded_unique_opens`, `opens` and `unique-opens` exclude
Apple Mail Privacy Protection's machine opens, which are given apart as
`opens-automated` and `unique-opens-automated` (as the tracking server names them);
without them, `opens` is Mailchimp's total, machine opens included. An unsent campaign has
no report yet: nothing is collected.

Errors: Mailchimp answers `application/problem+json`; its `detail` and each
`errors[].field: message` make the message. Mailchimp limits a key to 10 simultaneous
connections and answers more with 429, retried later (after `Retry-After` when it gives
one); 5xx is retried; any other refusal (401 bad key, 403, 404, 400 invalid resource,
not ready to send, plan limits) fails the delivery.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests
from pydantic import Field, SecretStr, field_validator, model_validator

from kmcomms.channels.base import ChannelError, PermanentError, Publication
from kmcomms.channels.campaigns import CampaignChannel, CampaignOptions, audience_language_keys
from kmcomms.channels.http import secure_url, shorten
from kmcomms.channels.letters import address_problem
from kmcomms.render.drafts import Newsletter
from kmcomms.render.renderer import UNSUBSCRIBE_PLACEHOLDER

__all__ = ["Mailchimp", "MailchimpOptions", "api_base", "quarter_hour"]

log = logging.getLogger("kmcomms.channels.mailchimp")

_DATA_CENTRE = re.compile(r"-([a-z]+[0-9]+)$")
#: Mailchimp's longest page of a collection.
PAGE = 1000
QUARTER_HOUR = 15 * 60


def api_base(key: str) -> str | None:
    """The API's address for the data centre `key` ends in (…-us21), or None."""
    centre = _DATA_CENTRE.search(key)
    return None if centre is None else f"https://{centre[1]}.api.mailchimp.com/3.0"


class MailchimpOptions(CampaignOptions):
    api_key: SecretStr
    """A Marketing API key ending in its data centre (…-us21); write "${VAR}" and set VAR."""
    list_id: str = Field(min_length=1)
    """The audience's id."""
    segments: dict[str, int] = Field(default_factory=dict)
    """Language, or "audience/language" → saved segment id."""
    language_field: str | None = Field(default=None, pattern=r"^[A-Z0-9_]{1,10}$")
    """The merge field tag holding each contact's language code, e.g. "LANGUAGE"."""
    from_name: str = Field(min_length=1)
    reply_to: str
    """A bare address: replies go there."""
    base_url: str | None = None
    """Default: https://<data centre>.api.mailchimp.com/3.0, from the key."""

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else secure_url(value)

    @field_validator("reply_to")
    @classmethod
    def _check_reply_to(cls, value: str) -> str:
        problem = address_problem(value)
        if problem:
            raise ValueError(f'"{value}" is not an e-mail address: {problem}')
        return value

    @field_validator("segments")
    @classmethod
    def _check_segments(cls, value: dict[str, int]) -> dict[str, int]:
        if any(segment < 1 for segment in value.values()):
            raise ValueError("segment ids are whole numbers from 1")
        return dict(audience_language_keys(value))

    @model_validator(mode="after")
    def _someone_to_send_to(self) -> MailchimpOptions:
        if not self.segments and self.language_field is None:
            raise ValueError(
                "set `segments` (language or audience/language → saved segment id) or `language_field` "
                "(the merge field holding each contact's language), or both"
            )
        return self


def quarter_hour(when: datetime) -> datetime:
    """`when` in UTC, rounded up to :00, :15, :30 or :45 (Mailchimp schedules no other time)."""
    seconds = math.ceil(when.astimezone(UTC).timestamp() / QUARTER_HOUR) * QUARTER_HOUR
    return datetime.fromtimestamp(seconds, UTC)


class Mailchimp(CampaignChannel):
    """Newsletters as Mailchimp campaigns (see the module)."""

    Settings = MailchimpOptions
    unsent_status = "save"
    reach_notes: ClassVar[Mapping[str, str]] = {
        metric: "machine opens (Apple Mail Privacy Protection)"
        for metric in ("opens-automated", "unique-opens-automated")
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert isinstance(self.settings, MailchimpOptions)
        self.options: MailchimpOptions = self.settings

    # ------------------------------------------------------------------ requests

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        key = self.secret("api_key", self.options.api_key)
        base = self.options.base_url or api_base(key)
        if base is None:
            raise PermanentError(
                f"[channels.{self.name}] api_key: a Mailchimp API key ends in its data centre "
                "(…-us21); copy the whole key",
                self.name,
            )
        response = self.request(method, f"{base}{path}", what, auth=("kmcomms", key), **kwargs)
        log.debug("%s %s (%s): %s", method, path, what, response.status_code)
        return response

    def _refusal(self, response: requests.Response, what: str) -> ChannelError:
        """`refused`, with the problem's `detail` and each `errors[]` field and message:
        Mailchimp's detail alone often only says to look at the errors."""
        try:
            problem = response.json()
        except ValueError:
            problem = None
        said = None
        if isinstance(problem, dict):
            parts = [str(problem.get("detail") or problem.get("title") or "")]
            parts += [
                f"{e.get('field') or 'request'}: {e.get('message')}"
                for e in problem.get("errors") or []
                if isinstance(e, dict)
            ]
            said = shorten("; ".join(part for part in parts if part)) or None
        return self.refused(response, what, said)

    def _api(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        response = self._call(method, path, what, **kwargs)
        if not 200 <= response.status_code < 300:
            raise self._refusal(response, what)
        return self.payload(response, what)

    def _exists(self, path: str, what: str) -> bool:
        response = self._call("GET", path, what, params={"fields": "id"})
        if response.status_code == 404:
            return False
        if not 200 <= response.status_code < 300:
            raise self._refusal(response, what)
        return True

    # ------------------------------------------------------------------ campaigns

    def _recipients(self, draft: Newsletter, key: str) -> dict[str, Any]:
        segment, language = self.pick(self.options.segments, draft, key)
        if segment is not None:
            options: dict[str, Any] = {"saved_segment_id": segment}
        elif self.options.language_field is not None:
            options = {
                "match": "all",
                "conditions": [
                    {"condition_type": "TextMerge", "field": self.options.language_field, "op": "is", "value": language}
                ],
            }
        else:
            raise PermanentError(
                f'[channels.{self.name}] segments: no segment for audience "{draft.audience}" in '
                f'{language} — add `"{draft.audience}/{language}" = ID` or `{language} = ID`, '
                f"or set language_field",
                self.name,
            )
        return {"list_id": self.options.list_id, "segment_opts": options}

    def lookup(self, key: str) -> tuple[Publication, str] | None:
        what = f"looking up the campaign of {key}"
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = (
                self._api(
                    "GET",
                    "/campaigns",
                    what,
                    params={
                        "count": PAGE,
                        "offset": offset,
                        "sort_field": "create_time",
                        "sort_dir": "DESC",
                        "fields": "campaigns.id,campaigns.status,campaigns.archive_url,campaigns.settings.title,total_items",
                    },
                )
                or {}
            )
            campaigns = page.get("campaigns") or []
            found += [c for c in campaigns if self.marker(key) in str((c.get("settings") or {}).get("title", ""))]
            offset += len(campaigns)
            if found or not campaigns or offset >= int(page.get("total_items") or 0):
                break
        if not found:
            return None
        # Two for one key should not happen; if it does, the one that went out is the answer.
        chosen = next((c for c in found if c.get("status") != self.unsent_status), found[0])
        if len(found) > 1:
            log.warning("Mailchimp holds %d campaigns for %s: taking %s", len(found), key, chosen["id"])
        return Publication(str(chosen["id"]), chosen.get("archive_url") or None), str(chosen.get("status"))

    def deliver(self, draft: Newsletter, key: str, when: datetime | None) -> Publication:
        campaign = {
            "recipients": self._recipients(draft, key),
            "settings": {
                "subject_line": draft.subject,
                "preview_text": draft.preheader,
                "title": self.campaign_name(draft, key),
                "from_name": self.options.from_name,
                "reply_to": self.options.reply_to,
            },
        }
        found = self.lookup(key)
        if found is not None and found[1] != self.unsent_status:
            # Scheduled, sending or sent — or paused or cancelled by a person: never again.
            log.info("%s: Mailchimp campaign %s is already %s", key, found[0].remote_id, found[1])
            return found[0]
        if found is None:
            made = self._api(
                "POST", "/campaigns", f"creating the campaign of {key}", json={"type": "regular", **campaign}
            )
            publication = Publication(str(made["id"]), made.get("archive_url") or None)
        else:  # a crash left it unsent: the settings may have changed since
            publication = found[0]
            self._api("PATCH", f"/campaigns/{publication.remote_id}", f"updating the campaign of {key}", json=campaign)
        path = f"/campaigns/{publication.remote_id}"
        self._api(
            "PUT",
            f"{path}/content",
            f"setting the content of {key}",
            json={
                "html": draft.html.replace(UNSUBSCRIBE_PLACEHOLDER, "*|UNSUB|*"),
                "plain_text": draft.text.replace(UNSUBSCRIBE_PLACEHOLDER, "*|UNSUB|*"),
            },
        )
        if when is None:
            self._api("POST", f"{path}/actions/send", f"sending {key}")
        else:
            self._api(
                "POST",
                f"{path}/actions/schedule",
                f"scheduling {key}",
                json={"schedule_time": quarter_hour(when).isoformat(), "timewarp": False},
            )
        return publication

    def collect(self, publication: Publication) -> dict[str, float]:
        """Running totals from the campaign's report (see the module); {} before it is sent."""
        what = f"reading the report of campaign {publication.remote_id}"
        response = self._call(
            "GET",
            f"/reports/{publication.remote_id}",
            what,
            params={"fields": "emails_sent,unsubscribed,opens,clicks,bounces"},
        )
        if response.status_code == 404 and self._exists(f"/campaigns/{publication.remote_id}", what):
            return {}
        if not 200 <= response.status_code < 300:
            raise self._refusal(response, what)
        report = self.payload(response, what) or {}
        opens, clicks, bounces = (report.get(part) or {} for part in ("opens", "clicks", "bounces"))
        totals = {
            "recipients": report.get("emails_sent") or 0,
            "clicks": clicks.get("clicks_total") or 0,
            "unique-clicks": clicks.get("unique_clicks") or 0,
            "bounces": (bounces.get("hard_bounces") or 0) + (bounces.get("soft_bounces") or 0),
            "unsubscribes": report.get("unsubscribed") or 0,
        }
        for metric, total, people in (
            ("opens", "opens_total", "proxy_excluded_opens"),
            ("unique-opens", "unique_opens", "proxy_excluded_unique_opens"),
        ):
            if opens.get(people) is None:
                totals[metric] = opens.get(total) or 0
            else:
                totals[metric] = opens[people]
                totals[f"{metric}-automated"] = max(0, (opens.get(total) or 0) - opens[people])
        return {metric: float(value) for metric, value in totals.items()}

    def probe(self) -> list[str]:
        self._api("GET", "/ping", "checking the API key")
        where = f"[channels.{self.name}]"
        audience = f"/lists/{self.options.list_id}"
        if not self._exists(audience, "reading the audience"):
            return [f"{where} list_id: Mailchimp has no audience {self.options.list_id}"]
        problems = [
            f'{where} segments: "{key}" names segment {segment}, which audience {self.options.list_id} does not have'
            for key, segment in self.options.segments.items()
            if not self._exists(f"{audience}/segments/{segment}", "reading a segment")
        ]
        if self.options.language_field is not None:
            fields = (
                self._api(
                    "GET",
                    f"{audience}/merge-fields",
                    "reading the merge fields",
                    params={"count": PAGE, "fields": "merge_fields.tag"},
                )
                or {}
            )
            if self.options.language_field not in {f.get("tag") for f in fields.get("merge_fields") or []}:
                problems.append(
                    f"{where} language_field: audience {self.options.list_id} has no merge field "
                    f"{self.options.language_field}"
                )
        return problems

"""Mailchimp's Marketing API v3 on loopback for the adapter's tests: a real HTTP server
(pytest-httpserver) with audiences (members, saved segments, merge fields), campaigns and
their reports held in memory, answering as the API documents (mailchimp.com/developer/
marketing/api: campaigns, campaign content, reports; the `mailchimp-marketing` client for
methods and paths).

What it checks, as Mailchimp does: HTTP Basic with any user name and the key as password
(401 "API Key Invalid" otherwise); campaign bodies (type, recipients with an audience and
a saved segment or merge-field conditions that exist, settings with a valid reply-to);
content only while a campaign is unsent; sending only a campaign that is ready (subject,
from name, reply-to, HTML with the `*|UNSUB|*` link) and still unsent; `schedule_time` in
the future and on a quarter hour; collections paged with `count` (at most 1000) and
`offset`, and trimmed by `fields`. Errors are `application/problem+json` with `type`,
`title`, `status`, `detail`, `instance` (and `errors[]` for an invalid resource). It is
stricter than Mailchimp in one way: an unknown property is refused, so a misspelt one
cannot pass unnoticed. A refusal caused by a malformed request is also written to
`problems`, which the tests expect empty.

Sending is instant here: `emails_sent` is the number of members the recipients select,
and the report starts at zero; tests write its counts into `reports`.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from kmcomms.testing.fake_api import FakeApi, Refusal

__all__ = ["FakeMailchimp"]

PROBLEM_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"
TITLES = {
    400: "Invalid Resource",
    401: "API Key Invalid",
    403: "Forbidden",
    404: "Resource Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
DETAILS = {
    401: "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
    403: "You are not permitted to access this resource.",
    404: "The requested resource could not be found.",
    429: "You have exceeded the limit of 10 simultaneous connections.",
    500: "An unexpected internal error has occurred. Please contact Support for more information.",
}
SETTINGS = {
    "subject_line",
    "preview_text",
    "title",
    "from_name",
    "reply_to",
    "use_conversation",
    "to_name",
    "folder_id",
    "authenticate",
    "auto_footer",
    "inline_css",
    "auto_tweet",
    "fb_comments",
    "template_id",
}
CONTENT = {"plain_text", "html", "url", "template", "archive", "variate_contents"}
OPS = {"is", "not", "contains", "notcontain", "starts", "ends", "greater", "less", "blank", "blank_not"}
UNSENT = ("save", "paused")


def project(data: Any, fields: str | None) -> Any:
    """`data` with only the dotted `fields` (Mailchimp's `fields` parameter)."""
    if not fields:
        return data
    tree: dict[str, Any] = {}
    for path in fields.split(","):
        node = tree
        for part in path.strip().split("."):
            node = node.setdefault(part, {})

    def pick(value: Any, node: dict[str, Any]) -> Any:
        if not node:
            return value
        if isinstance(value, list):
            return [pick(item, node) for item in value]
        if isinstance(value, dict):
            return {key: pick(value[key], sub) for key, sub in node.items() if key in value}
        return value

    return pick(data, tree)


class FakeMailchimp(FakeApi):
    """Mailchimp with one account: `api_key`, and `audiences` {list id: members}, each
    member {"email", "merge_fields": {TAG: value}}; `segments` {list id: {segment id: emails}}."""

    def __init__(
        self, api_key: str, audiences: dict[str, list[dict[str, Any]]], segments: dict[str, dict[int, set[str]]]
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.audiences, self.segments = audiences, segments
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, dict[str, Any]] = {}
        self.reports: dict[str, dict[str, Any]] = {}
        base = "/3.0"
        self.route("GET", base + r"/ping", lambda request, body: self.answer({"health_status": "Everything's Chimpy!"}))
        self.route("GET", base + r"/lists/(\w+)", self.get_list)
        self.route("GET", base + r"/lists/(\w+)/segments/(\d+)", self.get_segment)
        self.route("GET", base + r"/lists/(\w+)/merge-fields", self.get_merge_fields)
        self.route("GET", base + r"/campaigns", self.list_campaigns)
        self.route("POST", base + r"/campaigns", self.create)
        self.route("GET", base + r"/campaigns/(\w+)", self.get_campaign)
        self.route("PATCH", base + r"/campaigns/(\w+)", self.edit)
        self.route("PUT", base + r"/campaigns/(\w+)/content", self.set_content)
        self.route("POST", base + r"/campaigns/(\w+)/actions/send", self.send)
        self.route("POST", base + r"/campaigns/(\w+)/actions/schedule", self.schedule)
        self.route("GET", base + r"/reports/(\w+)", self.get_report)

    def authorise(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        key = None
        if header.startswith("Basic "):
            _, _, key = base64.b64decode(header[len("Basic ") :]).decode().partition(":")
        if key != self.api_key:
            raise Refusal(401, DETAILS[401])

    def error(
        self, status: int, message: str | None, errors: list[dict[str, str]], headers: dict[str, str]
    ) -> Response:
        problem: dict[str, Any] = {
            "type": PROBLEM_TYPE,
            "title": TITLES.get(status, "Error"),
            "status": status,
            "detail": message or DETAILS.get(status, "The request could not be completed."),
            "instance": str(uuid.uuid4()),
        }
        if errors:
            problem["errors"] = errors
        response = self.answer(problem, status, headers)
        response.content_type = "application/problem+json; charset=utf-8"
        return response

    # ------------------------------------------------------------------ audiences

    def _audience(self, list_id: str) -> list[dict[str, Any]]:
        if list_id not in self.audiences:
            raise Refusal(404, DETAILS[404])
        return self.audiences[list_id]

    def get_list(self, request: Request, body: Any, list_id: str) -> Response:
        members = self._audience(list_id)
        return self.answer(
            project(
                {"id": list_id, "name": f"Audience {list_id}", "stats": {"member_count": len(members)}},
                request.args.get("fields"),
            )
        )

    def get_segment(self, request: Request, body: Any, list_id: str, segment: str) -> Response:
        self._audience(list_id)
        if int(segment) not in self.segments.get(list_id, {}):
            raise Refusal(404, DETAILS[404])
        return self.answer(
            project(
                {
                    "id": int(segment),
                    "name": f"Segment {segment}",
                    "list_id": list_id,
                    "member_count": len(self.segments[list_id][int(segment)]),
                },
                request.args.get("fields"),
            )
        )

    def _tags(self, list_id: str) -> set[str]:
        return {tag for member in self._audience(list_id) for tag in member["merge_fields"]}

    def get_merge_fields(self, request: Request, body: Any, list_id: str) -> Response:
        fields = [
            {"merge_id": n, "tag": tag, "name": tag.title(), "type": "text"}
            for n, tag in enumerate(sorted(self._tags(list_id)), 1)
        ]
        return self.answer(
            project(
                {"merge_fields": fields, "list_id": list_id, "total_items": len(fields)}, request.args.get("fields")
            )
        )

    # ------------------------------------------------------------------ campaigns

    @staticmethod
    def _invalid(field: str, message: str) -> Refusal:
        return Refusal(
            400,
            "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
            malformed=True,
            errors=[{"field": field, "message": message}],
        )

    def _recipients(self, recipients: Any) -> dict[str, Any]:
        if not isinstance(recipients, dict) or set(recipients) - {"list_id", "segment_opts"}:
            raise self._invalid("recipients", "Schema describes object with list_id and segment_opts")
        list_id = recipients.get("list_id")
        if not isinstance(list_id, str):
            raise self._invalid("recipients.list_id", "Required property missing")
        self._audience(list_id)
        options = recipients.get("segment_opts")
        if options is None:
            return recipients
        if not isinstance(options, dict):
            raise self._invalid("recipients.segment_opts", "Schema describes object")
        if "saved_segment_id" in options:
            if set(options) != {"saved_segment_id"} or options["saved_segment_id"] not in self.segments.get(
                list_id, {}
            ):
                raise Refusal(
                    400,
                    "Invalid Resource",
                    errors=[
                        {"field": "recipients.segment_opts.saved_segment_id", "message": "The segment does not exist"}
                    ],
                )
            return recipients
        conditions = options.get("conditions")
        if (
            set(options) != {"match", "conditions"}
            or options["match"] not in ("any", "all")
            or not isinstance(conditions, list)
        ):
            raise self._invalid("recipients.segment_opts", "match (any|all) and conditions are required")
        for condition in conditions:
            if (
                not isinstance(condition, dict)
                or set(condition) != {"condition_type", "field", "op", "value"}
                or condition["condition_type"] != "TextMerge"
                or condition["op"] not in OPS
            ):
                raise self._invalid("recipients.segment_opts.conditions", "Not a TextMerge condition")
            if condition["field"] not in self._tags(list_id):
                raise Refusal(
                    400,
                    "Invalid Resource",
                    errors=[
                        {
                            "field": "recipients.segment_opts.conditions",
                            "message": f"Merge field {condition['field']} does not exist",
                        }
                    ],
                )
        return recipients

    def _settings(self, settings: Any) -> dict[str, Any]:
        if not isinstance(settings, dict):
            raise self._invalid("settings", "Schema describes object")
        if unknown := set(settings) - SETTINGS:
            raise self._invalid("settings", f"Unknown properties: {', '.join(sorted(unknown))}")
        for name in ("subject_line", "preview_text", "title", "from_name", "reply_to"):
            if name in settings and not isinstance(settings[name], str):
                raise self._invalid(f"settings.{name}", "Schema describes string")
        if "reply_to" in settings and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", settings["reply_to"]):
            raise Refusal(
                400,
                "Invalid Resource",
                errors=[{"field": "settings.reply_to", "message": "This value should be a valid email."}],
            )
        return settings

    def _campaign(self, campaign_id: str) -> dict[str, Any]:
        if campaign_id not in self.campaigns:
            raise Refusal(404, DETAILS[404])
        return self.campaigns[campaign_id]

    def list_campaigns(self, request: Request, body: Any) -> Response:
        count, offset = request.args.get("count", "10"), request.args.get("offset", "0")
        if not (count.isdigit() and offset.isdigit()) or not 1 <= int(count) <= 1000:
            raise self._invalid("count", "count is a number from 1 to 1000")
        found = [
            c
            for c in self.campaigns.values()
            if request.args.get("list_id") in (None, c["recipients"]["list_id"])
            and request.args.get("status") in (None, c["status"])
        ]
        if request.args.get("sort_field") not in (None, "create_time", "send_time"):
            raise self._invalid("sort_field", "create_time or send_time")
        found.sort(
            key=lambda c: (c.get(request.args.get("sort_field") or "create_time") or "", c["web_id"]),
            reverse=request.args.get("sort_dir") == "DESC",
        )
        page = {"campaigns": found[int(offset) : int(offset) + int(count)], "total_items": len(found)}
        return self.answer(project(page, request.args.get("fields")))

    def get_campaign(self, request: Request, body: Any, campaign_id: str) -> Response:
        return self.answer(project(self._campaign(campaign_id), request.args.get("fields")))

    def create(self, request: Request, body: Any) -> Response:
        if not isinstance(body, dict) or set(body) - {"type", "recipients", "settings", "tracking", "social_card"}:
            raise self._invalid("", "Schema describes object with type, recipients, settings")
        if body.get("type") not in ("regular", "plaintext", "absplit", "rss", "variate"):
            raise self._invalid("type", "Value is not one of the allowed types")
        web_id = len(self.campaigns) + 1
        campaign_id = f"{web_id:010x}"
        self.campaigns[campaign_id] = {
            "id": campaign_id,
            "web_id": web_id,
            "type": body["type"],
            "status": "save",
            "create_time": datetime.now(UTC).isoformat(timespec="microseconds"),
            "send_time": "",
            "emails_sent": 0,
            "archive_url": f"https://eepurl.com/{campaign_id}",
            "long_archive_url": f"https://us21.campaign-archive.com/?id={campaign_id}",
            "recipients": self._recipients(body.get("recipients")),
            "settings": self._settings(body.get("settings", {})),
        }
        return self.answer(self.campaigns[campaign_id])

    def edit(self, request: Request, body: Any, campaign_id: str) -> Response:
        campaign = self._campaign(campaign_id)
        if not isinstance(body, dict) or set(body) - {"recipients", "settings", "tracking", "social_card"}:
            raise self._invalid("", "Schema describes object with recipients, settings")
        if campaign["status"] not in UNSENT:
            raise Refusal(400, "This campaign cannot be updated because it has already been sent or scheduled.")
        if "recipients" in body:
            campaign["recipients"] = self._recipients(body["recipients"])
        if "settings" in body:
            campaign["settings"] = {**campaign["settings"], **self._settings(body["settings"])}
        return self.answer(campaign)

    def set_content(self, request: Request, body: Any, campaign_id: str) -> Response:
        campaign = self._campaign(campaign_id)
        if (
            not isinstance(body, dict)
            or set(body) - CONTENT
            or not isinstance(body.get("html"), str)
            or not isinstance(body.get("plain_text", ""), str)
        ):
            raise self._invalid("", "Schema describes object with html and plain_text strings")
        if campaign["status"] not in UNSENT:
            raise Refusal(
                400, "This campaign's content cannot be updated because it has already been sent or scheduled."
            )
        self.contents[campaign_id] = body
        return self.answer(
            {"html": body["html"], "plain_text": body.get("plain_text", ""), "archive_html": body["html"]}
        )

    def _ready(self, campaign_id: str) -> dict[str, Any]:
        """The campaign, if it may be sent: unsent, with what Mailchimp's checklist asks."""
        campaign = self._campaign(campaign_id)
        if campaign["status"] not in UNSENT:
            raise Refusal(400, f"Cannot send a campaign whose status is {campaign['status']}.")
        missing = [
            {"field": f"settings.{name}", "message": "is required"}
            for name in ("subject_line", "from_name", "reply_to")
            if not campaign["settings"].get(name)
        ]
        if "*|UNSUB|*" not in self.contents.get(campaign_id, {}).get("html", ""):
            missing.append({"field": "content", "message": "The campaign must have an unsubscribe link (*|UNSUB|*)."})
        if missing:
            raise Refusal(400, "Your Campaign is not ready to send.", errors=missing)
        return campaign

    def _audience_size(self, recipients: dict[str, Any]) -> int:
        members = self.audiences[recipients["list_id"]]
        options = recipients.get("segment_opts") or {}
        if "saved_segment_id" in options:
            return len(self.segments[recipients["list_id"]][options["saved_segment_id"]])
        chosen = [
            m
            for m in members
            if all(m["merge_fields"].get(c["field"]) == c["value"] for c in options.get("conditions", []))
        ]
        return len(chosen)

    def send(self, request: Request, body: Any, campaign_id: str) -> Response:
        if body is not None:
            raise self._invalid("", "send takes no body")
        campaign = self._ready(campaign_id)
        campaign.update(
            status="sent",
            send_time=datetime.now(UTC).isoformat(),
            emails_sent=self._audience_size(campaign["recipients"]),
        )
        self.reports[campaign_id] = {
            "id": campaign_id,
            "campaign_title": campaign["settings"].get("title", ""),
            "type": "regular",
            "list_id": campaign["recipients"]["list_id"],
            "emails_sent": campaign["emails_sent"],
            "abuse_reports": 0,
            "unsubscribed": 0,
            "send_time": campaign["send_time"],
            "bounces": {"hard_bounces": 0, "soft_bounces": 0, "syntax_errors": 0},
            "forwards": {"forwards_count": 0, "forwards_opens": 0},
            "opens": {
                "opens_total": 0,
                "proxy_excluded_opens": 0,
                "unique_opens": 0,
                "proxy_excluded_unique_opens": 0,
                "open_rate": 0,
                "proxy_excluded_open_rate": 0,
                "last_open": "",
            },
            "clicks": {
                "clicks_total": 0,
                "unique_clicks": 0,
                "unique_subscriber_clicks": 0,
                "click_rate": 0,
                "last_click": "",
            },
        }
        return Response(status=204)

    def schedule(self, request: Request, body: Any, campaign_id: str) -> Response:
        if (
            not isinstance(body, dict)
            or "schedule_time" not in body
            or set(body) - {"schedule_time", "timewarp", "batch_delivery"}
        ):
            raise self._invalid("schedule_time", "Required property missing")
        try:
            when = datetime.fromisoformat(body["schedule_time"])
        except (TypeError, ValueError):
            raise self._invalid("schedule_time", "Not an ISO 8601 time") from None
        if when.tzinfo is None:
            raise self._invalid("schedule_time", "Give the time zone (UTC: +00:00)")
        if when.minute % 15 or when.second or when.microsecond:
            raise Refusal(400, "Schedule time must be on the quarter-hour (:00, :15, :30, :45).")
        if when <= datetime.now(UTC):
            raise Refusal(400, "Schedule time must be in the future.")
        campaign = self._ready(campaign_id)
        campaign.update(status="schedule", send_time=when.astimezone(UTC).isoformat())
        return Response(status=204)

    def get_report(self, request: Request, body: Any, campaign_id: str) -> Response:
        if campaign_id not in self.reports:
            raise Refusal(404, DETAILS[404])
        return self.answer(project(self.reports[campaign_id], request.args.get("fields")))

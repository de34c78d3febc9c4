"""A listmonk on loopback for the adapter's tests: a real HTTP server (pytest-httpserver)
that speaks listmonk's documented API (knadh/listmonk docs/docs/content/apis/campaigns.md,
apis.md) with campaigns, lists and templates held in memory.

What it checks, as listmonk does: `Authorization: token user:token` (or Basic) — 403
`{"message": "invalid API credentials"}` otherwise, as listmonk's auth middleware answers;
campaign bodies (required fields and their types, content types, list and template ids that
exist, `send_at` in RFC 3339 and in the future, the body compiled as a Go template, so an
action listmonk does not know is refused with 400); status transitions as documented (only a
draft may be scheduled, only a draft or paused campaign started, a scheduled one needs
`send_at`); running, cancelled and finished campaigns cannot be edited. Errors are listmonk's
`{"message": "…"}`. It is stricter than listmonk in one way: an unknown field in a campaign
is refused (Go would ignore it), so a misspelt field cannot pass unnoticed. Every refusal
caused by a malformed request is also written to `problems`, which the tests expect empty.

The server, routes, injected failures and request log are `kmcomms.testing.fake_api.FakeApi`'s.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from kmcomms.testing.fake_api import FakeApi, Refusal

__all__ = ["FakeListmonk"]


# ---------------------------------------------------------------------------- listmonk

#: The fields POST/PUT /api/campaigns takes (docs, plus those the listmonk UI sends).
CAMPAIGN_FIELDS = {
    "name",
    "subject",
    "lists",
    "from_email",
    "type",
    "content_type",
    "body",
    "altbody",
    "send_at",
    "messenger",
    "template_id",
    "tags",
    "headers",
    "archive",
    "archive_template_id",
    "archive_meta",
}
CONTENT_TYPES = {"richtext", "html", "markdown", "plain", "visual"}
#: What listmonk says with each error status.
MESSAGES = {
    400: "invalid request",
    401: "invalid session",
    403: "permission denied: campaigns:manage",
    404: "Campaign not found",
    409: "conflict",
    422: "unprocessable",
    429: "too many requests",
}
#: Go template actions a body may hold here: listmonk's functions and subscriber fields,
#: and a quoted string (how a literal "{{" is written).
ACTION = re.compile(
    r'\s*(?:UnsubscribeURL|OptinURL|MessageURL|TrackView|TrackLink\s+"[^"]*"|\.Subscriber\.[A-Za-z.]+|"[^"]*")\s*'
)


def _go_template_error(text: str) -> str | None:
    for action in re.findall(r"\{\{(.*?)\}\}", text, flags=re.DOTALL):
        if not ACTION.fullmatch(action):
            name = action.strip().split()[0] if action.strip() else ""
            return f'template: content:1: function "{name}" not defined'
    return None


class FakeListmonk(FakeApi):
    """listmonk with `lists` ({id: subscriber count}) and `templates` (ids)."""

    def __init__(self, user: str, token: str, lists: dict[int, int], templates: tuple[int, ...] = (1,)) -> None:
        super().__init__()
        self.user, self.token = user, token
        self.lists = {
            list_id: {"id": list_id, "name": f"List {list_id}", "subscriber_count": count, "type": "private"}
            for list_id, count in lists.items()
        }
        self.templates = set(templates)
        self.campaigns: dict[int, dict[str, Any]] = {}
        self.route("GET", r"/api/lists", self.get_lists)
        self.route("GET", r"/api/templates/(\d+)", self.get_template)
        self.route("GET", r"/api/campaigns", self.query_campaigns)
        self.route("POST", r"/api/campaigns", self.create)
        self.route("GET", r"/api/campaigns/(\d+)", self.get_campaign)
        self.route("PUT", r"/api/campaigns/(\d+)", self.update)
        self.route("PUT", r"/api/campaigns/(\d+)/status", self.change_status)

    def authorise(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        pair = None
        if header.startswith("token "):
            pair = header[len("token ") :].strip()
        elif header.startswith("Basic "):
            pair = base64.b64decode(header[len("Basic ") :]).decode()
        if pair != f"{self.user}:{self.token}":
            raise Refusal(403, "invalid API credentials")

    def error(
        self, status: int, message: str | None, errors: list[dict[str, str]], headers: dict[str, str]
    ) -> Response:
        return self.answer({"message": message or MESSAGES.get(status, "internal server error")}, status, headers)

    # ------------------------------------------------------------------ routes

    def get_lists(self, request: Request, body: Any) -> Response:
        results = list(self.lists.values())
        return self.answer(
            {"data": {"results": results, "total": len(results), "per_page": request.args.get("per_page"), "page": 1}}
        )

    def get_template(self, request: Request, body: Any, template_id: str) -> Response:
        if int(template_id) not in self.templates:
            raise Refusal(404, "Template not found")
        return self.answer({"data": {"id": int(template_id), "type": "campaign", "name": "Bare"}})

    def query_campaigns(self, request: Request, body: Any) -> Response:
        per_page = request.args.get("per_page", "20")
        if per_page != "all" and not per_page.isdigit():
            raise Refusal(400, "invalid per_page", malformed=True)
        query = request.args.get("query", "").lower()
        results = [c for c in self.campaigns.values() if query in f"{c['name']} {c['subject']}".lower()]
        shown = results if per_page == "all" else results[: int(per_page)]
        return self.answer(
            {"data": {"results": shown, "query": query, "total": len(results), "per_page": per_page, "page": 1}}
        )

    def _campaign(self, campaign_id: str) -> dict[str, Any]:
        if int(campaign_id) not in self.campaigns:
            raise Refusal(404, "Campaign not found")
        return self.campaigns[int(campaign_id)]

    def get_campaign(self, request: Request, body: Any, campaign_id: str) -> Response:
        return self.answer({"data": self._campaign(campaign_id)})

    def _validated(self, body: Any) -> dict[str, Any]:
        def bad(message: str) -> Refusal:
            return Refusal(400, message, malformed=True)

        if not isinstance(body, dict):
            raise bad("request body is not a JSON object")
        if unknown := set(body) - CAMPAIGN_FIELDS:
            raise bad(f"unknown fields: {', '.join(sorted(unknown))}")
        for name in ("name", "subject"):
            if not isinstance(body.get(name), str) or not 1 <= len(body[name]) <= 2000:
                raise bad(f"Invalid length for {name}")
        if body.get("type", "regular") not in ("regular", "optin"):
            raise bad("Invalid campaign type")
        if body.get("content_type") not in CONTENT_TYPES:
            raise bad("Invalid content_type")
        if not isinstance(body.get("body"), str) or not isinstance(body.get("altbody", ""), str | None):
            raise bad("body and altbody are text")
        lists = body.get("lists")
        if not isinstance(lists, list) or not lists or not all(isinstance(i, int) for i in lists):
            raise bad("Invalid lists")
        if missing := [i for i in lists if i not in self.lists]:
            raise Refusal(400, f"list {missing[0]} not found")
        if not isinstance(body.get("tags", []), list) or not all(isinstance(t, str) for t in body.get("tags", [])):
            raise bad("tags are a list of text")
        template = body.get("template_id")
        if template is not None and (not isinstance(template, int) or template not in self.templates):
            raise Refusal(400, "Template not found")
        send_at = body.get("send_at")
        if send_at is not None:
            try:
                when = datetime.fromisoformat(send_at)
            except (TypeError, ValueError):
                raise bad(f"send_at: cannot parse {send_at!r} as RFC 3339") from None
            if when.tzinfo is None:
                raise bad(f"send_at: {send_at!r} has no time zone: Go's time.Time needs RFC 3339")
            if when < datetime.now(UTC):
                raise Refusal(400, "send_at date should be in the future")
        for part in ("body", "altbody"):
            problem = _go_template_error(body.get(part) or "")
            if problem:
                raise Refusal(400, f"Error compiling template: {problem}", malformed=True)
        return body

    def create(self, request: Request, body: Any) -> Response:
        fields = self._validated(body)
        campaign_id = len(self.campaigns) + 1
        campaign = {
            "id": campaign_id,
            "uuid": f"00000000-0000-4000-8000-{campaign_id:012d}",
            "created_at": datetime.now(UTC).isoformat(),
            "status": "draft",
            "views": 0,
            "clicks": 0,
            "bounces": 0,
            "sent": 0,
            "to_send": 0,
            "started_at": None,
            "type": "regular",
            "template_id": min(self.templates),
            "messenger": "email",
            "tags": [],
            "altbody": None,
            "send_at": None,
        }
        self.campaigns[campaign_id] = campaign
        self._apply(campaign, fields)
        return self.answer({"data": campaign})

    def _apply(self, campaign: dict[str, Any], fields: dict[str, Any]) -> None:
        campaign.update({k: v for k, v in fields.items() if k != "lists"})
        campaign["lists"] = [{"id": i, "name": self.lists[i]["name"]} for i in fields["lists"]]
        campaign["to_send"] = sum(self.lists[i]["subscriber_count"] for i in fields["lists"])

    def update(self, request: Request, body: Any, campaign_id: str) -> Response:
        campaign = self._campaign(campaign_id)
        if campaign["status"] in ("running", "cancelled", "finished"):
            raise Refusal(400, "Cannot update a running or a finished campaign.")
        self._apply(campaign, self._validated(body))
        return self.answer({"data": campaign})

    def change_status(self, request: Request, body: Any, campaign_id: str) -> Response:
        campaign = self._campaign(campaign_id)
        wanted = body.get("status") if isinstance(body, dict) else None
        if set(body or {}) != {"status"} or wanted not in ("scheduled", "running", "paused", "cancelled", "draft"):
            raise Refusal(400, "Invalid status", malformed=True)
        allowed = {
            "scheduled": ("draft",),
            "draft": ("scheduled",),
            "running": ("draft", "paused"),
            "paused": ("running",),
            "cancelled": ("running",),
        }[wanted]
        if campaign["status"] not in allowed:
            raise Refusal(400, f"Cannot change the status of a {campaign['status']} campaign to {wanted}")
        if wanted == "scheduled" and not campaign.get("send_at"):
            raise Refusal(400, "Campaign needs a send_at date to be scheduled")
        campaign["status"] = wanted
        if wanted == "running":  # sent at once, here
            campaign["started_at"], campaign["sent"] = datetime.now(UTC).isoformat(), campaign["to_send"]
        return self.answer({"data": campaign})

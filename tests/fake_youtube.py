"""A YouTube Data API v3 and Google OAuth token endpoint on loopback, for testing the
`youtube` adapter without Google.

Every request is checked against the YouTube discovery document that google-api-python-client
ships (`googleapiclient/discovery_cache/documents/youtube.v3.json`), the same document Google's
own client is generated from:

- the method: its HTTP method and path;
- its query parameters: each one known, each required one present, enum values, booleans
  and integers;
- the `part` names: properties of the resource;
- the request body: `$ref`s resolved to schemas (Video, VideoSnippet, VideoStatus,
  VideoLocalization, PlaylistItem…), and for each value its property names, its type,
  its enum and its format (date-time, uint64), as well as the fields that the document
  marks as required for the method.

The fake then checks the limits YouTube documents that the discovery document does not
encode:

- a title is at most 100 characters and a description at most 5000 bytes, and neither
  contains < or >;
- tags are at most 500 characters in total (commas count, and a tag that contains a space
  counts its quotes);
- `categoryId` is a string of digits;
- `publishAt` is in the future and is set only with `privacyStatus` private;
- localizations need a default language;
- updating the snippet requires `title` and `categoryId`.

The fake's own answers are checked against the document's response schemas too, so it
cannot drift from the real shapes.

Refusals use Google's error shape: `{"error": {"code", "message", "errors": [{"domain",
"reason", "message"}], "status"}}`. The token endpoint uses the OAuth one: `{"error",
"error_description"}`. State is kept in memory: videos, playlists and their items, the
tokens issued, and the quota units used, at YouTube's documented costs (1 per list, 50 per
write). The server, injected failures and request log (`seen`) are
`kmcomms.testing.fake_api.FakeApi`'s, and every refusal caused by a malformed request is
written to its `problems`.

The limits are written out here independently of kmcomms's own (kmcomms.render.preflight), so that
the fake is a check on kmcomms and not a copy of it. A body part that `part` does not list
is refused. YouTube would ignore it silently; refusing it catches an adapter that forgot to
list a part.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from googleapiclient.discovery_cache import get_static_doc
from werkzeug import Request, Response

from kmcomms.testing.fake_api import FakeApi, Refusal, Seen

__all__ = ["Discovery", "FakeYouTube", "GoogleRefusal"]

API = "/youtube/v3/"
TOKEN = "/token"
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
#: What `fail_next(status)` answers, as YouTube does: (domain, reason, message).
FAILURES = {
    400: ("youtube.video", "invalidVideoMetadata", "The request metadata is invalid."),
    401: ("global", "authError", "Invalid Credentials"),
    403: ("global", "forbidden", "Forbidden"),
    404: ("youtube.video", "videoNotFound", "The video that you are trying to update cannot be found."),
    409: ("global", "conflict", "The request conflicts with another in progress."),
    429: ("usageLimits", "rateLimitExceeded", "The request rate is too high."),
    500: ("global", "backendError", "Backend Error"),
    503: ("global", "backendError", "The service is currently unavailable."),
}
REASON_DOMAINS = {
    "quotaExceeded": "youtube.quota",
    "dailyLimitExceeded": "usageLimits",
    "rateLimitExceeded": "usageLimits",
    "userRateLimitExceeded": "usageLimits",
}
# Google's front end answers a 502 with an HTML page, not JSON.
BAD_GATEWAY = "<!DOCTYPE html><html lang=en><title>Error 502 (Server Error)!!1</title><p><b>502.</b> That's an error."
WRITABLE = {
    "snippet": {"title", "description", "tags", "categoryId", "defaultLanguage", "defaultAudioLanguage"},
    "status": {
        "privacyStatus",
        "publishAt",
        "license",
        "embeddable",
        "publicStatsViewable",
        "selfDeclaredMadeForKids",
        "containsSyntheticMedia",
    },
}
CATEGORIES = {"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28", "29"}
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class GoogleRefusal(Refusal):
    """A refusal in Google's error shape, raised from anywhere in a request's handling: one
    error, with its `reason` and `domain`."""

    def __init__(self, code: int, reason: str, message: str, domain: str = "global", malformed: bool = False) -> None:
        super().__init__(
            code, message, malformed=malformed, errors=[{"message": message, "domain": domain, "reason": reason}]
        )


class Discovery:
    """Checks requests and responses against YouTube's discovery document."""

    def __init__(self) -> None:
        self.doc = json.loads(get_static_doc("youtube", "v3"))
        self.schemas: dict[str, Any] = self.doc["schemas"]
        self.methods = {
            (m["httpMethod"], m["path"]): m
            for resource in self.doc["resources"].values()
            for m in resource.get("methods", {}).values()
        }

    def method(self, http_method: str, path: str) -> dict[str, Any] | None:
        return self.methods.get((http_method, path.lstrip("/")))

    def resource(self, method: dict[str, Any]) -> str:
        """The schema a method's `part` names properties of."""
        if "request" in method:
            return str(method["request"]["$ref"])
        return str(self.schemas[method["response"]["$ref"]]["properties"]["items"]["items"]["$ref"])

    def parameters(self, method: dict[str, Any], args: dict[str, list[str]]) -> list[str]:
        known = {**self.doc["parameters"], **method["parameters"]}
        problems = [
            f"Required parameter: {name}" for name, spec in known.items() if spec.get("required") and name not in args
        ]
        for name, values in args.items():
            spec = known.get(name)
            if spec is None:
                problems.append(f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter.')
                continue
            if len(values) > 1 and not spec.get("repeated"):
                problems.append(f"Parameter {name} is not repeated")
            for value in (v for raw in values for v in (raw.split(",") if spec.get("repeated") else [raw])):
                problems += self.value(spec, _scalar(spec, value), name)
        writes = "request" in method
        for part in (p for raw in args.get("part", []) for p in raw.split(",")):
            if part not in self.schemas[self.resource(method)]["properties"] or (
                writes and part in ("id", "kind", "etag")
            ):
                problems.append(f"'{part}' is not a valid value for part")
        return problems

    def body(self, method: dict[str, Any], body: Any) -> list[str]:
        return self.value(method["request"], body, "resource", method["id"])

    def response(self, method: dict[str, Any], body: Any) -> list[str]:
        return self.value(method["response"], body, "response") if "response" in method else []

    def value(self, schema: dict[str, Any], value: Any, where: str, method_id: str | None = None) -> list[str]:
        """What is wrong with `value` as an instance of `schema` (a `$ref` or inline)."""
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        kind = schema.get("type")
        wrong = [f"Invalid value at '{where}' ({kind}), {json.dumps(value)}"]
        if kind == "object":
            if not isinstance(value, dict):
                return wrong
            properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
            problems = [
                f"'{where}.{name}' is required"
                for name, spec in properties.items()
                if method_id in spec.get("annotations", {}).get("required", []) and name not in value
            ]
            for name, item in value.items():
                if name in properties:
                    problems += self.value(properties[name], item, f"{where}.{name}", method_id)
                elif extra is not None:
                    problems += self.value(extra, item, f'{where}["{name}"]', method_id)
                else:
                    problems.append(
                        f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
                    )
            return problems
        if kind == "array":
            if not isinstance(value, list):
                return wrong
            return [
                p for i, item in enumerate(value) for p in self.value(schema["items"], item, f"{where}[{i}]", method_id)
            ]
        if kind == "boolean":
            return [] if isinstance(value, bool) else wrong
        if kind == "number":
            return [] if isinstance(value, int | float) and not isinstance(value, bool) else wrong
        if kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                return wrong
            low = 0 if schema.get("format", "").startswith("uint") else schema.get("minimum")
            high = schema.get("maximum")
            return wrong if (low is not None and value < int(low)) or (high is not None and value > int(high)) else []
        if kind == "string":
            if not isinstance(value, str) or value not in schema.get("enum", [value]):
                return wrong
            return wrong if not _formatted(schema.get("format"), value) else []
        return []


def _scalar(spec: dict[str, Any], raw: str) -> Any:
    """A query parameter's text as the JSON value its spec describes."""
    if spec.get("type") == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if spec.get("type") == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw


def _formatted(fmt: str | None, value: str) -> bool:
    if fmt in ("date-time", "google-datetime"):
        try:
            return datetime.fromisoformat(value).tzinfo is not None
        except ValueError:
            return False
    if fmt in ("uint64", "int64"):
        return re.fullmatch(r"\d+" if fmt == "uint64" else r"-?\d+", value) is not None
    return True


def tags_length(tags: list[str]) -> int:
    """YouTube counts tags joined by commas, with quotes around a tag that has a space."""
    return len(",".join(f'"{t}"' if " " in t else t for t in tags))


def _text_limits(where: str, title: str | None, description: str | None) -> None:
    if title is not None and (not title.strip() or len(title) > 100 or re.search("[<>]", title)):
        raise GoogleRefusal(
            400,
            "invalidTitle",
            f"{where}: the title is empty, over 100 characters or has < or >",
            "youtube.video",
            malformed=True,
        )
    if description is not None and (len(description.encode()) > 5000 or re.search("[<>]", description)):
        raise GoogleRefusal(
            400,
            "invalidDescription",
            f"{where}: the description is over 5000 bytes or has < or >",
            "youtube.video",
            malformed=True,
        )


@dataclass
class FakeYouTube(FakeApi):
    """The fake: `start()` (or `with`), then point the adapter's `api_url` at `api_url`
    and its `token_url` at `token_url`. `clock` is the time it issues and expires tokens by."""

    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    client_id: str = "12345-fake.apps.googleusercontent.com"
    client_secret: str = "GOCSPX-fake-client-secret"
    refresh_token: str = "1//fake-refresh-token"
    channel_id: str = "UCkmcommsFakeChannel0001"
    quota_limit: int = 10_000
    has_channel: bool = True
    token_lifetime: int = 3599
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    playlists: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens_issued: int = 0
    unauthorised: int = 0
    quota_used: int = 0

    json_type = "application/json; charset=UTF-8"

    def __post_init__(self) -> None:
        super().__init__()
        self.discovery = Discovery()
        self._tokens: dict[str, datetime] = {}
        self._ids = itertools.count(1)
        self.faults: list[str] = []
        """Answers of the fake itself that do not match the document (a bug in the fake)."""

    # ------------------------------------------------------------------ set up and inspect

    @property
    def api_url(self) -> str:
        return self.url + "/youtube/v3"

    @property
    def token_url(self) -> str:
        return self.url + TOKEN

    def add_video(
        self,
        video_id: str,
        title: str = "An upload",
        owner: str | None = None,
        status: dict[str, Any] | None = None,
        **snippet: Any,
    ) -> dict[str, Any]:
        video = {
            "id": video_id,
            "owner": owner or self.channel_id,
            "localizations": {},
            "snippet": {
                "title": title,
                "description": "",
                "categoryId": "22",
                "channelId": owner or self.channel_id,
                "publishedAt": "2027-01-04T10:00:00Z",
                **snippet,
            },
            "status": {
                "uploadStatus": "processed",
                "privacyStatus": "private",
                "license": "youtube",
                "embeddable": True,
                "publicStatsViewable": True,
                **(status or {}),
            },
            "statistics": {"viewCount": "0", "likeCount": "0", "favoriteCount": "0", "commentCount": "0"},
        }
        self.videos[video_id] = video
        return video

    def add_playlist(self, playlist_id: str, owner: str | None = None) -> None:
        self.playlists[playlist_id] = {"owner": owner or self.channel_id, "items": []}

    def fail_next(self, status: int, headers: dict[str, str] | None = None, reason: str | None = None) -> None:
        """Answer the next API request (not the token endpoint) with `status`, as YouTube
        does (with `reason` in the body when given). A 401 is access withdrawn: every
        token, the refresh token too, stops working."""

        def answer() -> Response:
            if status == 401:
                self._tokens.clear()
                self.refresh_token = "revoked"
            if status == 502:
                return Response(BAD_GATEWAY, status=502, headers=headers, content_type="text/html; charset=UTF-8")
            if reason is None:
                return self.error(status, None, [], headers or {})
            message = FAILURES.get(status, ("global", "unknown", "Error"))[2]
            return self.error(
                status,
                message,
                [{"message": message, "domain": REASON_DOMAINS.get(reason, "global"), "reason": reason}],
                headers or {},
            )

        self.intercept(rf"\S+ {API}.*", answer)

    def fail_token(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next token request with `status` and a page of text, as an overloaded
        front end does."""
        self.intercept(
            rf"\S+ {TOKEN}",
            lambda: Response("Service Unavailable", status=status, headers=headers or {}, content_type="text/plain"),
        )

    def revoke_access_tokens(self) -> None:
        """Access tokens stop working before their expiry; the refresh token still works."""
        self._tokens.clear()

    def api_calls(self, method: str | None = None, resource: str | None = None) -> list[Seen]:
        return [
            c
            for c in self.seen
            if c.path.startswith(API)
            and (method is None or c.method == method)
            and (resource is None or c.path == API + resource)
        ]

    # ------------------------------------------------------------------ HTTP

    def error(
        self, status: int, message: str | None, errors: list[dict[str, str]], headers: dict[str, str]
    ) -> Response:
        if message is None:  # an injected failure: what YouTube usually says with `status`
            domain, reason, message = FAILURES.get(status, ("global", "unknown", "Error"))
            errors = [{"message": message, "domain": domain, "reason": reason}]
        return self.answer(
            {
                "error": {
                    "code": status,
                    "message": message,
                    "status": STATUS_NAMES.get(status, "UNKNOWN"),
                    "errors": errors,
                }
            },
            status,
            headers,
        )

    def respond(self, request: Request, body: Any) -> Response:
        return self._token(request) if request.path == TOKEN else self._api(request)

    def _token(self, request: Request) -> Response:
        form = request.form
        if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
            return self.answer({"error": "invalid_request", "error_description": "POST a form"}, 400)
        if form.get("grant_type") != "refresh_token":
            return self.answer({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}, 400)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self.answer({"error": "invalid_client", "error_description": "The OAuth client was not found."}, 401)
        if form.get("refresh_token") != self.refresh_token:
            return self.answer(
                {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, 400
            )
        self.tokens_issued += 1
        token = f"ya29.fake-access-{self.tokens_issued}"
        self._tokens[token] = self.clock() + timedelta(seconds=self.token_lifetime)
        return self.answer(
            {
                "access_token": token,
                "expires_in": self.token_lifetime,
                "token_type": "Bearer",
                "scope": "https://www.googleapis.com/auth/youtube.force-ssl",
            }
        )

    def _api(self, request: Request) -> Response:
        method = self.discovery.method(request.method, request.path)
        if method is None:
            return Response("Not Found", status=404, content_type="text/html")
        args = {k: v for k, v in request.args.lists()}
        problems = self.discovery.parameters(method, args)
        body = None
        if "request" in method:
            if request.mimetype != "application/json":
                raise GoogleRefusal(
                    400, "badContent", f"Content-Type is {request.mimetype!r}, not application/json", malformed=True
                )
            try:
                body = json.loads(request.get_data(as_text=True))
            except ValueError:
                raise GoogleRefusal(400, "parseError", "Invalid JSON payload received.", malformed=True) from None
            problems += self.discovery.body(method, body)
        if problems:
            raise GoogleRefusal(400, "invalid", "; ".join(problems), malformed=True)
        cost = 1 if request.method == "GET" else 50
        if self.quota_used + cost > self.quota_limit:
            raise GoogleRefusal(
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your "
                '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                "youtube.quota",
            )
        self.quota_used += cost
        params = {k: ",".join(v) for k, v in args.items()}
        answer = getattr(self, "_" + method["id"].removeprefix("youtube.").replace(".", "_"))(params, body)
        self.faults += self.discovery.response(method, answer)
        return self.answer(answer)

    def authorise(self, request: Request) -> None:
        if request.path == TOKEN:
            return
        if "access_token" in request.args or "key" in request.args:
            raise GoogleRefusal(
                400, "invalid", "credentials must go in the Authorization header, not the address", malformed=True
            )
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            self.unauthorised += 1
            raise GoogleRefusal(401, "required", "Request is missing required authentication credential.")
        expires = self._tokens.get(token)
        if expires is None or expires <= self.clock():
            self.unauthorised += 1
            raise GoogleRefusal(401, "authError", "Request had invalid authentication credentials.")

    # ------------------------------------------------------------------ the methods

    def _resource(self, video: dict[str, Any], parts: list[str]) -> dict[str, Any]:
        found = {
            "kind": "youtube#video",
            "etag": f"etag-{video['id']}",
            "id": video["id"],
            **{p: video[p] for p in parts if p in video},
        }
        if "snippet" in found:  # as YouTube does: the listing in the default language, read-only
            snippet = found["snippet"]
            found["snippet"] = {
                **snippet,
                "localized": {"title": snippet["title"], "description": snippet.get("description", "")},
            }
        return found

    def _videos_list(self, params: dict[str, str], body: None) -> dict[str, Any]:
        parts = params["part"].split(",")
        found = [self._resource(self.videos[i], parts) for i in params.get("id", "").split(",") if i in self.videos]
        return {
            "kind": "youtube#videoListResponse",
            "etag": "list",
            "items": found,
            "pageInfo": {"totalResults": len(found), "resultsPerPage": len(found)},
        }

    def _videos_update(self, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        parts = params["part"].split(",")
        video = self.videos.get(body["id"])
        if video is None:
            raise GoogleRefusal(
                404, "videoNotFound", "The video that you are trying to update cannot be found.", "youtube.video"
            )
        if video["owner"] != self.channel_id:
            raise GoogleRefusal(
                403, "forbidden", "The video that you are trying to update belongs to another channel.", "youtube.video"
            )
        unlisted = set(body) - set(parts) - {"id", "kind", "etag"}
        if unlisted:
            raise GoogleRefusal(
                400, "invalid", f"the body has {sorted(unlisted)} but part lists {parts}", malformed=True
            )
        snippet = body.get("snippet", {}) if "snippet" in parts else video["snippet"]
        if "snippet" in parts:
            if "title" not in snippet or "categoryId" not in snippet:
                raise GoogleRefusal(
                    400,
                    "invalidVideoMetadata",
                    "updating the snippet needs its title and categoryId",
                    "youtube.video",
                    malformed=True,
                )
            _text_limits("snippet", snippet["title"], snippet.get("description"))
            if tags_length(snippet.get("tags", [])) > 500:
                raise GoogleRefusal(
                    400, "invalidTags", "the tags are over 500 characters", "youtube.video", malformed=True
                )
            if snippet["categoryId"] not in CATEGORIES:
                raise GoogleRefusal(
                    400, "invalidCategoryId", f"no category {snippet['categoryId']}", "youtube.video", malformed=True
                )
        localizations = body.get("localizations", {}) if "localizations" in parts else video["localizations"]
        for language, text in localizations.items():
            if not LANGUAGE.fullmatch(language):
                raise GoogleRefusal(
                    400, "invalidLanguage", f"{language!r} is not a language tag", "youtube.video", malformed=True
                )
            _text_limits(f"localizations[{language}]", text.get("title"), text.get("description"))
        if localizations and not snippet.get("defaultLanguage"):
            raise GoogleRefusal(
                400,
                "defaultLanguageNotSet",
                "localizations need snippet.defaultLanguage",
                "youtube.video",
                malformed=True,
            )
        status = body.get("status", {})
        if "publishAt" in status and (
            status.get("privacyStatus") != "private" or datetime.fromisoformat(status["publishAt"]) <= self.clock()
        ):
            raise GoogleRefusal(
                400,
                "invalidPublishAt",
                "publishAt must be in the future, on a private video",
                "youtube.video",
                malformed=True,
            )
        for part in parts:  # each listed part is replaced whole: writable fields left out are cleared
            if part in WRITABLE:
                kept = {k: v for k, v in video[part].items() if k not in WRITABLE[part]}
                video[part] = kept | {k: v for k, v in body.get(part, {}).items() if k in WRITABLE[part]}
            elif part == "localizations":
                video["localizations"] = dict(localizations)
        return self._resource(video, parts)

    def _playlist(self, playlist_id: str) -> dict[str, Any]:
        if playlist_id not in self.playlists:
            raise GoogleRefusal(
                404, "playlistNotFound", f"The playlist {playlist_id} cannot be found.", "youtube.playlistItem"
            )
        return self.playlists[playlist_id]

    def _playlistItems_list(self, params: dict[str, str], body: None) -> dict[str, Any]:
        if "playlistId" not in params:
            raise GoogleRefusal(400, "invalid", "No filter selected. Expected one of: playlistId, id", malformed=True)
        items = [
            item
            for item in self._playlist(params["playlistId"])["items"]
            if params.get("videoId") in (None, item["snippet"]["resourceId"]["videoId"])
        ]
        shown = [
            {k: v for k, v in item.items() if k in ("kind", "etag", "id", *params["part"].split(","))} for item in items
        ]
        return {
            "kind": "youtube#playlistItemListResponse",
            "etag": "items",
            "items": shown,
            "pageInfo": {"totalResults": len(shown), "resultsPerPage": len(shown)},
        }

    def _playlistItems_insert(self, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        snippet = body["snippet"]
        playlist = self._playlist(snippet["playlistId"])
        if playlist["owner"] != self.channel_id:
            raise GoogleRefusal(
                403, "playlistItemsNotAccessible", "The playlist belongs to another channel.", "youtube.playlistItem"
            )
        resource = snippet["resourceId"]
        if resource.get("kind") != "youtube#video" or resource.get("videoId") not in self.videos:
            raise GoogleRefusal(404, "videoNotFound", "The video cannot be found.", "youtube.playlistItem")
        item = {
            "kind": "youtube#playlistItem",
            "etag": "item",
            "id": f"PLI{next(self._ids)}",
            "snippet": {
                "playlistId": snippet["playlistId"],
                "position": len(playlist["items"]),
                "resourceId": {"kind": "youtube#video", "videoId": resource["videoId"]},
                "title": self.videos[resource["videoId"]]["snippet"]["title"],
                "channelId": self.channel_id,
            },
        }
        playlist["items"].append(item)
        return item

    def _channels_list(self, params: dict[str, str], body: None) -> dict[str, Any]:
        mine = (
            [{"kind": "youtube#channel", "etag": "me", "id": self.channel_id}]
            if params.get("mine") == "true" and self.has_channel
            else []
        )
        return {
            "kind": "youtube#channelListResponse",
            "etag": "channels",
            "items": mine,
            "pageInfo": {"totalResults": len(mine), "resultsPerPage": len(mine)},
        }

    def _playlists_list(self, params: dict[str, str], body: None) -> dict[str, Any]:
        found = [
            {
                "kind": "youtube#playlist",
                "etag": "pl",
                "id": i,
                "snippet": {"channelId": self.playlists[i]["owner"], "title": f"Playlist {i}"},
            }
            for i in params.get("id", "").split(",")
            if i in self.playlists
        ]
        return {
            "kind": "youtube#playlistListResponse",
            "etag": "playlists",
            "items": found,
            "pageInfo": {"totalResults": len(found), "resultsPerPage": len(found)},
        }

    def playlist_items(self, playlist_id: str) -> list[str]:
        """The video ids in a playlist, in order."""
        return [item["snippet"]["resourceId"]["videoId"] for item in self.playlists[playlist_id]["items"]]

"""A Bluesky PDS and AppView on loopback that speak the documented XRPC contract (see
../shared/reference/channel-apis.md §7b and the lexicons under
bluesky-social/atproto/lexicons): sessions, post records, and the AppView's getPosts.

What a real PDS refuses it refuses, with the PDS's bodies (`{"error", "message"}`):
a wrong password, an unknown or expired token (400 `ExpiredToken`, as the PDS answers),
a record that breaks the `app.bsky.feed.post` lexicon (text over 300 graphemes or 3000
bytes, more than 3 langs, a record key that is not a TID), a second create under a taken
key. What a PDS would accept but the adapter must still get right goes into `problems`
(asserted empty by the fixtures): a link facet whose UTF-8 byte range does not hold its
address, a `createdAt` without a time zone, a post with an address and no facet.

The server, routes, injected failures and request log are `kmcomms.testing.fake_api.FakeApi`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug import Request, Response

from kmcomms.channels.social_text import graphemes
from kmcomms.testing.fake_api import FakeApi, Seen

__all__ = ["ERROR_BODIES", "FakeBluesky"]

TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
POST = "app.bsky.feed.post"

#: What the PDS answers with each error status (@atproto/xrpc-server's error bodies).
ERROR_BODIES: dict[int, dict[str, str]] = {
    400: {"error": "InvalidRequest", "message": "Input/record must be an object"},
    401: {"error": "AuthenticationRequired", "message": "Authentication Required"},
    403: {"error": "Forbidden", "message": "Forbidden"},
    404: {"error": "NotFound", "message": "Not Found"},
    429: {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
    500: {"error": "InternalServerError", "message": "Internal Server Error"},
    502: {"error": "UpstreamFailure", "message": "Upstream Failure"},
    503: {"error": "NotEnoughResources", "message": "Service Unavailable"},
}


@dataclass
class FakeBluesky(FakeApi):
    handle: str
    password: str
    did: str = "did:plc:unit4test5fake6pds7abc"
    #: How this PDS refuses a create under a taken key: the reference PDS's MST error
    #: surfaces as a 500; others say InvalidSwap or "already exists" (400).
    taken: tuple[int, dict[str, str]] = (500, ERROR_BODIES[500])
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    sessions: int = 0
    refreshes: int = 0

    def __post_init__(self) -> None:
        super().__init__()
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.expired: set[str] = set()
        for method, nsid, handler in [
            ("POST", "com.atproto.server.createSession", self._create_session),
            ("POST", "com.atproto.server.refreshSession", self._refresh_session),
            ("POST", "com.atproto.repo.createRecord", self._create_record),
            ("POST", "com.atproto.repo.deleteRecord", self._delete_record),
            ("GET", "com.atproto.repo.getRecord", self._get_record),
            ("GET", "app.bsky.feed.getPosts", self._get_posts),
        ]:
            self.route(method, "/xrpc/" + re.escape(nsid), handler)

    # ------------------------------------------------------------------ test handles

    def expire_access_tokens(self) -> None:
        """Two hours later: every access token handed out so far has expired."""
        self.expired |= self.access

    def items(self) -> int:
        return len(self.records)

    def calls(self, nsid: str) -> list[Seen]:
        return [s for s in self.seen if s.path == f"/xrpc/{nsid}"]

    # ------------------------------------------------------------------ the API

    def error(
        self, status: int, message: str | None, errors: list[dict[str, str]], headers: dict[str, str]
    ) -> Response:
        """The PDS's body for `status`; the fake's own refusals (no such method, not JSON) as InvalidRequest."""
        body = ERROR_BODIES[status] if message is None else {"error": "InvalidRequest", "message": message}
        return self.answer(body, status, headers)

    def _error(self, status: int, error: str, message: str) -> Response:
        return self.answer({"error": error, "message": message}, status)

    def _bearer(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""

    def _authorised(self, request: Request) -> Response | None:
        """None when the access token is good, else the PDS's refusal."""
        token = self._bearer(request)
        if token in self.expired:
            return self._error(400, "ExpiredToken", "Token has expired")
        if token not in self.access:
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        return None

    def _tokens(self) -> dict[str, str]:
        number = self.sessions + self.refreshes - 1  # each login or refresh issues the next pair
        access, refresh = f"access-{number}", f"refresh-{number}"
        self.access.add(access)
        self.refresh.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": self.handle, "did": self.did}

    def _create_session(self, request: Request, body: Any) -> Response:
        body = body or {}
        if body.get("identifier") not in (self.handle, self.did) or body.get("password") != self.password:
            return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.sessions += 1
        return self.answer({**self._tokens(), "active": True})

    def _refresh_session(self, request: Request, body: Any) -> Response:
        token = self._bearer(request)
        if token not in self.refresh:
            return self._error(400, "ExpiredToken", "Token has been revoked")
        self.refresh.discard(token)  # a refresh token is used once
        self.refreshes += 1
        return self.answer(self._tokens())

    def _uri(self, rkey: str) -> str:
        return f"at://{self.did}/{POST}/{rkey}"

    def _create_record(self, request: Request, body: Any) -> Response:
        body = body or {}
        if refusal := self._authorised(request):
            return refusal
        if body.get("repo") not in (self.did, self.handle):
            return self._error(400, "InvalidRequest", f"Could not find repo: {body.get('repo')}")
        if body.get("collection") != POST:
            return self._error(400, "InvalidRequest", "this fake holds posts only")
        rkey = body.get("rkey")
        if not (isinstance(rkey, str) and TID.fullmatch(rkey)):
            self.problems.append(f"record key {rkey!r} is not a TID, as app.bsky.feed.post's lexicon requires")
            return self._error(400, "InvalidRequest", f"Invalid record key: {rkey}")
        record = body.get("record")
        if message := self._invalid(record):
            return self._error(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {message}")
        if rkey in self.records:
            status, error = self.taken
            return self.answer(error, status)
        cid = f"bafyrei{len(self.records):052d}"
        self.records[rkey] = {"uri": self._uri(rkey), "cid": cid, "value": record}
        self.counts[rkey] = {"likeCount": 0, "repostCount": 0, "replyCount": 0, "quoteCount": 0}
        return self.answer(
            {
                "uri": self._uri(rkey),
                "cid": cid,
                "commit": {"cid": "bafyreicommit", "rev": rkey},
                "validationStatus": "valid",
            }
        )

    def _invalid(self, record: Any) -> str | None:
        """The lexicon's refusal of a post record, or None; facet mistakes go to problems."""
        if not isinstance(record, dict) or record.get("$type") != POST:
            return "Record/$type must be app.bsky.feed.post"
        text = record.get("text")
        if not isinstance(text, str):
            return 'Record must have the property "text"'
        # Counted as the adapter counts: test_bluesky checks that count against hand-counted texts.
        if graphemes(text) > 300:
            return "Record/text must not be longer than 300 graphemes"
        if len(text.encode("utf-8")) > 3000:
            return "Record/text must not be longer than 3000 characters"
        langs = record.get("langs", [])
        if not isinstance(langs, list) or len(langs) > 3:
            return "Record/langs must not have more than 3 elements"
        try:
            created = datetime.fromisoformat(record.get("createdAt", ""))
        except (TypeError, ValueError):
            return "Record/createdAt must be an valid atproto datetime"
        if created.tzinfo is None:
            self.problems.append(f"createdAt {record['createdAt']!r} has no time zone")
        encoded = text.encode("utf-8")
        linked = set()
        for facet in record.get("facets", []):
            start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
            for feature in facet["features"]:
                if feature.get("$type") == "app.bsky.richtext.facet#link":
                    if encoded[start:end].decode("utf-8", "replace") != feature.get("uri"):
                        self.problems.append(
                            f"facet bytes {start}..{end} hold {encoded[start:end]!r}, not {feature.get('uri')!r}"
                        )
                    linked.add(feature.get("uri"))
        for address in re.findall(r"https?://\S+", text):
            if not any(address.startswith(uri) for uri in linked):
                self.problems.append(f"the address {address} has no link facet")
        return None

    def _get_record(self, request: Request, body: Any) -> Response:
        args = request.args
        if args.get("repo") not in (self.did, self.handle) or args.get("collection") != POST:
            return self._error(400, "InvalidRequest", "Could not find repo")
        record = self.records.get(args.get("rkey", ""))
        if record is None:
            return self._error(400, "RecordNotFound", f"Could not locate record: {self._uri(args.get('rkey', ''))}")
        return self.answer(record)

    def _delete_record(self, request: Request, body: Any) -> Response:
        body = body or {}
        if refusal := self._authorised(request):
            return refusal
        self.records.pop(body.get("rkey", ""), None)  # deleting what is not there is no error
        return self.answer({"commit": {"cid": "bafyreicommit", "rev": "3l"}})

    def _get_posts(self, request: Request, body: Any) -> Response:
        uris = request.args.getlist("uris")
        if not 1 <= len(uris) <= 25:
            return self._error(400, "InvalidRequest", "uris must have between 1 and 25 elements")
        posts = []
        for uri in uris:
            rkey = uri.rsplit("/", 1)[-1]
            if uri == self._uri(rkey) and rkey in self.records:
                posts.append(
                    {
                        "uri": uri,
                        "cid": self.records[rkey]["cid"],
                        "record": self.records[rkey]["value"],
                        "author": {"did": self.did, "handle": self.handle},
                        "indexedAt": "2027-01-11T09:00:00.000Z",
                        **self.counts[rkey],
                    }
                )
        return self.answer({"posts": posts})

"""The `wordpress` adapter against a real WordPress on loopback: Debian's package, set up by
tests/wordpress/setup.sh, which writes the site's address and an application password to
$KMCOMMS_TEST_WORDPRESS_ENV (default /var/lib/kmcomms-tests/wordpress.env). Without that
site the tests skip and say how to make it; with KMCOMMS_REQUIRE_WORDPRESS=1 (CI) they fail.

What a real WordPress cannot be made to answer (5xx, 429 with Retry-After, an answer lost
after the post was made, another publisher racing, Jetpack's stats) comes from `Proxy`, a
loopback HTTP proxy in front of it that forwards every request and records it, and does
one of those things to the request it is told to.

Every test starts with no posts on the site (all deleted for good).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.client
import http.server
import json
import logging
import os
import socket
import struct
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from pydantic import ValidationError

from kmcomms.channels.base import ChannelError, PermanentError, Publication, TransientError
from kmcomms.channels.wordpress import WordPress, WordPressOptions
from kmcomms.testing.contract import ChannelContract, Harness, configured
from kmcomms.testing.drafts import blog_post as draft

ENV_FILE = Path(os.environ.get("KMCOMMS_TEST_WORDPRESS_ENV", "/var/lib/kmcomms-tests/wordpress.env"))
STATUSES = "publish,future,draft,pending,private,trash"


# ---------------------------------------------------------------------------- the site


@dataclass
class Site:
    """The test WordPress, read and changed directly (as its admin) to see what the adapter did."""

    url: str
    user: str
    password: str
    http: requests.Session = field(default_factory=requests.Session, repr=False)

    def call(
        self,
        method: str,
        route: str,
        *,
        ok: tuple[int, ...] = (200, 201),
        auth: tuple[str, str] | None = None,
        **params: Any,
    ) -> requests.Response:
        body = params.pop("json", None)
        response = self.http.request(
            method,
            self.url + "/",
            params={"rest_route": route, **params},
            json=body,
            auth=auth or (self.user, self.password),
            timeout=30,
            allow_redirects=False,
        )
        assert response.status_code in ok, (method, route, response.status_code, response.text[:300])
        return response

    def get(self, route: str, **params: Any) -> Any:
        return self.call("GET", route, **params).json()

    def post(self, post_id: str | int) -> dict[str, Any]:
        return self.get(f"/wp/v2/posts/{post_id}", context="edit")

    def count(self) -> int:
        """Posts in any status but the trash."""
        return int(self.call("GET", "/wp/v2/posts", status="any", per_page=1).headers["X-WP-Total"])

    def names(self, taxonomy: str, ids: list[int]) -> list[str]:
        return (
            sorted(term["name"] for term in self.get(f"/wp/v2/{taxonomy}", include=",".join(map(str, ids))))
            if ids
            else []
        )

    def empty(self) -> None:
        while posts := self.get("/wp/v2/posts", status=STATUSES, per_page=100, _fields="id"):
            for post in posts:
                self.call("DELETE", f"/wp/v2/posts/{post['id']}", force="true")


def _site_or_skip() -> Site:
    try:
        values = dict(line.split("=", 1) for line in ENV_FILE.read_text(encoding="utf-8").splitlines() if "=" in line)
        site = Site(values["WORDPRESS_URL"], values["WORDPRESS_USER"], values["WORDPRESS_PASSWORD"])
    except (OSError, KeyError, ValueError) as exc:
        _skip(f"cannot read {ENV_FILE} ({type(exc).__name__})")
    try:
        response = site.http.get(
            site.url + "/",
            params={"rest_route": "/wp/v2/users/me"},
            auth=(site.user, site.password),
            timeout=10,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        site.http.close()
        _skip(f"{site.url} is unreachable ({type(exc).__name__})")
    if response.status_code != 200:
        site.http.close()
        _skip(f"{site.url} answered {response.status_code} to its admin")
    return site


def _skip(why: str) -> None:
    reason = f"no test WordPress: {why} — run `sudo bash tests/wordpress/setup.sh`"
    if os.environ.get("KMCOMMS_REQUIRE_WORDPRESS"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def the_site() -> Iterator[Site]:
    site = _site_or_skip()
    yield site
    site.http.close()


@pytest.fixture
def site(the_site: Site) -> Site:
    the_site.empty()
    return the_site


@pytest.fixture
def make(site: Site, tmp_path: Path) -> Iterator[Callable[..., WordPress]]:
    """`make(**settings)`: a WordPress channel on the test site (its admin unless told), the
    workspace being tmp_path. Each has a session of its own, as separate processes would."""
    made: list[WordPress] = []

    def make(**settings: Any) -> WordPress:
        made.append(
            configured(
                WordPress,
                "blog",
                {"adapter": "wordpress", "url": site.url, "user": site.user, "password": site.password, **settings},
                tmp_path,
                requests.Session(),
            )
        )
        return made[-1]

    yield make
    for channel in made:
        channel.session.close()


# ---------------------------------------------------------------------------- the proxy


def wordpress_error(
    status: int, code: str = "kmcomms_test_error", message: str = "refused for the test"
) -> dict[str, Any]:
    """WordPress's error body (WP_REST_Response from a WP_Error)."""
    return {"code": code, "message": message, "data": {"status": status}}


@dataclass
class Seen:
    method: str
    route: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes


Rule = Callable[[], None] | str | tuple[int, dict[str, str], Any]


class Proxy:
    """Forwards to `upstream`, records each request in `seen`, and applies the first rule
    queued for a request's method and REST route (None: any): a (status, headers, body)
    answered instead of WordPress, "lose" (forward, then hang up without answering), or a
    callable run before forwarding. With `jetpack_views` set it answers Jetpack's stats
    route as Jetpack does (for the admin only)."""

    def __init__(self, upstream: str, credentials: tuple[str, str]) -> None:
        self.upstream = urlsplit(upstream)
        self.credentials = credentials
        self.seen: list[Seen] = []
        self.rules: list[tuple[str | None, str | None, Rule]] = []
        self.jetpack_views: int | None = None
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):  # HTTP/1.0: one request per connection
            def do_GET(self) -> None:
                proxy.handle(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def on(self, method: str | None, route: str | None, rule: Rule) -> None:
        with self.lock:
            self.rules.append((method, route, rule))

    def fail_next(self, status: int, headers: dict[str, str]) -> None:
        self.on(None, None, (status, headers, wordpress_error(status)))

    def requests_to(self, method: str, route: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.method == method and seen.route == route]

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        params = dict(parse_qsl(urlsplit(request.path).query))
        route = params.pop("rest_route", "")
        seen = Seen(request.command, route, params, dict(request.headers), body)
        with self.lock:
            self.seen.append(seen)
            rule = next((r for r in self.rules if r[0] in (None, seen.method) and r[1] in (None, route)), None)
            if rule is not None:
                self.rules.remove(rule)
        action = rule[2] if rule else None
        if isinstance(action, tuple):
            return self.answer(request, *action)
        if route == "/wpcom/v2/blog-stats" and self.jetpack_views is not None:
            return self.jetpack(request, seen)
        if callable(action):
            action()
        status, headers, answer = self.forward(request, body)
        if action != "lose":
            self.answer(request, status, headers, answer)

    def forward(self, request: http.server.BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "connection")}
            connection.request(request.command, request.path, body=body or None, headers=headers)
            response = connection.getresponse()
            keep = {
                k: v
                for k, v in response.getheaders()
                if k.lower()
                not in ("connection", "keep-alive", "transfer-encoding", "content-length", "date", "server")
            }
            return response.status, keep, response.read()
        finally:
            connection.close()

    def jetpack(self, request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
        # As Jetpack's WPCOM_REST_API_V2_Endpoint_Blog_Stats: `edit_posts` needed, post_id numeric.
        expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
        if seen.headers.get("Authorization") != expected:
            return self.answer(
                request, 401, {}, wordpress_error(401, "rest_forbidden", "Sorry, you are not allowed to do that.")
            )
        if not seen.params.get("post_id", "").isdigit():
            return self.answer(
                request, 400, {}, wordpress_error(400, "rest_invalid_param", "Invalid parameter(s): post_id")
            )
        self.answer(request, 200, {}, {"post-views": self.jetpack_views, "blog-visitors": 3, "blog-views": 40})

    @staticmethod
    def answer(request: http.server.BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: Any) -> None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json; charset=UTF-8", **headers}
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@pytest.fixture
def proxy(site: Site) -> Iterator[Proxy]:
    with Proxy(site.url, (site.user, site.password)) as running:
        yield running


# ---------------------------------------------------------------------------- the contract


class TestWordPressContract(ChannelContract):
    adapter = "wordpress"

    @pytest.fixture
    def harness(self, site: Site, proxy: Proxy, make: Callable[..., WordPress]) -> Harness:
        channel = make(url=proxy.url, categories=["Research news"])
        return Harness(
            channel=channel, draft=draft(), items=site.count, fail_next=proxy.fail_next, secrets=(site.password,)
        )


# ---------------------------------------------------------------------------- settings


def test_settings_are_checked_and_the_password_is_held_as_a_secret() -> None:
    base = {"adapter": "wordpress", "url": "https://blog.example.org/", "user": "kmcomms", "password": "${WP_PASSWORD}"}
    good = WordPressOptions.model_validate(base)
    assert (good.url, good.status, good.categories, good.featured_image) == (
        "https://blog.example.org",
        "publish",
        (),
        None,
    )
    assert "WP_PASSWORD" not in repr(good)
    for change, words in [
        ({"url": "http://blog.example.org"}, "only allowed on this machine"),
        ({"url": "https://blog.example.org/?p=1"}, r"no \?query"),
        ({"status": "live"}, "'publish', 'draft', 'pending' or 'private'"),
        ({"kind": "newsletter"}, "publishes blog posts"),
        ({"user": ""}, "at least 1 character"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ]:
        with pytest.raises(ValidationError, match=words):
            WordPressOptions.model_validate({**base, **change})


# ---------------------------------------------------------------------------- publishing


def test_a_post_is_the_drafts_title_html_excerpt_and_terms_under_its_delivery_slug(
    site: Site, make: Callable[..., WordPress]
) -> None:
    channel = make(categories=["Research news", "Vaccines"])
    post = draft()
    before = datetime.now(UTC).replace(microsecond=0)
    publication = channel.publish(post, post.delivery)
    after = datetime.now(UTC)
    made = site.post(publication.remote_id)
    assert made["status"] == "publish" and made["slug"] == f"launch-{post.delivery}" and made["link"] == publication.url
    assert made["title"]["raw"] == "Clinicians answer &amp; explain &lt;why&gt;"  # text, escaped as HTML
    assert made["content"]["raw"] == f"{post.html}\n<!-- kmcomms-delivery:{post.delivery} -->"  # the HTML kept whole
    assert made["excerpt"]["raw"] == "What parents ask most &amp; why"
    assert site.names("categories", made["categories"]) == ["Research news", "Vaccines"]
    assert site.names("tags", made["tags"]) == ["parents", "vaccines"]
    assert before <= datetime.fromisoformat(made["date_gmt"]).replace(tzinfo=UTC) <= after
    page = site.http.get(publication.url, timeout=30)
    assert page.status_code == 200 and "ڈاکٹر جواب دیتے ہیں" in page.text and 'dir="rtl"' in page.text
    # A second post reuses the terms: no second "Research news".
    second = channel.publish(draft(), "another-key1")
    assert site.post(second.remote_id)["categories"] == made["categories"]
    assert [c["name"] for c in site.get("/wp/v2/categories", search="Research news")] == ["Research news"]


def test_a_scheduled_post_waits_for_its_utc_time_and_publish_when_due_releases_it(
    site: Site, make: Callable[..., WordPress]
) -> None:
    channel = make()
    post = draft()
    when = datetime(2031, 7, 1, 9, 0, tzinfo=ZoneInfo("Europe/London"))  # 08:00 UTC; 13:30 on the site (Asia/Kolkata)
    scheduled = channel.schedule(post, post.delivery, when)
    made = site.post(scheduled.remote_id)
    assert (made["status"], made["date_gmt"], made["date"]) == ("future", "2031-07-01T08:00:00", "2031-07-01T13:30:00")
    assert channel.schedule(post, post.delivery, when) == scheduled and site.count() == 1
    # The dispatcher publishes at the due time: the same post, published now.
    published = channel.publish(post, post.delivery)
    made = site.post(published.remote_id)
    assert published.remote_id == scheduled.remote_id and made["status"] == "publish" and site.count() == 1
    assert datetime.fromisoformat(made["date_gmt"]).replace(tzinfo=UTC) <= datetime.now(UTC)
    with pytest.raises(ValueError, match="aware"):
        channel.schedule(draft(), "naive-time", datetime(2031, 7, 1, 9, 0))


def test_update_replaces_what_the_post_says_and_keeps_its_address_status_and_key(
    site: Site, make: Callable[..., WordPress]
) -> None:
    channel = make(status="draft")
    post = draft()
    publication = channel.publish(post, post.delivery)
    edited = dataclasses.replace(
        post, title="Corrected", html="<article><p>Corrected body</p></article>", tags=("vaccines",)
    )
    assert channel.update(publication, edited).remote_id == publication.remote_id
    made = site.post(publication.remote_id)
    assert made["title"]["raw"] == "Corrected" and made["content"]["raw"].startswith("<article><p>Corrected body</p>")
    assert (made["slug"], made["status"]) == (f"launch-{post.delivery}", "draft")
    assert site.names("tags", made["tags"]) == ["vaccines"]
    assert channel.find(post.delivery) == Publication(publication.remote_id, made["link"])  # still carries its key
    site.call("DELETE", f"/wp/v2/posts/{publication.remote_id}", force="true")
    with pytest.raises(PermanentError, match="rest_post_invalid_id"):
        channel.update(publication, edited)


def test_withdraw_moves_the_post_to_the_trash_once_and_it_is_found_no_more(
    site: Site, make: Callable[..., WordPress]
) -> None:
    channel = make()
    post = draft()
    publication = channel.publish(post, post.delivery)
    channel.withdraw(publication)
    assert site.post(publication.remote_id)["status"] == "trash"
    assert site.http.get(publication.url, timeout=30).status_code == 404
    assert channel.find(post.delivery) is None
    channel.withdraw(publication)  # already in the trash
    channel.withdraw(Publication("987654321"))  # never was
    assert site.post(publication.remote_id)["status"] == "trash"
    with pytest.raises(PermanentError, match=r"withdrawing post \d+: refused"):  # not WordPress: not taken for "gone"
        make(url=site.url + "/nowhere").withdraw(publication)


def test_publishing_again_after_a_crash_finds_the_post_instead_of_making_a_second(
    site: Site, proxy: Proxy, make: Callable[..., WordPress]
) -> None:
    post = draft()
    # The ledger write after a publish was lost: the retry finds the post.
    first = make().publish(post, post.delivery)
    assert make().publish(post, post.delivery) == first and site.count() == 1
    # The answer to the create was lost on the way (the post was made): the retry finds it.
    other = draft()
    proxy.on("POST", "/wp/v2/posts", "lose")
    with pytest.raises(TransientError, match="connection failed"):
        make(url=proxy.url).publish(other, other.delivery)
    assert site.count() == 2
    again = make(url=proxy.url).publish(other, other.delivery)
    [create] = proxy.requests_to("POST", "/wp/v2/posts")
    assert site.count() == 2 and site.post(again.remote_id)["slug"] == f"launch-{other.delivery}"
    # What went over the wire: JSON with the fields WordPress documents, signed in, named.
    sent = json.loads(create.body)
    assert sorted(sent) == ["categories", "content", "excerpt", "slug", "status", "tags", "title"]
    assert (
        sent["status"] == "publish" and all(isinstance(tag, int) for tag in sent["tags"]) and sent["categories"] == []
    )
    assert create.headers["Content-Type"] == "application/json" and create.headers["User-Agent"].startswith("kmcomms/")
    signed = "Basic " + base64.b64encode(f"{site.user}:{site.password}".encode()).decode()
    assert {seen.headers.get("Authorization") for seen in proxy.seen} == {signed}


def test_a_key_is_found_only_by_itself_not_by_a_longer_key_it_begins(
    site: Site, make: Callable[..., WordPress]
) -> None:
    channel = make()
    longer = channel.publish(draft(delivery="prefix-10"), "prefix-10")
    assert channel.find("prefix-1") is None  # WordPress's search matches "prefix-1" inside "prefix-10"
    shorter = channel.publish(draft(delivery="prefix-1"), "prefix-1")
    assert shorter.remote_id != longer.remote_id and channel.find("prefix-1") == shorter and site.count() == 2


def test_a_publisher_racing_another_keeps_the_older_post_and_deletes_its_own(
    site: Site, proxy: Proxy, make: Callable[..., WordPress]
) -> None:
    post = draft()
    rival: list[Publication] = []
    # Between this publisher's look-up and its create, another makes the post.
    proxy.on("POST", "/wp/v2/posts", lambda: rival.append(make().publish(post, post.delivery)))
    kept = make(url=proxy.url).publish(post, post.delivery)
    assert kept == rival[0] and site.count() == 1
    [removed] = [seen for seen in proxy.seen if seen.method == "DELETE"]
    assert removed.route != f"/wp/v2/posts/{kept.remote_id}" and removed.params == {"force": "true"}
    site.call("GET", removed.route, ok=(404,))  # deleted for good, not in the trash


@pytest.mark.parametrize("same_instance", [True, False], ids=["threads", "processes"])
def test_concurrent_publishes_of_one_delivery_leave_one_post(
    site: Site, make: Callable[..., WordPress], same_instance: bool
) -> None:
    post = draft()
    shared = make()
    channels = [shared if same_instance else make() for _ in range(4)]
    start = threading.Barrier(len(channels))
    results: list[Publication | ChannelError] = []

    def run(channel: WordPress) -> None:
        start.wait()
        try:
            results.append(channel.publish(post, post.delivery))
        except ChannelError as exc:  # reported below, not lost in the thread
            results.append(exc)

    threads = [threading.Thread(target=run, args=(channel,)) for channel in channels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(isinstance(r, Publication) for r in results), results
    assert len({r.remote_id for r in results if isinstance(r, Publication)}) == 1 and site.count() == 1


def test_a_category_made_by_someone_else_meanwhile_is_used_not_refused(
    site: Site, proxy: Proxy, make: Callable[..., WordPress]
) -> None:
    name = f"Made meanwhile {uuid.uuid4().hex[:6]}"
    made: list[int] = []
    proxy.on(
        "POST",
        "/wp/v2/categories",
        lambda: made.append(site.call("POST", "/wp/v2/categories", json={"name": name}).json()["id"]),
    )
    post = draft()
    publication = make(url=proxy.url, categories=[name]).publish(post, post.delivery)
    assert site.post(publication.remote_id)["categories"] == made  # from WordPress's 400 term_exists
    site.call("DELETE", f"/wp/v2/categories/{made[0]}", force="true")


def png(seed: bytes) -> bytes:
    """A 1x1 PNG that WordPress accepts as an image; `seed` makes its bytes unique."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00" + seed)
        + chunk(b"IDAT", zlib.compress(b"\x00\x1e\x5a\x8c"))
        + chunk(b"IEND", b"")
    )


def test_the_featured_image_is_uploaded_once_and_set_on_every_post(
    site: Site, proxy: Proxy, make: Callable[..., WordPress], tmp_path: Path
) -> None:
    data = png(uuid.uuid4().hex.encode())
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "card.png").write_bytes(data)
    slug = f"kmcomms-{hashlib.sha256(data).hexdigest()[:16]}"
    channel = make(url=proxy.url, featured_image="images/card.png")
    first, second = (channel.publish(d, d.delivery) for d in (draft(), draft()))
    third = make(url=proxy.url, featured_image="images/card.png").publish(draft(), "third-post-1")  # a new process
    media = site.get("/wp/v2/media", slug=slug)
    try:
        assert len(media) == 1 and media[0]["mime_type"] == "image/png"
        assert {site.post(p.remote_id)["featured_media"] for p in (first, second, third)} == {media[0]["id"]}
        uploads = proxy.requests_to("POST", "/wp/v2/media")
        assert len(uploads) == 1 and uploads[0].headers["Content-Type"] == "image/png"
        assert uploads[0].headers["Content-Disposition"] == f'attachment; filename="{slug}.png"'
    finally:
        for item in media:
            site.call("DELETE", f"/wp/v2/media/{item['id']}", force="true")
    missing = make(featured_image="images/gone.png")
    assert missing.check() == [f"featured_image: {tmp_path / 'images' / 'gone.png'} is not a file"]
    with pytest.raises(PermanentError, match="cannot read .*gone.png"):
        missing.publish(draft(), "no-image-1")
    assert site.count() == 3


# ---------------------------------------------------------------------------- reach


def test_collect_counts_approved_comments_and_jetpacks_views_where_the_site_has_them(
    site: Site, proxy: Proxy, make: Callable[..., WordPress]
) -> None:
    channel = make(url=proxy.url)
    post = draft()
    publication = channel.publish(post, post.delivery)
    assert channel.collect(publication) == {"comments": 0}  # this site has no Jetpack: WordPress says rest_no_route
    for number, status in enumerate(("approved", "approved", "hold")):
        site.call(
            "POST",
            "/wp/v2/comments",
            json={"post": int(publication.remote_id), "content": f"Thank you ({number})", "status": status},
        )
    assert channel.collect(publication) == {"comments": 2}  # the one held for moderation is not reach
    assert len(proxy.requests_to("GET", "/wpcom/v2/blog-stats")) == 1  # looked for once per instance
    proxy.jetpack_views = 12
    jetpack = make(url=proxy.url)
    assert jetpack.collect(publication) == {"comments": 2, "views": 12}
    asked = proxy.requests_to("GET", "/wpcom/v2/blog-stats")[-1]
    assert asked.params == {"post_id": publication.remote_id}


# ---------------------------------------------------------------------------- check and errors


def test_check_passes_for_a_user_who_may_do_everything_the_settings_ask(
    site: Site, make: Callable[..., WordPress], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "card.png").write_bytes(png(b"check"))
    monkeypatch.setenv("KMCOMMS_TEST_WP_PASSWORD", site.password)
    channel = make(password="${KMCOMMS_TEST_WP_PASSWORD}", featured_image="card.png", categories=["Never made yet"])
    assert channel.check() == []
    monkeypatch.delenv("KMCOMMS_TEST_WP_PASSWORD")
    assert ["KMCOMMS_TEST_WP_PASSWORD is not set" in problem for problem in channel.check()] == [True]


def test_a_wrong_password_is_a_permanent_error_that_never_shows_the_password(
    site: Site, make: Callable[..., WordPress], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "abcd EFGH ijkl MNOP qrst UVWX"
    channel = make(password=wrong)
    problems = channel.check()
    assert len(problems) == 1 and "refused (401)" in problems[0] and "application password" in problems[0]
    with pytest.raises(PermanentError, match="did not sign user 'admin' in — check `user` and `password`") as caught:
        channel.publish(draft(), "wrong-password")
    text = " ".join(
        [
            str(caught.value),
            repr(caught.value),
            repr(caught.value.__cause__),
            repr(caught.value.__context__),
            *problems,
            caplog.text,
        ]
    )
    assert wrong not in text and wrong.replace(" ", "") not in text and site.password not in text
    assert caplog.records and site.count() == 0


@pytest.fixture
def contributor(site: Site) -> tuple[str, str]:
    """A Contributor (may write, not publish or upload) and a fresh application password of theirs."""
    name = "kmcomms-contributor"
    found = [u for u in site.get("/wp/v2/users", search=name, context="edit") if u["username"] == name]
    user_id = (
        found[0]["id"]
        if found
        else site.call(
            "POST",
            "/wp/v2/users",
            json={
                "username": name,
                "email": "contributor@example.org",
                "password": uuid.uuid4().hex,
                "roles": ["contributor"],
            },
        ).json()["id"]
    )
    site.call("DELETE", f"/wp/v2/users/{user_id}/application-passwords")
    made = site.call("POST", f"/wp/v2/users/{user_id}/application-passwords", json={"name": "kmcomms-tests"}).json()
    return name, made["password"]


def test_check_names_what_a_contributor_may_not_do_and_publishing_says_it_too(
    site: Site, make: Callable[..., WordPress], contributor: tuple[str, str], tmp_path: Path
) -> None:
    user, password = contributor
    (tmp_path / "card.png").write_bytes(png(b"contributor"))
    channel = make(user=user, password=password, featured_image="card.png", categories=[f"New {uuid.uuid4().hex[:6]}"])
    problems = channel.check()
    assert [p.split(" (no ")[1].split(" ")[0] for p in problems] == [
        "publish_posts",
        "upload_files",
        "manage_categories",
    ]
    assert "give them the Author role or above" in problems[0] and password not in " ".join(problems)
    with pytest.raises(PermanentError, match=r"refused \(403\).*rest_cannot_publish.*Author role"):
        make(user=user, password=password).publish(draft(), "contributor-1")
    assert site.count() == 0
    pending = make(user=user, password=password, status="pending")
    assert pending.check() == []
    post = draft()
    assert site.post(pending.publish(post, post.delivery).remote_id)["status"] == "pending"


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        (
            (404, {}, wordpress_error(404, "rest_no_route", "No route was found matching the URL and request method.")),
            PermanentError,
            r"refused \(404\).*rest_no_route.*is `url` the address of the WordPress site",
        ),
        (
            (
                503,
                {"Retry-After": "120", "Content-Type": "text/html"},
                b"<h1>Briefly unavailable for scheduled maintenance</h1>",
            ),
            TransientError,
            "answered 503: .*Briefly unavailable",
        ),
        (
            (301, {"Location": "https://blog.example.org/"}, b""),
            PermanentError,
            "redirect to https://blog.example.org/",
        ),
        ((200, {"Content-Type": "text/html"}, b"<html>Welcome to our hosting</html>"), PermanentError, "not JSON"),
        (
            (
                500,
                {},
                wordpress_error(500, "internal_server_error", "There has been a critical error on this website."),
            ),
            TransientError,
            "500: There has been a critical error",
        ),
    ],
)
def test_answers_that_are_not_a_post_become_errors_that_say_what_to_do(
    site: Site,
    proxy: Proxy,
    make: Callable[..., WordPress],
    answer: tuple[int, dict[str, str], Any],
    error: type[Exception],
    words: str,
) -> None:
    proxy.on(None, "/wp/v2/posts", answer)
    with pytest.raises(error, match=words) as caught:
        make(url=proxy.url).publish(draft(), "errors-1")
    if isinstance(caught.value, TransientError) and answer[0] == 503:
        assert caught.value.retry_after == 120
    assert site.count() == 0


def test_an_unreachable_site_is_transient_and_check_says_so(make: Callable[..., WordPress]) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = make(url=f"http://127.0.0.1:{port}")
    with pytest.raises(TransientError, match="connection failed"):
        channel.publish(draft(), "unreachable-1")
    assert ["connection failed" in problem for problem in channel.check()] == [True]

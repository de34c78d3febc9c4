"""`wordpress`: blog posts through the WordPress REST API (WordPress 5.6 or later, no
plugin), signed in with an application password.

Settings (`[channels.<name>]`, `adapter = "wordpress"`):

    [channels.blog]
    adapter = "wordpress"
    url = "https://blog.example.org"        # the site's address; http:// only on this machine
    user = "kmcomms"                        # the WordPress user who publishes
    password = "${WORDPRESS_APP_PASSWORD}"  # that user's application password
    status = "publish"                      # or "draft", "pending" (for review), "private"
    categories = ["Research news"]          # by name; made when missing (default: none)
    featured_image = "images/card.png"      # optional; relative to the workspace

- `password` is an application password (WordPress: Users → Profile → Application
  Passwords), not the login password. A secret: write "${VAR}" and set VAR; it is read
  only when a request is made and never appears in a message or a log. WordPress accepts
  application passwords only over https (or where `WP_ENVIRONMENT_TYPE` is "local").
- The user needs the Author role (or above) to publish, schedule or post privately,
  Contributor for "draft" and "pending", Editor to make a missing category, and the
  right to upload files for `featured_image`. `check` says what is missing.
- `featured_image`: a draft has no image of its own, so one image (a campaign card, the
  unit's logo) becomes every post's featured image. It is uploaded to the media library
  once, named after a hash of its bytes (an unchanged file is found there, not uploaded
  again; a changed one is uploaded anew).

A post is the draft's title, its HTML (the `<article>` with its `lang` and `dir`:
WordPress core has no per-post language), its excerpt, the draft's tags (made when
missing), the `categories`, and the slug `<message slug>-<delivery id>`.

Exactly once: WordPress has no idempotency key. Each post carries its delivery id in an
HTML comment, `<!-- kmcomms-delivery:<id> -->` (invisible; WordPress's HTML filter keeps
comments), and before creating a post the adapter looks for one that carries it, in any
status but the trash. A retry after a crash or a lost answer finds the post instead of
making a second. Two publishers that race on one delivery (the ledger's lease is there
to prevent it) each look again after creating: the oldest post is kept, the newer deleted.

Scheduling: `schedule(draft, key, when)` makes the post now with status "future" and
`date_gmt`, and WordPress publishes it at `when`. `publish` with the same key later
finds that post and, if WordPress has not published it yet (its cron runs only when
someone visits the site), publishes it then and there.

`update` replaces title, content, excerpt, terms and image; slug, status and date stay.
`withdraw` moves the post to the trash (WordPress keeps it there 30 days by default), so
a withdrawal can be undone in WordPress; a trashed post is not found by `find`.

Reach (`collect`): "comments", the post's approved comments (WordPress core), and
"views" where the site runs Jetpack's stats (`/wpcom/v2/blog-stats`, looked for once per
channel instance). Without Jetpack WordPress counts no views; clicks on the post's links
are counted by the tracking server (`[tracking]`), which records them in the ledger
itself, so they are not reported here a second time.

Errors and limits: core WordPress has no rate limit, but hosts and firewalls answer 429
or 503 with `Retry-After`, which is honoured. 5xx, 408, 409 and 425 are retried; 401 (the
user or password refused), 403 (not allowed) and other 4xx fail the delivery with
WordPress's own message and what to change. Redirects are not followed: set `url` to the
final address. Calls go to `{url}/?rest_route=/wp/v2/…`, which works whatever the site's
permalink setting (`/wp-json/` needs "pretty" permalinks). The calls, the refusals' hints
and the term and media look-ups are in `kmcomms.channels.wordpress_api`.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from kmcomms.campaign.adapters import Kind
from kmcomms.channels.base import ChannelError, ChannelOptions, PermanentError, Publication
from kmcomms.channels.http import HttpChannel, secure_url
from kmcomms.channels.wordpress_api import Site, error_code
from kmcomms.logs import event
from kmcomms.render.drafts import BlogPost, Draft

__all__ = ["WordPress", "WordPressOptions"]

log = logging.getLogger("kmcomms.channels.wordpress")

#: WordPress keeps slugs to 200 characters.
SLUG_LIMIT = 200
#: Capabilities `check` asks for, with what they are for and the least role that has them.
NEEDS = {
    "edit_posts": ("write posts", "Contributor"),
    "publish_posts": ("publish", "Author"),
    "upload_files": ("upload the featured image", "Author"),
    "manage_categories": ("make the missing categories", "Editor"),
}


class WordPressOptions(ChannelOptions):
    url: str
    """The site's address: https, or http on this machine; no query or fragment."""
    user: str = Field(min_length=1)
    password: SecretStr
    """An application password; write "${VAR}" and set VAR."""
    status: Literal["publish", "draft", "pending", "private"] = "publish"
    categories: tuple[str, ...] = ()
    """Category names for every post; made when missing."""
    featured_image: str | None = None
    """An image file (relative to the workspace) that becomes every post's featured image."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return secure_url(value, bare="write the site's address")

    @field_validator("kind")
    @classmethod
    def _blog_only(cls, value: Kind | None) -> Kind | None:
        if value not in (None, Kind.BLOG):
            raise ValueError('a WordPress channel publishes blog posts: leave `kind` out or set it to "blog"')
        return value


def _marker(key: str) -> str:
    return f"<!-- kmcomms-delivery:{key} -->"


def _gmt(when: datetime) -> str:
    """`when` as WordPress's `date_gmt`: ISO 8601 in UTC, without an offset."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class WordPress(HttpChannel):
    """Publishes blog posts to a WordPress site (see the module for settings and behaviour)."""

    kind = Kind.BLOG
    Settings = WordPressOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert isinstance(self.settings, WordPressOptions)
        self.options: WordPressOptions = self.settings
        self.site = Site(self, self.options.url, self.options.user, self.options.password)
        # Looked for once per instance: whether the site has Jetpack's stats.
        self._jetpack = True

    # ------------------------------------------------------------------ what a post is made of

    def _publication(self, post: Any, what: str) -> Publication:
        link = post.get("link") if isinstance(post, dict) else None
        return Publication(str(self.site.id_of(post, what)), link if isinstance(link, str) else None)

    def _blog(self, draft: Draft) -> BlogPost:
        if not isinstance(draft, BlogPost):
            raise PermanentError(f"the {self.name} channel publishes blog posts, not {draft.kind} drafts", self.name)
        return draft

    def _posts(self, key: str) -> list[dict[str, Any]]:
        """The posts (in any status but the trash) that carry `key`, oldest first."""
        what = f"looking up {key}"
        found = self.site.json(
            self.site.call(
                "GET",
                "/wp/v2/posts",
                what,
                params={
                    "search": f"kmcomms-delivery:{key}",
                    "status": "any",
                    "context": "edit",
                    "orderby": "id",
                    "order": "asc",
                    "per_page": 100,
                },
            ),
            what,
        )
        if not isinstance(found, list):
            raise PermanentError(f"{what}: the answer is not a list of posts — is `url` a WordPress site?", self.name)
        marker = _marker(key)
        # The search matches text anywhere in a post; only the marker itself counts.
        return [
            post
            for post in found
            if isinstance(post, dict) and marker in str((post.get("content") or {}).get("raw", ""))
        ]

    def _fields(self, post: BlogPost, key: str) -> dict[str, Any]:
        """What a post is made of (see the module); title and excerpt are text, WordPress's are HTML."""
        fields: dict[str, Any] = {
            "title": html.escape(post.title, quote=False),
            "content": f"{post.html}\n{_marker(key)}",
            "excerpt": html.escape(post.excerpt, quote=False),
            "categories": [self.site.term("categories", name) for name in self.options.categories],
            "tags": [self.site.term("tags", name) for name in dict.fromkeys(post.tags)],
        }
        if self.options.featured_image:
            fields["featured_media"] = self.site.featured_image(self.root / self.options.featured_image)
        return fields

    # ------------------------------------------------------------------ publishing

    def _put(self, draft: Draft, key: str, state: dict[str, str]) -> Publication:
        """The post for `key` in `state` (status, and date_gmt when scheduled): the one
        already there, else a new one."""
        post = self._blog(draft)
        existing = self._posts(key)
        if existing:
            return self._settle(existing[0], key, state)
        what = f"publishing {key}"
        slug = f"{post.slug[: SLUG_LIMIT - len(key) - 1]}-{key}"
        response = self.site.call("POST", "/wp/v2/posts", what, json={**self._fields(post, key), "slug": slug, **state})
        created = self._publication(self.site.json(response, what), what)
        # A publisher racing on the same key may have created one too: the oldest stays.
        kept = next(iter(self._posts(key)), None)
        if kept is not None and str(kept.get("id")) != created.remote_id:
            self.site.call(
                "DELETE",
                f"/wp/v2/posts/{created.remote_id}",
                f"removing the duplicate post {created.remote_id}",
                params={"force": "true"},
            )
            event(
                log,
                "wordpress-duplicate-removed",
                f"post {kept['id']} already carried {key}: removed the duplicate {created.remote_id} just made",
                channel=self.name,
                delivery=key,
            )
            return self._publication(kept, what)
        return created

    def _settle(self, post: dict[str, Any], key: str, state: dict[str, str]) -> Publication:
        what = f"publishing {key}"
        event(
            log,
            "wordpress-post-found",
            f"post {post.get('id')} already carries {key}: keeping it, making no other",
            channel=self.name,
            delivery=key,
        )
        if state["status"] == "publish" and post.get("status") == "future":
            # Due now (the dispatcher publishes at the due time), and WordPress's cron has
            # not published it: the date goes with the status, else WordPress keeps it future.
            post = self.site.json(
                self.site.call(
                    "POST",
                    f"/wp/v2/posts/{post['id']}",
                    what,
                    json={"status": "publish", "date_gmt": _gmt(datetime.now(UTC))},
                ),
                what,
            )
        return self._publication(post, what)

    def publish(self, draft: Draft, key: str) -> Publication:
        return self._put(draft, key, {"status": self.options.status})

    def schedule(self, draft: Draft, key: str, when: datetime) -> Publication:
        """Make the post now, for WordPress to publish at `when` (aware). WordPress
        publishes at once a post whose time is less than a minute away. With the same key
        again, the post already made is returned (see the module)."""
        if when.tzinfo is None:
            raise ValueError("schedule needs an aware datetime")
        return self._put(draft, key, {"status": "future", "date_gmt": _gmt(when)})

    def find(self, key: str) -> Publication | None:
        posts = self._posts(key)
        return self._publication(posts[0], f"looking up {key}") if posts else None

    def update(self, publication: Publication, draft: Draft) -> Publication:
        post = self._blog(draft)
        what = f"updating post {publication.remote_id}"
        response = self.site.call(
            "POST", f"/wp/v2/posts/{publication.remote_id}", what, json=self._fields(post, post.delivery)
        )
        return self._publication(self.site.json(response, what), what)

    def withdraw(self, publication: Publication) -> None:
        """Move the post to the trash; one already trashed or deleted is left so."""
        what = f"withdrawing post {publication.remote_id}"
        response = self.site.call("DELETE", f"/wp/v2/posts/{publication.remote_id}", what, ok=(200, 404, 410))
        if response.status_code != 200 and error_code(response) not in ("rest_post_invalid_id", "rest_already_trashed"):
            raise self.site.refused(response, what)

    # ------------------------------------------------------------------ reach and settings

    def collect(self, publication: Publication) -> dict[str, float]:
        post = publication.remote_id
        what = f"counting the comments on post {post}"
        response = self.site.call("GET", "/wp/v2/comments", what, params={"post": post, "per_page": 1, "_fields": "id"})
        try:
            totals = {"comments": float(int(response.headers["X-WP-Total"]))}
        except (KeyError, ValueError):
            raise PermanentError(
                f"{what}: the answer has no X-WP-Total count — is `url` a WordPress site?", self.name
            ) from None
        if self._jetpack:
            what = f"reading Jetpack's views of post {post}"
            response = self.site.call("GET", "/wpcom/v2/blog-stats", what, params={"post_id": post}, ok=(200, 404))
            if response.status_code == 404 and error_code(response) == "rest_no_route":
                self._jetpack = False  # no Jetpack stats on this site
            elif response.status_code == 404:
                raise self.site.refused(response, what)
            else:
                stats = self.site.json(response, what)
                views = stats.get("post-views") if isinstance(stats, dict) else None
                if isinstance(views, int | float) and not isinstance(views, bool) and views >= 0:
                    totals["views"] = float(views)
        return totals

    def check(self) -> list[str]:
        problems = []
        image = self.options.featured_image
        if image and not (self.root / image).is_file():
            problems.append(f"featured_image: {self.root / image} is not a file")
        try:
            me = self.site.json(
                self.site.call("GET", "/wp/v2/users/me", "checking the user", params={"context": "edit"}),
                "checking the user",
            )
            can = me.get("capabilities") if isinstance(me, dict) else None
            if not isinstance(can, dict):
                return [
                    *problems,
                    (
                        f"{self.options.url} did not say what user {self.options.user!r} may do — "
                        "is `url` the address of a WordPress site?"
                    ),
                ]
            needed = ["edit_posts"]
            if self.options.status in ("publish", "private"):
                needed.append("publish_posts")
            if image:
                needed.append("upload_files")
            if any(self.site.term("categories", name, make=False) is None for name in self.options.categories):
                needed.append("manage_categories")
        except ChannelError as exc:
            return [*problems, str(exc)]
        for capability in needed:
            if not can.get(capability):
                why, role = NEEDS[capability]
                problems.append(
                    f"user {self.options.user!r} may not {why} on {self.options.url} (no {capability} "
                    f"capability) — give them the {role} role or above"
                )
        return problems

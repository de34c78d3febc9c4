"""`static-site`: blog posts published as pages of a static website, with an index per
language, an Atom feed per language and a sitemap. No account, no server: any web server
(or `kmcomms serve`) serves the folder.

Settings (all optional):

    [channels.blog]
    adapter = "static-site"
    path = "site"                        # the site's folder, relative to the workspace
    base_url = "http://127.0.0.1:8760"   # where the site is served: feeds, sitemap and URLs
    title = "HPRU news"                  # the site's name; default: the unit's name

The site's pages also say the unit's `purpose` (home pages) and its `acknowledgement`
(footers), from `[unit]` in kmcomms.toml, in each page's language where translated.

`SiteChannel` is what every adapter that publishes to the site shares (the `video-page`
adapter is one): channels on one site must agree on `base_url` and `title`.
"""

from __future__ import annotations

import functools
import os
from abc import abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from pydantic import field_validator

from kmcomms.campaign.adapters import Kind
from kmcomms.campaign.workspace import Unit, load_workspace
from kmcomms.channels.base import Channel, ChannelOptions, PermanentError, Publication
from kmcomms.channels.site.about import About
from kmcomms.channels.site.entry import Entry, SiteError
from kmcomms.channels.site.site import Site
from kmcomms.errors import InvalidInput
from kmcomms.render.drafts import BlogPost, Draft

__all__ = ["SiteChannel", "SiteOptions", "StaticSite", "http_url"]


def http_url(value: str | None) -> str | None:
    """`value` without its trailing "/", refused unless it is an http(s) address."""
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError(f'"{value}" is not an http:// or https:// address')
    return value.rstrip("/") if value else value


class SiteOptions(ChannelOptions):
    path: str = "site"
    """The site's folder, relative to the workspace."""
    base_url: str = "http://127.0.0.1:8760"
    """Where the site is served (`kmcomms serve`'s address by default)."""
    title: str | None = None
    """The site's name; default: the unit's name from kmcomms.toml."""

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str | None:
        return http_url(value)


class SiteChannel(Channel):
    """A channel whose publications are entries of the workspace's static site: publish
    and update add the entry (the delivery id is its key, so publishing twice replaces,
    never duplicates), find and withdraw ask the site. Subclasses say which `section`
    their entries go in, which draft class they take, and how a draft becomes an entry."""

    Settings: ClassVar[type[ChannelOptions]] = SiteOptions
    idempotent = True
    section: ClassVar[str]
    draft_type: ClassVar[type[Draft]]

    @property
    def options(self) -> SiteOptions:
        assert isinstance(self.settings, SiteOptions)
        return self.settings

    @functools.cached_property
    def site(self) -> Site:
        unit = self._unit
        about = (
            None
            if unit is None
            else About(
                language=unit.language,
                purpose=unit.purpose,
                purposes=unit.purposes,
                acknowledgement=unit.acknowledgement,
                acknowledgements=unit.acknowledgements,
            )
        )
        return Site(
            self.root / self.options.path, self.options.base_url, self.options.title or self._unit_name(), about
        )

    @functools.cached_property
    def _unit(self) -> Unit | None:
        try:
            return load_workspace(self.root).settings.unit
        except InvalidInput:  # no kmcomms.toml, or one with errors (validation says which): the site uses its own name
            return None

    def _unit_name(self) -> str:
        # The unit's name titles the site whichever of its channels publishes: a
        # channel's own name ("blog", "video") would retitle the site at every turn.
        return self._unit.name if self._unit is not None else self.name

    @abstractmethod
    def entry(self, draft: Draft, key: str, published: datetime) -> Entry:
        """The site entry for `draft` (already known to be a `draft_type`)."""

    def draft_entry(
        self,
        draft: Draft,
        key: str,
        published: datetime,
        *,
        slug: str,
        summary: str,
        html: str,
        files: Mapping[str, bytes | Path] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> Entry:
        """An entry of this channel's section keyed `key`, with what every entry takes from
        its draft (language, direction, title, acknowledgement); the rest as given."""
        return Entry(
            section=self.section,
            key=key,
            language=draft.language,
            direction=draft.direction,
            slug=slug,
            title=draft.title,
            summary=summary,
            html=html,
            published=published,
            acknowledgement=draft.acknowledgement,
            files=files or {},
            extra=extra or {},
        )

    def publish(self, draft: Draft, key: str) -> Publication:
        if not isinstance(draft, self.draft_type):
            raise PermanentError(f"the {self.name} channel publishes {self.kind} drafts, not {draft.kind}", self.name)
        try:
            return Publication(key, self.site.add(self.entry(draft, key, datetime.now(UTC))))
        except SiteError as exc:
            raise PermanentError(str(exc), self.name) from exc
        except OSError as exc:
            raise PermanentError(
                f"cannot write the site at {self.site.root}: {exc.strerror or exc}", self.name
            ) from exc

    def update(self, publication: Publication, draft: Draft) -> Publication:
        # The site keeps the entry's first publication time and records this as its update.
        return self.publish(draft, publication.remote_id)

    def find(self, key: str) -> Publication | None:
        url = self.site.find(key)
        return Publication(key, url) if url else None

    def withdraw(self, publication: Publication) -> None:
        self.site.remove(publication.remote_id)

    def check(self) -> list[str]:
        folder = self.site.root
        if folder.exists() and not folder.is_dir():
            return [f"{folder} is not a folder — set `path` to a folder for the site"]
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        return [] if os.access(existing, os.W_OK) else [f"{folder} is not writable"]


class StaticSite(SiteChannel):
    kind = Kind.BLOG
    section = "posts"
    draft_type = BlogPost

    def entry(self, draft: Draft, key: str, published: datetime) -> Entry:
        assert isinstance(draft, BlogPost)
        return self.draft_entry(draft, key, published, slug=draft.slug, summary=draft.excerpt, html=draft.html)

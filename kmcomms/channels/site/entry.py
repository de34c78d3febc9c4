"""What the site keeps per entry: the `Entry` a channel adds, and the `Record` stored for it.

A record is an entry as published: where its page is, when it was first published and
last changed, and the names and digests of its files (their bytes live only in the site).
Records are plain JSON under `<site>/_data/entries/<key>.json`, so every rebuild starts
from all of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kmcomms.errors import KmcommsError

__all__ = ["SECTIONS", "Entry", "Record", "SiteError", "absolute_url", "is_name", "newest_first", "slug_of", "utc"]

#: Where each section's pages go under the language folder ("" = the language folder).
SECTIONS = {"posts": "", "videos": "videos", "briefings": "briefings"}

# Names that become file names in the site: no path separators, no hidden files.
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")


class SiteError(KmcommsError):
    """An entry the site cannot take as it is (a bad name, a file that would overwrite
    another entry's); the message says what to change."""


@dataclass(frozen=True)
class Entry:
    """One page of the site, as a channel adds it.

    `html` is the entry's sanitised fragment, put in the page as it is: it should carry
    the page's one `<h1>`; when it has none, the page heads it with `title`. `files` are
    written beside the page under their names (bytes, or a `Path` to copy, for files too
    big to hold in memory); the fragment links them by name. Two entries may share a file
    name only with the same content. `published` is aware; adding the key again keeps the
    first `published` and records this one as the update time. `acknowledgement` is the
    one the entry goes out with: when `html` holds it (a post's article does), the page's
    footer does not say it again.
    """

    section: str
    key: str
    language: str
    direction: str
    slug: str
    title: str
    summary: str
    html: str
    published: datetime
    acknowledgement: str
    files: Mapping[str, bytes | Path] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """What makes this entry unusable, in words; empty when it can be published."""
        found = []
        if self.section not in SECTIONS:
            found.append(f'section "{self.section}" is not one of {", ".join(SECTIONS)}')
        if not is_name(self.key):
            found.append(f'key "{self.key}" must be letters, digits, "-", "_" or "."')
        if not _LANGUAGE.fullmatch(self.language):
            found.append(f'language "{self.language}" is not a BCP 47 tag such as "en" or "pt-BR"')
        if self.direction not in ("ltr", "rtl"):
            found.append(f'direction "{self.direction}" must be "ltr" or "rtl"')
        if self.published.utcoffset() is None:
            found.append("published must be an aware datetime")
        found += [
            f'file name "{name}" must be letters, digits, "-", "_" or "." (no folders)'
            for name in self.files
            if not is_name(name)
        ]
        return found


def is_name(text: str) -> bool:
    """Whether `text` can be a file name in the site: letters, digits, "-", "_", "."; not hidden."""
    return bool(_NAME.fullmatch(text))


def absolute_url(base_url: str, path: str) -> str:
    """The address of the site file at `path` (relative to the site root)."""
    return f"{base_url.rstrip('/')}/{path}"


def slug_of(text: str) -> str:
    """`text` as a file-name stem: lowercase letters, digits and single hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "entry"


@dataclass(frozen=True)
class Record:
    """An entry as the site holds it: the page at `path` (relative to the site root,
    "/"-separated), file names with their sha256 digests, first `published` and last
    `updated` (aware UTC)."""

    section: str
    key: str
    language: str
    direction: str
    title: str
    summary: str
    html: str
    acknowledgement: str
    path: str
    published: datetime
    updated: datetime
    files: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        """The folder of the page, relative to the site root."""
        return self.path.rpartition("/")[0]

    def file_paths(self) -> list[str]:
        return [f"{self.folder}/{name}" for name in self.files]

    def content(self) -> tuple[object, ...]:
        """Everything a reader sees but the times: equal content means nothing changed."""
        return (
            self.section,
            self.language,
            self.direction,
            self.title,
            self.summary,
            self.html,
            self.acknowledgement,
            self.path,
            dict(self.files),
            dict(self.extra),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = self.published.isoformat()
        data["updated"] = self.updated.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        return cls(
            **{
                **data,
                "published": datetime.fromisoformat(data["published"]),
                "updated": datetime.fromisoformat(data["updated"]),
            }
        )


def utc(moment: datetime) -> datetime:
    """`moment` in UTC, to the second: feeds and sitemaps show no fractions."""
    return moment.astimezone(UTC).replace(microsecond=0)


def newest_first(records: list[Record]) -> list[Record]:
    """`records` newest first; the key breaks ties, so the order never depends on reading order."""
    return sorted(sorted(records, key=lambda r: r.key), key=lambda r: r.published, reverse=True)

"""`Site`: a static website that channels add entries to and take them from.

Each change stores the entry's record, then renders the whole site from all records and
writes what changed (render, then write, as Pelican does): the pages, the indexes, the
feeds and the sitemap always agree, whatever order entries came in. A lock file under the
site makes processes that publish to one site (several daemons) take turns.
"""

from __future__ import annotations

import json
from importlib.resources import files as package_files
from pathlib import Path

from kmcomms.channels.site.about import About
from kmcomms.channels.site.entry import SECTIONS, Entry, Record, SiteError, absolute_url, is_name, slug_of, utc
from kmcomms.channels.site.feeds import feeds, sitemap
from kmcomms.channels.site.files import digest, locked
from kmcomms.channels.site.pages import CSS_PATH, render_pages
from kmcomms.files import write_atomic

__all__ = ["Site"]


class Site:
    """The site in the folder `root`, served at `base_url` (for the absolute addresses of
    feeds, the sitemap and the URLs returned), titled `title`; `about` is what its pages
    say about the unit (purpose, acknowledgement). Channels that share a site must give it
    the same `base_url`, `title` and `about`: every rebuild uses the caller's.

    Layout: `index.html` (home: the unit and each language's newest entries),
    `<lang>/index.html` (posts, newest first), `<lang>/<slug>.html`,
    `<lang>/videos/index.html` and `<lang>/videos/<slug>.html`,
    `<lang>/briefings/…` likewise, `<lang>/feed.xml` (Atom), `sitemap.xml`,
    `assets/site.css`. Records and the lock are under `_data/`, which is not for serving.
    """

    def __init__(self, root: Path, base_url: str, title: str, about: About | None = None) -> None:
        self.root = root
        self.base_url = base_url
        self.title = title
        self.about = about or About()
        self._data = root / "_data"
        self._entries = self._data / "entries"
        self._manifest = self._data / "built.json"

    def add(self, entry: Entry) -> str:
        """Publish `entry` (or replace the one added with its key) and rebuild the site;
        returns the page's URL. Raises `SiteError` for an entry that cannot be published,
        and `OSError` when the site cannot be written."""
        problems = entry.problems()
        if problems:
            raise SiteError(f'cannot publish "{entry.key}": {"; ".join(problems)}')
        with locked(self._data / "lock"):
            records = self._records()
            old = records.get(entry.key)
            record = Record(
                section=entry.section,
                key=entry.key,
                language=entry.language,
                direction=entry.direction,
                title=entry.title,
                summary=entry.summary,
                html=entry.html,
                acknowledgement=entry.acknowledgement,
                path=self._place(entry, records),
                published=old.published if old else utc(entry.published),
                updated=utc(entry.published),
                files={name: digest(content) for name, content in entry.files.items()},
                extra=dict(entry.extra),
            )
            if old is not None and old.content() == record.content():
                record = old  # the same entry again: nothing changed, not even its update time
            records[entry.key] = record
            outputs = self._render(records)
            self._check_files(records, outputs)
            writes: dict[Path, bytes | Path] = {}
            for name, content in entry.files.items():
                target = self.root / record.folder / name
                # A file already there with this content (this entry's, or shared) stays as it is.
                if not (target.is_file() and digest(target) == record.files[name]):
                    writes[target] = content
            writes[self._entries / f"{entry.key}.json"] = json.dumps(
                record.to_json(), ensure_ascii=False, indent=1
            ).encode()
            self._write(outputs, records, writes)
        return absolute_url(self.base_url, record.path)

    def find(self, key: str) -> str | None:
        """The URL of the entry published with `key`, or None."""
        record = self._read(self._entries / f"{key}.json") if is_name(key) else None
        return absolute_url(self.base_url, record.path) if record else None

    def remove(self, key: str) -> bool:
        """Withdraw the entry published with `key`: its page and files go, the indexes,
        feeds and sitemap are rebuilt. False when there was no such entry."""
        if not is_name(key):
            return False
        with locked(self._data / "lock"):
            records = self._records()
            if records.pop(key, None) is None:
                return False
            (self._entries / f"{key}.json").unlink()
            self._write(self._render(records), records, {})
        return True

    # ------------------------------------------------------------------ internals

    def _read(self, path: Path) -> Record | None:
        try:
            return Record.from_json(json.loads(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError) as exc:
            raise SiteError(f"{path} is damaged ({exc}) — delete it and publish that delivery again") from exc

    def _records(self) -> dict[str, Record]:
        found = (self._read(path) for path in sorted(self._entries.glob("*.json")))
        return {record.key: record for record in found if record is not None}

    def _place(self, entry: Entry, records: dict[str, Record]) -> str:
        """The page's path: `<folder>/<slug>.html`, or with the key after the slug when
        another entry has that page (the same message for two audiences in one language).
        An entry keeps the path it has while that is still one of its choices, so its
        address does not move when others come and go."""
        folder = "/".join(part for part in (entry.language, SECTIONS[entry.section]) if part)
        stem = slug_of(entry.slug)
        choices = [f"{folder}/{stem}.html", f"{folder}/{stem}-{slug_of(entry.key)}.html"]
        if stem == "index":  # the section's own list page
            choices.pop(0)
        taken = {r.path for key, r in records.items() if key != entry.key}
        old = records.get(entry.key)
        if old is not None and old.path in choices and old.path not in taken:
            return old.path
        free = [path for path in choices if path not in taken]
        if not free:
            raise SiteError(f'no free page for "{entry.key}": {" and ".join(choices)} are taken — change its slug')
        return free[0]

    def _check_files(self, records: dict[str, Record], outputs: dict[str, bytes]) -> None:
        """Refuse a file that is also a page, or that two entries publish with different
        content (the same file, such as one film for two audiences, may be shared)."""
        owners: dict[str, Record] = {}
        for record in records.values():
            for name, sha in record.files.items():
                path = f"{record.folder}/{name}"
                if path in outputs:
                    raise SiteError(
                        f'{path} would be both a page and a file of "{record.key}" — rename the file or change the slug'
                    )
                first = owners.setdefault(path, record)
                if first.files[name] != sha:
                    raise SiteError(
                        f'"{first.key}" and "{record.key}" publish different files as {path}'
                        " — give each a name of its own"
                    )

    def _render(self, records: dict[str, Record]) -> dict[str, bytes]:
        """Every generated file of the site with these records, by path; nothing at all
        for no records."""
        entries = list(records.values())
        outputs = {path: html.encode() for path, html in render_pages(entries, self.title, self.about)}
        if entries:
            outputs.update(feeds(entries, self.base_url, self.title))
            outputs["sitemap.xml"] = sitemap(entries, self.base_url)
            # Plain CSS; named .j2 only so the package data patterns ship it with the templates.
            outputs[CSS_PATH] = (package_files("kmcomms") / "templates" / "site" / "site.css.j2").read_bytes()
        return outputs

    def _write(self, outputs: dict[str, bytes], records: dict[str, Record], writes: dict[Path, bytes | Path]) -> None:
        """Write `writes` (an entry's files and record), then the outputs that changed, and
        delete the files the site no longer has.

        `_data/built.json` lists every file the site made. It is widened before writing
        and narrowed after deleting, so a crash anywhere between leaves no file that the
        next build would not know to delete."""
        keep = set(outputs) | {path for record in records.values() for path in record.file_paths()}
        made = set(json.loads(self._manifest.read_bytes())) if self._manifest.exists() else set()
        if not keep <= made:
            write_atomic(self._manifest, json.dumps(sorted(made | keep)).encode())
        for target, data in writes.items():
            write_atomic(target, data)
        for path, content in outputs.items():
            target = self.root / path
            if not (target.is_file() and target.read_bytes() == content):
                write_atomic(target, content)
        for path in sorted(made - keep):
            target = self.root / path
            target.unlink(missing_ok=True)
            # Folders the site made and emptied go too (the last entry of a language).
            for folder in target.parents:
                if folder == self.root or not folder.is_dir() or any(folder.iterdir()):
                    break
                folder.rmdir()
        if made != keep:
            write_atomic(self._manifest, json.dumps(sorted(keep)).encode())

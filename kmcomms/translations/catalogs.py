"""Catalogs at work: where each lives, looking translations up, and how complete they are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from babel.messages import Catalog as BabelCatalog

from kmcomms.campaign.load import LoadedCampaign
from kmcomms.campaign.models import Campaign
from kmcomms.campaign.workspace import Workspace
from kmcomms.translations.pofiles import MACHINE_DRAFT, gettext_language, read_po_file
from kmcomms.translations.strings import SourceMessage, source_messages

State = Literal["translated", "fuzzy", "missing"]

# --------------------------------------------------------------------------- paths


def pot_path(translations_dir: Path, campaign_id: str) -> Path:
    """`translations/templates/<campaign>.pot`."""
    return translations_dir / "templates" / f"{campaign_id}.pot"


def po_path(translations_dir: Path, campaign_id: str, language: str) -> Path:
    """`translations/<lang>/LC_MESSAGES/<campaign>.po` (`pt-BR` is written `pt_BR`)."""
    return translations_dir / gettext_language(language) / "LC_MESSAGES" / f"{campaign_id}.po"


def mo_path(po: Path) -> Path:
    """The compiled catalog beside a .po file."""
    return po.with_suffix(".mo")


def target_languages(campaign: Campaign) -> list[str]:
    """The languages the campaign's audiences read, other than the one it is written in,
    in the order the audiences name them."""
    found = dict.fromkeys(lang for audience in campaign.audiences.values() for lang in audience.languages)
    found.pop(campaign.language, None)
    return list(found)


@dataclass(frozen=True, slots=True)
class _Entry:
    string: str
    fuzzy: bool
    draft: bool


class Catalog:
    """One campaign's translations into one language, as read from its PO file.

    Get one with `load_catalog`; `Catalog(path, language, babel_catalog)` wraps a Babel
    catalog already in memory. Lookups take the msgctxt and the source text
    (`SourceMessage.context`, `.text`).
    """

    __slots__ = ("_entries", "language", "path")

    def __init__(self, path: Path, language: str, catalog: BabelCatalog) -> None:
        self.path = path
        self.language = language
        self._entries: dict[tuple[str, str], _Entry] = {}
        for message in catalog:
            if not message.id:
                continue  # the header
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            string = message.string if isinstance(message.string, str) else (message.string or ("",))[0]
            self._entries[(message.context or "", msgid)] = _Entry(
                string or "", message.fuzzy, MACHINE_DRAFT in message.flags
            )

    def __repr__(self) -> str:
        return f"<Catalog {self.language} {self.path}>"

    def get(self, context: str, text: str) -> str | None:
        """The translation, or None when the entry is missing, empty or fuzzy."""
        entry = self._entries.get((context, text))
        if entry is None or entry.fuzzy or not entry.string:
            return None
        return entry.string

    def state(self, context: str, text: str) -> State:
        """ "translated", "fuzzy" (its source changed: check it), or "missing" (no entry,
        or an empty one)."""
        entry = self._entries.get((context, text))
        if entry is None or not entry.string:
            return "missing"
        return "fuzzy" if entry.fuzzy else "translated"

    def reviewed(self, context: str, text: str) -> bool:
        """True for a translated, non-fuzzy entry without the machine-draft flag."""
        entry = self._entries.get((context, text))
        return entry is not None and bool(entry.string) and not entry.fuzzy and not entry.draft


_CACHE: dict[Path, tuple[tuple[int, int], Catalog]] = {}


def load_catalog(translations_dir: Path, campaign_id: str, language: str) -> Catalog | None:
    """The campaign's catalog for `language`, or None when its PO file does not exist.

    Each file is read once while its modification time and size stay the same, so
    rendering hundreds of deliveries costs one parse per language. Raises `InvalidInput`
    (with the line) for a broken file.
    """
    path = po_path(translations_dir, campaign_id, language)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    stamp = (info.st_mtime_ns, info.st_size)
    cached = _CACHE.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    catalog = Catalog(path, language, read_po_file(path, language))
    _CACHE[path] = (stamp, catalog)
    return catalog


# -------------------------------------------------------------------------- status


@dataclass(frozen=True, slots=True)
class Status:
    """How far one campaign is translated into one language (counts of distinct
    strings; translated + fuzzy + missing = total; reviewed ≤ translated)."""

    campaign: str
    language: str
    total: int
    translated: int
    fuzzy: int
    missing: int
    reviewed: int

    @classmethod
    def of(cls, campaign: str, language: str, catalog: Catalog | None, messages: list[SourceMessage]) -> Status:
        """Count `messages` against `catalog` (None: no PO file, all missing)."""
        return cls(campaign, language, len(messages), **_counts(catalog, messages))

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _counts(catalog: Catalog | None, messages: Iterable[SourceMessage]) -> dict[str, int]:
    counts = {"translated": 0, "fuzzy": 0, "missing": 0, "reviewed": 0}
    for m in messages:
        counts[catalog.state(m.context, m.text) if catalog else "missing"] += 1
        counts["reviewed"] += bool(catalog and catalog.reviewed(m.context, m.text))
    return counts


def translation_status(workspace: Workspace, loaded_campaigns: Iterable[LoadedCampaign]) -> list[Status]:
    """Counts for every campaign × each language its audiences read other than its own.
    A language with no PO file counts everything as missing. Raises `InvalidInput` for a
    broken PO file."""
    found = []
    for loaded in loaded_campaigns:
        messages = source_messages(loaded)
        for language in target_languages(loaded.campaign):
            catalog = load_catalog(workspace.translations_dir, loaded.campaign.id, language)
            found.append(Status.of(loaded.campaign.id, language, catalog, messages))
    return found


def incomplete(catalog: Catalog | None, messages: list[SourceMessage], *, language: str = "") -> str | None:
    """One line saying why `messages` cannot be sent in the catalog's language (entries
    missing or fuzzy), or None when every one is translated.

    With no catalog (no PO file), pass `language` so the line can name it.
    """
    if not messages:
        return None
    counts = _counts(catalog, messages)
    untranslated = counts["missing"] + counts["fuzzy"]
    if not untranslated:
        return None
    ids = list(dict.fromkeys(m.context.split("/", 1)[0] for m in messages))
    which = f'message "{ids[0]}"' if len(ids) == 1 else "messages " + ", ".join(f'"{i}"' for i in ids)
    language = catalog.language if catalog else language
    into = f" into {language}" if language else ""
    if catalog is None:
        return f"{which} has no translation{into} (no PO file) — run `kmcomms translations update`, then translate"
    parts = [f"{counts[k]} {k}" for k in ("missing", "fuzzy") if counts[k]]
    return (
        f"{untranslated} of {len(messages)} strings of {which} are not translated{into}"
        f" ({', '.join(parts)}) — run `kmcomms translations status`"
    )

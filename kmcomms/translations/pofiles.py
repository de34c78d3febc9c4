"""PO and MO files: building, merging and writing catalogs deterministically, and reading
them strictly (what msgfmt would refuse or Babel would misread is an error with its line:
the syntax is checked by `kmcomms.translations.po_syntax`)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, time
from pathlib import Path

from babel import Locale
from babel.messages import Catalog as BabelCatalog
from babel.messages.catalog import Message as BabelMessage
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po, unescape, write_po

from kmcomms.campaign.load import LoadedCampaign
from kmcomms.campaign.models import Campaign
from kmcomms.campaign.source import file_error, read_text
from kmcomms.files import write_atomic
from kmcomms.translations.po_syntax import KEYWORD, string_problem, syntax_problem
from kmcomms.translations.strings import located_strings


def gettext_language(language: str) -> str:
    return language.replace("-", "_")


#: The PO flag on an entry no native speaker has reviewed yet.
MACHINE_DRAFT = "machine-draft"

# ------------------------------------------------------------------ writing catalogs

_TEMPLATE_HEADER = """\
# Translations template for the campaign {id}.
# Made by `kmcomms translations extract` from the campaign's files:
# change those, not this file.
#"""

_PO_HEADER = """\
# {language} translations for the campaign {id}.
# Kept up to date by `kmcomms translations update`. Entries flagged
# machine-draft have not been reviewed by a native speaker: a reviewer
# deletes the flag once the entry is checked, as with fuzzy.
#"""


def _creation_date(campaign: Campaign) -> datetime:
    # Fixed by the campaign, not the clock: extracting the same text twice, on any
    # machine, writes the same bytes, so git diffs show only real changes.
    return datetime.combine(campaign.starts, time(0, 0), UTC)


def template_catalog(loaded: LoadedCampaign, root: Path) -> BabelCatalog:
    """The POT for a campaign: every source string with its msgctxt, a `#:` location
    (relative to the workspace `root`) and a `#.` comment naming message and field."""
    campaign = loaded.campaign
    # "Project-Id-Version: <campaign> <starts>": Babel reads the last word back as the version.
    catalog = BabelCatalog(
        domain=campaign.id,
        project=campaign.id,
        version=campaign.starts.isoformat(),
        msgid_bugs_address=campaign.owner,
        creation_date=_creation_date(campaign),
        header_comment=_TEMPLATE_HEADER.format(id=campaign.id),
        charset="utf-8",
    )
    for f in located_strings(loaded, None):
        key = (f.message.text, f.message.context)
        location = f.location(loaded, root)
        known = catalog.get(*key)
        if known is None:
            catalog.add(f.message.text, context=f.message.context, locations=[location], auto_comments=[f.comment])
        else:  # the same string twice in one field (a repeated paragraph): one entry, both places
            known.locations.append(location)
            known.auto_comments.append(f.comment)
    return catalog


def merge_catalog(template: BabelCatalog, existing: BabelCatalog | None, language: str) -> BabelCatalog:
    """A language's catalog brought up to date with `template` (a new one when
    `existing` is None): entries whose source changed become fuzzy with the previous
    msgid kept (`#|`), entries no longer in the template are kept as obsolete (`#~`),
    and an obsolete entry whose source is used again comes back translated. `existing`
    is changed in place and returned."""
    if existing is None:
        locale = Locale.parse(gettext_language(language))
        catalog = BabelCatalog(
            locale=locale,
            domain=template.domain,
            project=template.project,
            version=template.version,
            msgid_bugs_address=template.msgid_bugs_address,
            creation_date=template.creation_date,
            header_comment=_PO_HEADER.format(language=locale.english_name, id=template.domain),
            fuzzy=False,
            charset="utf-8",
        )
        previous: dict[object, list[str]] = {}
    else:
        catalog = existing
        previous = {_key(m): m.previous_id for m in catalog if m.id and m.fuzzy and m.previous_id}
        wanted = {_key(m) for m in template if m.id}
        for key, message in list(catalog.obsolete.items()):
            # A string used again gets its old translation back, as with msgmerge; left
            # obsolete, it would also be a duplicate entry that msgfmt refuses.
            if _key(message) in wanted and catalog.get(message.id, context=message.context) is None:
                del catalog.obsolete[key]
                catalog[message.id] = message
    catalog.update(template)
    for key in [k for k, m in catalog.obsolete.items() if catalog.get(m.id, context=m.context) is not None]:
        del catalog.obsolete[key]
    for message in catalog:
        # Babel sets the previous msgid only when it matches a changed source; an entry
        # still fuzzy from an earlier update keeps it, as msgmerge does.
        if message.id and message.fuzzy and not message.previous_id and _key(message) in previous:
            message.previous_id = previous[_key(message)]
    catalog.charset = "utf-8"
    return catalog


def _key(message: BabelMessage) -> tuple[object, str | None]:
    return (message.id, message.context)


_GENERATED_BY = re.compile(rb'^"Generated-By: [^"]*"\n', re.MULTILINE)


def po_bytes(catalog: BabelCatalog) -> bytes:
    """A catalog as PO (or POT) text: entries in campaign order, lines wrapped at 76,
    previous msgids kept, obsolete entries last, and no header line that changes with
    the Babel version.

    Entries are not sorted by msgid: campaign order is just as deterministic, and a
    translator then reads a message's title and paragraphs in sequence.
    """
    for message in catalog:
        # Babel flags any msgid that looks like a %-format ("50% of parents") as
        # python-format, and PO editors would then demand the "placeholder" in translations.
        message.flags.discard("python-format")
    for message in catalog.obsolete.values():
        message.flags.discard("python-format")
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=76, include_previous=True, sort_output=False, sort_by_file=False)
    return _GENERATED_BY.sub(b"", buffer.getvalue())


def mo_bytes(catalog: BabelCatalog) -> bytes:
    """The compiled catalog; fuzzy and untranslated entries are left out, as msgfmt does."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def write_file(path: Path, data: bytes, translations_dir: Path) -> bool:
    """Write `data` to `path` atomically unless it already holds exactly that; returns
    whether the file changed. Refuses any path outside `translations_dir` (a symlinked
    folder that leads elsewhere included)."""
    inside = translations_dir.resolve()

    def check() -> Path:
        target = path.parent.resolve() / path.name
        if not target.is_relative_to(inside) or target.is_symlink():
            raise file_error(
                path,
                f"refusing to write {path.name}: it is outside {translations_dir} (a symlink?)"
                " — kmcomms writes translations only under translations/",
                "outside-translations",
            )
        return target

    check()  # before making any folder, then again once they exist
    path.parent.mkdir(parents=True, exist_ok=True)
    target = check()
    try:
        if target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomic(target, data)
    return True


# ------------------------------------------------------------------ reading catalogs

_HEADER_FIELD = {
    "time data": ("POT-Creation-Date", "PO-Revision-Date"),
    "int()": ("Plural-Forms",),
    "plural": ("Plural-Forms",),
}


def _header_line(lines: list[str], reason: str) -> int:
    """Best line for a header value Babel could not read."""
    names = next((names for clue, names in _HEADER_FIELD.items() if clue in reason), ())
    for number, line in enumerate(lines, 1):
        if any(line.strip().lstrip('"').startswith(f"{name}:") for name in names):
            return number
    return 1


def read_po_file(path: Path, language: str | None = None) -> BabelCatalog:
    """Read a PO file strictly. Raises `InvalidInput` with the file and line for text
    that is not UTF-8, broken PO syntax, a duplicate entry, a header Babel cannot read,
    or a charset other than UTF-8."""
    text = read_text(path, "PO file")
    lines = text.splitlines()
    problem = syntax_problem(lines)
    if problem:
        line, column, reason = problem
        raise file_error(path, f"PO syntax: {reason}", "po-syntax", line, column)
    locale = Locale.parse(gettext_language(language)) if language else None
    try:
        catalog = read_po(lines, locale=locale, domain=path.stem, abort_invalid=True)
    except PoFileError as exc:  # Babel counts lines from 0
        raise file_error(path, f"PO syntax: {exc.args[0].rsplit(' on ', 1)[0]}", "po-syntax", exc.lineno + 1) from exc
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        reason = " ".join(str(exc).split())
        raise file_error(
            path,
            f"PO header: cannot read a value ({reason}) — fix or delete that header line",
            "po-header",
            _header_line(lines, reason),
        ) from exc
    if catalog.charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        line = next((n for n, s in enumerate(lines, 1) if "charset=" in s), 1)
        raise file_error(
            path,
            f"the header declares charset={catalog.charset}; kmcomms reads and writes UTF-8"
            ' — save the file as UTF-8 with "charset=UTF-8"',
            "po-charset",
            line,
        )
    _restore_previous(catalog)
    return catalog


def _restore_previous(catalog: BabelCatalog) -> None:
    # Babel reads `#| msgid "…"` (the source before it changed) as a user comment
    # "| msgid …" and would write it back as "# | …"; put it back where it belongs.
    for message in catalog:
        marked = [c for c in message.user_comments if c.startswith("|")]
        if not marked:
            continue
        message.user_comments = [c for c in message.user_comments if not c.startswith("|")]
        parts: list[str] = []
        target: list[str] | None = None
        for comment in marked:
            line = comment[1:].strip()
            keyword = KEYWORD.match(line)
            if keyword:
                target = parts if keyword[1] == "msgid" else None
                line = line[keyword.end() :].strip()
            if target is not None and line.startswith('"') and not string_problem(line):
                target.append(unescape(line))
        if parts:
            message.previous_id = ["".join(parts)]

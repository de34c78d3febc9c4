"""Translations: gettext catalogs of a campaign's text, maintained with Babel.

Layout (fixed by the campaign format), one gettext domain per campaign:

    translations/templates/<campaign>.pot              what there is to translate
    translations/<lang>/LC_MESSAGES/<campaign>.po      one language's translations
    translations/<lang>/LC_MESSAGES/<campaign>.mo      compiled, for other gettext tools

`<lang>` is the language code as the campaign writes it, with "-" written "_" (the gettext
convention that Poedit and Weblate expect: `pt_BR`).

Messages are paragraph-level: each title, summary, paragraph of a body (`paragraphs`),
call-to-action text and briefing point is one entry, told apart by its msgctxt
`"<message id>/<field>"` (see `source_messages`). Ids, URLs, contacts and video ids are
not translated.

Review: an entry that no native speaker has checked (a machine translation, a first
draft) carries the PO flag `machine-draft` (a `#, machine-draft` line, which Babel and
the gettext tools keep and Poedit and Weblate show). It is used, but `status` counts it
as not reviewed. A reviewer marks an entry reviewed by deleting the flag, exactly as a
translator clears `fuzzy` once a changed source has been checked; in Poedit or Weblate,
remove the flag from the entry's flags. `kmcomms translations update` never adds or
removes the flag.

Reading is strict: a PO file that gettext's msgfmt would refuse, or that Babel would
silently misread (an unclosed quote, a duplicate entry, a merge-conflict marker, a
non-UTF-8 byte), raises `InvalidInput` naming the file and line.
"""


from kmcomms.translations.catalogs import (
    Catalog,
    State,
    Status,
    incomplete,
    load_catalog,
    mo_path,
    po_path,
    pot_path,
    target_languages,
    translation_status,
)
from kmcomms.translations.pofiles import MACHINE_DRAFT, merge_catalog, mo_bytes, po_bytes, read_po_file, template_catalog, write_file
from kmcomms.translations.strings import SourceMessage, paragraphs, source_messages

__all__ = [
    "MACHINE_DRAFT",
    "Catalog",
    "SourceMessage",
    "State",
    "Status",
    "incomplete",
    "load_catalog",
    "merge_catalog",
    "mo_bytes",
    "mo_path",
    "paragraphs",
    "po_bytes",
    "po_path",
    "pot_path",
    "read_po_file",
    "source_messages",
    "target_languages",
    "template_catalog",
    "translation_status",
    "write_file",
]


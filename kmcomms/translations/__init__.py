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
May import: errors, files, logs, campaign.
"""

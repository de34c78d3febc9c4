"""Translations: paragraphs, extraction to POT, update/fuzzy, lookups, review flags,
compile, status and broken PO files — with real files in a fresh workspace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from babel.support import Translations
from conftest import VALID_CAMPAIGN, RunCli, WriteCampaign

from kmcomms.campaign.load import LoadedCampaign, load_paths
from kmcomms.campaign.workspace import load_workspace
from kmcomms.errors import InvalidInput
from kmcomms.translations.catalogs import incomplete, load_catalog, po_path, translation_status
from kmcomms.translations.pofiles import MACHINE_DRAFT, read_po_file, write_file
from kmcomms.translations.strings import SourceMessage, paragraphs, source_messages

#: VALID_CAMPAIGN with every translatable field on "launch", and things never translated.
RICH_CAMPAIGN = VALID_CAMPAIGN.replace(
    """\
    title: The films are out
    body: messages/launch.md
""",
    """\
    title: The films are out
    summary: Short films where nurses answer parents
    body: messages/launch.md
    call_to_action:
      text: Watch the films
      url: https://example.org/films/
    video:
      youtube_id: hpvLaunch01
    briefing:
      summary: Parents want answers from clinicians
      key_points:
        - Films reach parents who do not read English
        - Films reach parents who do not read English
        - Nurses use them in clinics
      evidence: Two qualitative studies
      uncertainty: Effect on uptake is not yet known
      recommendations: [Fund subtitles in more languages]
      contacts: [lead@example.org]
""",
)

LAUNCH_MD = """\
# The films are out

Clinicians answer what parents ask most.

Watch them with [subtitles](https://example.org/subtitles).
"""


def _translate(
    po: Path, translate: Callable[[str], str | None], flags: Callable[[str], set[str]] = lambda _: set()
) -> None:
    """Fill a PO file as a translator's tool would: read it, set msgstrs and flags, write it."""
    with po.open("rb") as file:
        catalog = read_po(file)
    for message in catalog:
        if message.id:
            message.string = translate(message.id) or ""
            message.flags |= flags(message.id)
    with po.open("wb") as file:
        write_po(file, catalog, width=76, include_previous=True)


def _assert_msgfmt_accepts(path: Path) -> None:
    """GNU gettext, the reference implementation, reads the file with its strictest checks."""
    if shutil.which("msgfmt") is None:
        pytest.skip("GNU gettext's msgfmt is not installed")
    check = subprocess.run(
        ["msgfmt", "--check", "-o", os.devnull, str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr


def _loaded(workspace: Path) -> list[LoadedCampaign]:
    result = load_paths([workspace])
    result.raise_for_errors()
    return result.campaigns


def _ur(workspace: Path) -> Path:
    return po_path(workspace / "translations", "example", "ur")


# ------------------------------------------------------------------ paragraphs


def test_paragraphs_split_on_blank_lines_and_strip() -> None:
    text = "\n\n  First line\nsame paragraph  \n   \n\n- a list\n- item\n\n\nLast.\n\n"
    # Leading spaces stay (four make an indented code block); trailing ones go.
    assert paragraphs(text) == ["  First line\nsame paragraph", "- a list\n- item", "Last."]
    assert paragraphs("") == [] and paragraphs("\n \n\t\n") == []
    assert paragraphs("a\r\n\r\nb") == ["a", "b"]


def test_paragraphs_keep_a_fenced_code_block_whole() -> None:
    text = "Before.\n\n```python\nx = 1\n\n\ny = 2\n```\n\nAfter.\n\n~~~\nz\n\n```\nnot a close\n~~~\n"
    assert paragraphs(text) == [
        "Before.",
        "```python\nx = 1\n\n\ny = 2\n```",
        "After.",
        "~~~\nz\n\n```\nnot a close\n~~~",
    ]
    # An unclosed fence runs to the end, as in CommonMark; a longer fence needs a long close.
    assert paragraphs("````\na\n\n```\n\nb") == ["````\na\n\n```\n\nb"]
    # Inline code with three backticks is not a fence.
    assert paragraphs("```inline``` text\n\nnext") == ["```inline``` text", "next"]


# ------------------------------------------------------------- source strings


def test_source_messages_give_every_field_in_order_once(workspace: Path, campaign: WriteCampaign) -> None:
    campaign(RICH_CAMPAIGN, files={"messages/launch.md": LAUNCH_MD})
    loaded = _loaded(workspace)[0]
    launch = source_messages(loaded, "launch")
    assert [(m.context, m.text) for m in launch] == [
        ("launch/title", "The films are out"),
        ("launch/summary", "Short films where nurses answer parents"),
        ("launch/body", "# The films are out"),
        ("launch/body", "Clinicians answer what parents ask most."),
        ("launch/body", "Watch them with [subtitles](https://example.org/subtitles)."),
        ("launch/call_to_action", "Watch the films"),
        ("launch/briefing.summary", "Parents want answers from clinicians"),
        ("launch/briefing.key_points", "Films reach parents who do not read English"),  # written twice, listed once
        ("launch/briefing.key_points", "Nurses use them in clinics"),
        ("launch/briefing.evidence", "Two qualitative studies"),
        ("launch/briefing.uncertainty", "Effect on uptake is not yet known"),
        ("launch/briefing.recommendations", "Fund subtitles in more languages"),
    ]
    everything = source_messages(loaded)
    assert everything[: len(launch)] == launch
    assert [m.context for m in everything[len(launch) :]] == ["reminder/title", "reminder/body", "reminder/body"]
    texts = " ".join(m.text for m in everything)
    assert "https://example.org/films/" not in texts and "lead@example.org" not in texts and "hpvLaunch01" not in texts
    with pytest.raises(KeyError, match="nope"):
        source_messages(loaded, "nope")


# -------------------------------------------------------------------- extract


def test_extract_writes_a_pot_with_contexts_locations_and_comments(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    campaign(RICH_CAMPAIGN, files={"messages/launch.md": LAUNCH_MD})
    code, out, err = kmcomms("translations", "extract", workspace)
    assert code == 0, err
    pot = workspace / "translations" / "templates" / "example.pot"
    assert "example.pot: created (15 strings)" in out
    text = pot.read_text(encoding="utf-8")
    with pot.open("rb") as file:
        template = read_po(file)
    entries = {(m.context, m.id): m for m in template if m.id}
    assert len(entries) == 15
    body = entries[("launch/body", "Clinicians answer what parents ask most.")]
    assert body.locations == [("campaigns/example/messages/launch.md", 3)]
    assert body.auto_comments == ['message "launch": body, paragraph 2 of 3']
    link = entries[("launch/body", "Watch them with [subtitles](https://example.org/subtitles).")]
    assert "Markdown" in " ".join(link.auto_comments)
    yaml_lines = (workspace / "campaigns/example/campaign.yaml").read_text().splitlines()
    title = entries[("launch/title", "The films are out")]
    ((where, line),) = title.locations
    assert where == "campaigns/example/campaign.yaml" and yaml_lines[line - 1].strip() == "title: The films are out"
    point = entries[("launch/briefing.key_points", "Films reach parents who do not read English")]
    assert len(point.locations) == 2 and point.auto_comments[1] == 'message "launch": briefing key point 2'
    inline = entries[("reminder/body", "Ask your school nurse or GP.")]
    assert yaml_lines[inline.locations[0][1] - 1].strip() == "body: |"
    assert 'msgctxt "launch/call_to_action"' in text and "https://example.org/films/" not in text.split("msgid", 1)[1]
    assert "Report-Msgid-Bugs-To: comms@example.org" in text
    assert "POT-Creation-Date: 2027-01-11 00:00+0000" in text and "Generated-By" not in text
    assert all(len(line) <= 79 for line in text.splitlines())  # wrapped at 76 plus quotes
    # Same content, same bytes: git sees no change.
    code, out, _ = kmcomms("translations", "extract", workspace / "campaigns" / "example")
    assert code == 0 and "unchanged" in out and pot.read_text(encoding="utf-8") == text


def test_extract_refuses_invalid_campaigns(workspace: Path, campaign: WriteCampaign, kmcomms: RunCli) -> None:
    campaign(VALID_CAMPAIGN.replace("title: The films are out", "titel: The films are out"))
    code, _, err = kmcomms("translations", "extract", workspace)
    assert code == 1 and "titel" in err and "Traceback" not in err
    assert not (workspace / "translations" / "templates" / "example.pot").exists()


# --------------------------------------------------------------------- update


def test_update_makes_changed_sources_fuzzy_and_keeps_the_rest(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    campaign()
    code, out, err = kmcomms("translations", "update", workspace)
    assert code == 0, err
    po = _ur(workspace)
    assert "ur/LC_MESSAGES/example.po: created (0 translated, 0 fuzzy, 6 missing)" in out
    _translate(po, lambda source: f"[ur] {source}")
    body = workspace / "campaigns/example/messages/launch.md"
    body.write_text(
        "# The films are out\n\nClinicians answer every question parents ask most.\n\n"
        "Zebras, tides and the 42 bus timetable.\n",
        encoding="utf-8",
    )

    code, out, err = kmcomms("translations", "update", workspace)
    assert code == 0, err
    assert "example.po: updated (5 translated, 1 fuzzy, 1 missing)" in out
    catalog = load_catalog(workspace / "translations", "example", "ur")
    assert catalog is not None
    changed = ("launch/body", "Clinicians answer every question parents ask most.")
    assert catalog.state(*changed) == "fuzzy" and catalog.get(*changed) is None
    assert catalog.state("launch/body", "# The films are out") == "translated"
    assert catalog.get("reminder/title", "Has your child had the vaccine?") == "[ur] Has your child had the vaccine?"
    new = ("launch/body", "Zebras, tides and the 42 bus timetable.")
    assert catalog.state(*new) == "missing" and catalog.get(*new) is None
    text = po.read_text(encoding="utf-8")
    assert '#| msgid "Clinicians answer what parents ask most."' in text
    assert '#, fuzzy\n#| msgid "Clinicians answer what parents ask most."\nmsgctxt "launch/body"' in text
    with po.open("rb") as file:
        fuzzy = read_po(file).get(changed[1], context=changed[0])
    assert fuzzy.string == "[ur] Clinicians answer what parents ask most."  # the old translation, to revise
    _assert_msgfmt_accepts(po)

    # A second update changes nothing, and the previous msgid survives it.
    code, out, _ = kmcomms("translations", "update", workspace)
    assert code == 0 and "example.po: unchanged" in out and po.read_text(encoding="utf-8") == text

    # A string no longer used is kept at the end as obsolete.
    body.write_text("# The films are out\n", encoding="utf-8")
    assert kmcomms("translations", "update", workspace)[0] == 0
    text = po.read_text(encoding="utf-8")
    assert (
        '#~ msgctxt "launch/body"\n#~ msgid "Clinicians answer what parents ask most."' not in text
    )  # fuzzy-matched away
    assert '#~ msgid "Clinicians answer every question parents ask most."' in text


def test_a_string_used_again_gets_its_translation_back(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    campaign()
    assert kmcomms("translations", "update", workspace)[0] == 0
    _translate(_ur(workspace), lambda source: f"[ur] {source}")
    body = workspace / "campaigns/example/messages/launch.md"
    original = body.read_text(encoding="utf-8")
    body.write_text("# The films are out\n", encoding="utf-8")
    assert kmcomms("translations", "update", workspace)[0] == 0
    assert '#~ msgid "Clinicians answer what parents ask most."' in _ur(workspace).read_text(encoding="utf-8")
    body.write_text(original, encoding="utf-8")
    assert kmcomms("translations", "update", workspace)[0] == 0
    text = _ur(workspace).read_text(encoding="utf-8")
    assert "#~" not in text  # not left behind as a duplicate, which msgfmt refuses
    catalog = load_catalog(workspace / "translations", "example", "ur")
    assert catalog is not None
    assert (
        catalog.get("launch/body", "Clinicians answer what parents ask most.")
        == "[ur] Clinicians answer what parents ask most."
    )
    _assert_msgfmt_accepts(_ur(workspace))


def test_update_only_the_languages_asked_for(workspace: Path, campaign: WriteCampaign, kmcomms: RunCli) -> None:
    campaign(VALID_CAMPAIGN.replace("languages: [en, ur]", "languages: [en, ur, pt-BR]"))
    code, out, _ = kmcomms("translations", "update", workspace, "--language", "pt-BR")
    assert code == 0
    assert (workspace / "translations/pt_BR/LC_MESSAGES/example.po").is_file()  # gettext's spelling
    assert not _ur(workspace).exists() and "ur/" not in out
    assert "Language: pt_BR" in (workspace / "translations/pt_BR/LC_MESSAGES/example.po").read_text(encoding="utf-8")
    code, _, err = kmcomms("translations", "update", workspace, "--language", "fr")
    assert code == 2 and "fr" in err and "pt-BR, ur" in err


def test_update_writes_nothing_when_a_po_file_is_broken(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    campaign(VALID_CAMPAIGN.replace("languages: [en, ur]", "languages: [en, ur, pl]"))
    assert kmcomms("translations", "update", workspace)[0] == 0
    pl = po_path(workspace / "translations", "example", "pl")
    pl.write_text(pl.read_text(encoding="utf-8") + 'msgid "x"\n', encoding="utf-8")
    before = _ur(workspace).read_bytes()
    (workspace / "campaigns/example/messages/launch.md").write_text("New text.\n", encoding="utf-8")
    code, _, err = kmcomms("translations", "update", workspace)
    assert code == 1 and "example.po:" in err and "no msgstr" in err and "Traceback" not in err
    assert _ur(workspace).read_bytes() == before
    assert "New text." not in (workspace / "translations/templates/example.pot").read_text(encoding="utf-8")


# ------------------------------------------------------------- lookups, review


def test_get_state_and_reviewed(workspace: Path, campaign: WriteCampaign, kmcomms: RunCli) -> None:
    campaign()
    assert load_catalog(workspace / "translations", "example", "ur") is None  # no PO file yet
    assert kmcomms("translations", "update", workspace)[0] == 0
    answers = {
        "The films are out": "فلمیں آ گئی ہیں",
        "It is not too late.": "ابھی دیر نہیں ہوئی",
        "Ask your school nurse or GP.": "اپنی اسکول نرس سے پوچھیں",
        "# The films are out": "# فلمیں",
    }
    flags = {"It is not too late.": {"fuzzy"}, "Ask your school nurse or GP.": {MACHINE_DRAFT}}
    _translate(_ur(workspace), answers.get, lambda source: flags.get(source, set()))
    catalog = load_catalog(workspace / "translations", "example", "ur")
    assert catalog is not None and catalog.language == "ur" and catalog.path == _ur(workspace)
    assert catalog.get("launch/title", "The films are out") == "فلمیں آ گئی ہیں"
    assert catalog.get("launch/title", "The films are in") is None  # not in the catalog
    assert catalog.get("reminder/title", "The films are out") is None  # another context
    assert catalog.get("reminder/body", "It is not too late.") is None  # fuzzy
    assert catalog.state("reminder/body", "It is not too late.") == "fuzzy"
    assert catalog.get("launch/body", "Clinicians answer what parents ask most.") is None  # empty msgstr
    assert catalog.state("launch/body", "Clinicians answer what parents ask most.") == "missing"
    draft = ("reminder/body", "Ask your school nurse or GP.")
    assert catalog.get(*draft) == "اپنی اسکول نرس سے پوچھیں" and catalog.state(*draft) == "translated"
    assert catalog.reviewed(*draft) is False
    assert catalog.reviewed("launch/title", "The films are out") is True
    assert catalog.reviewed("reminder/body", "It is not too late.") is False
    assert f"#, {MACHINE_DRAFT}" in _ur(workspace).read_text(encoding="utf-8")

    messages = source_messages(_loaded(workspace)[0])
    reminder = [m for m in messages if m.context.startswith("reminder/")]
    assert incomplete(catalog, reminder) == (
        '2 of 3 strings of message "reminder" are not translated into ur'
        " (1 missing, 1 fuzzy) — run `kmcomms translations status`"
    )
    done = [SourceMessage("launch/title", "The films are out"), SourceMessage("launch/body", "# The films are out")]
    assert incomplete(catalog, done) is None
    assert "no translation into yi" in (incomplete(None, done, language="yi") or "")


def test_load_catalog_reads_each_file_once_until_it_changes(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    campaign()
    assert kmcomms("translations", "update", workspace)[0] == 0
    first = load_catalog(workspace / "translations", "example", "ur")
    assert first is not None and load_catalog(workspace / "translations", "example", "ur") is first
    _translate(_ur(workspace), lambda source: "x")
    stat = _ur(workspace).stat()
    os.utime(_ur(workspace), ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_catalog(workspace / "translations", "example", "ur")
    assert second is not first and second is not None
    assert second.get("launch/title", "The films are out") == "x"


# --------------------------------------------------------------------- status


def test_status_json_counts_drafts_as_not_reviewed(workspace: Path, campaign: WriteCampaign, kmcomms: RunCli) -> None:
    campaign(VALID_CAMPAIGN.replace("languages: [en, ur]", "languages: [en, ur, pl]"))
    assert kmcomms("translations", "update", workspace, "--language", "ur")[0] == 0
    # Two of the five translations are machine drafts ("The films are out", "# The films are out").
    _translate(
        _ur(workspace),
        lambda source: None if source.startswith("Ask") else f"ur: {source}",
        lambda source: {MACHINE_DRAFT} if "films" in source else set(),
    )
    code, out, err = kmcomms("translations", "status", workspace, "--format", "json")
    assert code == 0, err
    assert json.loads(out) == [
        {"campaign": "example", "language": "ur", "total": 6, "translated": 5, "fuzzy": 0, "missing": 1, "reviewed": 3},
        {"campaign": "example", "language": "pl", "total": 6, "translated": 0, "fuzzy": 0, "missing": 6, "reviewed": 0},
    ]
    code, out, _ = kmcomms("translations", "status", workspace)
    assert code == 0 and "example" in out and "pl" in out and "machine drafts" in out
    statuses = translation_status(load_workspace(workspace), _loaded(workspace))
    assert [(s.language, s.translated, s.reviewed) for s in statuses] == [("ur", 5, 3), ("pl", 0, 0)]


def test_status_with_nothing_to_translate(workspace: Path, campaign: WriteCampaign, kmcomms: RunCli) -> None:
    campaign(VALID_CAMPAIGN.replace("languages: [en, ur]", "languages: [en]"))
    code, out, err = kmcomms("translations", "status", workspace, "--format", "json")
    assert code == 0 and json.loads(out) == []
    code, out, err = kmcomms("translations", "status", workspace)
    assert code == 0 and "nothing to translate" in err


# -------------------------------------------------------------------- compile


def test_compile_writes_mo_files_gettext_can_read(workspace: Path, campaign: WriteCampaign, kmcomms: RunCli) -> None:
    campaign()
    assert kmcomms("translations", "update", workspace)[0] == 0
    _translate(_ur(workspace), lambda source: f"ur: {source}", lambda source: {"fuzzy"} if "late" in source else set())
    code, out, err = kmcomms("translations", "compile", workspace)
    assert code == 0, err
    assert "example.mo: created (5 of 6 strings" in out
    with _ur(workspace).with_suffix(".mo").open("rb") as file:
        compiled = Translations(file, domain="example")
    assert compiled.pgettext("launch/title", "The films are out") == "ur: The films are out"
    assert compiled.pgettext("reminder/body", "It is not too late.") == "It is not too late."  # fuzzy: left out
    assert compiled.pgettext("reminder/title", "The films are out") == "The films are out"  # context matters


def test_compile_refuses_a_broken_file_and_compiles_the_others(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli
) -> None:
    campaign(VALID_CAMPAIGN.replace("languages: [en, ur]", "languages: [en, ur, pl]"))
    assert kmcomms("translations", "update", workspace)[0] == 0
    pl = po_path(workspace / "translations", "example", "pl")
    lines = pl.read_text(encoding="utf-8").splitlines()
    bad = lines.index('msgid "The films are out"') + 2
    lines[bad - 1] = 'msgstr "Filmy'
    pl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = kmcomms("translations", "compile", workspace)
    assert code == 1 and f"example.po:{bad}:" in err and "not closed" in err
    assert _ur(workspace).with_suffix(".mo").is_file() and not pl.with_suffix(".mo").exists()


# ------------------------------------------------------------ broken PO files

HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (HEADER + 'msgid "a"\nmsgstr "b\n', 6, "not closed"),
        (HEADER + 'msgid "a"\nmsgstr "b"\nfoo bar\n', 7, "not a PO keyword"),
        (HEADER + 'msgid a\nmsgstr "b"\n', 5, "double quotes"),
        (HEADER + 'msgid "a"\n\nmsgid "c"\nmsgstr "d"\n', 5, "no msgstr"),
        (HEADER + 'msgctxt "x"\nmsgid "a"\nmsgstr "1"\n\nmsgctxt "x"\nmsgid "a"\nmsgstr "2"\n', 10, "second entry"),
        (HEADER + 'msgid "a"\nmsgstr "x\\q"\n', 6, "escape"),
        (HEADER + '<<<<<<< HEAD\nmsgid "a"\nmsgstr "b"\n=======\n', 5, "merge conflict"),
        (HEADER + 'msgstr "b"\n', 5, "without a msgid"),
        (HEADER + '#. a comment ends the entry\n"stray"\n', 6, "must continue"),
        (HEADER + 'msgid "a"\nmsgstr[0] "b"\n', 6, "does not match"),
        (HEADER + 'msgid "a"\nmsgstr "b"\n\n#~ msgid "a"\n#~ msgstr "c"\n', 8, "second entry"),
        (HEADER.encode() + b'msgid "a"\nmsgstr "\xe9t\xe9"\n', 6, "not UTF-8"),
        ('msgid ""\nmsgstr ""\n"POT-Creation-Date: tomorrow\\n"\n\nmsgid "a"\nmsgstr "b"\n', 3, "tomorrow"),
        (
            'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=ISO-8859-1\\n"\n\nmsgid "a"\nmsgstr "b"\n',
            3,
            "UTF-8",
        ),
    ],
)
def test_a_broken_po_file_is_reported_with_its_line(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli, content: str | bytes, line: int, words: str
) -> None:
    campaign()
    po = _ur(workspace)
    po.parent.mkdir(parents=True)
    po.write_bytes(content.encode() if isinstance(content, str) else content)
    code, out, err = kmcomms("translations", "status", workspace)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"example.po:{line}:" in err and words in err
    with pytest.raises(InvalidInput) as caught:
        read_po_file(po)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.path == str(po) and diagnostic.line == line


def test_a_file_gettext_accepts_reads_cleanly(tmp_path: Path) -> None:
    po = tmp_path / "ok.po"
    po.write_text(
        HEADER + '# translator\n#. extracted\n#: a.md:1\n#, fuzzy, machine-draft\n#| msgid "old"\n'
        'msgctxt "m/body"\nmsgid ""\n"two "\n"lines \\"quoted\\"\\n"\nmsgstr "deux"\n\n'
        '#~ msgctxt "m/body"\n#~ msgid "a"\n#~ msgstr "b"\n\n#~ msgctxt "m/other"\n#~ msgid "a"\n#~ msgstr "c"\n',
        encoding="utf-8",
    )
    catalog = read_po_file(po)
    message = catalog.get('two lines "quoted"\n', context="m/body")
    assert message is not None and message.previous_id == ["old"] and message.user_comments == ["translator"]
    assert message.flags >= {"fuzzy", MACHINE_DRAFT}
    if shutil.which("msgfmt"):  # the reference implementation agrees
        check = subprocess.run(
            ["msgfmt", "--check-format", "-o", os.devnull, str(po)], capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stderr


# ------------------------------------------------------ the standard format


def test_files_round_trip_through_standard_tools(workspace: Path, campaign: WriteCampaign, kmcomms: RunCli) -> None:
    campaign(RICH_CAMPAIGN, files={"messages/launch.md": LAUNCH_MD.replace("most.", "most (50% of them).")})
    assert kmcomms("translations", "update", workspace)[0] == 0
    po = _ur(workspace)
    # "50% of them" looks like a %-format to Babel; a python-format flag would make PO
    # editors demand the "placeholder" in every translation.
    assert "python-format" not in po.read_text(encoding="utf-8")
    _translate(_ur(workspace), lambda source: f"ur: {source}", lambda source: {MACHINE_DRAFT})
    text = po.read_text(encoding="utf-8")
    assert text.count("msgctxt ") == 15
    with po.open("rb") as file:
        parsed = read_po(file)
    assert parsed.get("Watch the films", context="launch/call_to_action").string == "ur: Watch the films"
    assert str(parsed.locale) == "ur" and parsed.charset == "utf-8"
    # kmcomms reads what a tool wrote and keeps the translations and flags.
    assert kmcomms("translations", "update", workspace)[0] == 0
    assert read_po_file(po).get("Watch the films", context="launch/call_to_action").string == "ur: Watch the films"
    assert "python-format" not in po.read_text(encoding="utf-8") and "#, machine-draft" in po.read_text(
        encoding="utf-8"
    )
    _assert_msgfmt_accepts(workspace / "translations/templates/example.pot")
    _assert_msgfmt_accepts(po)


def test_nothing_is_written_outside_translations(
    workspace: Path, campaign: WriteCampaign, kmcomms: RunCli, tmp_path: Path
) -> None:
    campaign()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (workspace / "translations" / "templates").symlink_to(outside, target_is_directory=True)
    code, _, err = kmcomms("translations", "extract", workspace)
    assert code == 1 and "outside" in err and list(outside.iterdir()) == []
    with pytest.raises(InvalidInput):
        write_file(tmp_path / "x.po", b"", workspace / "translations")
    (workspace / "translations" / "ur").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidInput, match="outside"):
        write_file(po_path(workspace / "translations", "example", "ur"), b"", workspace / "translations")
    assert list(outside.iterdir()) == []  # not even the LC_MESSAGES folder

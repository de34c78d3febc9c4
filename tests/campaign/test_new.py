"""`kmcomms new` and the drafting behind it: every starting point validates, flags land in
the file, bad flags are reported against the flag with nothing written, and the
interactive path takes its defaults from empty answers."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from kmcomms.campaign import load as campaign_load
from kmcomms.campaign.drafting import (
    SHAPES,
    DraftAnswers,
    default_channels,
    default_event_date,
    draft_campaign,
    next_monday,
    slugify,
    yaml_plain,
    yaml_quote,
)
from kmcomms.campaign.load import load_paths
from kmcomms.campaign.placeholders import MARK, placeholders
from kmcomms.campaign.source import load_yaml
from kmcomms.campaign.workspace import campaign_files
from kmcomms.cli import cli, main
from kmcomms.cli import new as new_module

NOW = "2027-01-06T12:00Z"  # a Wednesday: the next Monday is 2027-01-11


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "unit"
    assert main(["init", str(root), "--unit-name", "Test unit"]) == 0
    monkeypatch.chdir(root)
    monkeypatch.setattr(new_module, "stdin_is_tty", lambda: False)
    return root


def load(root: Path, campaign_id: str):
    result = load_paths([root / "campaigns" / campaign_id], cwd=root)
    assert result.errors == [], [str(d) for d in result.errors]
    (loaded,) = result.campaigns
    return loaded, result


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "campaigns").iterdir())


# --- every starting point validates ---------------------------------------------------


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_shape_drafts_a_campaign_that_validates_cleanly(workspace: Path, shape: str, capsys) -> None:
    assert main(["--now", NOW, "new", "-y", "--shape", shape, "--title", f"A {shape} campaign"]) == 0
    loaded, result = load(workspace, f"a-{shape}-campaign")
    assert result.diagnostics == [], [str(d) for d in result.diagnostics]  # not even a warning
    c = loaded.campaign
    assert c.aims and c.aims[0].objectives and c.aims[0].objectives[0].indicators
    assert all(o.audiences for a in c.aims for o in a.objectives)
    for message in c.messages:
        body = loaded.bodies[message.id]
        assert body.path is not None and body.path.parent.name == "messages"
        assert "[Replace this paragraph" in body.text
    text = (workspace / "campaigns" / c.id / "campaign.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../campaign.schema.json\n")
    out = capsys.readouterr().out
    assert f"kmcomms plan campaigns/{c.id}" in out and "kmcomms validate" in out
    assert leftovers(workspace) == [c.id]  # no temporary folder left behind


def test_awareness_shape(workspace: Path) -> None:
    assert main(["--now", NOW, "new", "-y", "--title", "Flu jabs", "--language", "en,ur,pl"]) == 0
    c = load(workspace, "flu-jabs")[0].campaign
    assert list(c.audiences) == ["public"] and c.audiences["public"].kind == "public"
    assert c.audiences["public"].channels == ["blog", "newsletter", "video"]
    launch, reminder = c.messages
    assert launch.at == datetime(2027, 1, 11, 9, 0) and launch.video is not None
    assert reminder.repeat is not None and reminder.repeat.every == "2 weeks"
    assert reminder.repeat.starts == date(2027, 1, 25) and reminder.channels == ["newsletter"]
    languages = {tuple(i.languages) for a in c.aims for o in a.objectives for i in o.indicators if i.languages}
    assert languages == {("ur", "pl")}


def test_policy_briefing_shape(workspace: Path) -> None:
    assert (
        main(
            [
                "--now",
                NOW,
                "new",
                "-y",
                "--shape",
                "policy-briefing",
                "--title",
                "Closing gaps",
                "--owner",
                "Dr A. Researcher <a@unit.example.ac.uk>",
            ]
        )
        == 0
    )
    c = load(workspace, "closing-gaps")[0].campaign
    (audience,) = c.audiences.values()
    assert audience.kind == "policy" and audience.channels == ["briefing"]
    (brief,) = c.messages
    assert brief.briefing is not None
    assert brief.briefing.contacts == ["Dr A. Researcher <a@unit.example.ac.uk>"]
    assert brief.briefing.key_points and brief.briefing.evidence and brief.briefing.uncertainty
    assert brief.briefing.recommendations


def test_policy_briefing_falls_back_to_newsletter(workspace: Path) -> None:
    settings = workspace / "kmcomms.toml"
    without = re.sub(r"\[channels\.briefing\].*?(?=^\[|\Z)", "", settings.read_text(), flags=re.DOTALL | re.MULTILINE)
    assert "[channels.briefing]" not in without
    settings.write_text(without)
    assert main(["new", "-y", "--shape", "policy-briefing", "--title", "P"]) == 0
    c = load(workspace, "p")[0].campaign
    assert c.audiences["decision-makers"].channels == ["newsletter"]


def test_event_shape(workspace: Path) -> None:
    assert (
        main(["--now", NOW, "new", "-y", "--shape", "event", "--title", "Science fair", "--event-date", "2027-03-13"])
        == 0
    )
    c = load(workspace, "science-fair")[0].campaign
    announce, on_the_day = c.messages
    assert announce.at == datetime(2027, 1, 11, 9, 0)
    assert on_the_day.at == datetime(2027, 3, 13, 8, 0)
    metrics = {i.metric for a in c.aims for o in a.objectives for i in o.indicators}
    assert "attendees" in metrics
    assert c.audiences["public"].channels == ["blog", "newsletter"]


# --- flags land in the file -------------------------------------------------------------


def test_flags_land_in_the_file(workspace: Path) -> None:
    title = 'HPV: "your" questions # answered'
    assert (
        main(
            [
                "new",
                "-y",
                "--title",
                title,
                "--id",
                "hpv",
                "--audience",
                "Parents: carers too",
                "--language",
                "en,ur",
                "--language",
                "pa",
                "--channel",
                "video",
                "--channel",
                "newsletter",
                "--at",
                "2027-02-01 18:30",
                "--ends",
                "2027-04-30",
                "--timezone",
                "Europe/Dublin",
                "--owner",
                "comms@unit.example.ac.uk",
            ]
        )
        == 0
    )
    c = load(workspace, "hpv")[0].campaign
    assert c.title == title and c.owner == "comms@unit.example.ac.uk"
    assert c.language == "en" and c.timezone == "Europe/Dublin"
    assert c.starts == date(2027, 2, 1) and c.ends == date(2027, 4, 30)
    audience = c.audiences["public"]
    assert audience.name == "Parents: carers too"
    assert audience.languages == ["en", "ur", "pa"]
    assert audience.channels == ["video", "newsletter"]
    assert c.messages[0].at == datetime(2027, 2, 1, 18, 30)
    assert c.messages[1].repeat is not None and c.messages[1].repeat.at == time(18, 30)


def test_audience_kind_names_the_audience(workspace: Path) -> None:
    assert main(["new", "-y", "--title", "Nurses", "--audience-kind", "clinicians", "--starts", "2027-05-03"]) == 0
    c = load(workspace, "nurses")[0].campaign
    assert list(c.audiences) == ["clinicians"] and c.audiences["clinicians"].kind == "clinicians"
    assert c.starts == date(2027, 5, 3) and c.messages[0].at == datetime(2027, 5, 3, 9, 0)


# --- default dates ------------------------------------------------------------------------


def test_now_pins_the_default_dates(workspace: Path) -> None:
    assert main(["--now", NOW, "new", "-y", "--title", "X"]) == 0
    c = load(workspace, "x")[0].campaign
    assert c.starts == date(2027, 1, 11)  # the Monday after Wednesday 6 January
    assert c.ends == date(2027, 4, 5)  # twelve weeks on
    assert c.messages[0].at == datetime(2027, 1, 11, 9, 0)
    assert c.timezone == "Europe/London" and c.language == "en"


def test_today_is_taken_in_the_campaign_time_zone(workspace: Path) -> None:
    # 23:30 UTC on Sunday is already Monday in Auckland: the next Monday is a week later.
    assert main(["--now", "2027-01-10T23:30Z", "new", "-y", "--title", "NZ", "--timezone", "Pacific/Auckland"]) == 0
    assert load(workspace, "nz")[0].campaign.starts == date(2027, 1, 18)


def test_a_short_campaign_has_no_fortnightly_reminder(workspace: Path) -> None:
    assert main(["new", "-y", "--title", "Short", "--at", "2027-01-11 09:00", "--ends", "2027-01-20"]) == 0
    loaded, result = load(workspace, "short")
    assert [m.id for m in loaded.campaign.messages] == ["launch"]
    assert not (workspace / "campaigns" / "short" / "messages" / "reminder.md").exists()
    assert result.diagnostics == []


# --- bad flags ---------------------------------------------------------------------------


def test_bad_language_is_reported_against_the_flag(workspace: Path, capsys) -> None:
    assert main(["new", "-y", "--title", "X", "--language", "en,xx"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("kmcomms: error: --language") and '"xx"' in err[0]
    assert leftovers(workspace) == []


def test_unknown_channel_is_reported_against_the_flag(workspace: Path, capsys) -> None:
    assert main(["new", "-y", "--title", "X", "--channel", "blgo"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("kmcomms: error: --channel") and 'did you mean "blog"' in err
    assert "blog, newsletter, video, briefing" in err
    assert leftovers(workspace) == []


def test_bad_timezone_is_reported_against_the_flag(workspace: Path, capsys) -> None:
    assert main(["new", "-y", "--title", "X", "--timezone", "Europe/Londn"]) == 1
    err = capsys.readouterr().err
    assert "--timezone" in err and 'did you mean "Europe/London"' in err
    assert leftovers(workspace) == []


@pytest.mark.parametrize("bad_id", ["Bad Id", "../escape", "a/b"])
def test_bad_id_is_refused_before_any_path_is_made(workspace: Path, bad_id: str, capsys) -> None:
    assert main(["new", "-y", "--id", bad_id]) == 1
    assert "--id" in capsys.readouterr().err
    assert leftovers(workspace) == []
    assert not (workspace / "escape").exists()


def test_first_message_after_the_end_names_at(workspace: Path, capsys) -> None:
    assert (
        main(
            ["new", "-y", "--title", "X", "--at", "2027-06-01 09:00", "--starts", "2027-01-11", "--ends", "2027-03-31"]
        )
        == 1
    )
    assert capsys.readouterr().err.startswith("kmcomms: error: --at")


def test_event_after_the_end_names_event_date(workspace: Path, capsys) -> None:
    assert (
        main(
            [
                "new",
                "-y",
                "--shape",
                "event",
                "--title",
                "Fair",
                "--at",
                "2027-01-11 09:00",
                "--ends",
                "2027-01-31",
                "--event-date",
                "2027-02-06",
            ]
        )
        == 1
    )
    assert capsys.readouterr().err.startswith("kmcomms: error: --event-date")


def test_event_before_its_announcement_is_a_usage_error(workspace: Path, capsys) -> None:
    assert main(["new", "-y", "--shape", "event", "--at", "2027-02-01 09:00", "--event-date", "2027-01-30"]) == 2
    assert "--event-date" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--shape", "awareness", "--event-date", "2027-03-13"], "--event-date"),
        (["--shape", "event", "--contact", "A <a@x.org>"], "--contact"),
    ],
)
def test_options_of_another_shape_are_refused(workspace: Path, args: list[str], flag: str, capsys) -> None:
    assert main(["new", "-y", *args]) == 2
    assert f"{flag} is for --shape" in capsys.readouterr().err
    assert leftovers(workspace) == []


def test_malformed_at_is_a_usage_error(workspace: Path, capsys) -> None:
    assert main(["new", "-y", "--at", "next tuesday"]) == 2
    assert "YYYY-MM-DD HH:MM" in capsys.readouterr().err


def test_needs_a_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "-y", "--title", "X"]) == 1
    assert "kmcomms init" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_draft_is_checked_where_no_command_takes_it_for_a_campaign(workspace: Path, monkeypatch) -> None:
    seen = []
    real = campaign_load.load_campaign

    def spy(path, ws):
        seen.append((path, campaign_files(workspace)))
        return real(path, ws)

    monkeypatch.setattr(campaign_load, "load_campaign", spy)  # `kmcomms new` imports it when it runs
    assert main(["new", "-y", "--title", "Hidden"]) == 0
    (draft, visible), *_ = seen
    assert draft.parent.name == "hidden" and draft.parent.parent.name.startswith(".new-")
    assert visible == []  # validate and plan do not see the draft while it is checked
    assert leftovers(workspace) == ["hidden"]


# --- existing folders ------------------------------------------------------------------


def test_existing_folder_is_refused_unless_forced(workspace: Path, capsys) -> None:
    assert main(["new", "-y", "--id", "same", "--title", "First"]) == 0
    folder = workspace / "campaigns" / "same"
    (folder / "notes.txt").write_text("mine")
    assert main(["new", "-y", "--id", "same", "--title", "Second"]) == 2
    assert "--force" in capsys.readouterr().err
    assert load(workspace, "same")[0].campaign.title == "First"
    assert main(["new", "-y", "--id", "same", "--title", "Second", "--shape", "event", "--force"]) == 0
    assert load(workspace, "same")[0].campaign.title == "Second"
    assert not (folder / "notes.txt").exists() and not (folder / "messages" / "launch.md").exists()
    assert leftovers(workspace) == ["same"]


def test_a_failed_force_keeps_the_old_campaign(workspace: Path) -> None:
    assert main(["new", "-y", "--id", "keep", "--title", "Old"]) == 0
    assert main(["new", "-y", "--id", "keep", "--channel", "nope", "--force"]) == 1
    assert load(workspace, "keep")[0].campaign.title == "Old"
    assert leftovers(workspace) == ["keep"]


# --- interactive -----------------------------------------------------------------------


def _interactive(monkeypatch: pytest.MonkeyPatch, args: list[str], answers: str):
    monkeypatch.setattr(new_module, "stdin_is_tty", lambda: True)
    return CliRunner().invoke(cli, ["--now", NOW, "new", *args], input=answers)


def test_interactive_defaults_from_empty_answers(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # shape, title, owner, audience, languages, channels, first message
    result = _interactive(monkeypatch, [], "\n" * 7)
    assert result.exit_code == 0, result.output
    for prompt in ("Shape", "Title", "Owner", "Audience", "Languages", "Channels", "First message"):
        assert prompt in result.output
    assert "[2027-01-11 09:00]" in result.output  # the default is shown
    c = load(workspace, slugify(SHAPES["awareness"].title))[0].campaign
    assert c.title == SHAPES["awareness"].title and c.owner == "Test unit"
    assert c.starts == date(2027, 1, 11) and c.messages[0].at == datetime(2027, 1, 11, 9, 0)
    assert c.audiences["public"].languages == ["en"]
    assert c.audiences["public"].channels == ["blog", "newsletter", "video"]


def test_interactive_answers_and_reprompts(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = (
        "\n".join(
            [
                "event",  # shape
                "Open day",  # title
                "me@unit.example.ac.uk",  # owner
                "",  # audience: default
                "en,xx",
                "en,cy",  # a bad language, asked again
                "blgo",
                "blog",  # an unknown channel, asked again
                "2027-02-01 10:00",  # first message
                "",  # event day: default
            ]
        )
        + "\n"
    )
    result = _interactive(monkeypatch, [], answers)
    assert result.exit_code == 0, result.output
    assert '"xx" is not a language code' in result.output
    assert 'no channel "blgo" (did you mean "blog"?)' in result.output
    c = load(workspace, "open-day")[0].campaign
    assert c.owner == "me@unit.example.ac.uk"
    assert c.audiences["public"].languages == ["en", "cy"] and c.audiences["public"].channels == ["blog"]
    assert c.messages[0].at == datetime(2027, 2, 1, 10, 0)
    assert c.messages[1].at == datetime.combine(default_event_date(datetime(2027, 2, 1, 10, 0)), time(8, 0))


def test_interactive_asks_only_what_flags_leave_open(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _interactive(
        monkeypatch,
        [
            "--shape",
            "policy-briefing",
            "--title",
            "T",
            "--owner",
            "o@x.org",
            "--language",
            "en",
            "--channel",
            "briefing",
        ],
        "\n\n",
    )
    assert result.exit_code == 0, result.output
    assert "Shape" not in result.output and "Title" not in result.output and "Languages" not in result.output
    assert "Audience" in result.output and "First message" in result.output


def test_yes_never_prompts_even_on_a_terminal(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _interactive(monkeypatch, ["-y", "--title", "Quiet"], "")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("drafted campaigns/quiet/")
    load(workspace, "quiet")


def test_no_terminal_never_prompts(workspace: Path, capsys) -> None:
    assert main(["new", "--title", "Piped"]) == 0  # the fixture says stdin is not a terminal
    assert "Shape" not in capsys.readouterr().out
    load(workspace, "piped")


# --- the drafted campaign plans ----------------------------------------------------------


def test_drafted_campaign_plans_its_deliveries(workspace: Path, capsys) -> None:
    assert (
        main(["--now", NOW, "new", "-y", "--title", "Plan me", "--language", "en,ur", "--channel", "blog,newsletter"])
        == 0
    )
    capsys.readouterr()
    assert main(["--now", NOW, "plan", "campaigns/plan-me", "--format", "json"]) == 0
    deliveries = json.loads(capsys.readouterr().out)
    launches = {(d["language"], d["channel"]) for d in deliveries if d["message"] == "launch"}
    assert launches == {("en", "blog"), ("ur", "blog"), ("en", "newsletter"), ("ur", "newsletter")}
    reminders = [d for d in deliveries if d["message"] == "reminder"]
    assert reminders and {d["channel"] for d in reminders} == {"newsletter"}


# --- drafting, the pure part -------------------------------------------------------------


def _answers(**changes) -> DraftAnswers:
    base = dict(
        shape="awareness",
        id="x",
        title="X",
        owner="o",
        timezone="Europe/London",
        languages=("en",),
        channels=(),
        starts=date(2027, 1, 11),
        ends=date(2027, 4, 5),
        at=datetime(2027, 1, 11, 9),
        audience_name="People",
        audience_kind="public",
    )
    return DraftAnswers(**{**base, **changes})


def test_drafting_is_pure_and_repeatable() -> None:
    first = draft_campaign(_answers(), ["blog"])
    assert first == draft_campaign(_answers(), ["blog"])
    assert sorted(map(str, first)) == [
        "campaigns/x/campaign.yaml",
        "campaigns/x/messages/launch.md",
        "campaigns/x/messages/reminder.md",
    ]


def test_default_channels_suit_the_shape() -> None:
    defined = ["print", "briefing", "video", "blog"]
    assert default_channels("awareness", defined) == ["blog", "video"]
    assert default_channels("policy-briefing", defined) == ["briefing"]
    assert default_channels("policy-briefing", ["newsletter", "blog"]) == ["newsletter"]
    assert default_channels("event", ["print"]) == ["print"]
    assert default_channels("event", []) == []


def test_workspace_without_channels_still_drafts_a_valid_campaign(tmp_path: Path) -> None:
    files = draft_campaign(_answers(), [])
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    result = load_paths([tmp_path / "campaigns" / "x" / "campaign.yaml"], cwd=tmp_path)
    assert [d.code for d in result.errors] == ["no-workspace"]  # the only error: no kmcomms.toml here
    assert "No channel" in files[Path("campaigns/x/campaign.yaml")]


@pytest.mark.parametrize(
    ("today", "monday"),
    [
        (date(2027, 1, 6), date(2027, 1, 11)),  # Wednesday
        (date(2027, 1, 11), date(2027, 1, 18)),  # a Monday: the next one
        (date(2027, 1, 17), date(2027, 1, 18)),  # Sunday
    ],
)
def test_next_monday(today: date, monday: date) -> None:
    assert next_monday(today) == monday


def test_default_event_date_is_a_saturday_two_to_three_weeks_on() -> None:
    day = default_event_date(datetime(2027, 1, 11, 9))
    assert day == date(2027, 1, 30) and day.weekday() == 5


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("HPV vaccine: conversations with clinicians", "hpv-vaccine-conversations-with-clinicians"),
        ("Café — Ürdü & Polski!", "cafe-urdu-polski"),
        ("!!!", "campaign"),
        ("a" * 60, "a" * 48),
        ("word " * 20, "-".join(["word"] * 9)),  # cut at a hyphen, within 48 characters
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


# Any text, and text that is nearly a plain YAML word (the edge yaml_plain decides).
_word = st.from_regex(r"[A-Za-z_][A-Za-z0-9_./+-]*", fullmatch=True)
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40) | st.tuples(
    _word, st.sampled_from(["", "\n", " ", "\r\n", "\x85", ": x"])
).map("".join)


@given(_text)
def test_yaml_quote_round_trips_any_text(value: str) -> None:
    text = f"key: {yaml_quote(value)}\n"
    assert yaml.safe_load(text) == {"key": value}
    assert load_yaml(Path("campaign.yaml"), text).data == {"key": value}  # the loader campaigns go through


@given(_text)
def test_yaml_plain_round_trips_any_text(value: str) -> None:
    text = f"key: {yaml_plain(value)}\n"
    assert yaml.safe_load(text) == {"key": value}
    assert load_yaml(Path("campaign.yaml"), text).data == {"key": value}


def test_yaml_plain_quotes_words_yaml_1_1_reads_as_booleans() -> None:
    assert yaml_plain("no") == '"no"' and yaml_plain("On") == '"On"'
    assert yaml_plain("ur") == "ur" and yaml_plain("Europe/London") == "Europe/London"


# --- placeholders are never published ------------------------------------------------------

#: What a starter writes for a person to replace, found here by a plain scan of the files.
STARTER_MARKS = re.compile(r"\[Replace\b|\[Notes for you\b|\bREPLACEME")


def write_the_text(folder: Path) -> None:
    """Do what the draft asks: own words for every placeholder, the notes deleted, a real film."""
    for path in folder.rglob("*.md"):
        text = re.sub(r"^\[Notes for you, to delete:.*\n\n?", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        path.write_text(
            re.sub(
                r"^\[Replace this paragraph:.*$",
                "Clinicians answer the questions parents ask most.",
                text,
                flags=re.MULTILINE,
            ),
            encoding="utf-8",
        )
    path = folder / "campaign.yaml"
    text = re.sub(
        r'"\[Replace: Dr A\. Researcher[^"]*\]"',
        '"Dr A. Researcher <a.researcher@unit.example.ac.uk>"',
        path.read_text(encoding="utf-8"),
    )
    text = re.sub(r'"\[Replace:[^"]*\]"', '"Parents trust what clinicians tell them."', text)
    path.write_text(text.replace("REPLACEME01", "M7lc1UVf-VE"), encoding="utf-8")


@pytest.mark.parametrize("shape", list(SHAPES))
def test_placeholders_left_are_errors_at_their_lines_until_the_text_is_written(
    workspace: Path, shape: str, capsys
) -> None:
    assert main(["--now", NOW, "new", "-y", "--shape", shape, "--title", "Flu jabs"]) == 0
    capsys.readouterr()
    assert main(["validate", "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert [f for f in findings if f["severity"] == "error" and f["code"] != "placeholder"] == []
    reported = {(f["path"], f["line"], f["column"]) for f in findings if f["code"] == "placeholder"}
    folder = workspace / "campaigns" / "flu-jabs"
    marked = {
        (str(path.relative_to(workspace)), number, found.start() + 1)
        for path in sorted(folder.rglob("*.*"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if not line.lstrip().startswith("#")
        for found in STARTER_MARKS.finditer(line)
    }
    assert marked and reported == marked  # every one, each at its line and column
    write_the_text(folder)
    assert main(["validate", "--format", "json"]) == 0
    assert [f for f in json.loads(capsys.readouterr().out) if f["severity"] == "error"] == []


def test_a_message_with_a_placeholder_is_held_back_naming_the_line_to_edit(workspace: Path, capsys) -> None:
    assert (
        main(["--now", NOW, "new", "-y", "--title", "Flu jabs", "--channel", "blog", "--at", "2027-01-11 09:00"]) == 0
    )
    campaign = workspace / "campaigns" / "flu-jabs" / "campaign.yaml"
    summary = next(n for n, line in enumerate(campaign.read_text().splitlines(), 1) if "summary:" in line)
    assert main(["--now", "2027-01-11T09:05Z", "publish", "--due"]) == 0
    capsys.readouterr()
    assert main(["--now", "2027-01-11T09:05Z", "status", "--format", "json"]) == 0
    (blocked,) = json.loads(capsys.readouterr().out)["blocked"]
    assert (blocked["message"], blocked["channel"]) == ("launch", "blog")
    assert blocked["reason"].startswith(
        f"placeholder text from `kmcomms new` is left in campaigns/flu-jabs/campaign.yaml:{summary} — "
    )
    assert not (workspace / "site" / "en").exists()  # nothing was published
    write_the_text(campaign.parent)
    assert main(["--now", "2027-01-11T09:06Z", "publish", "--due"]) == 0
    capsys.readouterr()
    assert main(["--now", "2027-01-11T09:06Z", "status", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["published"] == 1
    pages = list((workspace / "site" / "en").glob("*.html"))
    assert pages and not any(STARTER_MARKS.search(page.read_text(encoding="utf-8")) for page in pages)


def test_real_text_is_never_taken_for_a_placeholder() -> None:
    repository = load_paths([Path(__file__).resolve().parents[2]])
    assert repository.campaigns and [p for c in repository.campaigns for p in placeholders(c)] == []
    prose = [
        "See the report [1]: it is short.",
        "Replace your filter: once a month.",
        "[Replaced: the 2026 leaflet]",
        "[replace this]: a note in lower case",
        "Our REPLACEMENT scheme",
        "[Notes: from the clinic]",
    ]
    assert [text for text in prose if MARK.search(text)] == []

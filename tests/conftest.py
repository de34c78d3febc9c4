"""Shared test helpers: a fresh workspace, a campaign written into it, the CLI run in-process."""

from __future__ import annotations

import contextlib
import io
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from workspaces import audience, campaign_yaml

from kmcomms.cli import main

#: A small campaign that validates with no errors and no warnings in a `kmcomms init`
#: workspace; tests change one thing in it. Its text is campaign_yaml's around these messages.
VALID_CAMPAIGN = campaign_yaml(
    """\
  - id: launch
    audiences: [parents]
    at: 2027-01-11 09:00
    title: The films are out
    body: messages/launch.md
  - id: reminder
    audiences: [parents]
    channels: [newsletter]
    repeat:
      every: 2 weeks
      on: [tuesday]
      at: 18:30
    title: Has your child had the vaccine?
    body: |
      It is not too late.

      Ask your school nurse or GP.
""",
    title="Conversations with clinicians",
    audiences=audience(languages="en, ur", channels="blog, newsletter"),
)

RunCli = Callable[..., tuple[int, str, str]]
WriteCampaign = Callable[..., Path]


def run_cli(*args: str | Path) -> tuple[int, str, str]:
    """`kmcomms ARGS` in this process: (exit code, stdout, stderr). Works inside
    hypothesis tests, where the capsys fixture cannot be used."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    """What `condition()` gives once it is true, asking every 50 ms; after `timeout`
    seconds, an AssertionError that says `what` it was waiting for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class Clock:
    """A clock for code that takes one (`clock=`): it says `now` until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def kmcomms() -> RunCli:
    return run_cli


def make_workspace(folder: Path) -> Path:
    code, _, err = run_cli("init", folder)
    assert code == 0, err
    return folder


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A new workspace made by `kmcomms init` (channels blog, newsletter, video, briefing)."""
    return make_workspace(tmp_path / "unit")


def write_campaign(
    root: Path, text: str | bytes = VALID_CAMPAIGN, name: str = "example", files: dict[str, str | bytes] | None = None
) -> Path:
    """Write `campaigns/NAME/campaign.yaml` (and `files`, relative to the campaign folder)
    into the workspace at `root`; returns the campaign.yaml path. With no `files`, the
    `messages/launch.md` that VALID_CAMPAIGN names is written."""
    folder = root / "campaigns" / name
    folder.mkdir(parents=True, exist_ok=True)
    if files is None:
        files = {"messages/launch.md": "# The films are out\n\nClinicians answer what parents ask most.\n"}
    for relative, content in {"campaign.yaml": text, **(files or {})}.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return folder / "campaign.yaml"


@pytest.fixture
def campaign(workspace: Path) -> WriteCampaign:
    """`campaign(text, name=..., files=...)` writes a campaign into the `workspace` fixture."""
    return lambda text=VALID_CAMPAIGN, **kwargs: write_campaign(workspace, text, **kwargs)


# ---------------------------------------------------------------------------- stores

POSTGRES_URL = os.environ.get("KMCOMMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_or_skip() -> None:
    """Skip when PostgreSQL is unreachable; under CI (KMCOMMS_REQUIRE_POSTGRES=1) fail instead."""
    try:
        engine = sqlalchemy.create_engine(POSTGRES_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any reason it cannot be reached means: skip (or fail in CI)
        reason = f"PostgreSQL at {POSTGRES_URL} is unreachable ({type(exc).__name__}); set KMCOMMS_TEST_POSTGRES_URL"
        if os.environ.get("KMCOMMS_REQUIRE_POSTGRES"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty schema on the test PostgreSQL, dropped afterwards."""
    _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh ledger URL on each database kmcomms supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("postgres_url")

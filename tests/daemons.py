"""`kmcomms daemon` in a process of its own, for the tests that run one (test_daemon.py,
test_smtp_crash.py): a workspace with messages due at moments of the real clock (the
daemon refuses `--now`), the process with its JSON log, and the `daemons` fixture.

The fixture is defined as `daemons_fixture` (see smtp_inbox.py for why): a test module
imports it with `from daemons import daemons_fixture`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_for
from workspaces import audience, campaign_yaml, settings_toml

__all__ = ["DaemonProcess", "daemons_fixture", "make_workspace", "message", "stamp"]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def message(name: str, due: datetime, channels: str = "") -> str:
    return (
        f"  - id: {name}\n    audiences: [parents]\n{channels}    at: {stamp(due)}\n"
        f"    title: {name.title()}\n    body: The {name} message.\n"
    )


def make_workspace(
    root: Path,
    url: str,
    messages: str,
    *,
    adapter: str = "folder",
    blog: str = 'path = "out/blog"',
    extra: str = "",
    channels: str = "blog",
    now: datetime | None = None,
) -> Path:
    """A workspace whose campaign has `messages` (see `message`) for parents on `channels`,
    from a day before `now` (default: the real clock) to a month after. Its blog channel
    has `adapter`, then `blog` and `extra` (more TOML: of the blog, then sections)."""
    now = now or datetime.now(UTC)
    (root / "campaigns" / "trial").mkdir(parents=True, exist_ok=True)
    blog_channel = f'[channels.blog]\nadapter = "{adapter}"\nkind = "blog"\n{blog}\n{extra}\n'
    (root / "kmcomms.toml").write_text(settings_toml(url, channels=blog_channel), encoding="utf-8")
    campaign = root / "campaigns" / "trial" / "campaign.yaml"
    campaign.write_text(
        campaign_yaml(
            messages,
            audiences=audience(channels=channels),
            timezone="UTC",
            starts=(now - timedelta(days=1)).date(),
            ends=(now + timedelta(days=30)).date(),
        ),
        encoding="utf-8",
    )
    return root


# ------------------------------------------------------------------ a daemon in a process


class DaemonProcess:
    """`python -m kmcomms daemon` with stderr in a file, read as JSON lines."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None, log: str = "daemon.log") -> None:
        self.log = root / log
        self.out = self.log.open("wb")
        environ = {k: v for k, v in os.environ.items() if k != "KMCOMMS_DEBUG"} | (env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kmcomms", "daemon", "-w", str(root), *args],
            stdout=subprocess.DEVNULL,
            stderr=self.out,
            env=environ,
            cwd=root,
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["event"] == name]

    def wait_event(
        self, name: str, timeout: float = 15, where: Callable[[dict[str, Any]], bool] = lambda e: True
    ) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            if self.process.poll() is not None:
                raise AssertionError(f"the daemon exited with {self.process.returncode}:\n{self.text()}")
            return next((e for e in self.named(name) if where(e)), None)

        return wait_for(found, f"a {name} event in:\n{self.text()}", timeout)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10) -> tuple[int, float]:
        started = time.monotonic()
        self.process.send_signal(signum)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.out.close()


@pytest.fixture(name="daemons")
def daemons_fixture() -> Iterator[Callable[..., DaemonProcess]]:
    """`daemons(root, *args, env=…, log=…)` starts a `DaemonProcess`; all are killed at the end."""
    started: list[DaemonProcess] = []

    def start(root: Path, *args: str, env: dict[str, str] | None = None, log: str = "daemon.log") -> DaemonProcess:
        started.append(DaemonProcess(root, *args, env=env, log=log))
        return started[-1]

    yield start
    for d in started:
        d.close()

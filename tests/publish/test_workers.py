"""Who holds a lease (`kmcomms.publish.workers`): a worker's name, and whether the process it names
has ended, judged on real processes: alive, killed (a zombie, then reaped), its PID with
another start time (the PID given to a new process), on another host, and alive in
another PID namespace (a container on the same kernel, with the same host name)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import wait_for

from kmcomms.publish.workers import gone, worker_name

NAME = re.compile(r"(?P<host>[^:]+):(?P<pid>\d+)/(?P<start>\d+)@(?P<id>[0-9a-f]{16})")
CHILD = (
    "import sys; from kmcomms.publish.workers import worker_name; print(worker_name(), flush=True); sys.stdin.read()"
)


class Child:
    """A Python process (under `prefix`, e.g. `unshare …`) that prints its worker name and
    lives until its stdin closes or it is killed."""

    def __init__(self, *prefix: str) -> None:
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.name = self.process.stdout.readline().strip()

    def state(self) -> str | None:
        """Its state letter in /proc ("Z" for a zombie), None once it has been reaped."""
        try:
            text = Path(f"/proc/{self.process.pid}/stat").read_text()
        except FileNotFoundError:
            return None
        return text[text.rindex(")") + 2]

    def close(self) -> None:
        """Close its stdin: it ends (killed if it has not within 10 s), and is reaped."""
        try:
            self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.close()


def test_a_worker_is_named_by_its_host_its_process_and_when_that_started(children: list[Child]) -> None:
    name = worker_name()
    found = NAME.fullmatch(name)
    assert found is not None, name
    assert found["host"] == socket.gethostname()[:40] and int(found["pid"]) == os.getpid() and len(name) <= 100
    assert not gone(name)

    child = Child()
    children.append(child)
    other = NAME.fullmatch(child.name)
    assert other is not None and int(other["pid"]) == child.process.pid
    assert other["id"] == found["id"]  # the same kernel boot and namespaces: its PIDs are ours to look at
    assert not gone(child.name)  # alive
    # Its PID with another start time: the process named ended and the PID went to a new one.
    assert gone(child.name.replace(f"/{other['start']}@", f"/{int(other['start']) - 1}@"))
    # The same name on another host, or in the form an older kmcomms wrote: never judged.
    elsewhere = child.name[:-16] + ("0" if found["id"][0] != "0" else "1") * 16
    assert not gone(elsewhere) and not gone(f"{found['host']}:{child.process.pid}")

    child.process.kill()
    wait_for(lambda: child.state() == "Z", "the killed child to become a zombie")
    assert gone(child.name)  # not reaped yet, but it will never run again
    child.process.wait()
    assert child.state() is None and gone(child.name)
    assert not gone(elsewhere) and not gone(f"{found['host']}:{child.process.pid}")


def test_a_live_process_in_another_pid_namespace_is_never_taken_for_ended(children: list[Child]) -> None:
    """A container on the same kernel, with the same host name: its first process has PID 1
    there, which here is another, older process. Judged by host name, PID and start time
    alone it would look ended while it runs; its namespace makes its host id another one."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    child = Child("unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc")
    children.append(child)
    if not child.name:
        pytest.skip(f"cannot make a PID namespace here: {child.process.communicate()[1].strip()}")
    inside, here = NAME.fullmatch(child.name), NAME.fullmatch(worker_name())
    assert inside is not None and here is not None
    assert inside["host"] == here["host"] and inside["pid"] == "1" and inside["id"] != here["id"]
    # What a name without the namespace would make of it: PID 1 here started at another time.
    assert gone(child.name[:-16] + here["id"])
    assert not gone(child.name)
    child.close()
    assert not gone(child.name)  # ended, but its lease runs out like any other host's

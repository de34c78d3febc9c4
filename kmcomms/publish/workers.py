"""Who holds a lease, and whether that holder has ended.

A worker (a daemon, or one `kmcomms publish --due`) names itself in the leases it takes
(`deliveries.lease_owner`) and in the attempts it records:

    <host name>:<pid>/<start>@<host id>

- the host name is for a person reading the ledger or the logs; nothing relies on it
  (containers and cloned machines repeat names);
- the pid and the process's start time (clock ticks since boot, from /proc) name one
  process: a PID used again by a new process comes with a later start time;
- the host id is a digest of the kernel's boot id (random at each boot, never shared by
  two machines) and of the PID and time namespaces: "the processes these PIDs refer to".
  Containers on one kernel share its boot id but each has its own PID namespace, so a
  container never judges another's PIDs.

`gone(owner)` is True only for a lease held by a process of this host id that no longer
runs (no such PID, another process under it, or a zombie): its lease can be taken back at
once. Anything else is treated as alive and its lease has to run out: a lease from
another host, one written by an older kmcomms ("host:pid"), and every lease where /proc
cannot be read (then the host id is a random token no other process has).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import secrets
import socket
from pathlib import Path

__all__ = ["gone", "worker_name"]

_OWNER = re.compile(r":(?P<pid>\d+)/(?P<start>\d+)@(?P<host>[0-9a-f]{16})$")
#: The host name is cut to this length, so a worker's name fits the ledger's 100 characters.
_NAME = 40


def _stat(pid: int) -> tuple[str, int]:
    """(state, start time in clock ticks since boot) of process `pid`, from /proc.
    Raises OSError when /proc has no such process or will not say."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    fields = text[text.rindex(")") + 2 :].split()  # the command name, in (), may hold anything
    return fields[0], int(fields[19])  # fields 3 and 22 of proc(5)


@functools.cache
def _identity(pid: int) -> tuple[str, int] | None:
    """(host id, start time) of this process, or None where its processes cannot be
    looked at: no /proc, or a /proc of another PID namespace than the process's own."""
    try:
        if os.readlink("/proc/self") != str(pid):
            return None
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        spaces = [
            os.readlink(f"/proc/self/ns/{kind}") for kind in ("pid", "time") if os.path.exists(f"/proc/self/ns/{kind}")
        ]
        _, start = _stat(pid)
    except (OSError, ValueError, IndexError):
        return None
    # A process's start time is counted in its reader's time namespace: one in another
    # namespace would see a different start, and take a live process for a new one.
    return hashlib.sha256(" ".join([boot, *spaces]).encode()).hexdigest()[:16], start


@functools.cache
def _token(pid: int) -> str:
    return secrets.token_hex(8)


def worker_name() -> str:
    """This process's name in the leases it takes (see the module)."""
    pid = os.getpid()
    host, start = _identity(pid) or (_token(pid), 0)
    return f"{socket.gethostname()[:_NAME]}:{pid}/{start}@{host}"


def gone(owner: str) -> bool:
    """Whether the lease owner `owner` is a process of this host that has ended (see the
    module). False whenever that cannot be known for sure."""
    found = _OWNER.search(owner)
    here = _identity(os.getpid())
    if found is None or here is None or found["host"] != here[0]:
        return False
    pid = int(found["pid"])
    try:
        os.kill(pid, 0)  # unlike /proc, not hidden by hidepid=: tells "no such process" for sure
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: /proc says which
    try:
        state, start = _stat(pid)
    except (OSError, ValueError, IndexError):
        return False  # it exists and /proc will not say which it is
    # A zombie has run its last instruction; only its exit status is left to collect.
    return start != int(found["start"]) or state in ("Z", "X")

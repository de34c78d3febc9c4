"""What the daemon watches besides the clock: the files that make the campaigns, and the
process's signals.

A pass reloads the workspace when a file under campaigns/, translations/ or templates/,
or kmcomms.toml, changed: `fingerprint` is a cheap summary of them to compare. Signals
(SIGHUP: reload; SIGTERM, SIGINT: stop; a second one: exit at once) are read by a small
thread through `signal.set_wakeup_fd` (`listen_for_signals`), so nothing runs inside a
signal handler.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from kmcomms.campaign.workspace import SETTINGS_FILE
from kmcomms.logs import event

__all__ = ["WATCHED", "Fingerprint", "fingerprint", "listen_for_signals"]

log = logging.getLogger("kmcomms.daemon")

#: Folders whose files change what goes out.
WATCHED = ("campaigns", "translations", "templates")

Fingerprint = tuple[tuple[str, int, int, int], ...]


def fingerprint(root: Path) -> Fingerprint:
    """A cheap summary of the files that make the campaigns: each path with its size,
    modification time and inode (an editor that saves by renaming changes the inode)."""
    found = []

    def add(path: str) -> None:
        try:
            info = os.stat(path)
        except OSError:
            return
        found.append((os.path.relpath(path, root), info.st_size, info.st_mtime_ns, info.st_ino))

    add(str(root / SETTINGS_FILE))
    for name in WATCHED:
        for folder, dirs, files in os.walk(root / name):
            dirs.sort()
            add(folder)  # a removed file changes its folder's mtime
            for file in sorted(files):
                add(os.path.join(folder, file))
    return tuple(found)


def listen_for_signals(reload: Callable[[], None], stop: Callable[[str], None], stopping: Callable[[], bool]) -> None:
    """From now on, SIGHUP calls `reload` and SIGTERM or SIGINT `stop` (with the signal's
    name, in a thread of its own); a second stop signal while `stopping()` exits at once."""
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: None)  # the wakeup fd carries it to `_watch`
    threading.Thread(target=_watch, args=(read, reload, stop, stopping), name="kmcomms-signals", daemon=True).start()


def _watch(fd: int, reload: Callable[[], None], stop: Callable[[str], None], stopping: Callable[[], bool]) -> None:
    while True:
        for signum in os.read(fd, 64):
            if signum == signal.SIGHUP:
                reload()
            elif signum in (signal.SIGTERM, signal.SIGINT):
                if stopping():  # asked twice: a person wants out now
                    event(
                        log,
                        "killed",
                        "stopped at once (second signal): a delivery in flight stays `sending` "
                        "until kmcomms starts again on this host, or its lease runs out",
                        level=logging.WARNING,
                    )
                    os._exit(1)
                threading.Thread(target=stop, args=[signal.Signals(signum).name], name="kmcomms-stop").start()

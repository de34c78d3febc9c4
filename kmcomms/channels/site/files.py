"""Telling whether a site's file changed (its digest), and taking turns with other
processes that publish to the same site. Each file is written whole by
`kmcomms.files.write_atomic`, so a reader, or a crash, never sees half of one."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["digest", "locked"]

_CHUNK = 1 << 20


def digest(content: bytes | Path) -> str:
    """The sha256 of `content` (bytes, or a file read in chunks), in hex."""
    if isinstance(content, bytes):
        return hashlib.sha256(content).hexdigest()
    sha = hashlib.sha256()
    with content.open("rb") as source:
        while chunk := source.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive flock on `lock_file` (made if missing). flock locks belong to an
    open file, so threads of one process and other processes all wait their turn; the
    kernel drops the lock when its holder dies, so a crash never leaves the site locked."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

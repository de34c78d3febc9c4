"""Writing the site's files so that a reader, or a crash, never sees half of one, and
taking turns with other processes that publish to the same site."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["digest", "locked", "write_atomic"]

_CHUNK = 1 << 20


def write_atomic(target: Path, content: bytes | Path) -> None:
    """Write `content` (bytes, or a file to copy) to `target` through a temporary file in
    the same folder, flushed to disk and renamed into place: `target` is the old file
    or the new one, whole, whenever it is read."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=target.parent, prefix=".", suffix=".tmp", delete=False) as tmp:
        try:
            if isinstance(content, Path):
                with content.open("rb") as source:
                    shutil.copyfileobj(source, tmp, _CHUNK)
            else:
                tmp.write(content)
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException:
            os.unlink(tmp.name)
            raise
    # NamedTemporaryFile makes the file 0600; a site is for reading by a web server.
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, target)


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

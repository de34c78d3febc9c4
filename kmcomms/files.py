"""Files kmcomms reads and writes.

Reading the CSV files people export from spreadsheets (contacts, reach records): the
records with the line each starts on (a quoted value may span lines), blank rows skipped,
and one clear error for a file that cannot be read, is not UTF-8 or has a broken quote.
What the header and the rows must hold is the caller's to check.

Writing a file whole or not at all (`write_atomic`): a reader, or a crash, sees the old
file or the new one, never half of one.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kmcomms.errors import Diagnostic, InvalidInput, Severity

__all__ = ["error", "records", "write_atomic"]

_CHUNK = 1 << 20


def error(path: Path, line: int, code: str, message: str) -> Diagnostic:
    """An error about line `line` of the CSV file at `path`."""
    return Diagnostic(str(path), line, 1, Severity.ERROR, code, message)


def records(path: Path, code: str, data: bytes | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of each non-blank record of the CSV at `path` (or in `data`, named
    `path`). Raises `InvalidInput` with code `<code>-file`, `<code>-encoding` or
    `<code>-syntax` for a file that cannot be read, is not UTF-8, or has a broken quote
    (after the records before it were given)."""
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(
                [error(path, 0, f"{code}-file", f"cannot read the file: {exc.strerror} — check the path")]
            ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            [error(path, line, f"{code}-encoding", 'this line is not UTF-8 text — save the file as "CSV UTF-8"')]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    end = 0
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if any(f.strip() for f in fields):
                yield start, fields
    except csv.Error as exc:
        raise InvalidInput(
            [
                error(
                    path,
                    reader.line_num or 1,
                    f"{code}-syntax",
                    f"cannot read the CSV here ({exc}) — check the quotes on this line",
                )
            ]
        ) from None


def write_atomic(target: Path, content: bytes | str | Path) -> None:
    """Write `content` (bytes, text as UTF-8, or a file to copy) to `target` through a
    temporary file in the same folder, flushed to disk and renamed into place: `target`
    is the old file or the new one, whole, whenever it is read, even after a power cut.
    Its folders are made as needed; the file is readable by all (0644), as a site page,
    a report or a catalogue is meant to be read. Raises `OSError`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=target.parent, prefix=".", suffix=".tmp", delete=False) as tmp:
        try:
            if isinstance(content, Path):
                with content.open("rb") as source:
                    shutil.copyfileobj(source, tmp, _CHUNK)
            else:
                tmp.write(content.encode("utf-8") if isinstance(content, str) else content)
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException:
            os.unlink(tmp.name)
            raise
    try:
        os.chmod(tmp.name, 0o644)  # NamedTemporaryFile makes it 0600
        os.replace(tmp.name, target)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise

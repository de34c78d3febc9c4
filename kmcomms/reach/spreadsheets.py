"""The CSV files people export from a spreadsheet to import records: the header checked
against the columns wanted (any order, case and spaces around names ignored, optional
columns allowed to be left out), then each row read by column name. A problem is an
`InvalidInput` naming the file and line, with how to fix it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from kmcomms.campaign.fields import close_match
from kmcomms.errors import Diagnostic, InvalidInput, one_line
from kmcomms.files import error as _error
from kmcomms.files import records

__all__ = ["csv_rows"]


def _header_problems(
    path: Path, header: list[str], columns: Sequence[str], optional: Sequence[str]
) -> list[Diagnostic]:
    names = [h.strip().lower() for h in header]
    required = [c for c in columns if c not in optional]
    want = ",".join(columns)
    if optional:
        want += (
            f" ({', '.join(optional[:-1])} and {optional[-1]} may be left out)"
            if len(optional) > 1
            else f" ({optional[0]} may be left out)"
        )
    if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
        return [
            _error(path, 1, "csv-header", "the columns are separated by ; or tabs — export the file as CSV with commas")
        ]
    found = []
    if missing := [c for c in required if c not in names]:
        found.append(
            _error(
                path,
                1,
                "csv-header",
                f"the header has no column {', '.join(missing)} — the first line "
                f"names the columns, in any order: {want}",
            )
        )
    if extra := [h for h in dict.fromkeys(names) if h not in columns]:
        found.append(
            _error(
                path,
                1,
                "csv-header",
                f"the header has unexpected column{'s' * (len(extra) > 1)} "
                f"{', '.join(repr(one_line(h)) for h in extra)}{close_match(extra[0], columns)} — remove or "
                f"rename {'them' if len(extra) > 1 else 'it'}: the columns are {want}",
            )
        )
    if twice := sorted({h for h in names if h in columns and names.count(h) > 1}):
        found.append(_error(path, 1, "csv-header", f"the header repeats {', '.join(twice)} — keep one column of each"))
    return found


def csv_rows(
    path: Path, columns: Sequence[str], optional: Sequence[str] = (), data: bytes | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each non-blank row of the CSV at `path` (or in `data`, named
    `path`) whose header names `columns` in any order (case and spaces around names
    ignored), those in `optional` only if it has them; values stripped, a column left out
    read as empty. Raises `InvalidInput` for the file (unreadable, not UTF-8, a bad
    header, a broken quote) and for rows with the wrong number of values."""
    header: list[str] | None = None
    for start, fields in records(path, "csv", data):
        if header is None:
            if found := _header_problems(path, fields, columns, optional):
                raise InvalidInput(found)
            header = [h.strip().lower() for h in fields]
        elif len(fields) != len(header):
            raise InvalidInput(
                [
                    _error(
                        path,
                        start,
                        "csv-fields",
                        f"this row has {len(fields)} values, the header "
                        f"{len(header)} — quote a value that holds a comma",
                    )
                ]
            )
        else:
            yield (
                start,
                dict.fromkeys(columns, "") | {name: value.strip() for name, value in zip(header, fields, strict=True)},
            )
    if header is None:
        raise InvalidInput(
            [
                _error(
                    path, 1, "csv-header", f"the file is empty — the first line must be the header {','.join(columns)}"
                )
            ]
        )

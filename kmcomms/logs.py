"""Logs for a running kmcomms: one structured line per event, secrets redacted.

`setup()` sends every log record (kmcomms's own, APScheduler's, SQLAlchemy's) to one
handler on stderr, as JSON lines (default) or as plain text:

    {"time": "2027-01-11T09:00:00.123Z", "level": "info", "event": "published", "msg": "published 3f2a…", "delivery": "3f2a…", …}

`event(logger, "published", "text…", delivery=…)` logs one event with its fields.

Secrets: a `Redactor` (a `logging.Filter` on the handler) replaces every known secret
value with "***" in the message, the fields, and an exception's text, and the handler
redacts the finished line once more. The secrets come from the settings (`kmcomms.campaign.workspace.secrets_of`):
every value that came from the environment (`${VAR}`), every channel setting whose key
names a credential (password, token, secret, API key…), and the store URL's password.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

from kmcomms.errors import one_line

__all__ = ["MASK", "Redactor", "event", "setup", "teardown"]

MASK = "***"
#: Attribute of a LogRecord that holds an event's name and fields.
_EVENT = "kmcomms_event"
_FIELDS = "kmcomms_fields"


def event(
    logger: logging.Logger,
    name: str,
    text: str = "",
    /,
    *,
    level: int = logging.INFO,
    exc_info: bool = False,
    **fields: Any,
) -> None:
    """Log the event `name` with a human `text` and structured `fields`."""
    logger.log(level, text or name, exc_info=exc_info, extra={_EVENT: name, _FIELDS: fields})


class Redactor(logging.Filter):
    """Replaces known secret values with "***" in every record it sees, and in any text
    given to `redact`. Also catches the percent-encoded forms a URL would show."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._known: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more secrets (a reload may bring new ones; old ones stay masked)."""
        for secret in secrets:
            if secret:
                self._known.update({secret, quote(secret, safe=""), quote(secret), quote_plus(secret)})
        if self._known:
            # Longest first, so a secret that contains another is masked whole.
            self._pattern = re.compile("|".join(re.escape(s) for s in sorted(self._known, key=len, reverse=True)))

    def redact(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern is not None and text else text

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {k: self._value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set):
            return [self._value(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.redact(str(value))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: keep what there is
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), None
        fields = getattr(record, _FIELDS, None)
        if fields:
            setattr(record, _FIELDS, self._value(fields))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _error(record: logging.LogRecord) -> str | None:
    """The exception's last line ("Type: message"), from the (redacted) traceback text."""
    if not record.exc_text:
        return None
    return record.exc_text.strip().splitlines()[-1]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, event, msg (for a person), the event's
    fields, and `error` / `traceback` for an exception."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "event": getattr(record, _EVENT, None) or record.name,
            "msg": record.getMessage(),
        }
        for key, value in (getattr(record, _FIELDS, None) or {}).items():
            data.setdefault(key, value)
        if record.name != "kmcomms" and not record.name.startswith("kmcomms."):
            data["logger"] = record.name
        if record.exc_text:
            data["error"] = _error(record)
            data["traceback"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level event: message key=value …` on one line; a traceback is kept to its last line."""

    def format(self, record: logging.LogRecord) -> str:
        name = getattr(record, _EVENT, None) or record.name
        fields = " ".join(f"{k}={v}" for k, v in (getattr(record, _FIELDS, None) or {}).items() if v not in (None, ""))
        line = f"{_time(record)} {record.levelname.lower():<7} {name}: {record.getMessage()}"
        if fields:
            line += f"  [{fields}]"
        if record.exc_text:
            line += f"  ({_error(record)})"
        return one_line(line)


class _Handler(logging.StreamHandler[TextIO]):
    """A stream handler that redacts the finished line once more, in case a formatter
    put a secret together from pieces (e.g. a URL and its password)."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        super().__init__(stream)
        self.redactor = redactor
        self.addFilter(redactor)

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(super().format(record))


def setup(
    fmt: str = "json", redactor: Redactor | None = None, level: int = logging.INFO, stream: TextIO | None = None
) -> Redactor:
    """Send every log record to `stream` (stderr) as JSON lines or text, redacted.
    Returns the redactor, to teach it the secrets of the settings when they are read."""
    redactor = redactor or Redactor()
    handler = _Handler(stream or sys.stderr, redactor)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler says "Running job …" at INFO on every run, Alembic its every step: only
    # their problems are news.
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return redactor


def teardown() -> None:
    """Remove what `setup` added (for running the daemon inside another program, e.g. tests)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
        handler.close()

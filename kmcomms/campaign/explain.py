"""Turning pydantic's validation errors into diagnostics a researcher can act on."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from kmcomms.campaign.fields import close_match, closest
from kmcomms.errors import Diagnostic, Severity

__all__ = ["explain"]

Locate = Callable[[tuple[Any, ...], bool], tuple[int, int]]

_TYPE_WORDS = {
    "string_type": "text (put it in quotes)",
    "list_type": 'a list — write [a, b] or one "- item" per line',
    "dict_type": "a mapping of keys and values",
    "model_type": "a mapping of keys and values",
    "model_attributes_type": "a mapping of keys and values",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


_LIMITS = {
    "greater_than_equal": "at least",
    "greater_than": "more than",
    "less_than_equal": "at most",
    "less_than": "less than",
}


def _field_model(model: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class found at `loc` inside `model`, following lists, dicts and optionals."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif typing.get_origin(tp) is list and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """Strip Optional[...] and Annotated[...] down to the type that holds fields."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the file"


def _name(loc: tuple[Any, ...]) -> str:
    """The key a person sees for `loc`: `title`, or `languages[0]` for a list item (a bare
    index would say nothing)."""
    last = max((i for i, part in enumerate(loc) if not isinstance(part, int)), default=None)
    if last is None:
        return _where(loc) if loc else "value"
    return str(loc[last]) + "".join(f"[{part}]" for part in loc[last + 1 :])


def _shown(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _describe(
    error: ErrorDetails,
    model: type[BaseModel],
    loc: tuple[Any, ...],
    on_key: bool = False,
    within: tuple[Any, ...] = (),
) -> tuple[str, str, bool]:
    """(code, message, point at the key rather than the value) for one pydantic error;
    `within` is where `model` sits in the file, for the words only."""
    kind = error["type"]
    value = error.get("input")
    shown = (*within, *loc)
    # A bad mapping key (`audiences: {Parents: …}`) is named by its mapping, not by itself;
    # a finding about the whole of what was checked, by where it sits.
    name = _name(shown[:-1] if on_key else shown) if loc or not within else _where(within)
    if kind == "extra_forbidden":
        parent = _field_model(model, loc[:-1])
        known = parent.model_fields.keys() if parent else ()
        return (
            "unknown-key",
            f'unknown key "{name}" in {_where(shown[:-1])}{close_match(name, known)} — fix its spelling or remove it',
            True,
        )
    if kind == "missing":
        parent = _field_model(model, loc[:-1])
        field = parent.model_fields.get(name) if parent else None
        about = f" ({field.description.rstrip('.')})" if field is not None and field.description else ""
        return "missing-key", f'{_where(shown[:-1])} needs the key "{name}"{about} — add it', False
    if kind in ("literal_error", "enum"):
        expected = error["ctx"]["expected"]
        choices = [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",")]
        return (
            "bad-choice",
            f'{name}: "{value}" is not allowed{close_match(value, choices)} — use one of {", ".join(choices)}',
            False,
        )
    if kind == "value_error":
        return "bad-value", f"{name}: {error['msg'].removeprefix('Value error, ')}", False
    if kind in _TYPE_WORDS:
        return "wrong-type", f"{name} must be {_TYPE_WORDS[kind]}, not {_shown(value)}", False
    if kind in _LIMITS:
        limit = next(iter(error["ctx"].values()))
        return "out-of-range", f"{name} must be {_LIMITS[kind]} {limit}, not {_shown(value)}", False
    if kind == "too_short":
        return "empty", f"{name} needs at least one entry — add one", False
    if kind == "string_pattern_mismatch":
        return "bad-value", f'{name}: "{value}" does not have the expected form ({error["ctx"]["pattern"]})', False
    return "invalid", f"{name}: {error['msg']}", False


def explain(
    exc: ValidationError,
    model: type[BaseModel],
    path: Path | str,
    locate: Locate,
    within: tuple[Any, ...] = (),
    ignore: Collection[Any] = (),
) -> list[Diagnostic]:
    """One error diagnostic per pydantic error, positioned by `locate(loc, key)`.

    `within` is where the validated data sits in the file (e.g. `("channels", "blog")` for
    a channel's settings checked by its adapter's model): messages name keys from there,
    and `locate` is given locations from there too. Errors about the top-level keys in
    `ignore` (values that could not be known) are left out."""
    errors = [e for e in exc.errors(include_url=False) if not (e["loc"] and e["loc"][0] in ignore)]
    # A misspelt key (`titel`) is one mistake, not two: its "unknown key … did you mean
    # "title"" says it all, so the "needs the key "title"" beside it is left out.
    misspelt = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            loc = tuple(error["loc"])
            parent = _field_model(model, loc[:-1])
            meant = closest(str(loc[-1]), parent.model_fields.keys()) if parent else None
            if meant is not None:
                misspelt.add((*loc[:-1], meant))
    found = []
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "missing" and loc in misspelt:
            continue
        on_key = bool(loc) and loc[-1] == "[key]"
        if on_key:
            loc = loc[:-1]
        code, message, key = _describe(error, model, loc, on_key, within)
        line, column = locate((*within, *loc), key or on_key)
        found.append(Diagnostic(str(path), line, column, Severity.ERROR, code, message))
    return found

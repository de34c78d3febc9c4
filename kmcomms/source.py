"""Reading the files people write, remembering where every value came from.

YAML is parsed with libyaml (PyYAML's C parser) into a node tree that keeps line and
column marks; Python data is built from that tree once. Positions are looked up only when
a diagnostic needs one, so a clean file costs little more than a plain parse.

The scalar rules follow YAML 1.2 (what editors and yaml-language-server use), not PyYAML's
YAML 1.1 defaults: `on`, `yes` and `no` are strings, `18:30` is not the number 1110, and
dates stay strings for the models to parse with a clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kmcomms.errors import Diagnostic, InvalidInput, Severity

__all__ = ["MAX_FILE_BYTES", "YamlDocument", "file_error", "load_yaml", "read_text", "toml_position"]

#: Campaign files are hand-written; anything larger is a mistake, not a campaign.
MAX_FILE_BYTES = 2 * 1024 * 1024
#: An alias may repeat a subtree; past this many expanded nodes it is an alias bomb.
MAX_EXPANDED_NODES = 100_000

Location = tuple[str | int, ...]


def file_error(path: Path | str, message: str, code: str, line: int = 0, column: int = 0) -> InvalidInput:
    return InvalidInput([Diagnostic(str(path), line, column, Severity.ERROR, code, message)])


def read_text(path: Path, what: str = "file") -> str:
    """The file's text, refusing what is too large, not UTF-8, or unreadable."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise file_error(
                path,
                f"{what} is {size / 1_048_576:.1f} MB, over the {MAX_FILE_BYTES // 1_048_576} MB limit"
                " — keep long text in Markdown body files and split large campaigns",
                "file-too-large",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise file_error(path, f"cannot read {what}: {exc.strerror} — check the path and its permissions", "unreadable") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise file_error(
            path,
            f"byte 0x{data[exc.start]:02x} is not UTF-8 — save the file as UTF-8",
            "not-utf8",
            line,
            column,
        ) from exc


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loading with YAML 1.2 scalars and duplicate keys refused."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
        if len(keys) != len(set(keys)):
            seen: set[str] = set()
            for key, _ in node.value:
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key.value!r} appears twice in this mapping — keep one", key.start_mark
                    )
                seen.add(key.value)
        return super().construct_mapping(node, deep)


for _tag, _pattern, _first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:[0-9]+)?\.[0-9]+(?:[eE][-+]?[0-9]+)?$", "-+0123456789."),
]:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """Parsed YAML: `data` as plain Python, and the node tree for positions."""

    path: Path
    data: Any
    root: yaml.Node | None

    def position(self, loc: Location, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at `loc`, or of its key when `key`.

        Where `loc` goes deeper than the file does (a missing key), the deepest node
        that exists is named.
        """
        node = self.root
        if node is None:
            return 1, 1
        mark = node.start_mark
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == str(part):
                        mark = key_node.start_mark if (key and last) else value_node.start_mark
                        node = value_node
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                mark = node.start_mark
            else:
                break
        return mark.line + 1, mark.column + 1


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the document holds once every alias is expanded (memoised)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(item) for item in node.value)
        else:
            total = 1
        sizes[id(node)] = min(total, MAX_EXPANDED_NODES + 1)
        return sizes[id(node)]

    return size(root)


def load_yaml(path: Path, text: str | None = None) -> YamlDocument:
    """Parse one YAML document, turning every parser failure into a positioned error."""
    if text is None:
        text = read_text(path, "YAML file")
    if not text.strip():
        raise file_error(path, "the file is empty — write the campaign's keys (see `kmcomms new`)", "empty-file", 1, 1)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is not None and "&" in text and _expanded_size(root) > MAX_EXPANDED_NODES:
            raise file_error(
                path,
                f"aliases expand this file to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?)"
                " — write the values out or use fewer nested aliases",
                "alias-bomb",
                root.start_mark.line + 1,
                root.start_mark.column + 1,
            )
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or exc.context or "cannot parse"
        raise file_error(path, f"YAML syntax: {problem} — {_yaml_hint(problem)}", "yaml-syntax", line, column) from exc
    except yaml.YAMLError as exc:
        raise file_error(path, f"YAML syntax: {exc}", "yaml-syntax", 1, 1) from exc
    except RecursionError as exc:
        raise file_error(path, "the YAML is nested too deeply — flatten it", "too-deep", 1, 1) from exc
    finally:
        loader.dispose()
    return YamlDocument(path, data, root)


def _yaml_hint(problem: str) -> str:
    if "appears twice" in problem:
        return "each key may appear once"
    if "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "put quotes around a value that contains ': '"
    if "could not find expected ':'" in problem or "simple key" in problem:
        return "check the indentation and that each key ends with ':'"
    if "found undefined alias" in problem:
        return "define the anchor (&name) before using *name"
    return "check the indentation and quoting on this line"


_TOML_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_TOML_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


def _toml_parts(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', dotted))


def toml_position(text: str, loc: Location) -> tuple[int, int]:
    """Best line and column for a settings value: the `key =` line inside its `[table]`,
    else the table header, else the first line. tomllib keeps no positions, and the
    settings files are simple enough for a line scan."""
    loc = tuple(str(part) for part in loc)
    table: tuple[str, ...] = ()
    best = (1, 1, -1)  # line, column, how many parts of loc matched
    for number, line in enumerate(text.splitlines(), 1):
        header = _TOML_TABLE.match(line)
        if header:
            table = _toml_parts(header.group(1))
            if loc[: len(table)] == table and len(table) > best[2]:
                best = (number, line.index("[") + 1, len(table))
            continue
        key = _TOML_KEY.match(line)
        if key:
            path = table + (key.group(1).strip("\"'"),)
            if loc[: len(path)] == path and len(path) > best[2]:
                best = (number, line.index(key.group(1)) + 1, len(path))
    return best[0], best[1]

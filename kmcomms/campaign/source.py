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
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import yaml

from kmcomms.errors import Diagnostic, InvalidInput, Severity

__all__ = ["MAX_FILE_BYTES", "YamlDocument", "file_error", "load_yaml", "read_text", "toml_position"]

#: Campaign files are hand-written; anything larger is a mistake, not a campaign.
MAX_FILE_BYTES = 2 * 1024 * 1024
#: An alias may repeat a subtree; past this many expanded nodes it is an alias bomb.
MAX_EXPANDED_NODES = 100_000

Location = tuple[str | int, ...]


def file_error(path: Path | str, message: str, code: str, line: int = 1, column: int = 1) -> InvalidInput:
    # A finding about the whole file still points at 1:1, so every error reads `path:line:column:`.
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
        raise file_error(
            path, f"cannot read {what}: {exc.strerror} — check the path and its permissions", "unreadable"
        ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        # Columns count characters, as in every other diagnostic; the bytes before the bad
        # one decoded, so they can be counted as text.
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")) + 1
        raise file_error(
            path,
            f"byte 0x{data[exc.start]:02x} is not UTF-8 — save the file as UTF-8",
            "not-utf8",
            line,
            column,
        ) from exc


if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:  # the C loader where PyYAML was built with libyaml: same constructor, faster
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):
    """Safe loading with YAML 1.2 scalars and duplicate keys refused."""

    # Empty, so only the YAML 1.2 resolvers added below apply, not SafeLoader's YAML 1.1 ones.
    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}  # type: ignore[misc]  # types-PyYAML declares it an instance variable

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # A tag such as `!!set [a]` puts a non-mapping here: let SafeConstructor say so.
        keys = (
            [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
            if isinstance(node, yaml.MappingNode)
            else []
        )
        if len(keys) != len(set(keys)):
            seen: set[str] = set()
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue  # a list or mapping as a key: SafeConstructor refuses it as unhashable
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key.value!r} appears twice in this mapping", key.start_mark
                    )
                seen.add(key.value)
        return super().construct_mapping(node, deep)


def _checked(tag: str, construct: Any) -> Any:
    """SafeConstructor trusts explicit tags: `!!int abc` or `!!timestamp soon` fail with
    plain Python errors, which would escape as internal errors. Only these scalar tags do;
    wrapping them (not every node) keeps clean files as fast to load."""

    def checked(loader: _Loader, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} cannot be read as !!{tag}", node.start_mark
            ) from exc

    return checked


for _name in ("bool", "int", "float", "timestamp"):
    _full = f"tag:yaml.org,2002:{_name}"
    _Loader.add_constructor(_full, _checked(_name, _Loader.yaml_constructors[_full]))

for _tag, _pattern, _first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:[0-9]+)?\.[0-9]+(?:[eE][-+]?[0-9]+)?$", "-+0123456789."),
]:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


class YamlDocument:
    """Parsed YAML: `data` as plain Python, and positions on demand.

    The node tree that holds line and column marks is built only when a position is
    asked for: kept for every file it would be millions of objects for the garbage
    collector to scan again and again, for the rare file that has something to report.
    """

    __slots__ = ("_root", "data", "path", "text")

    def __init__(self, path: Path, text: str, data: Any, root: yaml.Node | None = None) -> None:
        self.path = path
        self.text = text
        self.data = data
        self._root = root

    @property
    def root(self) -> yaml.Node | None:
        if self._root is None and self.text.strip():
            self._root = yaml.compose(self.text, Loader=_Loader)
        return self._root

    def without_data(self) -> YamlDocument:
        """The same document for positions only, once its data has been validated."""
        return YamlDocument(self.path, self.text, None, self._root)

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
        if "&" not in text:  # no anchors, no aliases: nothing can expand
            data = loader.get_single_data()
            return YamlDocument(path, text, data)
        root = loader.get_single_node()
        if root is not None and _expanded_size(root) > MAX_EXPANDED_NODES:
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
        raise _syntax_error(path, text, exc) from exc
    except yaml.reader.ReaderError as exc:
        # Its text spans lines and its position counts UTF-8 bytes; the character itself
        # is never allowed anywhere in YAML, so its first occurrence is the culprit.
        index = text.find(chr(exc.character)) if isinstance(exc.character, int) else -1
        line = text.count("\n", 0, index) + 1 if index >= 0 else 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1 if index >= 0 else 1
        code_point = f"U+{exc.character:04X}" if isinstance(exc.character, int) else "a character"
        raise file_error(
            path,
            f"{code_point} is a control character, which YAML does not allow — delete it or"
            " write it as an escape inside double quotes",
            "yaml-syntax",
            line,
            column,
        ) from exc
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())  # one line, whatever the parser wrote
        raise file_error(path, f"YAML syntax: {reason} — check the file is plain YAML", "yaml-syntax", 1, 1) from exc
    except RecursionError as exc:
        raise file_error(path, "the YAML is nested too deeply — flatten it", "too-deep", 1, 1) from exc
    finally:
        loader.dispose()
    return YamlDocument(path, text, data, root)


def _syntax_error(path: Path, text: str, exc: yaml.MarkedYAMLError) -> InvalidInput:
    """The parser's complaint about `text`, at the line to fix: where an unclosed bracket or
    quote opened rather than where the parser gave up."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or exc.context or "cannot parse"
    hint = _yaml_hint(problem)
    # An unclosed bracket or quote is found lines later, where the parser gives up;
    # name the line where it was opened too, which is the line to fix.
    opened = exc.context_mark
    what = next((words for jargon, words in _OPENED.items() if jargon in (exc.context or "")), None)
    if exc.problem and what and opened and "end of stream" in exc.problem:
        # Where the file ends says nothing; where the unclosed thing opened does.
        problem, hint = f"{what} opened here is never closed", "close it"
        line, column = opened.line + 1, opened.column + 1
    elif exc.problem and what and opened and opened.line + 1 != line:
        problem += f" ({what} opened on line {opened.line + 1}: is it closed?)"
    elif mark and (start := _runaway_quote(text, mark.line)) is not None:
        # A quote left open runs on to the next quote, lines later, and the parser
        # stumbles only there: the line to fix is the one where it opened.
        problem, hint = f"the quote opened here runs on to line {line}", "close it on this line"
        line, column = start.line + 1, start.column + 1
    return file_error(path, f"YAML syntax: {problem} — {hint}", "yaml-syntax", line, column)


def _runaway_quote(text: str, line: int) -> yaml.Mark | None:
    """Where a quoted value starts that runs over several lines to end on `line` (0-based),
    if one does: what an unclosed quote looks like once a later quote closes it."""
    found = None
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if token.start_mark.line > line:
                break
            if (
                isinstance(token, yaml.ScalarToken)
                and token.style in ('"', "'")
                and token.start_mark.line < token.end_mark.line == line
            ):
                found = token.start_mark
    except yaml.YAMLError:
        pass  # the scanner stops where the parser did, or before: what it saw is enough
    return found


#: libyaml's names for what a quote or bracket opens, in a person's words.
_OPENED = {"quoted scalar": "the quote", "flow sequence": "the [ list", "flow mapping": "the { mapping"}


def _yaml_hint(problem: str) -> str:
    if "cannot be read as" in problem:
        return "remove the tag (`!!name`) or fix the value"
    if "unhashable" in problem:
        return "a key must be a plain name, not a list or mapping"
    if "appears twice" in problem:
        return "keep one: each key may appear once"
    if "tab character" in problem:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "put quotes around a value that contains ': '"
    if "could not find expected ':'" in problem or "simple key" in problem:
        return "check the indentation and that each key ends with ':'"
    if "found undefined alias" in problem:
        return "define the anchor (&name) before using *name"
    if "could not determine a constructor" in problem:
        return "remove the tag (`!name`): campaign files hold plain text, numbers, lists and mappings"
    if "another document" in problem:
        return "a campaign file is one YAML document: remove the `---` line or split the file"
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
            path = (*table, key.group(1).strip("\"'"))
            if loc[: len(path)] == path and len(path) > best[2]:
                best = (number, line.index(key.group(1)) + 1, len(path))
    return best[0], best[1]

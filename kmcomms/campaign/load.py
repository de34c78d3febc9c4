"""Loading campaigns: files in, validated `Campaign` models and diagnostics out.

Nothing here stops at the first problem: every file is read, every finding collected,
so one `kmcomms validate` run shows a researcher all there is to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import ValidationError

from kmcomms.campaign.adapters import broadcast_channels
from kmcomms.campaign.checks import check_campaign
from kmcomms.campaign.explain import explain
from kmcomms.campaign.fields import close_match
from kmcomms.campaign.models import Campaign
from kmcomms.campaign.source import YamlDocument, load_yaml, read_text
from kmcomms.campaign.workspace import (
    CAMPAIGN_FILE,
    SETTINGS_FILE,
    Workspace,
    campaign_files,
    campaigns_in,
    find_workspace,
    load_workspace,
)
from kmcomms.errors import Diagnostic, InvalidInput, Severity, UsageError

__all__ = ["Body", "LoadResult", "LoadedCampaign", "is_body_path", "load_campaign", "load_paths"]


@dataclass(frozen=True, slots=True)
class Body:
    """A message's Markdown: its text, and the file it came from (None when inline)."""

    text: str
    path: Path | None


@dataclass(frozen=True, slots=True)
class LoadedCampaign:
    """A valid campaign with its Markdown bodies and the source it was read from."""

    campaign: Campaign
    source: YamlDocument
    bodies: dict[str, Body]

    @property
    def folder(self) -> Path:
        return self.source.path.parent


@dataclass
class LoadResult:
    """What loading found: valid campaigns, the workspaces they belong to, and every diagnostic."""

    campaigns: list[LoadedCampaign] = field(default_factory=list)
    workspaces: list[Workspace] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    def raise_for_errors(self) -> None:
        if self.errors:
            raise InvalidInput(self.diagnostics)

    @property
    def broadcast(self) -> frozenset[str]:
        """The names of the workspaces' channels whose items every audience shares."""
        return frozenset().union(*(broadcast_channels(w.settings.channels) for w in self.workspaces))


def is_body_path(body: str) -> bool:
    """A one-line body ending in .md names a file; anything else is inline Markdown."""
    return "\n" not in body.strip() and body.strip().lower().endswith((".md", ".markdown"))


def _body_files(folder: Path) -> list[str]:
    """The Markdown files in a campaign folder, as a body names them ("messages/launch.md")."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if is_body_path(p.name) and p.is_file())


def _load_bodies(campaign: Campaign, doc: YamlDocument, found: list[Diagnostic]) -> dict[str, Body]:
    folder = doc.path.parent.resolve()
    resolved: dict[Path, Path] = {}  # each folder of body files is resolved once

    def error(i: int, code: str, message: str) -> None:
        line, column = doc.position(("messages", i, "body"))
        found.append(Diagnostic(str(doc.path), line, column, Severity.ERROR, code, message))

    bodies = {}
    for i, message in enumerate(campaign.messages):
        name = message.body.strip()
        if not is_body_path(name):
            bodies[message.id] = Body(message.body, None)
            continue
        try:
            if "\x00" in name:  # pathlib's checks answer False for it instead of failing
                raise ValueError("embedded null byte")
            given = folder / name
            parent = resolved.get(given.parent) or resolved.setdefault(given.parent, given.parent.resolve())
            target = parent / given.name
            if target.is_symlink():
                target = target.resolve()
            exists = target.is_file()
        except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the file system
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            error(
                i,
                "bad-path",
                f'body "{name}" is not a usable file name ({reason}) — name a .md file in {folder.name}/messages/',
            )
            continue
        if not target.is_relative_to(folder):
            error(
                i,
                "path-outside-campaign",
                f'body "{name}" is outside the campaign folder — put the file in {folder.name}/messages/',
            )
        elif not exists:
            error(
                i,
                "missing-body",
                f'body file "{name}" does not exist{close_match(name, _body_files(folder))} — create '
                "it or fix the path (relative to campaign.yaml)",
            )
        else:
            try:
                text = read_text(target, "body file")
            except InvalidInput as exc:
                found.extend(exc.diagnostics)
                continue
            if not text.strip():
                found.append(
                    Diagnostic(
                        str(target), 1, 1, Severity.WARNING, "empty-body", "the body file is empty — write the message"
                    )
                )
            bodies[message.id] = Body(text, target)
    return bodies


_KINDS = {list: "list", str: "line of text", int: "number", float: "number", bool: "true or false"}


def load_campaign(path: Path, workspace: Workspace | None) -> tuple[LoadedCampaign | None, list[Diagnostic]]:
    """Load and check one `campaign.yaml`. The campaign is None when it has errors."""
    try:
        doc = load_yaml(path)
    except InvalidInput as exc:
        return None, exc.diagnostics
    if not isinstance(doc.data, dict):
        line, column = doc.position(())
        kind = "nothing" if doc.data is None else f"a {_KINDS.get(type(doc.data), 'single value')}"
        return None, [
            Diagnostic(
                str(path),
                line,
                column,
                Severity.ERROR,
                "not-a-mapping",
                f"a campaign file is a mapping of keys (id, title, …), but this one holds {kind} — see `kmcomms new`",
            )
        ]
    data = doc.data if "id" in doc.data else {"id": path.parent.name, **doc.data}
    try:
        campaign = Campaign.model_validate(data)
    except ValidationError as exc:
        found = explain(exc, Campaign, path, doc.position)
        if "id" not in doc.data:
            # The id came from the folder name, which nothing in the file shows.
            found = [
                replace(d, message=f"{d.message} (the id is the folder name when the file has no `id:`)")
                if d.message.startswith("id: ")
                else d
                for d in found
            ]
        return None, found
    channels = list(workspace.settings.channels) if workspace else None
    found = check_campaign(campaign, doc, channels)
    bodies = _load_bodies(campaign, doc, found)
    if any(d.severity is Severity.ERROR for d in found):
        return None, found
    return LoadedCampaign(campaign, doc.without_data(), bodies), found


def _targets(paths: Iterable[Path], cwd: Path) -> dict[Path | None, list[Path] | None]:
    """Group what the user named by workspace: root → campaign files (None: all of them)."""
    groups: dict[Path | None, list[Path] | None] = {}
    for given in list(paths) or [cwd]:
        if not given.exists():
            raise UsageError(
                f"{given}: no such file or folder — name a workspace, a campaign folder or a campaign.yaml"
            )
        if given.is_dir() and (given / SETTINGS_FILE).is_file():
            groups[given.resolve()] = None
            continue
        root = find_workspace(given)
        if given.is_file() and given.name == SETTINGS_FILE:
            files = None
        elif given.is_dir() and (given / CAMPAIGN_FILE).is_file():
            files = [given / CAMPAIGN_FILE]
        elif given.is_dir():
            files = campaigns_in(given)
            if not files:
                raise UsageError(
                    f"{given}: no {SETTINGS_FILE} or campaign.yaml here — run `kmcomms init` or name a campaign folder"
                )
        else:
            files = [given]
        if root in groups and groups[root] is None:
            continue
        groups[root] = None if files is None else [*(groups.get(root) or []), *files]
    return groups


def load_paths(paths: Iterable[Path], cwd: Path | None = None) -> LoadResult:
    """Load the workspaces, campaign folders or campaign files named (default: the
    workspace around `cwd`), collecting every diagnostic."""
    result = LoadResult()
    cwd = cwd or Path.cwd()
    for root, files in _targets(paths, cwd).items():
        workspace = None
        if root is None:
            result.diagnostics.append(
                Diagnostic(
                    str(files[0] if files else cwd),
                    1,
                    1,
                    Severity.ERROR,
                    "no-workspace",
                    f"no {SETTINGS_FILE} in this folder or above — run `kmcomms init` in the folder that holds campaigns/",
                )
            )
        else:
            try:
                workspace = load_workspace(root)
                result.workspaces.append(workspace)
                result.diagnostics.extend(workspace.diagnostics)
            except InvalidInput as exc:
                result.diagnostics.extend(exc.diagnostics)
        if files is None:
            files = campaign_files(root) if root else []
        for path in dict.fromkeys(p.resolve() for p in files):
            loaded, found = load_campaign(path, workspace)
            result.diagnostics.extend(found)
            if loaded:
                result.campaigns.append(loaded)
    _check_campaign_ids(result)
    return result


def _check_campaign_ids(result: LoadResult) -> None:
    seen: dict[str, LoadedCampaign] = {}
    for loaded in result.campaigns:
        other = seen.setdefault(loaded.campaign.id, loaded)
        if other is not loaded:
            line, column = loaded.source.position(("id",))
            result.diagnostics.append(
                Diagnostic(
                    str(loaded.source.path),
                    line,
                    column,
                    Severity.ERROR,
                    "duplicate-id",
                    f'campaign id "{loaded.campaign.id}" is also used by {other.source.path.parent.name}/ — give each campaign its own id',
                )
            )
    if result.errors:
        bad = {d.path for d in result.errors}
        result.campaigns = [c for c in result.campaigns if str(c.source.path) not in bad]

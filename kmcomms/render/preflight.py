"""Pre-flight: every delivery of a workspace's campaigns rendered, and the drafts checked
before anything goes out.

`preflight` renders one representative delivery of each message × audience × language ×
channel of the loaded campaigns of a workspace, checks it (`kmcomms.render.checks`) and
turns the problems into diagnostics positioned on the message in campaign.yaml, so
`kmcomms validate` (and a publish) shows them with the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from kmcomms.campaign.adapters import adapter_fact, broadcast_channels, channel_kind
from kmcomms.campaign.load import LoadedCampaign, LoadResult
from kmcomms.campaign.workspace import Unit, Workspace
from kmcomms.errors import Diagnostic, KmcommsError, Severity
from kmcomms.plan.deliveries import ALL_TIME, Delivery, plan
from kmcomms.render.checks import Platform, check_draft
from kmcomms.render.drafts import Blocked, Draft, Problem
from kmcomms.render.renderer import Renderer

__all__ = ["preflight"]

_NOW = datetime(2000, 1, 1, tzinfo=UTC)  # planning needs one; the window does not use it


def _owner(loaded: LoadedCampaign, workspaces: Iterable[Workspace]) -> Path | None:
    """The root of the innermost workspace that holds the campaign."""
    path = loaded.source.path.resolve()
    roots = [w.root for w in workspaces if path.is_relative_to(w.root)]
    return max(roots, key=lambda r: len(r.parts), default=None)


def _has_errors(loaded: LoadedCampaign, result: LoadResult) -> bool:
    folder = loaded.folder.resolve()
    return any(Path(d.path).resolve().is_relative_to(folder) for d in result.errors)


def _deliveries_name(deliveries: list[Delivery]) -> str:
    """ "launch → parents, ur, video (delivery 1a2b3c4d5e6f)"; for several deliveries of
    one message, their audiences, languages and channels: "launch → parents, pa/ur,
    blog/video (4 deliveries, first 1a2b3c4d5e6f)"."""
    first = deliveries[0]
    if len(deliveries) == 1:
        return f"{first.message} → {'+'.join(first.audiences)}, {first.language}, {first.channel} (delivery {first.id})"
    audiences = "/".join(dict.fromkeys("+".join(d.audiences) for d in deliveries))
    languages, channels = (
        "/".join(dict.fromkeys(getattr(d, name) for d in deliveries)) for name in ("language", "channel")
    )
    return f"{first.message} → {audiences}, {languages}, {channels} ({len(deliveries)} deliveries, first {first.id})"


def preflight(result: LoadResult, workspace: Workspace) -> list[Diagnostic]:
    """Render each message × audience × language × channel of the loaded campaigns of
    `workspace` once (its first occurrence: later ones render the same words) and check it.

    Each finding is a diagnostic on the message in campaign.yaml whose text starts with the
    delivery it is about; a finding repeated by other deliveries of the same message is
    reported once, with their number.
    """
    workspaces = result.workspaces if workspace in result.workspaces else [*result.workspaces, workspace]
    campaigns = [c for c in result.campaigns if _owner(c, workspaces) == workspace.root and not _has_errors(c, result)]
    if not campaigns:
        return []
    by_id = {c.campaign.id: c for c in campaigns}
    diagnostics = []
    for (campaign_id, index, severity, code, text), deliveries in _findings(workspace, campaigns).items():
        loaded = by_id[campaign_id]
        line, column = loaded.source.position(("messages", index))
        diagnostics.append(
            Diagnostic(str(loaded.source.path), line, column, severity, code, f"{_deliveries_name(deliveries)}: {text}")
        )
    return diagnostics


#: (campaign, message index, severity, code, text) → the deliveries it was found in
_Findings = dict[tuple[str, int, Severity, str, str], list[Delivery]]


def _findings(workspace: Workspace, campaigns: list[LoadedCampaign]) -> _Findings:
    """The problems of every delivery of `campaigns`, each message × audience × language ×
    channel checked once, each problem with the deliveries it was found in."""
    by_id = {c.campaign.id: c for c in campaigns}
    renderer = Renderer(workspace, campaigns)
    findings: _Findings = {}
    seen: set[tuple[str, str, str, str, str]] = set()
    # Audiences of one message read the same words (only their link tags differ), so each
    # message × language × channel is rendered once and checked for every audience.
    drafts: dict[tuple[str, str, str, str], Draft | Blocked | Problem] = {}
    # A channel whose adapter is unknown is reported once, at its `adapter =` line in
    # kmcomms.toml (`kmcomms.channels.registry.check_channel`), not at every message it carries.
    unknown = {name for name, settings in workspace.settings.channels.items() if channel_kind(settings) is None}
    # What each channel's platform refuses, as its adapter says (unchecked here: an entry
    # point that is no Channel class is reported by check_channel).
    platforms = {
        name: found
        for name, settings in workspace.settings.channels.items()
        if callable(found := adapter_fact(settings.adapter, "draft_problems"))
    }
    for delivery in plan(
        (c.campaign for c in campaigns), ALL_TIME, _NOW, broadcast_channels(workspace.settings.channels)
    ).deliveries:
        if delivery.channel in unknown:
            continue
        loaded = by_id[delivery.campaign]
        index = next(i for i, m in enumerate(loaded.campaign.messages) if m.id == delivery.message)
        words = (delivery.campaign, delivery.message, delivery.language, delivery.channel)
        # A shared item is read by each of its audiences: it is checked for each.
        for audience in delivery.audiences:
            key = (delivery.campaign, delivery.message, audience, delivery.language, delivery.channel)
            if key in seen:
                continue
            seen.add(key)
            if words not in drafts:
                drafts[words] = _render(renderer, delivery)
            draft = drafts[words]
            platform = platforms.get(delivery.channel)
            for problem in _problems(draft, delivery, loaded, audience, workspace.settings.unit, platform):
                # The text without the delivery's id, so the same finding on other channels is one
                text = problem.message.replace(f"delivery {delivery.id} is blocked", "blocked")
                found = findings.setdefault((delivery.campaign, index, problem.severity, problem.code, text), [])
                if not found or found[-1] is not delivery:  # once per delivery, whichever audience saw it
                    found.append(delivery)
    return findings


def _problems(
    draft: Draft | Blocked | Problem,
    delivery: Delivery,
    loaded: LoadedCampaign,
    audience: str,
    unit: Unit,
    platform: Platform | None,
) -> list[Problem]:
    """The problems of `delivery`'s draft for one of its audiences (a failure to render is one)."""
    if isinstance(draft, Problem):
        return [draft]
    language = delivery.language if isinstance(draft, Blocked) else draft.language
    expected = unit.acknowledgements.get(language, unit.acknowledgement)
    return check_draft(draft, loaded.campaign.audiences[audience], expected, platform)


def _render(renderer: Renderer, delivery: Delivery) -> Draft | Blocked | Problem:
    """Render one delivery; a failure to render is itself a problem."""
    try:
        return renderer.render(delivery)
    except KmcommsError as exc:
        return Problem(Severity.ERROR, "cannot-render", f"cannot render: {exc}")
    except jinja2.TemplateError as exc:
        where = f" ({exc.name}, line {exc.lineno})" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
        own = sorted(
            p.name
            for p in (renderer.workspace.root / "templates").glob("*.j2")
            if p.name.split(".")[0] == renderer.kind(delivery)
        )
        fix = (
            f"fix templates/{' or templates/'.join(own)} or delete it to use the built-in one"
            if own
            else "the built-in template failed: report this as a kmcomms bug"
        )
        return Problem(Severity.ERROR, "template-error", f"a template fails{where}: {exc} — {fix}")

"""Everything about a channel lives on its adapter class.

Outside `kmcomms/channels/`, no module compares a value to a built-in adapter's name or
looks something up by it: what differs between adapters is a class attribute (`kind`,
`post_limit`, `draft_problems`, `capabilities`, `Settings`…), asked of whatever adapter a
channel names. And every registered adapter declares those facts, in the types callers
rely on.
"""

from __future__ import annotations

import ast
import inspect
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from imports import PACKAGE

from kmcomms.campaign.adapters import Kind, adapter_names
from kmcomms.channels.base import Capability, Channel, ChannelOptions, Publication
from kmcomms.channels.registry import adapter_class
from kmcomms.render.drafts import Draft, Problem
from kmcomms.testing.drafts import blog_post, letter

#: The adapters kmcomms registers itself (pyproject.toml), by name.
BUILT_IN = frozenset(
    tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"][
        "kmcomms.channels"
    ]
)

#: (module, word) → why that module may key something by a word that is also an adapter's name.
ALLOWED = {
    (
        "kmcomms/campaign/drafting.py",
        "briefing",
    ): "the channel instance `kmcomms init` names briefing (a campaign shape prefers it), not the adapter",
    (
        "kmcomms/render/renderer.py",
        "briefing",
    ): "the template context's `briefing` (the message's briefing fields), not the adapter",
}


def _keyed_by(node: ast.AST, parent: ast.AST, grandparent: ast.AST | None) -> str | None:
    """How the string constant `node` is used as a key or compared, or None."""
    holder = parent
    if isinstance(parent, ast.Tuple | ast.List | ast.Set):  # x in ("smtp", "briefing")
        holder = grandparent or parent
    if isinstance(holder, ast.Compare):
        return "compared"
    if isinstance(holder, ast.Subscript) and holder.slice in (node, parent):
        return "indexed"
    if isinstance(parent, ast.Dict) and node in parent.keys:
        return "a dict key"
    if isinstance(parent, ast.MatchValue):
        return "a match case"
    if (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Attribute)
        and parent.func.attr in ("get", "pop", "setdefault")
        and parent.args[:1] == [node]
    ):
        return "looked up"
    return None


def keyed_by_adapter_name(source: str, names: frozenset[str]) -> list[tuple[int, str, str]]:
    """(line, name, how) for each string in `source` equal to one of `names` and compared
    to, or used as a key, in the order they are written."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            parent = parents[node]
            how = _keyed_by(node, parent, parents.get(parent))
            if how:
                found.append((node.lineno, node.col_offset, node.value, how))
    return [(line, name, how) for line, _, name, how in sorted(found)]


def outside_channels() -> list[Path]:
    return [path for path in sorted(PACKAGE.rglob("*.py")) if "channels" not in path.relative_to(PACKAGE).parts[:1]]


def test_no_module_outside_the_channels_keys_anything_by_an_adapter_name() -> None:
    found = []
    for path in outside_channels():
        module = str(path.relative_to(PACKAGE.parent))
        for line, name, how in keyed_by_adapter_name(path.read_text(encoding="utf-8"), BUILT_IN):
            if (module, name) not in ALLOWED:
                found.append(f'{module}:{line}: "{name}" {how}')
    assert not found, (
        "facts about an adapter kept outside it, keyed by its name — make them a class attribute of "
        "the adapter (kmcomms/channels/base.py) and ask it through kmcomms.campaign.adapters:\n" + "\n".join(found)
    )


def test_every_allowance_is_still_needed() -> None:
    used = {
        (str(path.relative_to(PACKAGE.parent)), name)
        for path in outside_channels()
        for _, name, _ in keyed_by_adapter_name(path.read_text(encoding="utf-8"), BUILT_IN)
    }
    assert set(ALLOWED) <= used, f"allowances for code that is gone: {sorted(set(ALLOWED) - used)}"


def test_the_scan_finds_each_way_of_keying_by_a_name() -> None:
    source = """
if settings.adapter == "mastodon": pass
if adapter in ("smtp", "briefing"): pass
limit = LIMITS["bluesky"]
LIMITS = {"bluesky": 300}
limit = LIMITS.get("youtube")
match adapter:
    case "wordpress": pass
print("mastodon")
"""
    assert keyed_by_adapter_name(source, BUILT_IN) == [
        (2, "mastodon", "compared"),
        (3, "smtp", "compared"),
        (3, "briefing", "compared"),
        (4, "bluesky", "indexed"),
        (5, "bluesky", "a dict key"),
        (6, "youtube", "looked up"),
        (8, "wordpress", "a match case"),
    ]


# ---------------------------------------------------------------------------- the facts


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_a_built_in_adapter_is_installed(name: str) -> None:
    assert name in adapter_names()


@pytest.mark.parametrize("name", adapter_names())
def test_every_adapter_declares_its_facts(name: str) -> None:
    cls = adapter_class(name)
    kind = getattr(cls, "kind", None)
    kind_setting = cls.Settings.model_fields.get("kind")
    # A kind of its own, or one each instance must give (kind = "…" with no default).
    assert isinstance(kind, Kind) or (kind is None and kind_setting is not None and kind_setting.is_required()), name
    assert issubclass(cls.Settings, ChannelOptions), name
    assert cls.post_limit is None or (isinstance(cls.post_limit, int) and cls.post_limit > 0), name
    if kind is Kind.SOCIAL:
        assert cls.post_limit is not None, f"{name} publishes posts: say how long one may be (post_limit)"
    assert isinstance(cls.idempotent, bool) and isinstance(cls.grace, timedelta) and cls.max_attempts >= 1, name
    assert inspect.ismethod(cls.draft_problems), f"{name}: draft_problems is asked of the class, so a classmethod"
    for draft in (blog_post(), letter()):
        assert all(isinstance(p, Problem) for p in cls.draft_problems(draft)), name
    overridden = {c for c in Capability if getattr(cls, c) is not getattr(Channel, c)}
    assert cls.capabilities == overridden, (
        f"{name} claims {sorted(cls.capabilities)} but implements {sorted(overridden)}"
    )


def test_capabilities_follow_the_methods_an_adapter_implements() -> None:
    class Minimal(Channel):
        kind = Kind.BLOG

        def publish(self, draft: Draft, key: str) -> Publication:
            return Publication(key)

    class Findable(Minimal):
        def find(self, key: str) -> Publication | None:
            return None

    assert Minimal.capabilities == frozenset() and Channel.capabilities == frozenset()
    assert Findable.capabilities == {Capability.FIND}
    assert adapter_class("mastodon").capabilities == {Capability.FIND, Capability.UPDATE, Capability.WITHDRAW}
    assert Capability.SCHEDULE in adapter_class("wordpress").capabilities  # hands over ahead with status "future"

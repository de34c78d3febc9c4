"""The files of a test workspace, built from the parts most tests share, so that a test
writes only what it is about: `settings_toml()` (with `smtp_channel()`) for kmcomms.toml
and `campaign_yaml()` (with `audience()`) for a campaign.yaml, `write_translation()` for
its translations.

Plain functions, no pytest: the benchmarks in tests/benchmarks use them too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from kmcomms.campaign.load import load_paths
from kmcomms.translations.catalogs import po_path
from kmcomms.translations.pofiles import merge_catalog, po_bytes, template_catalog

__all__ = [
    "BENCHMARK_UNIT",
    "FOLDER_CHANNELS",
    "SENDER",
    "audience",
    "campaign_yaml",
    "settings_toml",
    "smtp_channel",
    "write_translation",
    "write_translations",
]

#: The `smtp` channel's sender in the tests that mail.
SENDER = "Unit news <news@unit.example.org>"

#: The unit of the benchmarks' workspaces, with an acknowledgement of full length:
#: `settings_toml(url, **BENCHMARK_UNIT)`.
BENCHMARK_UNIT = {
    "unit": "bench",
    "name": "Benchmark unit",
    "acknowledgement": "This work is funded by the National Institute for Health and Care Research (NIHR).",
}


def settings_toml(
    url: str | None = None,
    *,
    channels: str = "",
    tracking: str | None = None,
    policy: str = "",
    unit: str = "unit",
    name: str = "Test unit",
    acknowledgement: str = "Funded by the NIHR.",
) -> str:
    """kmcomms.toml: the `[unit]`, then each part given: the `[store]` at `url`, `policy`
    (TOML), `[tracking]` at the base address `tracking`, and `channels` (TOML)."""
    parts = [f'[unit]\nid = "{unit}"\nname = "{name}"\nacknowledgement = "{acknowledgement}"\n']
    if url is not None:
        parts.append(f'[store]\nurl = "{url}"\n')
    if policy:
        parts.append(policy)
    if tracking is not None:
        parts.append(f'[tracking]\nbase_url = "{tracking}"\n')
    if channels:
        parts.append(channels)
    return "\n".join(parts)


def smtp_channel(port: int, *, sender: str = SENDER, extra: str = "") -> str:
    """`[channels.newsletter]`: the `smtp` adapter sending the list "news", unthrottled, through
    the server on 127.0.0.1:`port`; `extra`: more of its settings (TOML lines)."""
    return (
        f'[channels.newsletter]\nadapter = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsender = "{sender}"\n'
        f'list = "news"\nrate = 0\n{extra}'
    )


#: Two `folder` channels: "blog" (a blog, so a broadcast channel) and "news" (a newsletter,
#: targeted), writing under out/.
FOLDER_CHANNELS = """\
[channels.blog]
adapter = "folder"
path = "out/blog"

[channels.news]
adapter = "folder"
kind = "newsletter"
path = "out/news"
"""


def audience(
    audience_id: str = "parents",
    *,
    languages: str = "en",
    channels: str = "blog",
    name: str = "Parents and carers",
    kind: str = "public",
    intent: str = "act",
    more: str = "",
) -> str:
    """One entry of a campaign's `audiences:`; `languages` and `channels` are YAML lists'
    insides ("en, ur"); `more`: further lines of the entry, indented by four spaces."""
    return (
        f"  {audience_id}:\n    name: {name}\n    kind: {kind}\n    languages: [{languages}]\n"
        f"    intent: {intent}\n{more}    channels: [{channels}]\n"
    )


def campaign_yaml(
    messages: str,
    *,
    title: str = "Trial",
    audiences: str | None = None,
    reached: str = "parents",
    timezone: str = "Europe/London",
    starts: date | str = "2027-01-11",
    ends: date | str = "2027-03-31",
    owner: str = "comms@example.org",
    metric: str = "views",
    level: str = "output",
) -> str:
    """A campaign.yaml in English: `audiences` (default: `audience()`, parents reached on the
    blog in English), one aim whose objective reaches the audiences `reached` and is
    measured by `metric` at `level` by `ends`, then `messages` (YAML list items, or "" for
    the text up to `messages:`, to add them to)."""
    return f"""\
title: {title}
owner: {owner}
timezone: {timezone}
language: en
starts: {starts}
ends: {ends}
aims:
  - id: uptake
    statement: More parents hear clinicians answer their questions
    objectives:
      - id: parents-hear
        statement: Parents hear clinicians
        audiences: [{reached}]
        indicators:
          - id: {metric}
            metric: {metric}
            level: {level}
            target: 100
            by: {ends}
audiences:
{audience() if audiences is None else audiences}messages:
{messages}"""


def write_translation(
    root: Path, language: str, translate: Callable[[str], str], *, fuzzy: str | None = None, missing: str | None = None
) -> None:
    """Translate the one campaign of the workspace at `root` into `language`: each text
    becomes `translate(text)`, but the entry of context `missing` is left untranslated and
    that of context `fuzzy` is marked fuzzy."""
    [loaded] = load_paths([root]).campaigns
    catalog = merge_catalog(template_catalog(loaded, root), None, language)
    for entry in catalog:
        if entry.id:
            entry.string = "" if missing is not None and entry.context == missing else translate(entry.id)
            if fuzzy is not None and entry.context == fuzzy:
                entry.flags.add("fuzzy")
    target = po_path(root / "translations", loaded.campaign.id, language)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(po_bytes(catalog))


def write_translations(root: Path, prefixes: Mapping[str, str]) -> None:
    """Translate the one campaign of the workspace at `root` into each language of
    `prefixes`: every text is its language's prefix followed by the source text."""
    for language, prefix in prefixes.items():
        write_translation(root, language, lambda text, prefix=prefix: prefix + text)

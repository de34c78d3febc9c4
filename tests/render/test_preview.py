"""`kmcomms preview`: one delivery as text or JSON, and a browsable site with no side effects."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

from conftest import RunCli

from kmcomms.render.preview import EXAMPLE_UNSUBSCRIBE
from kmcomms.render.renderer import UNSUBSCRIBE_PLACEHOLDER

REPO = Path(__file__).resolve().parents[2]


_NOT_OURS = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis"}


def _tree(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*") if not _NOT_OURS & set(p.parts)}


def test_preview_prints_one_delivery_as_its_channel_gets_it(kmcomms: RunCli) -> None:
    code, out, err = kmcomms(
        "preview",
        REPO / "campaigns" / "hpv-conversations",
        "--message",
        "launch",
        "--language",
        "en",
        "--channel",
        "blog",
    )
    assert code == 0, err
    assert "kind: blog" in out and "language: en" in out
    assert "<article" in out and "utm_campaign=hpv-conversations" in out
    assert "National Institute for Health and Care Research" in out


def test_preview_json_carries_the_draft_fields(kmcomms: RunCli) -> None:
    code, out, _ = kmcomms(
        "preview",
        REPO / "campaigns" / "hpv-conversations",
        "--message",
        "reminder",
        "--language",
        "en",
        "--format",
        "json",
    )
    draft = json.loads(out)
    assert code == 0 and draft["kind"] == "newsletter"
    assert draft["subject"] and draft["html"].startswith("<!DOCTYPE html>") and "Unsubscribe" in draft["text"]
    assert all(link["url"].count("utm_id=" + draft["delivery"]) == 1 for link in draft["links"])


def test_preview_with_no_match_is_wrong_usage(kmcomms: RunCli) -> None:
    code, _, err = kmcomms("preview", REPO / "campaigns" / "hpv-conversations", "--language", "xx")
    assert code == 2 and "no delivery matches" in err


def test_preview_site_links_every_delivery_and_touches_nothing_else(tmp_path: Path, kmcomms: RunCli) -> None:
    before = _tree(REPO)
    out_dir = tmp_path / "site"
    code, _, err = kmcomms("preview", REPO / "campaigns" / "hpv-conversations", "--out", out_dir)
    assert code == 0, err
    _, plan_out, _ = kmcomms("plan", REPO / "campaigns" / "hpv-conversations", "--all", "--format", "json")
    ids = {d["id"] for d in json.loads(plan_out)}
    index = (out_dir / "index.html").read_text()
    pages = {p.stem for p in (out_dir / "d").glob("*.html")}
    assert pages == ids
    assert all(f'href="d/{i}.html"' in index for i in ids)
    assert _tree(REPO) == before, "preview must not write into the workspace"
    assert sorted(os.listdir(out_dir)) == ["d", "index.html"]


def test_a_newsletter_preview_shows_an_example_unsubscribe_address_and_says_so(tmp_path: Path, kmcomms: RunCli) -> None:
    code, _, err = kmcomms(
        "preview",
        REPO / "campaigns" / "hpv-conversations",
        "--message",
        "reminder",
        "--language",
        "en",
        "--out",
        tmp_path,
    )
    assert code == 0, err
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "d").glob("*.html")]
    assert pages and all(UNSUBSCRIBE_PLACEHOLDER not in page for page in pages)
    for page in pages:
        assert "Each recipient gets their own unsubscribe link" in page
        # The email in a frame of the preview page, its link to the example address.
        frame = re.search(
            r'<main id="content">.*<iframe [^>]*title="The newsletter as sent" srcdoc="([^"]*)"', page, re.DOTALL
        )
        assert frame and f'href="{EXAMPLE_UNSUBSCRIBE}"' in html.unescape(frame[1])
    assert '<main id="content">' in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_the_text_preview_says_what_the_unsubscribe_placeholder_stands_for(kmcomms: RunCli) -> None:
    code, out, err = kmcomms(
        "preview", REPO / "campaigns" / "hpv-conversations", "--message", "reminder", "--language", "en"
    )
    assert code == 0 and UNSUBSCRIBE_PLACEHOLDER in out  # exactly as the channel gets it
    assert f"{UNSUBSCRIBE_PLACEHOLDER} stands for each recipient's own unsubscribe address" in err

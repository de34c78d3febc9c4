"""Checks on one rendered draft: `check_draft` takes a draft (or the reason it is blocked)
and its audience, and gives the problems with it. Pure: nothing is read or sent.

The checks: what the channel's platform would refuse, as its adapter says
(`draft_problems`: YouTube's title, description and tags…); a social post's length (the
limit it was rendered for); a long newsletter subject; the reading age of English text
addressed to the public and to patients (`kmcomms.render.readability`); images without
alt text; links that are not https; the unit's acknowledgement; translations missing,
incomplete or stale (a blocked delivery, or one that falls back to the source language).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import markupsafe

from kmcomms.campaign.models import Audience
from kmcomms.errors import Severity
from kmcomms.render.drafts import Blocked, BlogPost, Briefing, Draft, Newsletter, Problem, SocialPost, VideoListing
from kmcomms.render.readability import reading_age_problems

__all__ = ["SUBJECT_CHARACTERS", "Platform", "check_draft"]


#: A channel adapter's `draft_problems`: what its platform would refuse in a draft.
Platform = Callable[[Draft], list[Problem]]
#: Longer subjects are cut off by most mail clients (a warning, not a platform limit).
SUBJECT_CHARACTERS = 100

_TAG = re.compile(r"<[^>]*>")
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ADDRESS = re.compile(r"""<[a-z][^>]*?\s(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_ANGLES = str.maketrans({"<": "‹", ">": "›"})  # as the renderer writes them for YouTube


_TEMPLATES = {
    BlogPost: "blog.html.j2",
    Newsletter: "newsletter.html.j2",
    Briefing: "briefing.html.j2",
    VideoListing: "video.txt.j2",
    SocialPost: "social.txt.j2",
}


def _limits(draft: Draft, platform: Platform | None) -> list[Problem]:
    found = [] if platform is None else list(platform(draft))
    if isinstance(draft, SocialPost) and len(draft.text) > draft.limit:
        found.append(
            Problem(
                Severity.ERROR,
                "post-too-long",
                f"post is {len(draft.text)} characters, over the channel's {draft.limit} — shorten the title "
                "or the call to action (only the summary is shortened for you)",
            )
        )
    elif isinstance(draft, Newsletter) and len(draft.subject) > SUBJECT_CHARACTERS:
        found.append(
            Problem(
                Severity.WARNING,
                "long-subject",
                f"newsletter subject is {len(draft.subject)} characters; mail apps cut off subjects over about "
                f"{SUBJECT_CHARACTERS} — shorten the title",
            )
        )
    return found


def _attribute(tag: str, name: str) -> str | None:
    match = re.search(rf"""\s{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", tag, re.IGNORECASE)
    return None if match is None else html.unescape(next(v for v in match.groups() if v is not None))


def _images(markup: str | None) -> list[Problem]:
    found = []
    images = (
        [] if markup is None else [(_attribute(t, "src") or "", _attribute(t, "alt")) for t in _IMG.findall(markup)]
    )
    for src, alt in dict.fromkeys(images):
        if alt is None or not alt.strip():
            name = src or "(no src)"
            found.append(
                Problem(
                    Severity.ERROR,
                    "image-alt",
                    f"image {name} has no alt text — describe what it shows: ![what it shows]({src}) in the Markdown",
                )
            )
    return found


def _https(url: str) -> str:
    return "https" + url[len("http") :] if url.lower().startswith("http:") else url


def _links(draft: Draft, markup: str | None) -> list[Problem]:
    found: dict[str, Problem] = {}
    tagged = {link.url for link in draft.links}
    for link in draft.links:
        if urlsplit(link.original).scheme.lower() == "http" and link.original not in found:
            found[link.original] = Problem(
                Severity.WARNING,
                "insecure-link",
                f"link {link.original} is not https — link to {_https(link.original)} (or another page that has https)",
            )
    addresses = (
        []
        if markup is None
        else [html.unescape(next(v for v in m.groups() if v is not None)).strip() for m in _ADDRESS.finditer(markup)]
    )
    for url in addresses:
        scheme = urlsplit(url).scheme.lower() if not url.startswith("{{") else ""
        if scheme in ("", "https", "mailto") or url in tagged or url in found:
            continue
        fix = f"link to {_https(url)} instead" if scheme == "http" else "use an https:// address (or mailto:)"
        found[url] = Problem(Severity.WARNING, "insecure-link", f"link {url} is not https — {fix}")
    return list(found.values())


def _normal(text: str) -> str:
    return " ".join(html.unescape(text).split())


def _carries(text: str, expected: str, markup: bool) -> bool:
    """Whether `text` (HTML when `markup`) holds `expected`, however spaced or escaped."""
    if expected in text or (markup and str(markupsafe.escape(expected)) in text):
        return True  # the usual case, without normalising the whole document
    return _normal(expected) in _normal(_TAG.sub(" ", text) if markup else text)


def _acknowledgement(draft: Draft, acknowledgement: str) -> list[Problem]:
    if not acknowledgement.strip():
        return []
    template = _TEMPLATES[type(draft)]
    if isinstance(draft, BlogPost | Briefing):
        parts = [("", template, draft.html, True)]
    elif isinstance(draft, Newsletter):
        parts = [
            (" from the HTML part", template, draft.html, True),
            (" from the plain-text part", "newsletter.txt.j2", draft.text, False),
        ]
    elif isinstance(draft, VideoListing):
        parts = [(" from the video description", template, draft.description, False)]
        acknowledgement = acknowledgement.translate(_ANGLES)
    else:
        return []
    return [
        Problem(
            Severity.ERROR,
            "acknowledgement-missing",
            f"the unit's acknowledgement is missing{part} — put {{{{ acknowledgement }}}} back in templates/{name} "
            "(every public output must carry it)",
        )
        for part, name, text, markup in parts
        if not _carries(text, acknowledgement, markup)
    ]


def _translation(draft: Draft) -> list[Problem]:
    if not draft.fallback:
        return []
    return [
        Problem(
            Severity.WARNING,
            "translation-fallback",
            f"the translation is missing, incomplete or out of date, so this goes out in the source language ({draft.language}) "
            "— translate it (kmcomms translations status)",
        )
    ]


def check_draft(
    draft: Draft | Blocked, audience: Audience, acknowledgement: str, platform: Platform | None = None
) -> list[Problem]:
    """The problems with one rendered delivery, worst first: limits (`platform`'s, the
    `draft_problems` of the channel's adapter, and the draft's own), reading age (English
    for the public and patients), alt text, non-https links, the acknowledgement
    (`acknowledgement` is the text expected in the draft's language) and translations."""
    if isinstance(draft, Blocked):
        # The renderer's reason may carry its own fix ("… — run `kmcomms translations update`").
        fix = "" if " — " in draft.reason else " — translate it (kmcomms translations status)"
        return [
            Problem(
                Severity.WARNING,
                "translation-blocked",
                f"delivery {draft.delivery} is blocked: {draft.reason}{fix}; or, to send the source text meanwhile, "
                'set missing_translation = "source" in [policy] of kmcomms.toml',
            )
        ]
    markup = getattr(draft, "html", None)
    markup = markup if isinstance(markup, str) else None
    found = [
        *_limits(draft, platform),
        *_images(markup),
        *_acknowledgement(draft, acknowledgement),
        *_translation(draft),
        *reading_age_problems(draft, audience, markup, acknowledgement),
        *_links(draft, markup),
    ]
    return sorted(found, key=lambda p: p.severity is not Severity.ERROR)

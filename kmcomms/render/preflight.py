"""Pre-flight checks: every delivery rendered, and the drafts checked before anything goes out.

`check_draft` is pure: one rendered draft (or the reason it is blocked) in, the problems
with it out. `preflight` renders one representative delivery of each message × audience ×
language × channel of the loaded campaigns of a workspace and turns the problems into
diagnostics positioned on the message in campaign.yaml, so `kmcomms validate` (and a
publish) shows them with the rest.

The checks: what the channel's platform would refuse, as its adapter says
(`draft_problems`: YouTube's title, description and tags…); a social post's length (the
limit it was rendered for); a long newsletter subject; the reading age of English text addressed to
the public and to patients (Flesch–Kincaid grade + 5) against the audience's
`reading_age`; images without alt text; links that are not https; the unit's
acknowledgement; translations missing, incomplete or stale (a blocked delivery, or one
that falls back to the source language).
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
import markupsafe
import pyphen

from kmcomms.campaign.adapters import adapter_fact, broadcast_channels, channel_kind
from kmcomms.campaign.load import LoadedCampaign, LoadResult
from kmcomms.campaign.models import Audience
from kmcomms.campaign.workspace import Workspace
from kmcomms.errors import Diagnostic, KmcommsError, Severity
from kmcomms.plan.deliveries import ALL_TIME, Delivery, plan
from kmcomms.render.drafts import Blocked, BlogPost, Briefing, Draft, Newsletter, Problem, SocialPost, VideoListing
from kmcomms.render.renderer import Renderer

__all__ = [
    "NHS_READING_AGE",
    "READING_AGE_KINDS",
    "SUBJECT_CHARACTERS",
    "Platform",
    "Problem",
    "check_draft",
    "flesch_kincaid_grade",
    "preflight",
    "reading_age",
]

#: A channel adapter's `draft_problems`: what its platform would refuse in a draft.
Platform = Callable[[Draft], list[Problem]]
#: Longer subjects are cut off by most mail clients (a warning, not a platform limit).
SUBJECT_CHARACTERS = 100
#: Audience kinds whose English text is checked for reading age.
READING_AGE_KINDS = frozenset({"public", "patients"})
NHS_READING_AGE = "9 to 11"

# Boilerplate the kmcomms templates put around a message: not the author's words, so it
# is left out of the reading age. English msgids: reading age is measured on English only.
_SKIP_TAGS = frozenset({"head", "title", "style", "script", "template", "footer"})
_SKIP_CLASSES = frozenset({"km-preheader", "km-footer", "km-date", "km-note", "km-kind"})
_BOILERPLATE = (
    re.compile(r"^Sent in the source language: the translation is not complete\.$", re.MULTILINE),
    re.compile(r"^You are receiving this because you asked for news from .*$", re.MULTILINE),
    re.compile(r"^Unsubscribe(: .*)?$", re.MULTILINE),
    re.compile(r"^Published on .*$", re.MULTILINE),
)
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
_URL = re.compile(r"\b(?:https?|ftp|mailto):\S+|\bwww\.\S+|\S+@\S+\.\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ADDRESS = re.compile(r"""<[a-z][^>]*?\s(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_ANGLES = str.maketrans({"<": "‹", ">": "›"})  # as the renderer writes them for YouTube


# --- Reading age -------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d+(?:[.,:]\d+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_VOWELS = re.compile(r"[aeiouyàâäéèêëîïôöûüœæ]", re.IGNORECASE)


@functools.cache
def _dictionary() -> pyphen.Pyphen:
    # left/right = 1: pyphen's defaults (2, 2) never split off a final syllable, so
    # "people" and "wanted" would count as one.
    return pyphen.Pyphen(lang="en_US", left=1, right=1)


def _silent_ending(word: str) -> bool:
    """Whether a final e, -es or -ed is no syllable: make, makes, asked (but table, places, wanted)."""
    if word.endswith("e"):
        return not re.search(r"[^aeiouy]le$", word)
    if word.endswith("es"):
        return bool(re.search(r"[^aeiouy]es$", word)) and not re.search(r"(?:[sxzcg]|ch|sh|[^aeiouy]l)es$", word)
    return bool(re.search(r"[^tde]ed$", word))


def _vowel_groups(word: str) -> int:
    """Syllables of a lowercase word by the usual spelling rules: groups of vowels, less
    a silent final e (make, but table) or -es/-ed (makes, asked, but places, wanted),
    plus vowels side by side that are two syllables (vi-de-o, ra-di-o, ar-e-a)."""
    core = word.removeprefix("y")  # a first y is a consonant: you, year
    count = len(re.findall(r"[aeiouy]+", core))
    if count > 1 and _silent_ending(word):
        count -= 1
    count += len(re.findall(r"(?<![tscxlng])i[ao]|(?<!p)eo|(?<![qgs])ua|iu", word))
    if len(word) > 3 and re.search(r"[^aeiouy]ea$", word):
        count += 1
    return count


@functools.lru_cache(maxsize=65536)
def _syllables(word: str) -> int:
    if word[0].isdigit():
        return 1
    total = 0
    for part in re.split(r"[-'’]", word):
        if not part:
            continue
        if part.isupper() and len(part) > 1 and not _VOWELS.search(part):
            total += len(part)  # an initialism is read letter by letter: NHS, GP, HPV
            continue
        part = part.lower()
        # The hyphenation pieces that hold a vowel: the dictionary sometimes splits off a
        # lone consonant ("word-s", "con-sen-t"), which is no syllable, or a first y ("y-our").
        pieces = _dictionary().inserted(part, hyphen="\x00").split("\x00")
        pieces[0] = pieces[0].removeprefix("y")
        hyphenated = sum(1 for piece in pieces if _VOWELS.search(piece))
        # Hyphenation dictionaries leave a single vowel unsplit ("ma-ny", "o-ver", "a-bout"
        # stay whole): the spelling rules catch those. Against the CMU Pronouncing
        # Dictionary, the larger of the two is exact for 96% of the words in the example
        # campaigns (pyphen alone: 91%).
        total += max(1, hyphenated, _vowel_groups(part))
    return max(1, total)


def _counts(text: str) -> tuple[int, int, int]:
    """(words, sentences, syllables) of plain `text`. Blank lines end sentences too, so a
    heading or list item without a full stop does not run into the next sentence."""
    words = sentences = syllables = 0
    for block in re.split(r"\n\s*\n", _URL.sub(" ", text)):
        for sentence in _SENTENCE_END.split(_SPACE.sub(" ", block).strip()):
            found = _WORD.findall(sentence)
            if found:
                sentences += 1
                words += len(found)
                syllables += sum(_syllables(w) for w in found)
    return words, sentences, syllables


@functools.lru_cache(maxsize=4096)  # one text is checked for each audience that reads it
def flesch_kincaid_grade(text: str) -> float:
    """The Flesch–Kincaid grade level of English `text`:
    0.39 × words/sentences + 11.8 × syllables/words − 15.59 (0.0 for text without words).

    Syllables are counted with the pyphen (Hunspell) hyphenation dictionary, checked by
    spelling rules where it leaves a word whole: an estimate, as every readability
    formula is.
    """
    words, sentences, syllables = _counts(text)
    if not words:
        return 0.0
    return 0.39 * words / sentences + 11.8 * syllables / words - 15.59


def reading_age(text: str) -> float:
    """The reading age, in years, of English `text`: its Flesch–Kincaid (US) grade + 5,
    the age at which UK children are in the matching school year."""
    return flesch_kincaid_grade(text) + 5


# --- HTML --------------------------------------------------------------------------------


class _Page(HTMLParser):
    """An HTML draft's readable text, without the templates' boilerplate."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # open elements: (tag, skipped)
        self.feed(source)
        self.close()

    @property
    def _skipping(self) -> bool:
        return any(skipped for _, skipped in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag in _VOID_TAGS:
            return
        classes = set((dict(attrs).get("class") or "").split())
        self._stack.append((tag, tag in _SKIP_TAGS or bool(classes & _SKIP_CLASSES)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS and self._stack and self._stack[-1][0] == tag:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _normal(text: str) -> str:
    return _SPACE.sub(" ", html.unescape(text)).strip()


def _readable(text: str, acknowledgement: str) -> str:
    """`text` without the acknowledgement and the templates' fixed English lines."""
    if acknowledgement.strip():
        text = re.sub(r"\s+".join(map(re.escape, acknowledgement.split())), "\n\n", text)
    for pattern in _BOILERPLATE:
        text = pattern.sub("", text)
    return text


# --- The checks --------------------------------------------------------------------------

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


def _draft_text(draft: Draft, markup: str | None) -> str:
    """The words a reader reads: title, summary and body, as plain text."""
    if markup is not None:
        return _Page(markup).text
    if isinstance(draft, VideoListing):
        return f"{draft.title}\n\n{draft.description}"
    if isinstance(draft, SocialPost):
        return draft.text
    return draft.title


def _reading_age(draft: Draft, audience: Audience, markup: str | None, acknowledgement: str) -> list[Problem]:
    if draft.language != "en" or audience.kind not in READING_AGE_KINDS or audience.reading_age is None:
        return []
    text = _readable(_draft_text(draft, markup), acknowledgement)
    if not _WORD.search(text):
        return []
    grade = flesch_kincaid_grade(text)
    age = round(grade + 5, 1)
    if age <= audience.reading_age:
        return []
    return [
        Problem(
            Severity.WARNING,
            "reading-age",
            f"reading age is {age:.1f} (Flesch–Kincaid grade {grade:.1f}), above the audience's {audience.reading_age} "
            f"— use shorter sentences and everyday words; the NHS aims for {NHS_READING_AGE}",
        )
    ]


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
        *_reading_age(draft, audience, markup, acknowledgement),
        *_links(draft, markup),
    ]
    return sorted(found, key=lambda p: p.severity is not Severity.ERROR)


# --- Over a workspace --------------------------------------------------------------------

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
    renderer = Renderer(workspace, campaigns)
    unit = workspace.settings.unit
    # (campaign, message index, severity, code, text) → the deliveries it was found in
    findings: dict[tuple[str, int, Severity, str, str], list[Delivery]] = {}
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
            if isinstance(draft, Problem):
                problems = [draft]
            else:
                language = delivery.language if isinstance(draft, Blocked) else draft.language
                expected = unit.acknowledgements.get(language, unit.acknowledgement)
                problems = check_draft(
                    draft, loaded.campaign.audiences[audience], expected, platforms.get(delivery.channel)
                )
            for problem in problems:
                # The text without the delivery's id, so the same finding on other channels is one
                text = problem.message.replace(f"delivery {delivery.id} is blocked", "blocked")
                found = findings.setdefault((delivery.campaign, index, problem.severity, problem.code, text), [])
                if not found or found[-1] is not delivery:  # once per delivery, whichever audience saw it
                    found.append(delivery)
    diagnostics = []
    for (campaign_id, index, severity, code, text), deliveries in findings.items():
        loaded = by_id[campaign_id]
        line, column = loaded.source.position(("messages", index))
        diagnostics.append(
            Diagnostic(str(loaded.source.path), line, column, severity, code, f"{_deliveries_name(deliveries)}: {text}")
        )
    return diagnostics


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

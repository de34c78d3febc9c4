"""Bad input: Markdown carrying XSS payloads renders to output that carries none of them.

The corpus is `tests/xss/vectors.txt` (one vector a line; see its header for escapes).
Each vector goes through `kmcomms.render.markup.to_html`, and through a full render of
every channel kind: once as a message body, once as the title, summary, call to action
and briefing text of a message. HTML is inspected with `html.parser` (tags, attributes,
decoded URL schemes) as well as with plain substring and regex checks, so a payload
html.parser happens to read differently from a browser is still caught.

The checker is itself tested first: it must flag each kind of payload when the payload
is left in, and must pass the safe HTML a message is allowed to hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import markdown
import pytest
from conftest import make_workspace, write_campaign
from workspaces import audience, campaign_yaml

from kmcomms.campaign.adapters import Kind
from kmcomms.campaign.load import load_paths
from kmcomms.plan.deliveries import Window, plan_of
from kmcomms.render.drafts import Blocked, Draft
from kmcomms.render.markup import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    LinkRegister,
    plain_text,
    to_html,
    utm_tags,
)
from kmcomms.render.renderer import Renderer

CORPUS = Path(__file__).resolve().parents[1] / "xss" / "vectors.txt"

_ESCAPES = {"{NL}": "\n", "{CR}": "\r", "{TAB}": "\t", "{NUL}": "\0", "{FF}": "\f", "{VT}": "\v"}


def decode(line: str) -> str:
    """A corpus line as the vector it stands for (see the corpus header)."""
    for escape, char in _ESCAPES.items():
        line = line.replace(escape, char)
    return re.sub(r"\{U\+([0-9A-Fa-f]{4,6})\}", lambda m: chr(int(m[1], 16)), line)


def load_vectors() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [decode(line) for line in lines if line.strip() and not line.startswith("%%")]


VECTORS = load_vectors()
IDS = [f"v{i:03d}" for i in range(1, len(VECTORS) + 1)]

# ------------------------------------------------------------------------ the checker

#: Elements that must never come out of a message (the templates' own <meta>, <style>
#: and <title> in a document's head are compared with a clean render instead).
FORBIDDEN_TAGS = frozenset(
    {
        "script",
        "iframe",
        "frame",
        "frameset",
        "svg",
        "math",
        "object",
        "embed",
        "applet",
        "base",
        "meta",
        "form",
        "style",
        "link",
        "input",
        "button",
        "textarea",
        "select",
        "template",
        "portal",
        "noscript",
        "xmp",
        "title",
        "isindex",
        "keygen",
        "bgsound",
        "video",
        "audio",
        "source",
        "marquee",
        "details",
        "plaintext",
        "noembed",
        "noframes",
        "body",
        "html",
        "head",
    }
)
#: Raw text that is a forbidden element however a parser reads the rest.
FORBIDDEN_OPENINGS = ("<script", "<iframe", "<svg", "<math", "<object", "<embed", "<base", "<meta", "<form", "<style")
#: Attributes a browser fetches or navigates to.
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "srcset",
        "action",
        "formaction",
        "background",
        "poster",
        "data",
        "lowsrc",
        "dynsrc",
        "code",
        "codebase",
        "cite",
        "longdesc",
        "ping",
        "xlink:href",
        "usemap",
        "manifest",
        "icon",
        "archive",
        "classid",
        "to",
        "values",
        "from",
        "by",
    }
)
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_TAG = re.compile(r"<[^>]*>")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][^\s/>]*)")
_QUOTED = re.compile(r'"[^"]*"|\'[^\']*\'')
_EVENT_IN_TAG = re.compile(r"[\s/\"'`]on[a-z]+\s*=", re.IGNORECASE)


def url_scheme(value: str) -> str | None:
    """The scheme a browser reads in an attribute value already entity-decoded: leading
    and trailing C0 controls and spaces dropped, tabs and newlines anywhere removed
    (WHATWG URL parsing), case folded. None for a relative URL."""
    cleaned = re.sub(r"[\t\n\r]", "", value.strip(_C0_AND_SPACE)).lower()
    match = _SCHEME.match(cleaned)
    return match[1] if match else None


@dataclass
class Element:
    tag: str
    attributes: tuple[tuple[str, str | None], ...]


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, tuple(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> _Inspector:
    inspector = _Inspector()
    inspector.feed(markup)
    inspector.close()
    return inspector


def visible_text(markup: str) -> str:
    """The text a reader sees in `markup` (entities decoded)."""
    return "".join(parse(markup).text)


def problems(markup: str, *, allowed_tags: Iterable[str] = ()) -> list[str]:
    """Everything in `markup` that could run script, load or embed content, restyle the
    page or navigate to a script URL. Empty for safe HTML."""
    found = []
    allowed = set(allowed_tags)
    for element in parse(markup).elements:
        if element.tag in FORBIDDEN_TAGS and element.tag not in allowed:
            found.append(f"<{element.tag}> element")
        for name, value in element.attributes:
            if name.startswith("on"):
                found.append(f"event attribute {name}= on <{element.tag}>")
            elif name in ("style", "srcdoc", "formaction", "http-equiv"):
                found.append(f"{name}= on <{element.tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                scheme = url_scheme(value)
                if scheme is not None and scheme not in SAFE_SCHEMES:
                    found.append(f"{scheme}: URL in {name}= on <{element.tag}>")
    lowered = markup.lower()
    found += [f"raw {opening}" for opening in FORBIDDEN_OPENINGS if opening in lowered and opening[1:] not in allowed]
    for tag in _TAG.findall(markup):
        tag = _QUOTED.sub('""', tag)  # what a quoted attribute value holds is not an attribute
        if _EVENT_IN_TAG.search(tag):
            found.append(f"event attribute in raw tag {tag[:60]!r}")
        if re.search(r"\sstyle\s*=", tag, re.IGNORECASE):
            found.append(f"style= in raw tag {tag[:60]!r}")
    return found


def tags_and_attributes(markup: str) -> tuple[set[str], set[tuple[str, str]]]:
    elements = parse(markup).elements
    names = {e.tag for e in elements} | {m.lower() for m in _TAG_NAME.findall(markup)}
    return names, {(e.tag, name) for e in elements for name, _ in e.attributes}


# Safe HTML of the kind a message may hold, which the checker must pass.
SAFE_HTML = [
    '<p><a href="https://example.org/a?b=1&amp;utm_id=x" rel="noopener noreferrer" title="A">a</a></p>',
    '<p><a href="mailto:team@example.org">mail</a> <a href="/relative">rel</a> <a href="#top">top</a></p>',
    '<p><img src="https://example.org/a.png" alt="a &lt;b&gt; c" width="10"></p>',
    "<p>&lt;script&gt;alert(1)&lt;/script&gt; is shown as text, and so is javascript:alert(1).</p>",
    '<table><thead><tr><th align="left">a</th></tr></thead><tbody><tr><td align="right">1</td></tr></tbody></table>',
    "<pre><code>if (a &lt; b) { onload = 1; }</code></pre>",
]

# Unsafe HTML, one per kind of payload, which the checker must flag.
UNSAFE_HTML = {
    "script": "<p>x</p><script>alert(1)</script>",
    "script in upper case": "<SCRIPT>alert(1)</SCRIPT>",
    "event handler": '<img src="https://example.org/a.png" onerror="alert(1)">',
    "event handler in mixed case": "<a OnMouseOver=alert(1)>x</a>",
    "event handler after a slash": "<img/src=x/onerror=alert(1)>",
    "javascript: URL": '<a href="javascript:alert(1)">x</a>',
    "javascript: URL in mixed case": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "javascript: URL as entities": '<a href="&#x6A;avascript&#58;alert(1)">x</a>',
    "javascript: URL with a tab": '<a href="java&#9;script:alert(1)">x</a>',
    "javascript: URL with a newline": '<a href="java\nscript:alert(1)">x</a>',
    "javascript: URL after a control character": '<a href="&#14; javascript:alert(1)">x</a>',
    "vbscript: URL": "<a href='vbscript:msgbox(1)'>x</a>",
    "data: URL in an image": '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
    "data: URL in a link": '<a href="DATA:text/html,x">x</a>',
    "svg": "<svg><g></g></svg>",
    "math": "<math><mi>x</mi></math>",
    "iframe": '<iframe src="https://example.org/"></iframe>',
    "srcdoc": '<x srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></x>',
    "object": '<object data="https://example.org/x.swf"></object>',
    "embed": '<embed src="https://example.org/x.swf">',
    "base": '<base href="https://evil.example/">',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "form": '<form action="https://evil.example/"><input name="p"></form>',
    "style element": "<style>body{display:none}</style>",
    "style attribute": '<p style="position:fixed">x</p>',
    "unclosed script": "<p>x<script",
    "unclosed svg with a handler": "<svg onload=alert(1)",
}


def test_the_checker_passes_safe_html() -> None:
    assert {html: problems(html) for html in SAFE_HTML} == {html: [] for html in SAFE_HTML}


@pytest.mark.parametrize("name", list(UNSAFE_HTML))
def test_the_checker_flags_each_kind_of_payload(name: str) -> None:
    assert problems(UNSAFE_HTML[name]), f"the checker misses {name}: {UNSAFE_HTML[name]!r}"


def test_url_scheme_reads_urls_as_a_browser_does() -> None:
    assert [
        url_scheme(v) for v in (" \x0e javascript:x", "java\tscr\nipt:x", "HTTPS://a", "/a:b", "a b:c", "//h/x")
    ] == ["javascript", "javascript", "https", None, None, None]


# --------------------------------------------------------------------------- the corpus

#: Payload families the issue names; each must be in the corpus.
FAMILIES = {
    "script tag": "<script>alert(1)</script>",
    "event handler": "onerror=",
    "mixed-case scheme": "JaVaScRiPt:",
    "entity-encoded scheme": "&#x6A;avascript:",
    "tab inside the scheme": "java\tscript:",
    "newline inside the scheme": "java\nscript:",
    "NUL inside the scheme": "java\0script:",
    "vbscript": "vbscript:",
    "data: URL": "data:text/html;base64,",
    "svg onload": "<svg onload",
    "math": "<math>",
    "iframe srcdoc": "<iframe srcdoc",
    "object data": "<object data",
    "embed": "<embed",
    "base href": "<base href",
    "meta refresh": '<meta http-equiv="refresh"',
    "form action": "<form action",
    "img onerror": "<img src=x onerror",
    "data: link": '<a href="data:text/html;base64,',
    "style expression": "expression(",
    "style attribute": "style=",
    "comment trick": "<!--",
    "unclosed tag": "<img src=x onerror=alert(1)",
    "markdown javascript link": "[x](javascript:alert(1))",
    "markdown data image": "![x](data:image/svg+xml;base64,",
    "autolink": "<javascript:alert(1)>",
    "reference link": "[1]: javascript:alert(1)",
    "HTML inside Markdown": '<div markdown="1">',
}


def test_the_corpus_is_large_unique_and_covers_every_family() -> None:
    assert len(VECTORS) >= 300
    assert len(set(VECTORS)) == len(VECTORS), "a vector is listed twice"
    missing = [family for family, marker in FAMILIES.items() if not any(marker in v for v in VECTORS)]
    assert missing == []


def test_the_corpus_is_dangerous_without_the_sanitiser() -> None:
    # A vector that is harmless even unsanitised tests nothing; most must be caught by
    # the checker when Markdown's output is used as it is.
    raw = markdown.Markdown(extensions=["extra", "sane_lists"], output_format="html")
    dangerous = [v for v in VECTORS if problems(v) or problems(raw.reset().convert(v))]
    assert len(dangerous) >= 0.8 * len(VECTORS)


# -------------------------------------------------------------------------- to_html


def _register() -> LinkRegister:
    return LinkRegister(
        "d1", utm_tags(campaign="c", medium="email", source="news", content="parents-en", delivery="d1")
    )


ALLOWED_PAIRS = {(tag, name) for tag, names in ALLOWED_ATTRIBUTES.items() for name in names} | {("a", "rel")}


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_to_html_removes_the_payload(vector: str) -> None:
    register = _register()
    html = to_html(vector, register)
    assert problems(html) == [], f"input {vector!r} gave {html!r}"
    tags, pairs = tags_and_attributes(html)
    assert tags <= ALLOWED_TAGS, f"input {vector!r} gave tags {sorted(tags - ALLOWED_TAGS)} in {html!r}"
    assert pairs <= ALLOWED_PAIRS, f"input {vector!r} gave attributes {sorted(pairs - ALLOWED_PAIRS)} in {html!r}"
    for element in parse(html).elements:
        href = dict(element.attributes).get("href") if element.tag == "a" else None
        if href and url_scheme(href) in ("http", "https"):
            assert parse_qs(urlsplit(href).query).get("utm_id") == ["d1"], f"untagged link {href!r} from {vector!r}"
    # The plain-text form shows only what the HTML shows as text: nothing the sanitiser
    # removed (a script body, an attribute) comes back in a text part or an excerpt.
    text = plain_text(html)
    assert set(problems(text)) <= set(problems(visible_text(html))), f"input {vector!r} gave the text {text!r}"


# ----------------------------------------------------------------- full render, every kind

#: A benign message: what the templates produce around a message, to compare with.
BASELINE = "baseline"

CHANNELS = """
[channels.social]
adapter = "mastodon"
"""

#: The campaign up to `messages:`: one audience, everyone, reached on every channel.
CAMPAIGN_HEAD = campaign_yaml(
    "",
    title="XSS corpus",
    reached="public",
    audiences=audience("public", name="Everyone", intent="aware", channels="blog, newsletter, video, briefing, social"),
)


def _yaml(text: str) -> str:
    # A JSON string is a YAML double-quoted scalar; control characters stay escapes.
    return json.dumps(text, ensure_ascii=False)


def _message(message_id: str, *, title: str, text: str, body: str) -> str:
    """A message whose title, summary, call to action and briefing say `text`."""
    return f"""\
  - id: {message_id}
    audiences: [public]
    at: 2027-01-12 09:00
    title: {_yaml(title)}
    summary: {_yaml(text)}
    body: {body}
    call_to_action:
      text: {_yaml(text)}
      url: https://example.org/act
    video:
      youtube_id: dQw4w9WgXcQ
      transcript: https://example.org/transcript
    briefing:
      summary: {_yaml(text)}
      key_points: [{_yaml(text)}]
      evidence: {_yaml(text)}
      uncertainty: {_yaml(text)}
      recommendations: [{_yaml(text)}]
      contacts: [{_yaml(text)}]
"""


@dataclass(frozen=True)
class Rendered:
    drafts: dict[tuple[str, Kind], Draft]

    def get(self, message: str, kind: Kind) -> Draft:
        return self.drafts[(message, kind)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """Every vector rendered for every kind: message `b<n>` has it as its body (the rest
    benign), message `f<n>` in its title, summary, call to action and briefing."""
    root = make_workspace(tmp_path_factory.mktemp("xss") / "unit")
    with (root / "kmcomms.toml").open("a", encoding="utf-8") as settings:
        settings.write(CHANNELS)
    messages, files = [], {}
    messages.append(_message(BASELINE, title="A clean title", text="A clean sentence.", body="messages/baseline.md"))
    files["messages/baseline.md"] = "A clean paragraph with [a link](https://example.org/a).\n"
    for n, vector in enumerate(VECTORS, 1):
        files[f"messages/b{n:03d}.md"] = vector
        messages.append(
            _message(f"b{n:03d}", title="A clean title", text="A clean sentence.", body=f"messages/b{n:03d}.md")
        )
        messages.append(_message(f"f{n:03d}", title=vector, text=vector, body="A clean body."))
    write_campaign(root, CAMPAIGN_HEAD + "".join(messages), name="xss", files=files)
    result = load_paths([root])
    assert result.errors == [], result.errors[:3]
    [workspace] = result.workspaces
    renderer = Renderer(workspace, result.campaigns)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    drafts = {}
    for delivery in plan_of(result, Window(start=now), now).deliveries:
        draft = renderer.render(delivery)
        assert not isinstance(draft, Blocked), draft
        drafts[(delivery.message, renderer.kind(delivery))] = draft
    assert len(drafts) == (2 * len(VECTORS) + 1) * len(Kind)
    return Rendered(drafts)


DOCUMENT_FIELDS = ("html",)


def string_fields(draft: Draft) -> Iterator[tuple[str, str]]:
    """(name, text) of every string in a draft, tuples and links included."""
    for field in fields(draft):
        value = getattr(draft, field.name)
        if isinstance(value, str):
            yield field.name, value
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    yield f"{field.name}[{i}]", item
                else:  # a Link
                    yield from ((f"{field.name}[{i}].{k}", getattr(item, k)) for k in ("id", "original", "url"))


_HEAD = re.compile(r"<head>.*?</head>", re.DOTALL)
_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


def document_problems(html: str, baseline: str) -> list[str]:
    """`problems` for a whole rendered document: the head must be the template's own
    (only the <title> text differs) and everything else must be free of payloads, using
    no tag or attribute that neither a message may hold nor the template uses."""
    found = []
    head, clean_head = _HEAD.search(html), _HEAD.search(baseline)
    if clean_head is not None:
        if head is None or _TITLE.sub("<title></title>", head[0]) != _TITLE.sub("<title></title>", clean_head[0]):
            found.append("the document head differs from the template's")
        title = _TITLE.search(html)
        if title is None or "<" in title[1]:
            found.append("markup in <title>")
        html = _HEAD.sub("", html, count=1)
        baseline = _HEAD.sub("", baseline, count=1)
    found += problems(html, allowed_tags={"html", "body"} if clean_head is not None else ())
    tags, pairs = tags_and_attributes(html)
    known_tags, known_pairs = tags_and_attributes(baseline)
    if extra := tags - ALLOWED_TAGS - known_tags:
        found.append(f"unexpected elements {sorted(extra)}")
    if extra := pairs - ALLOWED_PAIRS - known_pairs:
        found.append(f"unexpected attributes {sorted(extra)}")
    return found


def _check_draft(draft: Draft, baseline: Draft) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in string_fields(draft):
        if name in DOCUMENT_FIELDS:
            if bad := document_problems(value, getattr(baseline, name)):
                found[name] = bad
        elif name.endswith((".original", ".url")) and url_scheme(value) not in ("http", "https"):
            found[name] = [f"registered link {value!r}"]  # only web addresses are registered
    return found


KINDS = list(Kind)


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("n", range(1, len(VECTORS) + 1), ids=IDS)
def test_a_vector_in_the_body_is_removed_from_every_field(rendered: Rendered, n: int, kind: Kind) -> None:
    vector = VECTORS[n - 1]
    draft, baseline = rendered.get(f"b{n:03d}", kind), rendered.get(BASELINE, kind)
    assert _check_draft(draft, baseline) == {}, f"body {vector!r}"
    # Plain-text fields made from the body (a newsletter's text part, an excerpt, a
    # preheader, a video description) show only what the HTML shows as text.
    shown = set(problems(visible_text(to_html(vector))))
    leaked = {
        name: bad
        for name, value in string_fields(draft)
        if name not in DOCUMENT_FIELDS
        and not name.startswith("links")
        and (bad := sorted(set(problems(value)) - shown))
    }
    assert leaked == {}, f"body {vector!r}"


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("n", range(1, len(VECTORS) + 1), ids=IDS)
def test_a_vector_in_the_title_summary_and_call_to_action_is_escaped(rendered: Rendered, n: int, kind: Kind) -> None:
    vector = VECTORS[n - 1]
    draft, baseline = rendered.get(f"f{n:03d}", kind), rendered.get(BASELINE, kind)
    assert _check_draft(draft, baseline) == {}, f"title, summary and call to action {vector!r}"
    if kind is Kind.VIDEO:  # YouTube refuses angle brackets: none survive in any field it gets
        assert "<" not in draft.title + draft.description and ">" not in draft.title + draft.description


def test_every_kind_has_an_html_document_or_none() -> None:
    # The HTML checks above run on every `html` field; make sure the kinds that have one
    # are the ones expected, so a renamed field cannot silently skip them.
    from kmcomms.render.drafts import BlogPost, Briefing, Newsletter, SocialPost, VideoListing

    with_html = {
        cls.kind
        for cls in (BlogPost, Newsletter, VideoListing, Briefing, SocialPost)
        if "html" in {f.name for f in fields(cls)}
    }
    assert with_html == {Kind.BLOG, Kind.NEWSLETTER, Kind.VIDEO, Kind.BRIEFING}


def plain_field_problems(draft: Draft) -> dict[str, list[str]]:
    """`problems` of each plain-text field (everything but the HTML documents and the
    registered links), read as HTML, as a platform that takes a title or an excerpt as
    HTML (WordPress) would."""
    return {
        name: bad
        for name, value in string_fields(draft)
        if name not in DOCUMENT_FIELDS and not name.startswith("links") and (bad := problems(value))
    }


@pytest.mark.parametrize("n", range(1, len(VECTORS) + 1), ids=IDS)
def test_a_vector_in_a_short_field_is_inert_in_every_plain_field(rendered: Rendered, n: int) -> None:
    # Title, summary, call to action and briefing points are plain text: no platform may
    # read markup in them, in any field of any kind (a WordPress title or excerpt is HTML).
    vector = VECTORS[n - 1]
    leaked = {
        f"{kind}.{name}": bad
        for kind in KINDS
        for name, bad in plain_field_problems(rendered.get(f"f{n:03d}", kind)).items()
    }
    assert leaked == {}, f"title, summary and call to action {vector!r}"


def render_one(root: Path, message: str, files: dict[str, str] | None = None) -> list[Draft]:
    """The drafts of a one-message campaign written into the workspace at `root`."""
    write_campaign(root, CAMPAIGN_HEAD + message, name="one", files=files or {})
    result = load_paths([root])
    assert result.errors == [], result.errors
    [workspace] = result.workspaces
    renderer = Renderer(workspace, result.campaigns)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    drafts = [renderer.render(delivery) for delivery in plan_of(result, Window(start=now), now).deliveries]
    assert all(isinstance(d, Draft) for d in drafts) and len(drafts) == len(Kind)
    return drafts


@pytest.fixture
def social_workspace(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "unit")
    with (root / "kmcomms.toml").open("a", encoding="utf-8") as settings:
        settings.write(CHANNELS)
    return root


def _with_url(url: str) -> str:
    message = _message("act", title="A clean title", text="Act now", body="A clean body.")
    return message.replace("url: https://example.org/act", f"url: {_yaml(url)}")


URLS = {
    "close-quote-script": 'https://example.org/"><script>alert(1)</script>',
    "svg-in-query": "https://example.org/?q=<svg/onload=alert(1)>",
    "single-quote-handler": "https://example.org/'onmouseover='alert(1)",
    "double-quote-handler": 'https://example.org/" onclick="alert(1)',
}
#: Characters no web address may hold unencoded: validation refuses them.
REFUSED = {name: url for name, url in URLS.items() if any(c in url for c in '<>" ')}
ALLOWED = {name: url for name, url in URLS.items() if name not in REFUSED}


@pytest.mark.parametrize("url", list(REFUSED.values()), ids=list(REFUSED))
def test_a_call_to_action_address_with_markup_characters_is_refused(social_workspace: Path, url: str) -> None:
    write_campaign(social_workspace, CAMPAIGN_HEAD + _with_url(url), name="one", files={})
    result = load_paths([social_workspace])
    assert result.campaigns == []
    assert any("percent-encode" in d.message for d in result.errors), result.errors


@pytest.mark.parametrize("url", list(ALLOWED.values()), ids=list(ALLOWED))
def test_a_call_to_action_address_cannot_break_out_of_its_attribute(social_workspace: Path, url: str) -> None:
    # What validation lets through (a quote is legal in a URL) is escaped in every document.
    checked = 0
    for draft in render_one(social_workspace, _with_url(url)):
        html = getattr(draft, "html", None)
        if html is not None:
            body = _HEAD.sub("", html)
            assert problems(body, allowed_tags={"html", "body"}) == [], html
            cta = [
                dict(e.attributes)["href"]
                for e in parse(body).elements
                if e.tag == "a" and "example.org/" in (dict(e.attributes).get("href") or "")
            ]
            assert cta and all(href.startswith(url) for href in cta), cta
            checked += 1
    assert checked == 4  # blog, newsletter, video (its description for a web page), briefing


@pytest.mark.parametrize("url", list(ALLOWED.values()), ids=list(ALLOWED))
def test_a_call_to_action_address_carries_no_markup_into_plain_fields(social_workspace: Path, url: str) -> None:
    leaked = {
        f"{draft.kind}.{name}": bad
        for draft in render_one(social_workspace, _with_url(url))
        for name, bad in plain_field_problems(draft).items()
    }
    assert leaked == {}


@pytest.mark.parametrize(
    "body",
    [
        "`<img src=x onerror=alert(1)>` starts it.",
        "&lt;script&gt;alert(1)&lt;/script&gt; starts it.",
    ],
    ids=["code-span", "escaped-script"],
)
def test_an_excerpt_made_from_the_body_is_inert(social_workspace: Path, body: str) -> None:
    message = _message("one", title="A clean title", text="x", body="messages/one.md").replace(
        '\n    summary: "x"\n', "\n", 1
    )
    drafts = {draft.kind: draft for draft in render_one(social_workspace, message, {"messages/one.md": body})}
    assert "starts it." in drafts[Kind.BLOG].excerpt and "starts it." in drafts[Kind.NEWSLETTER].preheader
    assert (problems(drafts[Kind.BLOG].excerpt), problems(drafts[Kind.NEWSLETTER].preheader)) == ([], [])

"""Drafts for an adapter's tests, as kmcomms renders them, so that every adapter is handed
the same draft of its kind: `letter()` (a newsletter), `social_post()` and `blog_post()`;
any field can be changed by keyword. They carry what adapters get wrong: right-to-left
Urdu, text that needs escaping, a tracked link, an unsubscribe placeholder.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from kmcomms.render.drafts import BlogPost, Link, Newsletter, SocialPost

__all__ = ["KEY", "NEWSLETTER_HTML", "blog_post", "letter", "social_post"]

#: The delivery (and so the idempotency key) of `letter()`.
KEY = "a1b2c3d4e5f6"
#: `letter()`'s HTML, with kmcomms's unsubscribe placeholder.
NEWSLETTER_HTML = (
    '<!DOCTYPE html><html lang="en"><body><h1>The films are out</h1><p>Clinicians answer.</p>'
    '<p><a href="{{unsubscribe_url}}">Unsubscribe</a></p></body></html>'
)


def letter(key: str = KEY, **changes: Any) -> Newsletter:
    """The launch of the vaccines campaign, in English, for parents: a newsletter whose HTML
    and text have an unsubscribe link."""
    draft = Newsletter(
        delivery=key,
        campaign="vaccines",
        message="launch",
        audiences=("parents",),
        channel="newsletter",
        language="en",
        direction="ltr",
        fallback=False,
        title="The films are out",
        acknowledgement="Funded by the NIHR.",
        links=(),
        source_language="en",
        audience_languages=("en", "ur", "pl"),
        subject="The films are out: watch them",
        preheader="Clinicians answer what parents ask",
        html=NEWSLETTER_HTML,
        text="The films are out.\n\nUnsubscribe: {{unsubscribe_url}}\n",
    )
    return dataclasses.replace(draft, **changes)


def social_post(text: str, key: str = "d1", language: str = "ur", *, limit: int) -> SocialPost:
    """`text` posted for parents, right to left, on a platform that takes `limit` characters."""
    return SocialPost(
        delivery=key,
        campaign="c",
        message="launch",
        audiences=("parents",),
        channel="social",
        language=language,
        direction="rtl",
        fallback=False,
        title="فلمیں",
        acknowledgement="NIHR",
        links=(),
        text=text,
        limit=limit,
    )


def blog_post(**changes: Any) -> BlogPost:
    """A post in Urdu, right to left, whose title and excerpt need escaping and whose one
    link is tracked; its delivery is new each time unless `delivery` is given."""
    key = changes.pop("delivery", None) or uuid.uuid4().hex[:12]
    base = BlogPost(
        delivery=key,
        campaign="vaccines",
        message="launch",
        audiences=("parents",),
        channel="blog",
        language="ur",
        direction="rtl",
        fallback=False,
        title="Clinicians answer & explain <why>",
        acknowledgement="NIHR",
        links=(Link("l1", "https://example.org/films", f"https://example.org/films?utm_id={key}"),),
        slug="launch",
        excerpt="What parents ask most & why",
        tags=("vaccines", "parents"),
        html=(
            '<article lang="ur" dir="rtl" class="km-post">\n  <h1>ڈاکٹر جواب دیتے ہیں</h1>\n'
            f'  <div class="km-body"><p>والدین کے سوالات۔ <a href="https://example.org/films?utm_id={key}">فلمیں</a></p></div>\n'
            "</article>"
        ),
    )
    return dataclasses.replace(base, **changes)

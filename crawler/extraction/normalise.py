"""One record as the portal gave it → the row govcrawl stores. Pure: no stats, no I/O.

``NormalisePipeline`` calls it for every item (and only adds the counts), the crawl bench builds
its rows with it, and so can a test or ``govcrawl extract``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from crawler.extraction.body import clean_body
from crawler.extraction.listing import article_key
from crawler.extraction.text import clean_text, parse_datetime, strip_control
from crawler.extraction.urls import canonicalize_url, is_web_url

# the trim an item can report besides the body's own ("chrome", "sidebar", "trailer")
NON_WEB_LINK = "non_web_link"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_url(raw_url: str | None, base_url: str) -> str | None:
    """The canonical URL; a URL that cannot be canonicalised (a port that is not a number) is
    kept as given, for ValidatePipeline to refuse."""
    if not raw_url:
        return None
    try:
        return canonicalize_url(raw_url, base_url)
    except ValueError:
        return raw_url


def normalise(record: Mapping[str, Any], base_url: str) -> tuple[dict[str, Any], list[str]]:
    """The stored fields of ``record`` (an ``ArticleItem`` or any mapping with its keys), and
    the names of the trims applied: the body's ("chrome", "sidebar", "trailer"), plus one
    ``non_web_link`` per image or attachment dropped for not being http(s).

    The files the body links come first, then ``record["attachments"]`` (found around the
    body on the page) and ``record["listing_attachments"]`` (attached by the listing), one
    entry per URL.
    """
    url = canonical_url(record.get("url"), base_url)
    # a NUL or other control character in the HTML: lxml refuses the fragment outright
    body = clean_body(strip_control(record.get("body_html") or ""), url or base_url)
    title = clean_text(record.get("title"))
    images = [
        canonical_url(i, base_url) if i.startswith("/") else i for i in record.get("images") or []
    ]
    # only http(s) links are stored: no data:, file:, javascript: … images or attachments
    links = list(dict.fromkeys(images + body.images))
    web_images = [i for i in links if is_web_url(i)]
    # the body's files, then those around it on the page, then those the listing attaches
    merged: dict[Any, dict[str, str]] = {}
    for found in [
        *body.attachments,
        *(record.get("attachments") or []),
        *(record.get("listing_attachments") or []),
    ]:
        merged.setdefault(found.get("url"), dict(found))
    attachments = list(merged.values())
    web_attachments = [a for a in attachments if is_web_url(a.get("url"))]
    dropped = len(links) - len(web_images) + len(attachments) - len(web_attachments)
    row = {
        "article_key": article_key(record.get("site") or "", record.get("platform_id"), url),
        "site": record.get("site"),
        "channels": sorted(set(record.get("channels") or [])),
        "url": url,
        "platform_id": record.get("platform_id"),
        "title": title,
        "published": record.get("published"),
        "published_at": parse_datetime(record.get("published")),
        "source": clean_text(record.get("source")),
        "author": clean_text(record.get("author")),
        "body_html": body.html,
        "body_text": body.text,
        "images": web_images,
        "attachments": web_attachments,
        "extra": dict(record.get("extra") or {}),
        "content_hash": sha256(f"{title}\n{body.text}"),
        "body_hash": sha256(body.text) if body.text else None,
    }
    return row, body.trimmed + [NON_WEB_LINK] * dropped

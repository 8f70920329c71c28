"""What a listing says about one article, whatever the platform."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from crawler.extraction.text import parse_datetime


@dataclass
class ListingEntry:
    platform_id: str
    title: str
    url: str | None
    published: str | None
    source: str = ""
    author: str = ""
    body_html: str = ""
    images: list[str] = field(default_factory=list)
    external: bool = False
    pinned: bool = False  # 置顶: shown above newer entries whatever its date
    # files the listing attaches to the article ({"url", "name", "type"}), besides any the
    # body links to
    attachments: list[dict[str, str]] = field(default_factory=list)

    @cached_property
    def published_at(self) -> datetime | None:
        """``published`` parsed once: navigation, fingerprints and state all ask for it."""
        return parse_datetime(self.published)

    # fields of the record that were present but unreadable ("metadata", "images", …)
    problems: list[str] = field(default_factory=list)


def article_key(site: str, platform_id: str | None, url: str | None) -> str | None:
    """One article, one key: the portal's own article id when it has one, else the URL
    (which the caller has canonicalised)."""
    if platform_id:
        return f"{site}:id:{platform_id}"
    return f"{site}:url:{url}" if url else None


def platform_id_of(key: str) -> str:
    """The portal's article id inside an article key (``""`` for a key made of a URL)."""
    _, kind, rest = key.split(":", 2) if key.count(":") >= 2 else ("", "", "")
    return rest if kind == "id" else ""


def listing_fingerprint(entry: ListingEntry) -> str:
    """sha256 of everything the listing says about an article: when it is the same as last
    time, an incremental run need not look at the article again."""
    # not the URL: one article listed in two JCMS columns has two URLs and one fingerprint
    published = entry.published_at
    # the date as a moment, not as spelled: two columns may spell it 2025-09-11 and 2025年9月11日
    parts = [entry.title, published.isoformat() if published else (entry.published or ""), entry.source, entry.author, entry.body_html,
             "\x1f".join(entry.images)]  # fmt: skip
    if entry.attachments:  # only then: fingerprints of entries without files stay as they were
        parts.append("\x1f".join(a["url"] for a in entry.attachments))
    return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()

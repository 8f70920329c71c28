"""What a listing says about one article, whatever the platform."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    # fields of the record that were present but unreadable ("metadata", "images", …)
    problems: list[str] = field(default_factory=list)

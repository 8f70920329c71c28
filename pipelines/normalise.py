"""Turn a raw record into canonical fields: clean text, aware dates, clean body, hashes, key."""

from __future__ import annotations

import hashlib
from typing import Any

from crawler.extraction.body import clean_body
from crawler.extraction.listing import article_key
from crawler.extraction.text import clean_text, parse_datetime, strip_control
from crawler.extraction.urls import canonicalize_url, is_web_url
from crawler.items import ArticleItem


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class NormalisePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> NormalisePipeline:
        return cls(crawler)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        base_url = self.crawler.spider.profile.base_url
        url = self.canonical_url(item.get("url"), base_url)
        item["url"] = url
        item["title"] = clean_text(item.get("title"))
        item["published_at"] = parse_datetime(item.get("published"))
        item["source"] = clean_text(item.get("source"))
        item["author"] = clean_text(item.get("author"))

        # a NUL or other control character in the HTML: lxml refuses the fragment outright
        body = clean_body(strip_control(item.get("body_html") or ""), url or base_url)
        for trim in body.trimmed:
            self.stats.inc_value(f"govcrawl/body/trimmed/{trim}")
        item["body_html"] = body.html
        item["body_text"] = body.text
        images = [
            self.canonical_url(i, base_url) if i.startswith("/") else i
            for i in item.get("images") or []
        ]
        # only http(s) links are stored: no data:, file:, javascript: … images or attachments
        links = list(dict.fromkeys(images + body.images))
        item["images"] = [i for i in links if is_web_url(i)]
        item["attachments"] = [a for a in body.attachments if is_web_url(a.get("url"))]
        dropped = (
            len(links) - len(item["images"]) + len(body.attachments) - len(item["attachments"])
        )
        if dropped:
            self.stats.inc_value("govcrawl/items/non_web_links", dropped)
        item["channels"] = sorted(set(item.get("channels") or []))
        item["extra"] = item.get("extra") or {}
        item["content_hash"] = sha256(f"{item['title']}\n{body.text}")
        item["body_hash"] = sha256(body.text) if body.text else None
        item["article_key"] = article_key(item["site"], item.get("platform_id"), url)
        return item

    @staticmethod
    def canonical_url(raw_url: str | None, base_url: str) -> str | None:
        """The canonical URL; a URL that cannot be canonicalised (a port that is not a number)
        is kept as given, for ValidatePipeline to refuse."""
        if not raw_url:
            return None
        try:
            return canonicalize_url(raw_url, base_url)
        except ValueError:
            return raw_url

"""Turn a raw record into canonical fields: clean text, aware dates, clean body, hashes, key."""

from __future__ import annotations

import hashlib
from typing import Any

from crawler.extraction.body import clean_body
from crawler.extraction.listing import article_key
from crawler.extraction.text import clean_text, parse_datetime
from crawler.extraction.urls import canonicalize_url
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
        raw_url = item.get("url")
        url = canonicalize_url(raw_url, base_url) if raw_url else None
        item["url"] = url
        item["title"] = clean_text(item.get("title"))
        item["published_at"] = parse_datetime(item.get("published"))
        item["source"] = clean_text(item.get("source"))
        item["author"] = clean_text(item.get("author"))

        body = clean_body(item.get("body_html"), url or base_url)
        for trim in body.trimmed:
            self.stats.inc_value(f"govcrawl/body/trimmed/{trim}")
        item["body_html"] = body.html
        item["body_text"] = body.text
        item["attachments"] = body.attachments
        images = [
            canonicalize_url(i, base_url) if i.startswith("/") else i
            for i in item.get("images") or []
        ]
        item["images"] = list(dict.fromkeys(images + body.images))
        item["channels"] = sorted(set(item.get("channels") or []))
        item["extra"] = item.get("extra") or {}
        item["content_hash"] = sha256(f"{item['title']}\n{body.text}")
        item["body_hash"] = sha256(body.text) if body.text else None
        item["article_key"] = article_key(item["site"], item.get("platform_id"), url)
        return item

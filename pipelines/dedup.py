"""Within one run, pass each article once per new channel; across runs the store upserts."""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem

from crawler.items import ArticleItem


class DedupPipeline:
    """An article listed again under a channel it already has is dropped
    (``govcrawl/items/duplicate``); listed under a new channel it passes so the store
    adds the channel to the one row."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.seen: dict[str, set[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> DedupPipeline:
        return cls(crawler)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        key = item["article_key"]
        channels = set(item.get("channels") or [])
        known = self.seen.get(key)
        if known is None:
            self.seen[key] = channels
            return item
        if channels <= known:
            self.crawler.stats.inc_value("govcrawl/items/duplicate")
            raise DropItem(f"duplicate in this run: {item.get('url')}", log_level="DEBUG")
        known |= channels
        self.crawler.stats.inc_value("govcrawl/items/more_channels")
        return item

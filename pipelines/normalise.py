"""Turn a raw record into canonical fields (``crawler.extraction.normalise``) and count the trims."""

from __future__ import annotations

from typing import Any

from crawler.extraction.normalise import NON_WEB_LINK, normalise, sha256
from crawler.items import ArticleItem

__all__ = ["NormalisePipeline", "sha256"]


class NormalisePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> NormalisePipeline:
        return cls(crawler)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        row, trims = normalise(item, self.crawler.spider.profile.base_url)
        item.update(row)
        for trim in trims:
            if trim == NON_WEB_LINK:
                self.stats.inc_value("govcrawl/items/non_web_links")
            else:
                self.stats.inc_value(f"govcrawl/body/trimmed/{trim}")
        return item

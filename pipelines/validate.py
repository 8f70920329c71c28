"""Refuse records that cannot be an article: no title, no URL or no publication date."""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem

from crawler.items import ArticleItem
from crawler.signals import issue_reported

REQUIRED = ("title", "url", "published_at")


class ValidatePipeline:
    """Drops, counts (``govcrawl/items/dropped/missing_<field>``) and reports every bad record."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        missing = [name for name in REQUIRED if not item.get(name)]
        if not missing:
            return item
        stats = self.crawler.stats
        stats.inc_value("govcrawl/items/dropped")
        for name in missing:
            stats.inc_value(f"govcrawl/items/dropped/missing_{name}")
        where = (
            item.get("url")
            or f"{item.get('site')} record id={item.get('platform_id') or '?'} title={item.get('title') or '?'}"
        )
        reason = "missing " + ", ".join(missing)
        if "published_at" in missing and item.get("published"):
            reason += f" (unparsable date {item.get('published')!r})"
        self.crawler.signals.send_catch_log(
            issue_reported,
            kind="invalid",
            url=where,
            reason=reason,
            article_key=item.get("article_key"),
            spider=self.crawler.spider,
        )
        raise DropItem(f"invalid record {where}: {reason}")

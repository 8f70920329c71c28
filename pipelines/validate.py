"""Refuse records that cannot be an article: no title, no http(s) URL or no publication date."""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem

from crawler.extraction.text import strip_control
from crawler.extraction.urls import is_web_url
from crawler.items import ArticleItem
from crawler.signals import issue_reported

REQUIRED = ("title", "url", "published_at")


class ValidatePipeline:
    """Drops, counts (``govcrawl/items/dropped/missing_<field>``, ``…/dropped/non_web_url``) and
    reports every bad record. A URL that is not http(s) (``javascript:``, ``data:``, ``file:``,
    ``mailto:`` …) is never stored."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        missing = [name for name in REQUIRED if not item.get(name)]
        url = item.get("url")
        non_web = bool(url) and not is_web_url(url)
        if not missing and not non_web:
            return item
        stats = self.crawler.stats
        stats.inc_value("govcrawl/items/dropped")
        for name in missing:
            stats.inc_value(f"govcrawl/items/dropped/missing_{name}")
        problems = ["missing " + ", ".join(missing)] if missing else []
        if non_web:
            stats.inc_value("govcrawl/items/dropped/non_web_url")
            problems.append(f"not an http(s) URL: {url[:100]!r}")
        where = (
            url
            if url and not non_web
            else f"{item.get('site')} record id={item.get('platform_id') or '?'} title={item.get('title') or '?'}"
        )
        reason = "; ".join(problems)
        if "published_at" in missing and item.get("published"):
            reason += f" (unparsable date {str(item.get('published'))[:100]!r})"
        # the issue row is text in PostgreSQL: no NUL may reach it
        where, reason = strip_control(where), strip_control(reason)
        self.crawler.signals.send_catch_log(
            issue_reported,
            kind="invalid",
            url=where,
            reason=reason,
            article_key=item.get("article_key"),
            spider=self.crawler.spider,
        )
        raise DropItem(f"invalid record {where}: {reason}")

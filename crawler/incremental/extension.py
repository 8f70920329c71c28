"""IncrementalKeeper: loads a site's memory when a crawl opens, saves its journal on close.

The spider asks for the run's :class:`RunPolicy` with ``crawler.get_extension(IncrementalKeeper)``
(``None`` in a run that stores nothing: then every entry is new and nothing is remembered).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.database import engine_from_settings
from crawler.extraction.text import CHINA_TZ
from crawler.incremental.policy import Rules, RunPolicy
from crawler.incremental.store import load_memory, save_journal
from crawler.runs import run_status

logger = logging.getLogger(__name__)

STORE = "pipelines.store.StorePipeline"


def clock(settings: Any) -> datetime:
    """The run's "now": ``GOVCRAWL_NOW`` (ISO 8601, for replaying a history) or the time."""
    fixed = settings.get("GOVCRAWL_NOW")
    return datetime.fromisoformat(fixed) if fixed else datetime.now(CHINA_TZ)


class IncrementalKeeper:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.policy: RunPolicy | None = None
        self.rules = Rules()
        self.engine: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> IncrementalKeeper:
        if STORE not in (crawler.settings.getdict("ITEM_PIPELINES") or {}):
            raise NotConfigured("nothing is stored: nothing to remember")
        keeper = cls(crawler)
        crawler.signals.connect(keeper.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(keeper.spider_closed, signal=signals.spider_closed)
        return keeper

    def spider_opened(self, spider: Any) -> None:
        profile = spider.profile
        self.rules = Rules(
            max_interval_days=profile.incremental.max_interval_days,
            budget=profile.incremental.recheck_budget,
        )
        now = clock(self.crawler.settings)
        self.engine = engine_from_settings(self.crawler.settings)
        memory = load_memory(self.engine, profile.name, now)
        self.policy = RunPolicy(
            memory, now, full=spider.mode == "full", rules=self.rules, can_fetch=spider.may_fetch
        )
        logger.info(
            "%s mode: %d known articles, %d of %d channels listed to their end before",
            spider.mode, len(memory.articles),
            sum(c.backfilled for c in memory.channels.values()), len(profile.channels),
        )  # fmt: skip

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.policy is None:
            return
        stats = self.crawler.stats
        healthy = run_status(reason, stats.get_stats()) == "succeeded"
        journal = self.policy.journal(healthy)
        written = save_journal(
            self.engine,
            spider.profile.name,
            journal,
            self.rules,
            stats.get_value("govcrawl/run_id"),
        )
        for name, value in sorted(journal.counts.items()):
            stats.set_value(f"govcrawl/incremental/{name}", value)
        stats.set_value("govcrawl/items/withdrawn", written["withdrawn"])
        stats.set_value("govcrawl/items/restored", written["restored"])
        stats.set_value(
            "govcrawl/listing/known_unchanged", journal.counts.get("entries/unchanged", 0)
        )

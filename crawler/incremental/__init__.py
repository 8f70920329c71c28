"""Incremental crawling: the policy (pure), its memory's store, and the Scrapy extension."""

from crawler.incremental.policy import (
    ChannelMemory,
    EntryVerdict,
    Journal,
    KnownArticle,
    Memory,
    PageAnswer,
    PageCheck,
    Paging,
    Rules,
    RunPolicy,
)

__all__ = [
    "ChannelMemory",
    "EntryVerdict",
    "Journal",
    "KnownArticle",
    "Memory",
    "PageAnswer",
    "PageCheck",
    "Paging",
    "Rules",
    "RunPolicy",
]

"""A model portal and a model crawl for the incremental policy's property tests.

``ModelPortal`` is a portal whose editors add, edit, withdraw, restore, pin (with or without
a flag), move, cross-list and reorder articles, and whose listings can fail or come back empty
for one run. ``crawl`` drives :class:`crawler.incremental.RunPolicy` over it exactly as the
spider does (entry → fetch or skip, page → next page or stop, then the follow-up page
checks), and ``ModelStore`` applies the store's upsert and the run's journal the way
``pipelines/store.py`` and ``crawler/incremental/store.py`` do in SQL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from crawler.incremental.policy import (
    ChannelMemory,
    KnownArticle,
    Memory,
    PageAnswer,
    Paging,
    Rules,
    RunPolicy,
)


def sha(*parts: object) -> str:
    return hashlib.sha256("\x1e".join(map(str, parts)).encode()).hexdigest()


@dataclass
class ModelArticle:
    key: str
    title: str
    body: str
    published: datetime
    channels: list[str]
    live: bool = True
    pinned: bool = False  # flagged: the flag is ignored by the policy, it only moves the entry
    top: bool = False  # moved to the top without a flag
    edited_at: datetime | None = None


@dataclass
class ModelPortal:
    channels: list[str]
    per_page: int = 3
    body_in_listing: bool = True  # querylist: the body is in the JSON; jcms: on the page
    articles: dict[str, ModelArticle] = field(default_factory=dict)
    # faults of the next run only
    failing_pages: set[tuple[str, int]] = field(default_factory=set)
    failing_articles: set[str] = field(default_factory=set)
    empty_channels: set[str] = field(default_factory=set)
    reversed_channels: set[str] = field(default_factory=set)
    counter: int = 0

    def add(self, channel: str, published: datetime, now: datetime) -> ModelArticle:
        self.counter += 1
        key = f"k{self.counter}"
        article = ModelArticle(key, f"标题{key}", f"正文{key}", published, [channel])
        article.edited_at = now
        self.articles[key] = article
        return article

    def listing(self, channel: str) -> list[ModelArticle]:
        if channel in self.empty_channels:
            return []
        listed = [a for a in self.articles.values() if a.live and channel in a.channels]
        listed.sort(
            key=lambda a: (a.published, a.key), reverse=channel not in self.reversed_channels
        )
        return [a for a in listed if a.pinned or a.top] + [
            a for a in listed if not (a.pinned or a.top)
        ]

    def page(self, channel: str, number: int) -> tuple[list[ModelArticle], int]:
        listed = self.listing(channel)
        start = (number - 1) * self.per_page
        return listed[start : start + self.per_page], len(listed)

    def fingerprint(self, article: ModelArticle) -> str:
        if self.body_in_listing:
            return sha(article.title, article.published, article.body)
        return sha(article.title, article.published)

    def clear_faults(self) -> None:
        self.failing_pages.clear()
        self.failing_articles.clear()
        self.empty_channels.clear()
        self.reversed_channels.clear()

    @property
    def faulty(self) -> bool:
        return bool(self.failing_pages or self.failing_articles or self.empty_channels)


@dataclass
class StoredArticle:
    url: str
    title: str
    body: str
    published: datetime
    channels: list[str]
    listing_hash: str | None
    page_hash: str | None
    withdrawn: bool = False
    next_check_at: datetime | None = None
    check_interval: float | None = None
    last_checked_at: datetime | None = None
    # what the stored copy is a copy of: the portal's edit time it reflects
    as_of: datetime | None = None


@dataclass
class ModelStore:
    articles: dict[str, StoredArticle] = field(default_factory=dict)
    channels: dict[str, ChannelMemory] = field(default_factory=dict)
    rosters: dict[str, frozenset[str]] = field(default_factory=dict)
    unstored: dict[str, set[str]] = field(default_factory=dict)  # channel → keys

    def memory(self) -> Memory:
        return Memory(
            articles={
                key: KnownArticle(
                    url=a.url,
                    listing_hash=a.listing_hash,
                    channels=frozenset(a.channels),
                    withdrawn=a.withdrawn,
                    published_at=a.published,
                    page_hash=a.page_hash,
                    next_check_at=a.next_check_at,
                    check_interval=a.check_interval,
                )
                for key, a in self.articles.items()
            },
            channels=dict(self.channels),
            rosters=dict(self.rosters),
            retry={c: frozenset(keys) for c, keys in self.unstored.items() if keys},
            unstored=frozenset(k for keys in self.unstored.values() for k in keys),
        )

    def upsert(self, key: str, item: StoredArticle) -> str:
        old = self.articles.get(key)
        for keys in self.unstored.values():
            keys.discard(key)
        if old is None:
            self.articles[key] = item
            return "new"
        outcome = "unchanged" if (old.title, old.body) == (item.title, item.body) else "updated"
        self.articles[key] = replace(
            old,
            title=item.title,
            body=item.body,
            channels=sorted(set(old.channels) | set(item.channels)),
            listing_hash=item.listing_hash or old.listing_hash,
            page_hash=item.page_hash or old.page_hash,
            withdrawn=False,
            as_of=item.as_of,
        )
        return outcome


@dataclass
class RunReport:
    requests: int
    counts: dict[str, int]
    outcomes: dict[str, int]
    paging: dict[str, Paging | None]


def crawl(portal: ModelPortal, store: ModelStore, now: datetime, rules: Rules,
          full: bool = False) -> RunReport:  # fmt: skip
    """One run, as the spider makes it."""
    policy = RunPolicy(store.memory(), now, full=full, rules=rules)
    requests = 0
    outcomes: dict[str, int] = {}
    items: dict[str, StoredArticle] = {}

    def page_of(article: ModelArticle, channel: str) -> StoredArticle:
        return StoredArticle(
            url=f"/{article.key}.html", title=article.title, body=article.body,
            published=article.published, channels=[channel],
            listing_hash=portal.fingerprint(article), page_hash=sha(article.title, article.body),
            as_of=article.edited_at,
        )  # fmt: skip

    def fetch_page(article: ModelArticle) -> PageAnswer:
        nonlocal requests
        requests += 1
        if article.key in portal.failing_articles:
            return PageAnswer.FAILED
        return PageAnswer.OK if article.live else PageAnswer.GONE

    def keep(key: str, item: StoredArticle) -> None:
        if key in items:
            item.channels = sorted(set(items[key].channels) | set(item.channels))
        items[key] = item

    for channel in portal.channels:
        number = 1
        while True:
            requests += 1
            if (channel, number) in portal.failing_pages:
                policy.listing_failed(channel)
                break
            entries, total = portal.page(channel, number)
            for article in entries:
                verdict = policy.entry(channel, article.key, portal.fingerprint(article))
                if not verdict.fetch:
                    continue
                item = page_of(article, channel)
                if portal.body_in_listing:
                    item.page_hash = None  # stored from the listing: no page fetched
                    keep(article.key, item)
                    continue
                if verdict.reason == "repeat" and article.key in items:
                    keep(article.key, item)  # the spider's item of a second channel
                    continue
                answer = fetch_page(article)
                if answer is PageAnswer.FAILED:
                    if article.key not in store.articles:
                        store.unstored.setdefault(channel, set()).add(article.key)
                    continue
                if policy.page_answered(article.key, answer, item.page_hash) or (
                    article.key not in store.articles and answer is PageAnswer.OK
                ):
                    keep(article.key, item)
            pages = max(1, -(-total // portal.per_page))
            decision = policy.page_listed(channel, total, portal.per_page, last=number >= pages)
            if decision is not Paging.NEXT:
                break
            number += 1

    for check in policy.follow_ups():
        article = portal.articles[check.key]
        answer = fetch_page(article)
        item = page_of(article, article.channels[0])
        item.channels = []
        if policy.page_answered(check.key, answer, item.page_hash, purpose=check.purpose):
            keep(check.key, item)

    for key, item in items.items():
        outcome = store.upsert(key, item)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    journal = policy.journal(healthy=True)
    apply_journal(store, journal, rules)
    return RunReport(
        requests, journal.counts, outcomes, {c: policy._run(c).outcome for c in portal.channels}
    )


def apply_journal(store: ModelStore, journal, rules: Rules) -> None:  # type: ignore[no-untyped-def]
    """What crawler/incremental/store.py does in SQL."""
    for key, channels in journal.channels.items():
        if key in store.articles:
            store.articles[key].channels = list(channels)
    for key in journal.withdraw:
        store.articles[key].withdrawn = True
    for key in journal.restore:
        store.articles[key].withdrawn = False
    for key, update in journal.schedule.items():
        article = store.articles[key]
        article.next_check_at = update.next_check_at
        article.check_interval = update.check_interval
        article.last_checked_at = update.last_checked_at
    for article in store.articles.values():
        if article.next_check_at is None:
            interval = rules.first_interval(article.published, journal.now)
            article.next_check_at = journal.now + timedelta(days=interval)
            article.check_interval = interval
    for code, (added, removed) in journal.roster_changes.items():
        store.rosters[code] = (store.rosters.get(code, frozenset()) | added) - removed
    store.channels.update(journal.channel_states)

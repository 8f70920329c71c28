"""Incremental crawl state: what a site's earlier runs saw, loaded when a crawl opens.

``CrawlState`` answers the spider's two questions — has this listing entry been seen, exactly
as it is now? and has this channel ever been listed to its end? — and collects what the run
learns (entries seen unchanged, channels listed to the end, articles gone) to write back when
the crawl closes. ``-a mode=full`` ignores what was seen, for repairs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from scrapy import signals
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from crawler.models import Article, ChannelState, CrawlIssue

# an article a listing named but no run could store keeps its channel listing down to it for
# this many days; after that the failure only shows in crawl_issues
RETRY_DAYS = 30

logger = logging.getLogger(__name__)


class CrawlState:
    def __init__(
        self, site: str, known: dict[str, str | None], backfilled: set[str], full: bool
    ) -> None:
        self.site = site
        self.known = known
        self.backfilled = backfilled
        self.full = full
        self.failed: set[str] = set()
        self.pending: dict[str, set[str]] = {}  # channel → failed keys not listed again yet
        # the stored ETag / Last-Modified of known article pages
        self.validators: dict[str, tuple[str | None, str | None]] = {}
        self.seen_unchanged: set[str] = set()
        self.listed_to_end: set[str] = set()
        self.gone: set[str] = set()
        # every entry any listing showed this run, and per channel the oldest date listed
        self.listed: set[str] = set()
        self.listed_down_to: dict[str, datetime] = {}
        # channels whose listing failed part-way: nothing is concluded from what they lacked
        self.failed_channels: set[str] = set()

    @classmethod
    def load(cls, engine: Any, site: str, full: bool = False) -> CrawlState:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    Article.article_key, Article.listing_hash, Article.etag, Article.last_modified
                ).where(Article.site == site)
            ).all()
            known = {r.article_key: r.listing_hash for r in rows}
            validators = {
                r.article_key: (r.etag, r.last_modified) for r in rows if r.etag or r.last_modified
            }
            backfilled = {
                channel
                for (channel,) in conn.execute(
                    select(ChannelState.channel).where(
                        ChannelState.site == site, ChannelState.backfill_done_at.is_not(None)
                    )
                ).all()
            }
            # articles a listing promised that no run could store yet, by the channel that
            # listed them (recent failures only: an article gone for good stops mattering)
            unstored = conn.execute(
                select(CrawlIssue.article_key, CrawlIssue.channel, CrawlIssue.created_at)
                .where(CrawlIssue.site == site, CrawlIssue.article_key.is_not(None))
                .where(
                    CrawlIssue.article_key.not_in(
                        select(Article.article_key).where(Article.site == site)
                    )
                )
            ).all()
            failed = {key for key, _, _ in unstored}
            recent = datetime.now().astimezone() - timedelta(days=RETRY_DAYS)
            pending: dict[str, set[str]] = {}
            for key, channel, created_at in unstored:
                if channel and created_at >= recent:
                    pending.setdefault(channel, set()).add(key)
        state = cls(site, known, backfilled, full)
        state.validators = validators
        state.failed = failed
        state.pending = pending
        return state

    @classmethod
    def empty(cls, site: str) -> CrawlState:
        """No database (a parse-only run): everything is new, nothing is remembered."""
        return cls(site, {}, set(), full=True)

    # --- the spider's questions --------------------------------------------------------------
    def unchanged(self, key: str | None, listing_hash: str) -> bool:
        """Seen before with this very listing entry (never true in full mode)."""
        if self.full or key is None or self.known.get(key) != listing_hash:
            return False
        self.seen_unchanged.add(key)
        return True

    def failed_before(self, key: str | None) -> bool:
        return key is not None and key in self.failed

    def retried(self, key: str | None, channel: str) -> None:
        """A listing showed an article an earlier run could not store: it is fetched again."""
        self.pending.get(channel, set()).discard(key)  # type: ignore[arg-type]

    def is_known(self, key: str | None) -> bool:
        return key is not None and key in self.known

    def may_stop_early(self, channel: str) -> bool:
        """Only a channel listed to its end once may stop at a page of known entries."""
        # …and only once it has listed again every article it failed to store lately
        return not self.full and channel in self.backfilled and not self.pending.get(channel)

    # --- what the run learned ------------------------------------------------------------------
    def saw(self, key: str | None, channel: str, published: datetime | None, pinned: bool) -> None:
        """An entry a listing showed. Pinned entries say nothing about how far down we listed."""
        if key:
            self.listed.add(key)
        if published is not None and not pinned:
            known = self.listed_down_to.get(channel)
            self.listed_down_to[channel] = published if known is None else min(known, published)

    def channel_listed_to_end(self, channel: str) -> None:
        self.listed_to_end.add(channel)

    def channel_failed(self, channel: str) -> None:
        self.failed_channels.add(channel)

    def article_gone(self, key: str) -> None:
        self.gone.add(key)

    def save(self, engine: Any, run_id: int | None, run_ok: bool) -> int:
        """Write back; returns how many articles were newly marked withdrawn."""
        now = datetime.now().astimezone()
        with engine.begin() as conn:
            back = sorted(self.listed - self.gone)
            if back:
                # listed again: seen now, and not withdrawn (any more)
                conn.execute(
                    update(Article)
                    .where(Article.site == self.site, Article.article_key.in_(back))
                    .values(last_seen=text("now()"), withdrawn_at=None)
                )
            withdrawn = 0
            if run_ok:
                withdrawn += self._withdraw_unlisted(conn, now)
            if self.gone:
                withdrawn = conn.execute(
                    update(Article)
                    .where(
                        Article.article_key.in_(sorted(self.gone)), Article.withdrawn_at.is_(None)
                    )
                    .values(withdrawn_at=now)
                ).rowcount
            # a channel counts as backfilled only when the run that listed it to the end stored
            # everything it found: a run that failed (or was killed) leaves it as it was
            for channel in sorted(self.listed_to_end if run_ok else set()):
                stmt = insert(ChannelState).values(
                    site=self.site,
                    channel=channel,
                    backfill_done_at=now,
                    last_listed_at=now,
                    last_run_id=run_id,
                )
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[ChannelState.site, ChannelState.channel],
                        set_={
                            "backfill_done_at": text(
                                "COALESCE(channel_states.backfill_done_at, excluded.backfill_done_at)"
                            ),
                            "last_listed_at": stmt.excluded.last_listed_at,
                            "last_run_id": stmt.excluded.last_run_id,
                        },
                    )
                )
        return withdrawn

    def _withdraw_unlisted(self, conn: Any, now: datetime) -> int:
        """Articles that a channel's listing no longer shows, within the range this run listed
        (all of it when the channel was listed to its end), and that no other listing showed."""
        withdrawn = 0
        for channel in sorted(
            (set(self.listed_down_to) | self.listed_to_end) - self.failed_channels
        ):
            bound = None if channel in self.listed_to_end else self.listed_down_to[channel]
            # an article of several channels is gone only when none of them lists it
            conditions = [
                Article.site == self.site,
                Article.channels.any(channel),
                Article.withdrawn_at.is_(None),
                Article.article_key.not_in(sorted(self.listed)),
            ]
            if bound is not None:
                # strictly newer than the oldest entry listed: entries of that very date may sit
                # on the next page, which this run did not read
                conditions.append(Article.published_at > bound)
            withdrawn += conn.execute(
                update(Article).where(*conditions).values(withdrawn_at=now)
            ).rowcount
        return withdrawn


class CrawlStateKeeper:
    """Loads a site's CrawlState into ``spider.state`` when it opens, writes it back on close."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlStateKeeper:
        keeper = cls(crawler)
        crawler.signals.connect(keeper.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(keeper.spider_closed, signal=signals.spider_closed)
        return keeper

    def spider_opened(self, spider: Any) -> None:
        engine = getattr(self.crawler, "store_engine", None)
        site = spider.profile.name
        if engine is None:
            spider.state = CrawlState.empty(site)
            return
        spider.state = CrawlState.load(engine, site, full=spider.mode == "full")
        logger.info(
            "%s mode: %d known articles, %d of %d channels backfilled",
            spider.mode, len(spider.state.known), len(spider.state.backfilled), len(spider.profile.channels),
        )  # fmt: skip

    def spider_closed(self, spider: Any, reason: str) -> None:
        engine = getattr(self.crawler, "store_engine", None)
        state = getattr(spider, "state", None)
        if engine is None or state is None:
            return
        stats = self.crawler.stats
        run_ok = reason == "finished" and not stats.get_value("govcrawl/store/failed_batches")
        withdrawn = state.save(engine, getattr(spider, "run_id", None), run_ok)
        stats.set_value("govcrawl/items/withdrawn", withdrawn)
        stats.set_value("govcrawl/listing/known_unchanged", len(state.seen_unchanged))

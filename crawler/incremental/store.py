"""The incremental memory in PostgreSQL: loaded when a run opens, the journal saved when it
closes, each in one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from crawler.incremental.policy import ChannelMemory, Journal, KnownArticle, Memory, Rules
from crawler.models import Article, ChannelEntry, ChannelState, CrawlIssue

# an article a listing named but no run could store keeps its channel listing down to it for
# this many days; after that the failure only shows in crawl_issues
RETRY_DAYS = 30


def load_memory(engine: Any, site: str, now: datetime) -> Memory:
    with engine.connect() as conn:
        articles = {
            r.article_key: KnownArticle(
                url=r.url,
                listing_hash=r.listing_hash,
                channels=frozenset(r.channels or ()),
                withdrawn=r.withdrawn_at is not None,
                published_at=r.published_at,
                etag=r.etag,
                last_modified=r.last_modified,
                page_hash=r.page_hash,
                next_check_at=r.next_check_at,
                check_interval=r.check_interval,
            )
            for r in conn.execute(
                select(
                    Article.article_key, Article.url, Article.listing_hash, Article.channels,
                    Article.withdrawn_at, Article.published_at, Article.etag,
                    Article.last_modified, Article.page_hash, Article.next_check_at,
                    Article.check_interval,
                ).where(Article.site == site)
            )
        }  # fmt: skip
        channels = {
            r.channel: ChannelMemory(
                backfilled=r.backfill_done_at is not None,
                count_offset=r.count_offset or 0,
                ended_at=r.ended_at,
                first_page=tuple(r.first_page or ()),
            )
            for r in conn.execute(
                select(
                    ChannelState.channel,
                    ChannelState.backfill_done_at,
                    ChannelState.count_offset,
                    ChannelState.ended_at,
                    ChannelState.first_page,
                ).where(ChannelState.site == site)
            )  # fmt: skip
        }
        rosters: dict[str, set[str]] = {}
        for channel, key in conn.execute(
            select(ChannelEntry.channel, ChannelEntry.article_key).where(ChannelEntry.site == site)
        ):
            rosters.setdefault(channel, set()).add(key)
        # articles a listing promised lately that no run could store yet, by channel
        retry: dict[str, set[str]] = {}
        unstored: set[str] = set()
        recent = now - timedelta(days=RETRY_DAYS)
        gone: set[str] = set()
        for key, channel, kind in conn.execute(
            select(CrawlIssue.article_key, CrawlIssue.channel, CrawlIssue.kind)
            .where(CrawlIssue.site == site, CrawlIssue.article_key.is_not(None))
            .where(CrawlIssue.created_at >= recent)
            .where(
                CrawlIssue.article_key.not_in(
                    select(Article.article_key).where(Article.site == site)
                )
            )
        ):
            if kind == "gone":
                gone.add(key)
                continue
            unstored.add(key)
            if channel:
                retry.setdefault(channel, set()).add(key)
    return Memory(
        articles=articles,
        channels=channels,
        rosters={c: frozenset(keys) for c, keys in rosters.items()},
        retry={c: frozenset(keys) for c, keys in retry.items()},
        unstored=frozenset(unstored - gone),
        gone=frozenset(gone),
    )


def save_journal(
    engine: Any, site: str, journal: Journal, rules: Rules, run_id: int | None
) -> dict[str, int]:
    """Apply a run's journal; returns the counts it wrote (withdrawn, restored, scheduled)."""
    now = journal.now
    by_key = Article.site == site
    with engine.begin() as conn:
        if journal.listed:
            conn.execute(
                update(Article)
                .where(by_key, Article.article_key.in_(sorted(journal.listed)))
                .values(last_seen=func.now())
            )
        if journal.channels:
            conn.execute(
                update(Article)
                .where(by_key, Article.article_key == bindparam("key"))
                .values(channels=bindparam("chs")),
                [{"key": k, "chs": v} for k, v in sorted(journal.channels.items())],
            )
        withdrawn = restored = 0
        if journal.withdraw:
            withdrawn = conn.execute(
                update(Article)
                .where(by_key, Article.article_key.in_(sorted(journal.withdraw)))
                .where(Article.withdrawn_at.is_(None))
                .values(withdrawn_at=now)
            ).rowcount
        if journal.restore:
            # the store pipeline already cleared withdrawn_at of the ones it stored again
            restored = len(journal.restore)
            conn.execute(
                update(Article)
                .where(by_key, Article.article_key.in_(sorted(journal.restore)))
                .values(withdrawn_at=None)
            )
        if journal.schedule:
            conn.execute(
                update(Article)
                .where(by_key, Article.article_key == bindparam("key"))
                .values(
                    next_check_at=bindparam("next"),
                    check_interval=bindparam("interval"),
                    last_checked_at=bindparam("checked"),
                ),
                [
                    {"key": k, "next": u.next_check_at, "interval": u.check_interval,
                     "checked": u.last_checked_at}
                    for k, u in sorted(journal.schedule.items())
                ],
            )  # fmt: skip
        # articles stored for the first time: their first re-check
        fresh = conn.execute(
            select(Article.article_key, Article.published_at).where(
                by_key, Article.next_check_at.is_(None)
            )
        ).all()
        if fresh:
            rows = []
            for key, published_at in fresh:
                interval = rules.first_interval(published_at, now)
                rows.append(
                    {"key": key, "next": now + timedelta(days=interval), "interval": interval}
                )
            conn.execute(
                update(Article)
                .where(by_key, Article.article_key == bindparam("key"))
                .values(next_check_at=bindparam("next"), check_interval=bindparam("interval")),
                rows,
            )
        for channel, (added, removed) in sorted(journal.roster_changes.items()):
            in_channel = (ChannelEntry.site == site, ChannelEntry.channel == channel)
            if removed:
                conn.execute(
                    delete(ChannelEntry).where(
                        *in_channel, ChannelEntry.article_key.in_(sorted(removed))
                    )
                )
            if added:
                conn.execute(
                    pg_insert(ChannelEntry).on_conflict_do_nothing(),
                    [{"site": site, "channel": channel, "article_key": k} for k in sorted(added)],
                )
        for channel, state in sorted(journal.channel_states.items()):
            values = {
                "site": site,
                "channel": channel,
                "backfill_done_at": now if state.backfilled else None,
                "count_offset": state.count_offset,
                "ended_at": state.ended_at,
                "first_page": list(state.first_page),
                "last_listed_at": now,
                "last_run_id": run_id,
            }
            stmt = pg_insert(ChannelState).values(**values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[ChannelState.site, ChannelState.channel],
                    set_={
                        "backfill_done_at": func.coalesce(
                            ChannelState.backfill_done_at, stmt.excluded.backfill_done_at
                        ),
                        **{
                            name: stmt.excluded[name]
                            for name in (
                                "count_offset",
                                "ended_at",
                                "first_page",
                                "last_listed_at",
                                "last_run_id",
                            )
                        },  # fmt: skip
                    },
                )
            )
    return {"withdrawn": withdrawn, "restored": restored, "scheduled": len(fresh)}

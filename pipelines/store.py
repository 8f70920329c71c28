"""Batched, idempotent upserts of articles into PostgreSQL, off the reactor thread.

Items are buffered and written ``GOVCRAWL_STORE_BATCH_SIZE`` at a time (or every
``GOVCRAWL_STORE_FLUSH_SECONDS``) as one multi-row ``INSERT … ON CONFLICT (article_key) DO
UPDATE`` in a worker thread, so a write never stalls the crawl. Re-running a crawl never
creates a second row: the article key is unique and the channels of a row are merged.

A batch that PostgreSQL refuses because of what one row holds (a NUL in a string, a URL too
long for its index, …) is split in halves until the bad rows are alone: those are skipped,
counted (``govcrawl/store/bad_rows``) and reported (``store_rejected``); the rest is stored.
Any other error (the database went away) fails the batch and the run, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from sqlalchemy import bindparam, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from twisted.internet import task, threads

from crawler.database import DatabaseError, engine_from_settings
from crawler.extraction.text import strip_control
from crawler.items import ArticleItem
from crawler.models import Article, ArticleVersion
from crawler.neardup import DEFAULT_THRESHOLD, checked_threshold, fingerprint, link_stored
from crawler.search import lexemes
from crawler.signals import issue_reported

logger = logging.getLogger(__name__)

COLUMNS = (
    "article_key", "site", "channels", "url", "platform_id", "title", "published_at", "source",
    "author", "body_html", "body_text", "images", "attachments", "extra", "content_hash", "body_hash",
    "listing_hash", "etag", "last_modified", "page_hash", "archive_page", "archive_listing",
)  # fmt: skip
# what an edit can change, and what a version keeps
VERSIONED = (
    "title",
    "published_at",
    "source",
    "author",
    "body_html",
    "body_text",
    "images",
    "attachments",
)

_upsert = insert(Article.__table__)
UPSERT = _upsert.on_conflict_do_update(
    index_elements=[Article.article_key],
    set_={
        # the channels a row knows are the union of every listing that showed it
        "channels": literal_column(
            "ARRAY(SELECT DISTINCT c FROM unnest(articles.channels || excluded.channels) AS c ORDER BY c)"
        ),
        **{
            name: _upsert.excluded[name]
            for name in (*VERSIONED, "extra", "content_hash", "body_hash", "search_vector")
        },  # fmt: skip
        "minhash_bands": _upsert.excluded.minhash_bands,
        # an article reached under two URLs of one site (JCMS: one per column) keeps the
        # smaller, so the stored URL does not depend on which column was listed first; a site
        # that moved (new scheme or host) takes the new URL
        "url": literal_column(
            "CASE WHEN substring(articles.url from '^[a-z]+://[^/]+') "
            "IS DISTINCT FROM substring(excluded.url from '^[a-z]+://[^/]+') "
            "THEN excluded.url ELSE LEAST(articles.url, excluded.url) END"
        ),
        # a page fetched by URL alone has no listing hash: keep the one the listing gave
        "listing_hash": literal_column("COALESCE(excluded.listing_hash, articles.listing_hash)"),
        "page_hash": literal_column("COALESCE(excluded.page_hash, articles.page_hash)"),
        # the records of the content just stored; a run without the archive keeps the old ones
        **{
            name: literal_column(
                "CASE WHEN excluded.archive_page IS NULL AND excluded.archive_listing IS NULL "
                f"THEN articles.{name} ELSE excluded.{name} END"
            )
            for name in ("archive_page", "archive_listing")
        },
        "etag": literal_column("COALESCE(excluded.etag, articles.etag)"),
        "last_modified": literal_column("COALESCE(excluded.last_modified, articles.last_modified)"),
        # seen again: not withdrawn (any more)
        "withdrawn_at": literal_column(
            "NULL"
        ),  # a bound None here would stop SQLAlchemy batching rows
        "last_seen": literal_column("now()"),
        "updated_at": literal_column(
            "CASE WHEN articles.content_hash IS DISTINCT FROM excluded.content_hash "
            "THEN now() ELSE articles.updated_at END"
        ),
    },
).returning(Article.id)

# Reposts: within a group of equal bodies, the earliest published (then first stored) is the
# original and every other row points at it.
LINK_REPOSTS = text(
    """
    WITH grouped AS (
        SELECT id, first_value(id) OVER (PARTITION BY body_hash ORDER BY published_at, id) AS original
        FROM articles WHERE body_hash = ANY(:hashes)
    )
    UPDATE articles a SET duplicate_of = NULLIF(g.original, a.id)
    FROM grouped g
    WHERE a.id = g.id AND a.duplicate_of IS DISTINCT FROM NULLIF(g.original, a.id)
    """
).bindparams(bindparam("hashes"))


# SQLSTATE classes of errors caused by the data sent, not by the database or the connection:
# 22 data exception (NUL in jsonb, bad encoding, value out of range), 23 integrity constraint
# violation, 54 program limit exceeded (an index row or a tsvector too large)
DATA_ERROR_CLASSES = ("22", "23", "54")


@dataclass
class RejectedRow:
    row: dict[str, Any]
    reason: str


@dataclass
class BatchResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    # articles this batch found to be near-duplicates (a link re-pointed at an earlier copy
    # is not counted again); bodies too short to compare
    near_duplicates: int = 0
    short_bodies: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.near_duplicates += other.near_duplicates
        self.short_bodies += other.short_bodies
        self.rejected += other.rejected


def rejected_for_its_data(exc: BaseException) -> bool:
    """True when the database (or the driver, before sending) refused what a row holds;
    False for a lost connection, a server shutting down, a bug in a statement."""
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's exception
    pgcode = getattr(cause, "pgcode", None)
    if pgcode:
        return pgcode[:2] in DATA_ERROR_CLASSES
    # psycopg2 refuses a NUL in a string (ValueError) and a lone surrogate (UnicodeEncodeError)
    # while binding, before anything is sent
    return isinstance(cause, (ValueError, UnicodeError)) and not hasattr(cause, "pgerror")


def error_reason(exc: BaseException) -> str:
    """The database's own message, first line: not the statement and its 500 rows."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    return strip_control(lines[0])[:300]


def coalesce(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per article key (a batch may hold one article from two channels), sorted so
    that concurrent writers lock rows in the same order."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = row["article_key"]
        if key in merged:
            channels = sorted(set(merged[key]["channels"]) | set(row["channels"]))
            merged[key] = {**row, "channels": channels, "url": min(merged[key]["url"], row["url"])}
        else:
            merged[key] = row
    return [merged[k] for k in sorted(merged)]


def keep_versions(conn: Any, edited: dict[str, dict[str, Any]]) -> None:
    """Copy the current content of articles about to be overwritten into article_versions."""
    old_rows = conn.execute(
        select(
            Article.id,
            Article.article_key,
            *(getattr(Article, c) for c in VERSIONED),
            Article.content_hash,
        )
        .where(Article.article_key.in_(list(edited)))
        .with_for_update()
    ).all()
    versions = []
    for old in old_rows:
        new = edited[old.article_key]
        changed = [c for c in VERSIONED if getattr(old, c) != new[c]]
        versions.append({"article_id": old.id, "changed": changed, "content_hash": old.content_hash,
                         **{c: getattr(old, c) for c in VERSIONED}})  # fmt: skip
    if versions:
        conn.execute(insert(ArticleVersion), versions)


def write_batch(
    engine: Engine, rows: list[dict[str, Any]], near_threshold: float = DEFAULT_THRESHOLD
) -> BatchResult:
    """Upsert one batch; return how many rows were new, changed, unchanged and rejected.

    The batch is one transaction. When PostgreSQL refuses it for what a row holds, each half is
    written on its own, and so on down to the rows that are refused alone: one bad row costs
    about 2·log2(batch) small transactions, never the batch. Other errors are raised."""
    rows = coalesce(rows)
    for row in rows:
        row["search_vector"] = lexemes(row["title"], row["body_text"])
        row["minhash_bands"] = fingerprint(row["body_text"] or "").bands
    return _write_or_split(engine, rows, near_threshold)


def _write_or_split(engine: Engine, rows: list[dict[str, Any]], threshold: float) -> BatchResult:
    try:
        return _write_rows(engine, rows, threshold)
    except Exception as exc:
        if not rejected_for_its_data(exc):
            raise
        if len(rows) == 1:
            return BatchResult(rejected=[RejectedRow(rows[0], error_reason(exc))])
    result = BatchResult()
    middle = len(rows) // 2
    for half in (rows[:middle], rows[middle:]):
        result.add(_write_or_split(engine, half, threshold))
    return result


def _write_rows(engine: Engine, rows: list[dict[str, Any]], threshold: float) -> BatchResult:
    """Upsert coalesced rows, search vectors computed, in one transaction."""
    keys = [r["article_key"] for r in rows]
    result = BatchResult()
    with engine.begin() as conn:
        before = dict(
            conn.execute(
                select(Article.article_key, Article.content_hash).where(
                    Article.article_key.in_(keys)
                )
            ).all()
        )
        edited = {
            r["article_key"]: r
            for r in rows
            if before.get(r["article_key"], r["content_hash"]) != r["content_hash"]
        }
        if edited:
            keep_versions(conn, edited)
        conn.execute(UPSERT, rows)
        hashes = sorted({r["body_hash"] for r in rows if r["body_hash"]})
        if hashes:
            conn.execute(LINK_REPOSTS, {"hashes": hashes})
        # near-duplicates (crawler/neardup.py): an unchanged row's links are already right
        fresh = [k for k in keys if k not in before or k in edited]
        linked = link_stored(conn, fresh, threshold) if fresh else []
    result.near_duplicates = sum(1 for link in linked if link.is_new)
    result.short_bodies = sum(1 for r in rows if r["minhash_bands"] is None)
    for row in rows:
        old = before.get(row["article_key"])
        if old is None:
            result.new += 1
        elif old != row["content_hash"]:
            result.updated += 1
        else:
            result.unchanged += 1
    return result


class StorePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.batch_size = crawler.settings.getint("GOVCRAWL_STORE_BATCH_SIZE", 500)
        self.near_threshold = checked_threshold(
            crawler.settings.getfloat("GOVCRAWL_NEARDUP_THRESHOLD", DEFAULT_THRESHOLD)
        )
        self.flush_seconds = crawler.settings.getfloat("GOVCRAWL_STORE_FLUSH_SECONDS", 5.0)
        self.engine: Engine | None = None
        self.buffer: list[dict[str, Any]] = []
        self.buffer_since = time.monotonic()
        self.pending: set[Any] = set()
        self.write_lock = threading.Lock()
        self.failed = False
        self.closing = False
        self.timer: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        try:
            self.engine = engine_from_settings(self.crawler.settings)
        except DatabaseError as exc:
            logger.error("%s", exc)
            raise
        self.timer = task.LoopingCall(self._flush_if_stale)
        self.timer.start(max(self.flush_seconds / 2, 0.2), now=False)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        if not self.buffer:
            self.buffer_since = time.monotonic()
        self.buffer.append({name: item.get(name) for name in COLUMNS})
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def _flush_if_stale(self) -> None:
        if self.buffer and time.monotonic() - self.buffer_since >= self.flush_seconds:
            self.flush()

    def flush(self) -> Any:
        rows, self.buffer = self.buffer, []
        if not rows:
            return None
        d = threads.deferToThread(self._write, rows)
        self.pending.add(d)
        d.addCallbacks(self._written, self._write_failed, errbackArgs=(len(rows),))
        d.addBoth(lambda result: (self.pending.discard(d), result)[1])
        return d

    def _write(self, rows: list[dict[str, Any]]) -> BatchResult:
        with self.write_lock:  # one batch at a time: the order of writes is the order of items
            assert self.engine is not None
            return write_batch(self.engine, rows, self.near_threshold)

    def _written(self, result: BatchResult) -> None:
        for rejected in result.rejected:
            self._rejected(rejected)
        self.stats.inc_value("govcrawl/store/batches")
        self.stats.inc_value("govcrawl/items/new", result.new)
        self.stats.inc_value("govcrawl/items/updated", result.updated)
        self.stats.inc_value("govcrawl/items/unchanged", result.unchanged)
        self.stats.inc_value("govcrawl/items/near_duplicates", result.near_duplicates)
        self.stats.inc_value("govcrawl/neardup/short_bodies", result.short_bodies)
        logger.info(
            "stored a batch: %d new, %d updated, %d unchanged",
            result.new,
            result.updated,
            result.unchanged,
        )

    def _rejected(self, rejected: RejectedRow) -> None:
        """One row PostgreSQL refused: counted, logged and kept in crawl_issues with its key
        and channel, so later runs fetch the article again (after a fix, it is stored)."""
        row = rejected.row
        url = strip_control(str(row.get("url") or row.get("article_key") or "?"))
        key = row.get("article_key")
        channels = row.get("channels") or []
        self.stats.inc_value("govcrawl/store/bad_rows")
        self.stats.inc_value("govcrawl/issues/store_rejected")
        logger.error(
            "store_rejected: %s (%s); the rest of its batch is stored", url, rejected.reason
        )
        self.crawler.signals.send_catch_log(
            issue_reported, kind="store_rejected", url=url, reason=rejected.reason,
            article_key=strip_control(key) if isinstance(key, str) else None,
            channel=channels[0] if channels and key else None, spider=self.crawler.spider,
        )  # fmt: skip

    def _write_failed(self, failure: Any, count: int) -> None:
        self.failed = True
        self.stats.inc_value("govcrawl/store/failed_batches")
        self.stats.inc_value("govcrawl/store/failed_items", count)
        logger.error(
            "could not store a batch of %d articles: %s; the run will be marked failed and the "
            "next run fetches them again", count, failure.getErrorMessage(),
        )  # fmt: skip
        engine = self.crawler.engine
        if not self.closing and engine is not None and engine.running:
            self.closing = True
            deferred_from_coro(engine.close_spider_async(reason="store_failed"))

    async def close_spider(self) -> None:
        self.closing = True
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self.flush()
        for d in list(self.pending):
            await maybe_deferred_to_future(d)

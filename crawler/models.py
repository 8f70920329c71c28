"""The database schema, as typed SQLAlchemy 2 models: the single source of truth.

Every change here comes with an Alembic revision in ``migrations/versions``;
``tests/test_migrations.py`` fails when the two disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime

from crawler.search import Lexemes

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TZ = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Article(Base):
    """One article of one site, however many channels list it."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # "<site>:id:<platform id>" when the portal numbers its articles, else "<site>:url:<canonical url>"
    article_key: Mapped[str] = mapped_column(Text, unique=True)
    site: Mapped[str] = mapped_column(Text, index=True)
    channels: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    url: Mapped[str] = mapped_column(Text, index=True)
    platform_id: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(TZ, index=True)
    source: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, server_default="")
    body_text: Mapped[str] = mapped_column(Text, server_default="")
    images: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    extra: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # sha256 of title + body text: changes when the article is edited
    content_hash: Mapped[str] = mapped_column(Text)
    # sha256 of the body text alone (NULL for an empty body): equal bodies are reposts
    body_hash: Mapped[str | None] = mapped_column(Text, index=True)
    # indexed: without it every deleted article scans the table for rows pointing at it
    duplicate_of: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    # the LSH band values of the body's MinHash (crawler/neardup.py; NULL for a body too short
    # to compare), looked up through article_bands
    minhash_bands: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    # the earliest article whose body is alike (character 3-gram Jaccard index of at least
    # GOVCRAWL_NEARDUP_THRESHOLD) but not the same text, and that index
    near_duplicate_of: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    similarity: Mapped[float | None] = mapped_column(Float)
    # sha256 of what the listing said (title, date, URL, body in the JSON): an incremental run
    # skips an entry whose listing hash it already has
    listing_hash: Mapped[str | None] = mapped_column(Text)
    # set when the article's page answered 404/410; cleared when it is seen again
    withdrawn_at: Mapped[datetime | None] = mapped_column(TZ)
    # validators of the article page, for conditional GETs when it is re-checked
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    # sha256 of the page's title and body container when it was last fetched: a re-check
    # that finds the same hash stores nothing
    page_hash: Mapped[str | None] = mapped_column(Text)
    # the raw archive's records of the current content (crawler/archive.py), as
    # "<site>/<file>.warc.gz#<offset>": the article page's, and the listing reply's (the
    # listing is the source on some platforms); `govcrawl reparse` re-reads them
    archive_page: Mapped[str | None] = mapped_column(Text)
    archive_listing: Mapped[str | None] = mapped_column(Text)
    # the adaptive re-check schedule (crawler/incremental/policy.py): when the page is next
    # due, the current interval in days, and when it was last re-checked
    next_check_at: Mapped[datetime | None] = mapped_column(TZ, index=True)
    check_interval: Mapped[float | None] = mapped_column(Float)
    last_checked_at: Mapped[datetime | None] = mapped_column(TZ)
    first_seen: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    last_seen: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    # character bigrams of title and body, for `govcrawl search` (see crawler/search.py)
    search_vector: Mapped[list[str] | None] = mapped_column(Lexemes)

    __table_args__ = (
        Index("ix_articles_channels", "channels", postgresql_using="gin"),
        Index("ix_articles_search_vector", "search_vector", postgresql_using="gin"),
    )


class ArticleBand(Base):
    """One LSH band value of an article's body (``articles.minhash_bands``, one row each): the
    articles sharing a value with a new one are its near-duplicate candidates, found by index."""

    __tablename__ = "article_bands"

    band: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ArticleVersion(Base):
    """The content an article had before an edit replaced it."""

    __tablename__ = "article_versions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    # when the newer content was stored, i.e. until when this version was current
    replaced_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    changed: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    title: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(TZ)
    source: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    images: Mapped[list[str]] = mapped_column(JSONB)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    content_hash: Mapped[str] = mapped_column(Text)


class ChannelState(Base):
    """What incremental runs need to know about one channel of one site."""

    __tablename__ = "channel_states"

    site: Mapped[str] = mapped_column(Text, primary_key=True)
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    # set once a run has listed the channel to its last page: from then on a run may stop
    # at the first listing page that holds only known, unchanged entries
    backfill_done_at: Mapped[datetime | None] = mapped_column(TZ)
    last_listed_at: Mapped[datetime | None] = mapped_column(TZ)
    last_run_id: Mapped[int | None] = mapped_column(BigInteger)
    # the portal's count of the channel minus the entries its last full listing held
    count_offset: Mapped[int] = mapped_column(Integer, server_default="0")
    # when a run last listed it to its end (every channel is, at least every relist_days)
    ended_at: Mapped[datetime | None] = mapped_column(TZ)
    # the keys of its first listing page at the last run: what moved there is looked into
    first_page: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))


class ChannelEntry(Base):
    """One entry of a channel's roster: the listing of ``channel`` shows ``article_key``."""

    __tablename__ = "channel_entries"

    site: Mapped[str] = mapped_column(Text, primary_key=True)
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    article_key: Mapped[str] = mapped_column(Text, primary_key=True)


class CrawlRun(Base):
    """One run of one spider on one site, with its final Scrapy stats."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(Text, index=True)
    spider: Mapped[str] = mapped_column(Text)
    args: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # queued → running → succeeded | degraded | failed | timed-out | interrupted; or skipped
    # (site busy); degraded: finished, but a monitor found something wrong (see alerts)
    status: Mapped[str] = mapped_column(Text, server_default="running")
    # "cli" (a crawl started by hand) or "scheduler"
    trigger: Mapped[str] = mapped_column(Text, server_default="cli")
    exit_code: Mapped[int | None] = mapped_column(Integer)
    finish_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(TZ)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    log_path: Mapped[str | None] = mapped_column(Text)
    # what the close-of-run monitors found wrong (a run with any is ``degraded``)
    alerts: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    pid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(Text)


class CrawlIssue(Base):
    """A URL that did not become an article in a run, and why."""

    __tablename__ = "crawl_issues"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True
    )
    site: Mapped[str] = mapped_column(Text)
    # fetch_failed | bad_listing | invalid | blocked | no_unitid | …
    kind: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    # the article the listing promised, when known: it is retried by the next runs, and does
    # not keep an incremental run from stopping early
    article_key: Mapped[str | None] = mapped_column(Text, index=True)
    # the channel whose listing named the article: that channel lists down to it next run
    channel: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class Watch(Base):
    """A saved search (terms + filters of ``crawler.search``) whose new matches are sent to a
    webhook and/or an e-mail address after each run (``crawler/watches.py``)."""

    __tablename__ = "watches"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    # the search text, as `govcrawl search` takes it
    query: Mapped[str] = mapped_column(Text)
    # the fields of crawler.search.Filters that differ from their defaults
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    # only articles first stored after this are news to the watch
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class WatchHit(Base):
    """An article new to a watch, and where its delivery stands."""

    __tablename__ = "watch_hits"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    watch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("watches.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    # the run at whose end it was found
    run_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crawl_runs.id", ondelete="SET NULL"), index=True
    )
    matched_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    # the Idempotency-Key of the delivery that carries it, fixed at its first attempt: a retry
    # resends the same hits under the same key, so a receiver can drop what it already has
    delivery_key: Mapped[str | None] = mapped_column(Text)
    # per target, when it accepted the hit (2xx, SMTP accept); delivered when every target has
    webhook_sent_at: Mapped[datetime | None] = mapped_column(TZ)
    emailed_at: Mapped[datetime | None] = mapped_column(TZ)
    delivered_at: Mapped[datetime | None] = mapped_column(TZ)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("watch_id", "article_id"),
        # what each run's delivery reads: the undelivered hits of a watch
        Index(
            "ix_watch_hits_pending",
            "watch_id",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
        ),
    )


class Attachment(Base):
    """A file an article links to (PDF, Word, Excel, …): where it is stored and its text.

    One row per article and link. The file itself is stored once per content
    (``<FILES_STORE>/full/<sha256[:2]>/<sha256>.<type>``) however many articles link to it.
    Rows name their article by ``article_key``, not ``articles.id``: the store assigns ids in
    its batched upsert after the item has left the pipelines, while the key is the article's
    fixed, unique identity (``articles.article_key``).
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    article_key: Mapped[str] = mapped_column(Text, index=True)
    site: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text, index=True)
    name: Mapped[str | None] = mapped_column(Text)
    # the type the link declared (pdf, docx, xls, …); the format read is in ``status``'s reason
    type: Mapped[str | None] = mapped_column(Text)
    # extracted | not_extracted | corrupt | oversized | offsite (another host: not fetched) |
    # failed (the fetch failed: tried again next time the article is crawled)
    status: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(Text, index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    # relative to FILES_STORE
    path: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime | None] = mapped_column(TZ)
    text: Mapped[str] = mapped_column(Text, server_default="")
    # why there is no text: an old format, a corrupt file, the size cap, the fetch error
    error: Mapped[str | None] = mapped_column(Text)
    # character bigrams of the text, as articles.search_vector (crawler/search.py)
    search_vector: Mapped[list[str] | None] = mapped_column(Lexemes)

    __table_args__ = (
        UniqueConstraint("article_key", "url"),
        Index("ix_attachments_search_vector", "search_vector", postgresql_using="gin"),
    )

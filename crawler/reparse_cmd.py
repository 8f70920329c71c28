"""``govcrawl reparse``: extract the stored articles again from the raw archive.

govcrawl reparse                      # every site with archived articles
govcrawl reparse --site nync          # one site (a profile name or a path)
govcrawl reparse --site nync --since 2025-10   # articles published since then

After an extraction fix, the stored articles are corrected without asking the portal again:
each article's archived replies (``articles.archive_listing`` and ``archive_page``, see
crawler/archive.py) are read back and handed to the very callbacks that read them during the
crawl — the platform's listing callback (``crawler/platforms/``), then the spider's
``parse_article`` — on a replica of the portal spider that makes no request. The items go
through the same normalisation, and what changed is written by the store's own batched upsert
(``pipelines.store.write_batch``): an edit of title or body keeps the old content in
``article_versions``, as a re-crawl would. The summary says how many articles changed, field
by field.

Exit codes: 0 done (whether anything changed or not); 1 some archive records could not be
read (missing or corrupt files: each named, counted; the other articles are reparsed); 2 bad
input (an unknown site, a bad date) or no database; 4 the site is being crawled (a reparse
takes the crawl's site lock: a crawl storing the same articles meanwhile would be undone).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

# Scrapy, the spider and the store are imported when the command runs: cli.py imports this
# module to build its parser
if TYPE_CHECKING:
    from scrapy.http import Response
    from sqlalchemy.engine import Engine

    from crawler.extraction.listing import ListingEntry
    from crawler.items import ArticleItem
    from crawler.profiles import SiteProfile

BATCH = 500
EXIT_UNREADABLE = 1
SPIDER_LOGGER = "portal"  # the spider's logger
SHOWN_PROBLEMS = 10  # unreadable records named one by one at most; the rest are counted


@cache
def replica_spider_class() -> type:
    """The portal spider, fed archived replies (defined on first use: it imports Scrapy)."""
    from scrapy.signalmanager import SignalManager
    from scrapy.statscollectors import MemoryStatsCollector

    from crawler import platforms
    from crawler.profiles import Channel
    from crawler.spiders.portal import PortalSpider

    class _OfflineCrawler:
        """What the spider and its platform use of a crawler, without an engine or a downloader:
        nothing the replica yields is ever scheduled."""

        def __init__(self, settings: Any) -> None:
            self.settings = settings
            self.signals = SignalManager(self)
            self.stats = MemoryStatsCollector(self)
            self.engine = None
            self.spider: Any = None

        def get_extension(self, cls: type) -> None:
            return None  # no incremental memory: every listed entry is read

    class ReplicaSpider(PortalSpider):
        """The portal spider, fed archived replies: the same callbacks, no policy, no paging."""

        def __init__(self, profile: SiteProfile, settings: Any) -> None:
            super().__init__(site=profile.name, mode="full")
            self.profile = profile
            self.crawler = _OfflineCrawler(settings)
            self.crawler.spider = self
            self.platform = platforms.get(profile.platform)(self)
            self.allowed_domains = list(profile.allowed_hosts)
            self.problems: list[str] = []

        def listed(
            self,
            channel: Channel,
            entries: list[ListingEntry],
            unreadable: int = 0,
            where: str = "",
        ) -> Any:
            for entry in entries:  # every entry, as a first full run reads it
                yield from self.handle_entry(entry, channel)

        def listing_page_done(self, *args: Any, **kwargs: Any) -> bool:
            return False  # never a next page: only what the archive holds is read

        def listing_failed(self, channel: Channel) -> None:
            pass

        def report(
            self, kind: str, url: str | None, reason: str, *args: Any, **kwargs: Any
        ) -> None:
            self.problems.append(f"{kind}: {reason}")

        def gone(self, url: str, key: str | None, purpose: str, reason: str, *args: Any) -> None:
            self.problems.append(f"gone: {reason}")

        def channel_of_code(self, code: str) -> Channel:
            return next((c for c in self.profile.channels if c.code == code), Channel(code=code))

    return ReplicaSpider


@dataclass
class ReparseReport:
    site: str
    articles: int = 0  # archived articles looked at
    records: int = 0  # archive records read
    changed: int = 0
    unchanged: int = 0
    versions: int = 0  # edits of title or body: the old content went to article_versions
    fields: Counter[str] = field(default_factory=Counter)
    unreadable: int = 0  # articles whose record is missing or corrupt
    not_reproduced: int = 0  # the record no longer yields the article (or not a valid one)
    rejected: int = 0  # rows the database refused
    # what kept articles from being updated: message → how many articles
    problems: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        fields = ", ".join(f"{name}: {n}" for name, n in self.fields.most_common())
        lines = [
            f"{self.site}: {self.articles} archived articles, {self.records} archive records "
            "read, no request made",
            f"  changed      {self.changed}" + (f" ({fields})" if fields else ""),
            f"  new versions {self.versions} (title or body edited)",
            f"  unchanged    {self.unchanged}",
        ]
        if self.unreadable or self.not_reproduced or self.rejected:
            lines.append(
                f"  not updated  {self.unreadable} with a missing or corrupt record, "
                f"{self.not_reproduced} no longer extracted, {self.rejected} refused by the "
                "database"
            )
        return "\n".join(lines)


def to_response(record: Any, cb_kwargs: dict[str, Any]) -> Response:
    """An archived reply as the Response the callback got during the crawl."""
    from scrapy import Request
    from scrapy.http import Headers
    from scrapy.responsetypes import responsetypes

    headers = Headers()
    for name, value in record.headers:
        headers.appendlist(name, value)
    request = Request(
        record.url, method=record.method, body=record.request_body, cb_kwargs=cb_kwargs,
        dont_filter=True,
    )  # fmt: skip
    cls = responsetypes.from_args(headers=headers, url=record.url, body=record.body)
    return cls(
        url=record.url, status=record.status, headers=headers, body=record.body, request=request
    )


class Reparser:
    """Re-extracts one site's archived articles and stores what changed."""

    def __init__(self, engine: Engine, settings: Any, profile: SiteProfile) -> None:
        from crawler.archive import archive_root

        self.engine = engine
        self.root = archive_root(settings)
        self.profile = profile
        self.replica = replica_spider_class()(profile, settings)
        self.report = ReparseReport(profile.name)
        # the listing reply read last (articles come sorted by it): its items and page entries
        self._listing: tuple[str, Any, dict[str, ListingEntry]] | None = None

    def _problem(self, message: str) -> None:
        self.report.problems[message] += 1

    def _replay(self, pointer: str, **given: Any) -> tuple[list[Any], Any]:
        """Read a record and run its callback on it; the callback's output and the record."""
        from crawler.archive import ArchiveReadError, decode_arguments, read_record

        record = read_record(self.root, pointer)
        self.report.records += 1
        if not record.callback or record.arguments is None:
            raise ArchiveReadError(f"{pointer}: the record does not say which callback read it")
        owner, _, name = record.callback.partition(".")
        target = self.replica if owner == "spider" else self.replica.platform
        callback = getattr(target, name, None)
        if owner not in ("spider", "platform") or callback is None:
            raise ArchiveReadError(f"{pointer}: unknown callback {record.callback!r}")
        kwargs = {**decode_arguments(record.arguments, self.replica.channel_of_code), **given}
        response = to_response(record, kwargs)
        return list(callback(response, **kwargs) or []), record

    def _row(self, item: ArticleItem) -> dict[str, Any] | None:
        """The stored fields of an item, as the pipelines make them; None when invalid."""
        from crawler.extraction.normalise import normalise
        from pipelines.store import COLUMNS
        from pipelines.validate import REQUIRED

        row, _ = normalise(item, self.profile.base_url)
        item.update(row)
        if any(not item.get(name) for name in REQUIRED):
            return None
        return {name: item.get(name) for name in COLUMNS}

    def _listing_of(
        self, pointer: str
    ) -> tuple[dict[str, dict[str, Any]], dict[str, ListingEntry]]:
        from scrapy import Request

        from crawler.archive import ArchiveReadError
        from crawler.extraction.listing import ListingEntry
        from crawler.items import ArticleItem

        if self._listing is not None and self._listing[0] == pointer:
            if isinstance(self._listing[1], ArchiveReadError):
                raise self._listing[1]  # one read of a bad record, however many articles
            return self._listing[1], self._listing[2]
        try:
            output, _ = self._replay(pointer)
        except ArchiveReadError as exc:
            self._listing = (pointer, exc, {})
            raise
        rows: dict[str, dict[str, Any]] = {}
        entries: dict[str, ListingEntry] = {}
        for out in output:
            if isinstance(out, ArticleItem):
                row = self._row(out)
                if row is not None:
                    rows[row["article_key"]] = row
            elif isinstance(out, Request) and isinstance(out.cb_kwargs.get("entry"), ListingEntry):
                entry = out.cb_kwargs["entry"]
                key = self.replica.entry_key(entry)
                if key is not None:
                    entries[key] = entry
        self._listing = (pointer, rows, entries)
        return rows, entries

    def article(self, stored: Any) -> dict[str, Any] | None:
        """The row the archive gives for a stored article now; None when it gives none."""
        from crawler.extraction.listing import platform_id_of
        from crawler.items import ArticleItem

        entry = None
        if stored.archive_listing:
            rows, entries = self._listing_of(stored.archive_listing)
            if not stored.archive_page:
                return rows.get(stored.article_key)
            entry = entries.get(stored.article_key)
        self.replica.problems.clear()
        output, _ = self._replay(stored.archive_page, entry=entry)
        items = [o for o in output if isinstance(o, ArticleItem)]
        if not items:
            return None
        item = items[0]
        if entry is None and not item.get("platform_id"):
            item["platform_id"] = platform_id_of(stored.article_key)  # as a re-check does
        row = self._row(item)
        return row if row is not None and row["article_key"] == stored.article_key else None

    def run(self, since: datetime | None = None) -> ReparseReport:
        from sqlalchemy import or_, select

        from crawler.models import Article

        report = self.report
        with self.engine.connect() as conn:
            query = (
                select(Article.id)
                .where(Article.site == self.profile.name)
                .where(or_(Article.archive_page.is_not(None), Article.archive_listing.is_not(None)))
                .order_by(Article.archive_listing, Article.archive_page, Article.id)
            )
            if since is not None:
                query = query.where(Article.published_at >= since)
            ids = list(conn.execute(query).scalars())
        for start in range(0, len(ids), BATCH):
            self._batch(ids[start : start + BATCH])
        return report

    def _batch(self, ids: list[int]) -> None:
        from sqlalchemy import select

        from crawler.archive import ArchiveReadError
        from crawler.models import Article
        from pipelines.store import VERSIONED, write_batch

        compared = (*VERSIONED, "extra")  # what a re-crawl may change, and what is reported
        report = self.report
        columns = [Article.id, Article.article_key, Article.channels, Article.archive_page,
                   Article.archive_listing, *(getattr(Article, c) for c in compared)]  # fmt: skip
        with self.engine.connect() as conn:
            found = {r.id: r for r in conn.execute(select(*columns).where(Article.id.in_(ids)))}
        changed: list[dict[str, Any]] = []
        for article_id in ids:
            stored = found.get(article_id)
            if stored is None:
                continue  # deleted meanwhile
            report.articles += 1
            try:
                row = self.article(stored)
            except ArchiveReadError as exc:
                report.unreadable += 1
                self._problem(str(exc))
                continue
            if row is None:
                report.not_reproduced += 1
                why = "; ".join(self.replica.problems) or "the record no longer yields it"
                self._problem(f"{stored.article_key}: not extracted again ({why})")
                continue
            fields = [c for c in compared if row[c] != getattr(stored, c)]
            if not fields:
                report.unchanged += 1
                continue
            report.changed += 1
            report.fields.update(fields)
            row["channels"] = list(stored.channels)
            row["archive_page"] = stored.archive_page
            row["archive_listing"] = stored.archive_listing
            changed.append(row)
        if changed:
            result = write_batch(self.engine, changed)
            report.versions += result.updated
            report.rejected += len(result.rejected)
            for rejected in result.rejected:
                self._problem(f"{rejected.row.get('url')}: refused by the database "
                              f"({rejected.reason})")  # fmt: skip


def reparse_site(
    engine: Engine, settings: Any, profile: SiteProfile, since: datetime | None = None
) -> ReparseReport:
    from crawler import platforms

    platforms.load(settings.getlist("GOVCRAWL_PLATFORM_MODULES"))
    return Reparser(engine, settings, profile).run(since)


def archived_sites(engine: Engine) -> list[str]:
    from sqlalchemy import or_, select

    from crawler.models import Article

    with engine.connect() as conn:
        return list(
            conn.execute(
                select(Article.site)
                .where(or_(Article.archive_page.is_not(None), Article.archive_listing.is_not(None)))
                .distinct()
                .order_by(Article.site)
            ).scalars()
        )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``reparse [--site S] [--since D]`` to the ``govcrawl`` subcommands."""
    parser = subparsers.add_parser(
        "reparse", help="extract the stored articles again from the raw archive (no request)",
        description="Re-read each archived article's replies with the current extraction "
        "code and store what changed, with versions, as a re-crawl would; nothing is fetched.",
    )  # fmt: skip
    parser.add_argument(
        "--site", action="append",
        help="a profile name or path (repeatable; default: every site with archived articles)",
    )  # fmt: skip
    parser.add_argument(
        "--since", help="only articles published since this day (YYYY-MM-DD or YYYY-MM)"
    )
    parser.set_defaults(func=cmd_reparse)
    return parser


def cmd_reparse(args: argparse.Namespace) -> int:
    from crawler.cli import EXIT_SITE_BUSY, _database, _fail, _settings
    from crawler.locks import busy_message, site_lock
    from crawler.profiles import ProfileError, load_profile
    from crawler.search import parse_day

    since = parse_day(args.since, "--since")
    # what the spider logs of an entry (an unreadable field …) was logged and counted by the
    # crawl that archived it: here it would only repeat
    logging.getLogger(SPIDER_LOGGER).setLevel(logging.ERROR)
    settings = _settings(args)
    profiles_dir = settings.get("GOVCRAWL_PROFILES_DIR")
    # every profile is checked before anything is written
    profiles = [load_profile(site, profiles_dir) for site in args.site or ()]
    engine = _database(settings)
    code = 0
    if not args.site:
        sites = archived_sites(engine)
        if not sites:
            print("no archived articles: nothing to reparse (is GOVCRAWL_ARCHIVE on?)")
            return 0
        for site in sites:
            try:
                profiles.append(load_profile(site, profiles_dir))
            except ProfileError as exc:  # the other sites are reparsed
                code = _fail(f"site {site} has archived articles but no usable profile: {exc}")
    for profile in profiles:
        # a crawl storing the same articles meanwhile would be overwritten: one at a time
        with site_lock(engine, profile.name) as locked:
            if not locked:
                code = _fail(busy_message(engine, profile.name), EXIT_SITE_BUSY)
                continue
            report = reparse_site(engine, settings, profile, since)
        print(report.summary())
        problems = report.problems.most_common()
        for problem, articles in problems[:SHOWN_PROBLEMS]:
            _fail(f"{profile.name}: {problem} ({articles} article{'s' * (articles > 1)})")
        if len(problems) > SHOWN_PROBLEMS:
            rest = sum(n for _, n in problems[SHOWN_PROBLEMS:])
            _fail(f"{profile.name}: and {len(problems) - SHOWN_PROBLEMS} more problems "
                  f"({rest} articles)")  # fmt: skip
        if report.unreadable and code in (0, EXIT_UNREADABLE):
            code = EXIT_UNREADABLE
    sys.stdout.flush()
    return code


__all__ = ["ReparseReport", "Reparser", "add_parser", "reparse_site"]

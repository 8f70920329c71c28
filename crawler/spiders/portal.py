"""The ``portal`` spider: crawls any portal described by a site profile.

    scrapy crawl portal -a site=nync                 # a profile by name
    scrapy crawl portal -a site=path/to/site.toml    # or by path
    scrapy crawl portal -a site=nync -a channels=bcyb,fzjz -a max_pages=3
    scrapy crawl portal -a site=nync -a url=<article url>   # one page only
    scrapy crawl portal -a site=nync -a mode=full           # ignore what earlier runs saw

The spider only decides which URL to fetch next: the profile's platform
(``crawler/platforms/``) makes a channel's listing requests and reads the replies, and the
spider holds the one loop over listing entries, asking the incremental policy about each;
fields come from ``crawler.extraction`` and are normalised, validated, deduplicated and stored
by the pipelines.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from functools import cached_property
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler import platforms
from crawler.extraction.article_page import (
    ArticlePage,
    extract_article,
    is_challenge_page,
    is_not_found_page,
)
from crawler.extraction.body import body_is_empty
from crawler.extraction.listing import (
    ListingEntry,
    article_key,
    listing_fingerprint,
    platform_id_of,
)
from crawler.extraction.text import CHINA_TZ
from crawler.extraction.urls import canonicalize_url, same_origin
from crawler.incremental import Memory, PageAnswer, PageCheck, Paging, RunPolicy
from crawler.incremental.extension import IncrementalKeeper
from crawler.items import ArticleItem
from crawler.platforms import Platform
from crawler.profiles import Channel, SiteProfile, load_profile
from crawler.signals import issue_reported

GONE_STATUSES = (404, 410)

# More than this share of U+FFFD in a decoded page means the charset was wrong: no row.
UNDECODABLE_SHARE = 0.001


class PortalSpider(scrapy.Spider):
    name = "portal"
    profile: SiteProfile
    platform: Platform

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        platforms.load(crawler.settings.getlist("GOVCRAWL_PLATFORM_MODULES"))
        spider.profile = load_profile(
            spider.site_arg, crawler.settings.get("GOVCRAWL_PROFILES_DIR")
        )
        spider.platform = platforms.get(spider.profile.platform)(spider)
        pol = spider.profile.politeness
        # The profile tunes politeness per site; `-s` on the command line still wins.
        crawler.settings.set("DOWNLOAD_DELAY", pol.download_delay, priority="spider")
        crawler.settings.set(
            "CONCURRENT_REQUESTS_PER_DOMAIN", pol.concurrent_requests, priority="spider"
        )
        crawler.settings.set("AUTOTHROTTLE_ENABLED", pol.autothrottle, priority="spider")
        crawler.settings.set("ROBOTSTXT_OBEY", pol.obey_robots, priority="spider")
        spider.allowed_domains = list(spider.profile.allowed_hosts)
        crawler.signals.connect(spider.follow_up, signal=signals.spider_idle)
        return spider

    @cached_property
    def policy(self) -> RunPolicy:
        """The incremental policy of this run (IncrementalKeeper's; without a database, as in a
        parse-only run, every entry is new and nothing is remembered)."""
        keeper = self.crawler.get_extension(IncrementalKeeper)
        if keeper is not None:
            if keeper.policy is None:
                # a run that cannot tell known from new would refetch and relist everything
                raise RuntimeError("the incremental memory could not be loaded: see the log")
            return keeper.policy
        return RunPolicy(Memory(), datetime.now(CHINA_TZ), full=True, can_fetch=self.may_fetch)

    def may_fetch(self, url: str) -> bool:
        """Only the profile's origin (scheme-agnostic host and port) is ever requested."""
        return same_origin(url, self.profile.base_url)

    def __init__(
        self,
        site: str | None = None,
        channels: str | None = None,
        max_pages: str | int | None = None,
        url: str | None = None,
        mode: str = "incremental",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if mode not in ("incremental", "full"):
            raise ValueError(f"mode must be 'incremental' or 'full', got {mode!r}")
        self.mode = mode
        if not site:
            raise ValueError("usage: scrapy crawl portal -a site=<profile name or path>")
        self.site_arg = site
        self.only_channels = (
            {c.strip() for c in channels.split(",") if c.strip()} if channels else None
        )
        self.max_pages = int(max_pages) if max_pages else None
        self.single_url = url

    # --- bookkeeping ----------------------------------------------------------------------
    def report(
        self,
        kind: str,
        url: str | None,
        reason: str,
        entry: ListingEntry | None = None,
        level: str = "error",
        channel: Channel | None = None,
    ) -> None:
        """Count, log and hand to the run record a URL that did not become an article."""
        self.crawler.stats.inc_value(f"govcrawl/issues/{kind}")
        getattr(self.logger, level)("%s: %s (%s)", kind, url, reason)
        key = self.entry_key(entry) if entry is not None else None
        self.crawler.signals.send_catch_log(
            issue_reported, kind=kind, url=url, reason=reason, article_key=key,
            channel=channel.code if channel is not None and key else None, spider=self,
        )  # fmt: skip

    def entry_key(self, entry: ListingEntry) -> str | None:
        if entry.platform_id:
            return article_key(self.profile.name, entry.platform_id, None)
        return article_key(
            self.profile.name,
            None,
            canonicalize_url(entry.url, self.profile.base_url) if entry.url else None,
        )

    def note_entry(self, entry: ListingEntry, channel: Channel) -> bool:
        """Hand a listed entry to the policy; True when the run fetches it (from the listing or
        its page), False when an earlier run stored it exactly as it is listed now."""
        url = canonicalize_url(entry.url, self.profile.base_url) if entry.url else None
        verdict = self.policy.entry(
            channel.code, self.entry_key(entry), listing_fingerprint(entry), url
        )
        if verdict.reason == "repeat" and not verdict.fetch:
            self.crawler.stats.inc_value("govcrawl/listing/overlap")  # listed twice in a run
        elif not verdict.fetch:
            self.crawler.stats.inc_value("govcrawl/listing/unchanged_entries")
        elif verdict.reason == "retry":
            self.crawler.stats.inc_value("govcrawl/listing/retried_entries")
        return verdict.fetch

    def listing_failed(self, channel: Channel) -> None:
        self.policy.listing_failed(channel.code)

    def bad_listing(self, channel: Channel, where: str, reason: str) -> None:
        """A listing reply that is not the listing it should be: the channel concludes
        nothing this run."""
        self.crawler.stats.inc_value("govcrawl/listing/bad_reply")
        self.listing_failed(channel)
        self.report("bad_listing", where, reason)

    def listed(
        self, channel: Channel, entries: list[ListingEntry], unreadable: int = 0, where: str = ""
    ) -> Iterator[Any]:
        """The one loop over a listing page's entries, for every platform: each goes to the
        policy, and what it says to fetch becomes a page request or an item from the listing.
        ``unreadable``: records the page held that name no article (no link)."""
        stats = self.crawler.stats
        stats.inc_value("govcrawl/listing/entries", len(entries))
        if unreadable:
            stats.inc_value("govcrawl/listing/unreadable_records", unreadable)
            self.policy.unreadable(channel.code, unreadable)
            self.logger.warning("%s: %d record(s) without a link could not be read", where,
                                unreadable)  # fmt: skip
        for entry in entries:
            if self.note_entry(entry, channel):
                yield from self.handle_entry(entry, channel)

    def handle_entry(self, entry: ListingEntry, channel: Channel) -> Iterator[Any]:
        """An entry to fetch: its page when the listing has no body (or the article was
        withdrawn) and the page is on the profile's origin, else an item from the listing alone."""
        for problem in entry.problems:
            self.crawler.stats.inc_value(f"govcrawl/listing/bad_field/{problem}")
            self.logger.warning("record %s (%s): field %r is unreadable; ignored",
                                entry.platform_id, entry.url, problem)  # fmt: skip
        needs_page = body_is_empty(entry.body_html) and entry.url and not entry.external
        if needs_page and self.may_fetch(entry.url):
            yield self.article_request(entry.url, entry, channel)
            return
        if self.withdrawn(entry) and entry.url and not entry.external and self.may_fetch(entry.url):
            # withdrawn, and listed with its body: only its page can say it is back (a portal's
            # search index goes on listing articles whose page it deleted); the listing stays
            # the source of what is stored
            yield self.article_request(entry.url, entry, channel)
            return
        if needs_page:  # never requested: only the profile's origin is
            self.crawler.stats.inc_value("govcrawl/listing/off_host")
            self.logger.info(
                "record %s: page %s is on another host; kept from the listing, not fetched",
                entry.platform_id, entry.url,
            )  # fmt: skip
        if entry.external:
            self.crawler.stats.inc_value("govcrawl/listing/external")
        yield self.item_from(entry, channel, page=None)

    def withdrawn(self, entry: ListingEntry) -> bool:
        """True when an earlier run withdrew the article the entry names."""
        key = self.entry_key(entry)
        known = self.policy.memory.articles.get(key) if key is not None else None
        return known is not None and known.withdrawn

    def listing_page_done(
        self, channel: Channel, total: int | None, page_size: int, last: bool = False
    ) -> bool:
        """A listing page went through :meth:`note_entry`; True when paging should go on."""
        if total is not None:  # what the portal says the channel holds (progress, run record)
            self.crawler.stats.set_value(f"govcrawl/listing/total/{channel.code}", total)
        decision = self.policy.page_listed(
            channel.code, total, page_size, last=last, max_pages=self.max_pages
        )
        if decision is Paging.KNOWN:
            self.crawler.stats.inc_value("govcrawl/listing/stopped_early")
            self.logger.info(
                "channel %s: a page of known, unchanged entries and the counts agree; "
                "stopping here", channel.code,
            )  # fmt: skip
        elif decision is Paging.CUT:
            self.crawler.stats.inc_value("govcrawl/listing/cut")
            self.logger.warning(
                "channel %s: paging stopped before a trustworthy end (total %s); nothing is "
                "concluded from what it did not list", channel.code, total,
            )  # fmt: skip
        return decision is Paging.NEXT

    def follow_up(self) -> None:
        """Once every listing is done: confirm what full listings lacked, re-check due pages."""
        checks = self.policy.follow_ups() if not self.single_url else []
        for check in checks:
            self.crawler.stats.inc_value(f"govcrawl/{check.purpose}/requests")
            self.crawler.engine.crawl(self.check_request(check))
        if checks:
            raise DontCloseSpider

    def check_request(self, check: PageCheck) -> scrapy.Request:
        """A conditional GET of a known article's page."""
        headers = {}
        if check.etag:
            headers["If-None-Match"] = check.etag
        if check.last_modified:
            headers["If-Modified-Since"] = check.last_modified
        return scrapy.Request(
            check.url,
            headers=headers,
            callback=self.parse_article,
            errback=self.on_error,
            cb_kwargs={"entry": None, "channel": None},
            meta={"handle_httpstatus_list": [304], "govcrawl_check": check},
            dont_filter=True,
        )

    def _selected_channels(self) -> list[Channel]:
        channels = list(self.profile.channels)
        if self.only_channels:
            unknown = self.only_channels - {c.code for c in channels}
            if unknown:
                raise ValueError(
                    f"profile {self.profile.name!r} has no channel(s) {sorted(unknown)}"
                )
            channels = [c for c in channels if c.code in self.only_channels]
        return channels

    # --- navigation ------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.single_url:
            yield self.article_request(self.single_url, None, self._channel_of(self.single_url))
            return
        for channel in self._selected_channels():
            for request in self.platform.channel_requests(channel):
                yield request

    def _channel_of(self, url: str) -> Channel | None:
        """The profile's channel a pasted URL belongs to, when its path says so."""
        code = self.platform.channel_of(url)
        if code is None:
            return None
        return next((c for c in self.profile.channels if c.code == code), Channel(code=code))

    def article_request(
        self, url: str, entry: ListingEntry | None, channel: Channel | None
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.on_error,
            cb_kwargs={"entry": entry, "channel": channel},
        )

    def _known_key(
        self, request: scrapy.Request, entry: ListingEntry | None
    ) -> tuple[str | None, str]:
        """The article a page request is about, and why it was made (fetch, recheck, confirm)."""
        check = request.meta.get("govcrawl_check")
        if check is not None:
            return check.key, check.purpose
        return (self.entry_key(entry) if entry is not None else None), "fetch"

    def parse_article(
        self, response: Response, entry: ListingEntry | None, channel: Channel | None
    ) -> Iterator[ArticleItem]:
        key, purpose = self._known_key(response.request, entry)

        def answer(kind: PageAnswer, page_hash: str | None = None) -> bool:
            return key is not None and self.policy.page_answered(key, kind, page_hash, purpose)

        if response.status == 304:
            self.crawler.stats.inc_value("govcrawl/recheck/not_modified")
            answer(PageAnswer.NOT_MODIFIED)
            return
        if not hasattr(response, "text"):
            ctype = response.headers.get("Content-Type", b"").decode(errors="replace")
            self.report("not_html", response.url, f"{ctype} is not a page", entry, channel=channel)
            answer(PageAnswer.FAILED)
            return
        text = response.text
        if text.count("\ufffd") > max(3, len(text) * UNDECODABLE_SHARE):
            self.report("undecodable", response.url, f"cannot be decoded as {response.encoding}",
                        entry, channel=channel)  # fmt: skip
            answer(PageAnswer.FAILED)
            return
        if is_challenge_page(text):
            self.report("blocked", response.url, f"JavaScript challenge page (HTTP {response.status})",
                        entry, channel=channel)  # fmt: skip
            answer(PageAnswer.FAILED)
            return
        page = extract_article(text, response.url)
        listing_body = entry is not None and not body_is_empty(entry.body_html)
        if body_is_empty(page.body_html) and (not listing_body or is_not_found_page(text)):
            if is_not_found_page(text):
                self.gone(response.url, key, purpose,
                          f"a 'page not found' page (HTTP {response.status})", entry)  # fmt: skip
                return
            # an error page served with 200 ("系统繁忙"), or a page whose layout changed: storing
            # the listing's title with an empty body would hide the article from every later run
            self.report("no_body", response.url, "the page holds no article body", entry,
                        channel=channel)  # fmt: skip
            answer(PageAnswer.FAILED)
            return
        page_hash = hashlib.sha256(f"{page.title}\x1e{page.body_html}".encode()).hexdigest()
        if key is not None and purpose != "fetch" and not answer(PageAnswer.OK, page_hash):
            return  # re-checked: the same page as last time
        if purpose == "fetch":
            answer(PageAnswer.OK, page_hash)
        if listing_body:  # a withdrawn article's page, asked whether it is back: it is
            item = self.item_from(entry, channel, page=None, url=response.url)
        else:
            stats = self.crawler.stats
            stats.inc_value(f"govcrawl/body/extractor/{page.body_extractor}")
            for field, how in page.provenance.items():
                stats.inc_value(f"govcrawl/extractor/{field}/{how}")
            for repair in page.repairs:
                stats.inc_value(f"govcrawl/page/repaired/{repair}")
            item = self.item_from(entry, channel, page=page, url=response.url)
        item["etag"] = (response.headers.get("ETag") or b"").decode("latin-1") or None
        item["last_modified"] = (response.headers.get("Last-Modified") or b"").decode(
            "latin-1"
        ) or None
        item["page_hash"] = page_hash
        if purpose != "fetch" and key is not None and not item.get("platform_id"):
            item["platform_id"] = platform_id_of(key)  # the same article, not a new one
        yield item

    def gone(
        self,
        url: str,
        key: str | None,
        purpose: str,
        reason: str,
        entry: ListingEntry | None = None,
    ) -> None:
        """An article's own page says it is gone (404, 410, a "page not found" page): withdrawn
        if govcrawl had stored it, else reported as gone. Neither is an error: the portal
        answered, and what it said is kept."""
        known = self.policy.memory.articles.get(key) if key is not None else None
        if known is None:
            # with its key, not its channel: a later run that lists it asks its page again (it
            # may have been published late), without holding the channel's paging for it
            self.report("gone", url, reason, entry, level="warning")
            return
        self.policy.page_answered(key, PageAnswer.GONE, purpose=purpose)  # type: ignore[arg-type]
        self.crawler.stats.inc_value("govcrawl/pages/gone")
        if known.withdrawn:
            self.logger.info("article %s is still gone (%s)", url, reason)
        else:
            self.logger.warning("article %s is gone (%s): marked withdrawn", url, reason)

    def item_from(
        self,
        entry: ListingEntry | None,
        channel: Channel | None,
        page: ArticlePage | None,
        url: str | None = None,
    ) -> ArticleItem:
        """Merge the listing and the page. On the current platform the listing JSON is the
        source and wins; a JCMS listing is a link and a date, so its page wins."""
        listing_first = self.platform.listing_first

        def pick(field: str) -> Any:
            from_entry = getattr(entry, field, None) if entry else None
            from_page = getattr(page, field, None) if page else None
            return (from_entry or from_page) if listing_first else (from_page or from_entry)

        platform_id = entry.platform_id if entry and entry.platform_id else ""
        listing_hash = listing_fingerprint(entry) if entry else None
        if not platform_id and url:
            platform_id = self.platform.platform_id(url) or ""
        extra: dict[str, Any] = {}
        if page and page.column_name:
            extra["column_name"] = page.column_name
        if page:
            extra.update(page.public_info)
        return ArticleItem(
            site=self.profile.name,
            channels=[channel.code] if channel else [],
            url=(entry.url if entry else None) or url,
            platform_id=platform_id,
            title=pick("title") or "",
            published=pick("published"),
            source=pick("source") or "",
            author=pick("author") or "",
            body_html=page.body_html if page else entry.body_html,
            images=list(entry.images) if entry else [],
            extra=extra,
            fetched_from="page" if page else "listing",
            attachments=list(page.attachments) if page else [],
            listing_attachments=list(entry.attachments) if entry else [],
            listing_hash=listing_hash,
        )

    def on_error(self, failure: Failure) -> None:
        request = failure.request
        response = getattr(failure.value, "response", None)
        if response is not None:
            reason = f"HTTP {response.status}"
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        is_page = request.callback == self.parse_article
        entry = request.cb_kwargs.get("entry") if is_page else None
        channel = request.cb_kwargs.get("channel") if entry is not None else None
        key, purpose = self._known_key(request, entry) if is_page else (None, "fetch")
        listing_channel = request.cb_kwargs.get("channel") if not is_page else None
        if isinstance(listing_channel, Channel):
            self.listing_failed(listing_channel)  # a listing page failed: nothing concluded
        if response is not None and response.status in GONE_STATUSES and is_page:
            self.gone(request.url, key, purpose, reason, entry)
            return
        if key is not None:
            self.policy.page_answered(key, PageAnswer.FAILED, purpose=purpose)
        if response is not None and is_challenge_page(getattr(response, "text", "")):
            self.report("blocked", request.url, f"JavaScript challenge page ({reason})", entry,
                        channel=channel)  # fmt: skip
            return
        self.crawler.stats.inc_value("govcrawl/fetch/failed")
        self.report("fetch_failed", request.url, reason, entry, channel=channel)

"""The ``portal`` spider: crawls any portal described by a site profile.

    scrapy crawl portal -a site=nync                 # a profile by name
    scrapy crawl portal -a site=path/to/site.toml    # or by path
    scrapy crawl portal -a site=nync -a channels=bcyb,fzjz -a max_pages=3
    scrapy crawl portal -a site=nync -a url=<article url>   # one page only

The spider only decides which URL to fetch next; fields come from ``crawler.extraction``
and are normalised, validated, deduplicated and stored by the pipelines.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.extraction.article_page import extract_article, is_challenge_page
from crawler.extraction.body import body_is_empty
from crawler.extraction.querylist import (
    ListingEntry,
    ListingError,
    build_query_form,
    find_unitid,
    parse_listing,
)
from crawler.extraction.urls import same_host
from crawler.items import ArticleItem
from crawler.profiles import Channel, SiteProfile, load_profile
from crawler.signals import issue_reported


class PortalSpider(scrapy.Spider):
    name = "portal"
    profile: SiteProfile

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.profile = load_profile(
            spider.site_arg, crawler.settings.get("GOVCRAWL_PROFILES_DIR")
        )
        pol = spider.profile.politeness
        # The profile tunes politeness per site; `-s` on the command line still wins.
        crawler.settings.set("DOWNLOAD_DELAY", pol.download_delay, priority="spider")
        crawler.settings.set(
            "CONCURRENT_REQUESTS_PER_DOMAIN", pol.concurrent_requests, priority="spider"
        )
        crawler.settings.set("AUTOTHROTTLE_ENABLED", pol.autothrottle, priority="spider")
        spider.allowed_domains = list(spider.profile.allowed_hosts)
        return spider

    def __init__(
        self,
        site: str | None = None,
        channels: str | None = None,
        max_pages: str | int | None = None,
        url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not site:
            raise ValueError("usage: scrapy crawl portal -a site=<profile name or path>")
        self.site_arg = site
        self.only_channels = (
            {c.strip() for c in channels.split(",") if c.strip()} if channels else None
        )
        self.max_pages = int(max_pages) if max_pages else None
        self.single_url = url

    # --- bookkeeping ----------------------------------------------------------------------
    def report(self, kind: str, url: str | None, reason: str, level: str = "error") -> None:
        """Count, log and hand to the run record a URL that did not become an article."""
        self.crawler.stats.inc_value(f"govcrawl/issues/{kind}")
        getattr(self.logger, level)("%s: %s (%s)", kind, url, reason)
        self.crawler.signals.send_catch_log(
            issue_reported, kind=kind, url=url, reason=reason, spider=self
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
            yield scrapy.Request(
                self.single_url,
                callback=self.parse_article,
                errback=self.on_error,
                cb_kwargs={"entry": None, "channel": None},
            )
            return
        for request in self.channel_requests():
            yield request

    def channel_requests(self) -> Iterator[scrapy.Request]:
        for channel in self._selected_channels():
            if channel.unitid or self.profile.query_style == "array":
                yield self.listing_request(channel, channel.unitid, page=1)
            else:
                yield scrapy.Request(
                    self.channel_url(channel),
                    callback=self.parse_channel_page,
                    errback=self.on_error,
                    cb_kwargs={"channel": channel},
                )

    def channel_url(self, channel: Channel) -> str:
        return f"{self.profile.base_url}/{self.profile.site_code}/{channel.code}/index.html"

    def parse_channel_page(self, response: Response, channel: Channel) -> Iterator[scrapy.Request]:
        unitid = find_unitid(response.text)
        if not unitid:
            self.report(
                "no_unitid",
                response.url,
                f"channel {channel.code!r}: no unitid in the page's list template; "
                f"set unitid for this channel in {self.profile.path or 'the profile'}",
            )
            return
        self.logger.info("channel %s: unitid %s read from %s", channel.code, unitid, response.url)
        yield self.listing_request(channel, unitid, page=1)

    def listing_request(
        self, channel: Channel, unitid: str | None, page: int, total: int | None = None
    ) -> scrapy.Request:
        form = build_query_form(
            site_code=self.profile.site_code,
            channel_code=channel.code,
            unitid=unitid,
            page=page,
            per_page=self.profile.per_page,
            style=self.profile.query_style,
        )
        return scrapy.FormRequest(
            self.profile.base_url + self.profile.query_path,
            formdata=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                "X-Requested-With": "XMLHttpRequest",
                "Referer": self.channel_url(channel),
                "Accept": "application/json, text/javascript, */*; q=0.01",
            },
            callback=self.parse_listing,
            errback=self.on_error,
            cb_kwargs={"channel": channel, "unitid": unitid, "page": page, "total": total},
            dont_filter=True,
        )

    def parse_listing(
        self, response: Response, channel: Channel, unitid: str | None, page: int, total: int | None
    ) -> Iterator[Any]:
        where = f"{response.url} channel={channel.code} page={page}"
        try:
            listing = parse_listing(response.text, self.profile.base_url)
        except (ListingError, AttributeError) as exc:
            self.crawler.stats.inc_value("govcrawl/listing/bad_reply")
            self.report("bad_listing", where, str(exc))
            if total is not None:  # a later page failed: the pages after it are still known
                yield from self._next_listing(channel, unitid, page, total)
            return
        self.crawler.stats.inc_value("govcrawl/listing/pages")
        self.crawler.stats.inc_value("govcrawl/listing/entries", len(listing.entries))
        if page == 1:
            self.logger.info("channel %s: %d records on the portal", channel.code, listing.total)
        for entry in listing.entries:
            yield from self.handle_entry(entry, channel)
        yield from self._next_listing(channel, unitid, page, listing.total)

    def _next_listing(
        self, channel: Channel, unitid: str | None, page: int, total: int
    ) -> Iterator[scrapy.Request]:
        pages = math.ceil(total / self.profile.per_page) if total else 0
        if page < pages and (self.max_pages is None or page < self.max_pages):
            yield self.listing_request(channel, unitid, page + 1, total)

    def handle_entry(self, entry: ListingEntry, channel: Channel) -> Iterator[Any]:
        for problem in entry.problems:
            self.crawler.stats.inc_value(f"govcrawl/listing/bad_field/{problem}")
            self.logger.warning(
                "record %s (%s): field %r is not valid JSON; ignored",
                entry.platform_id,
                entry.url,
                problem,
            )
        needs_page = body_is_empty(entry.body_html) and entry.url and not entry.external
        if needs_page and same_host(entry.url, self.profile.allowed_hosts):
            yield scrapy.Request(
                entry.url,
                callback=self.parse_article,
                errback=self.on_error,
                cb_kwargs={"entry": entry, "channel": channel},
            )
            return
        if entry.external:
            self.crawler.stats.inc_value("govcrawl/listing/external")
        yield self.item_from(entry, channel, page=None)

    def parse_article(
        self, response: Response, entry: ListingEntry | None, channel: Channel | None
    ) -> Iterator[ArticleItem]:
        if not hasattr(response, "text"):
            self.report(
                "not_html",
                response.url,
                f"{response.headers.get('Content-Type', b'').decode(errors='replace')} is not a page",
            )
            return
        if is_challenge_page(response.text):
            self.crawler.stats.inc_value("govcrawl/blocked")
            self.report(
                "blocked", response.url, f"JavaScript challenge page (HTTP {response.status})"
            )
            return
        page = extract_article(response.text, response.url)
        self.crawler.stats.inc_value(f"govcrawl/body/extractor/{page.body_extractor}")
        yield self.item_from(entry, channel, page=page, url=response.url)

    def item_from(
        self, entry: ListingEntry | None, channel: Channel | None, page: Any, url: str | None = None
    ) -> ArticleItem:
        """Merge what the listing said with what the page said; the listing wins where both speak."""
        item = ArticleItem(
            site=self.profile.name,
            channels=[channel.code] if channel else [],
            url=(entry.url if entry else None) or url,
            platform_id=entry.platform_id if entry else "",
            title=(entry.title if entry else "") or (page.title if page else ""),
            published=(entry.published if entry else None) or (page.published if page else None),
            source=(entry.source if entry else "") or (page.source if page else ""),
            author=(entry.author if entry else "") or (page.author if page else ""),
            body_html=page.body_html if page else entry.body_html,
            images=list(entry.images) if entry else [],
            extra={"column_name": page.column_name} if page and page.column_name else {},
            fetched_from="page" if page else "listing",
        )
        return item

    def on_error(self, failure: Failure) -> None:
        request = failure.request
        response = getattr(failure.value, "response", None)
        reason = (
            f"HTTP {response.status}"
            if response is not None
            else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        )
        self.crawler.stats.inc_value("govcrawl/fetch/failed")
        self.report("fetch_failed", request.url, reason)

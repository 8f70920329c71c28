"""The ``portal`` spider: crawls any portal described by a site profile.

    scrapy crawl portal -a site=nync                 # a profile by name
    scrapy crawl portal -a site=path/to/site.toml    # or by path
    scrapy crawl portal -a site=nync -a channels=bcyb,fzjz -a max_pages=3
    scrapy crawl portal -a site=nync -a url=<article url>   # one page only
    scrapy crawl portal -a site=nync -a mode=full           # ignore what earlier runs saw

The spider only decides which URL to fetch next (per platform: ``querylist.py``,
``jcms.py``); fields come from ``crawler.extraction`` and are normalised, validated,
deduplicated and stored by the pipelines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.extraction.article_page import ArticlePage, extract_article, is_challenge_page
from crawler.extraction.body import body_is_empty
from crawler.extraction.jcms import article_ids, parse_public_info
from crawler.extraction.listing import ListingEntry, article_key, listing_fingerprint
from crawler.extraction.text import CHINA_TZ
from crawler.extraction.urls import canonicalize_url
from crawler.items import ArticleItem
from crawler.profiles import Channel, SiteProfile, load_profile
from crawler.signals import issue_reported
from crawler.spiders.jcms import JcmsNavigation
from crawler.spiders.querylist import QueryListNavigation
from crawler.state import CrawlState

# More than this share of U+FFFD in a decoded page means the charset was wrong: no row.
UNDECODABLE_SHARE = 0.001


class PortalSpider(QueryListNavigation, JcmsNavigation, scrapy.Spider):
    name = "portal"
    profile: SiteProfile
    state: CrawlState
    recheck_cutoff: datetime

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
        crawler.settings.set("ROBOTSTXT_OBEY", pol.obey_robots, priority="spider")
        spider.allowed_domains = list(spider.profile.allowed_hosts)
        # what earlier runs saw; CrawlStateKeeper loads it when the spider opens (without a
        # database, as in a parse-only run, every entry counts as new)
        spider.state = CrawlState.empty(spider.profile.name)
        # entries published after this are re-listed (and re-checked) by every run
        spider.recheck_cutoff = datetime.now(CHINA_TZ) - timedelta(days=spider.profile.recheck_days)
        return spider

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

    def recheck_request(self, entry: ListingEntry, channel: Channel) -> Iterator[scrapy.Request]:
        """A conditional GET of a known, unchanged entry's page when it is in the re-check
        window: its listing may not show an edit of the body (JCMS listings never do)."""
        published = entry.published_at
        if self.state.full or not entry.url or published is None or published < self.recheck_cutoff:
            return
        if self.profile.platform == "querylist" and not body_is_empty(entry.body_html):
            return  # the body is in the listing, and the fingerprint already covers it
        headers = {}
        etag, last_modified = self.state.validators.get(self.entry_key(entry) or "", (None, None))
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        self.crawler.stats.inc_value("govcrawl/recheck/requests")
        request = self.article_request(entry.url, entry, channel)
        request.headers.update(headers)
        request.meta["handle_httpstatus_list"] = [304]
        yield request

    def note_entry(self, entry: ListingEntry, channel: Channel) -> str:
        """Record a listed entry and say what it is: ``unchanged`` (an earlier run stored it
        exactly as listed now), ``retry`` (an earlier run could not store it: fetch it again,
        but it is no news) or ``fresh``."""
        key = self.entry_key(entry)
        self.state.saw(key, channel.code, entry.published_at, entry.pinned)
        if self.state.unchanged(key, listing_fingerprint(entry)):
            self.crawler.stats.inc_value("govcrawl/listing/unchanged_entries")
            return "unchanged"
        if self.state.failed_before(key):
            self.crawler.stats.inc_value("govcrawl/listing/retried_entries")
            self.state.retried(key, channel.code)
            return "retry"
        return "fresh"

    def listing_failed(self, channel: Channel) -> None:
        self.state.channel_failed(channel.code)

    def listing_page_done(
        self, channel: Channel, entries: list[ListingEntry], fresh: int, last_page: bool
    ) -> bool:
        """Record a listing page; True when paging this channel should go on.

        A run stops early at a page of known, unchanged entries, once the channel has been
        listed to its end before, and once the page reaches past the re-check window."""
        if last_page:
            if channel.code not in self.state.failed_channels:
                self.state.channel_listed_to_end(channel.code)
            return False
        if not entries or fresh or not self.state.may_stop_early(channel.code):
            return True
        dates = [e.published_at for e in entries if not e.pinned and e.published_at]
        if dates and min(dates) >= self.recheck_cutoff:
            return True  # still inside the re-check window: keep listing
        self.crawler.stats.inc_value("govcrawl/listing/stopped_early")
        self.logger.info(
            "channel %s: a whole page of known, unchanged entries; stopping here", channel.code
        )
        return False

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
            if self.profile.platform == "jcms":
                requests = self.jcms_channel_requests(channel)
            else:
                requests = self.querylist_channel_requests(channel)
            for request in requests:
                yield request

    def _channel_of(self, url: str) -> Channel | None:
        """The profile's channel a pasted URL belongs to, when its path says so."""
        ids = article_ids(url)
        for channel in self.profile.channels:
            if (
                ids and ids[0] == channel.code
            ) or f"/{self.profile.site_code}/{channel.code}/" in url:
                return channel
        return Channel(code=ids[0]) if ids else None

    def article_request(
        self, url: str, entry: ListingEntry | None, channel: Channel | None
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.on_error,
            cb_kwargs={"entry": entry, "channel": channel},
        )

    def parse_article(
        self, response: Response, entry: ListingEntry | None, channel: Channel | None
    ) -> Iterator[ArticleItem]:
        if not hasattr(response, "text") and response.status != 304:
            ctype = response.headers.get("Content-Type", b"").decode(errors="replace")
            self.report("not_html", response.url, f"{ctype} is not a page", entry, channel=channel)
            return
        if response.status == 304:
            self.crawler.stats.inc_value("govcrawl/recheck/not_modified")
            return
        text = response.text
        if text.count("\ufffd") > max(3, len(text) * UNDECODABLE_SHARE):
            self.report("undecodable", response.url, f"cannot be decoded as {response.encoding}",
                        entry, channel=channel)  # fmt: skip
            return
        if is_challenge_page(text):
            self.report("blocked", response.url, f"JavaScript challenge page (HTTP {response.status})",
                        entry, channel=channel)  # fmt: skip
            return
        page = extract_article(text, response.url)
        if body_is_empty(page.body_html) and (entry is None or body_is_empty(entry.body_html)):
            # an error page served with 200 ("系统繁忙"), or a page whose layout changed: storing
            # the listing's title with an empty body would hide the article from every later run
            self.report("no_body", response.url, "the page holds no article body", entry,
                        channel=channel)  # fmt: skip
            return
        self.crawler.stats.inc_value(f"govcrawl/body/extractor/{page.body_extractor}")
        item = self.item_from(entry, channel, page=page, url=response.url, html=text)
        item["etag"] = (response.headers.get("ETag") or b"").decode("latin-1") or None
        item["last_modified"] = (response.headers.get("Last-Modified") or b"").decode(
            "latin-1"
        ) or None
        yield item

    def item_from(
        self,
        entry: ListingEntry | None,
        channel: Channel | None,
        page: ArticlePage | None,
        url: str | None = None,
        html: str | None = None,
    ) -> ArticleItem:
        """Merge the listing and the page. On the current platform the listing JSON is the
        source and wins; a JCMS listing is a link and a date, so its page wins."""
        listing_first = self.profile.platform == "querylist"

        def pick(field: str) -> Any:
            from_entry = getattr(entry, field, None) if entry else None
            from_page = getattr(page, field, None) if page else None
            return (from_entry or from_page) if listing_first else (from_page or from_entry)

        platform_id = entry.platform_id if entry and entry.platform_id else ""
        listing_hash = listing_fingerprint(entry) if entry else None
        if not platform_id and self.profile.platform == "jcms" and url:
            platform_id = (article_ids(url) or ("", ""))[1]
        extra: dict[str, Any] = {}
        if page and page.column_name:
            extra["column_name"] = page.column_name
        if html and self.profile.platform == "jcms":
            extra.update(parse_public_info(html))
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
            listing_hash=listing_hash,
        )

    def on_error(self, failure: Failure) -> None:
        request = failure.request
        response = getattr(failure.value, "response", None)
        if response is not None:
            reason = f"HTTP {response.status}"
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        entry = request.cb_kwargs.get("entry") if request.callback == self.parse_article else None
        channel = request.cb_kwargs.get("channel") if entry is not None else None
        if response is not None and is_challenge_page(getattr(response, "text", "")):
            self.report("blocked", request.url, f"JavaScript challenge page ({reason})", entry,
                        channel=channel)  # fmt: skip
            return
        self.crawler.stats.inc_value("govcrawl/fetch/failed")
        self.report("fetch_failed", request.url, reason, entry, channel=channel)
        if response is not None and response.status in (404, 410) and entry is not None:
            key = self.entry_key(entry)
            if self.state.is_known(key):
                self.logger.warning(
                    "article %s is gone (HTTP %d): marked withdrawn", request.url, response.status
                )
                self.state.article_gone(key)

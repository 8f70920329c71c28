"""The current Jiangxi platform (nync since 2025): channel page, then ``POST /queryList``.

The channel page (its path per site: ``[querylist] channel_path``) gives the list script's
unitid and may embed the first records (``articleList``): those are listing page 1, and
``/queryList`` goes on from the page holding the first record they do not cover. Records are
JSON with the body in ``content.content``; a record without one is fetched from its page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.extraction.querylist import (
    ChannelPage,
    ListingError,
    build_query_form,
    describe_channel_page,
    parse_channel_page,
    parse_listing,
)
from crawler.platforms import register
from crawler.platforms.base import Platform
from crawler.profiles import Channel, SiteProfile

_CONTENT_ID = re.compile(r"/content/content_(\d+)\.html?$")


@register
class QueryListPlatform(Platform):
    name = "querylist"
    listing_first = True  # the JSON listing is the source; the page fills its gaps

    @classmethod
    def check_profile(cls, profile: SiteProfile) -> str | None:
        if not profile.site_code:
            return "platform 'querylist' needs site_code (e.g. 'jxsnynct')"
        return None

    @classmethod
    def describe_listing(cls, html: str, url: str) -> dict[str, Any] | None:
        """A channel page: the records it embeds, the list script's parameters (the pager of
        ``/queryList``) and the channel tree."""
        page = describe_channel_page(html, url)
        if page is None:
            return None
        total = page.get("total")
        return {
            "kind": "querylist-channel",
            "url": url,
            # the replies of /queryList name the channel's total; its page seldom does
            "total": total if isinstance(total, int) else "unknown",
            "entries": [
                {
                    "title": e["title"],
                    "url": e["url"],
                    "date": e["published"],
                    "id": e["id"],
                    "pinned": e["pinned"],
                    "attachments": e["attachments"],
                }
                for e in page["entries"]
            ],  # fmt: skip
            "embedded_records": page["embedded_records"],
            "pager": {
                key: page[key]
                for key in ("site_code", "channel", "unitid", "query_style", "per_page")
            },
            "channels": page["channels"],
        }

    def platform_id(self, url: str) -> str | None:
        match = _CONTENT_ID.search(url.split("?")[0])
        return match.group(1) if match else None

    def channel_of(self, url: str) -> str | None:
        path = url.split("://", 1)[-1].split("/", 1)[-1]
        for channel in self.profile.channels:
            # the folder of the channel's page: /<site>/<code>/ or /<site>/col/<code>/
            page = self.profile.channel_url(channel.code).split("://", 1)[-1].split("/", 1)[-1]
            if path.startswith(page.rsplit("/", 1)[0] + "/"):
                return channel.code
        return None

    def channel_requests(self, channel: Channel) -> Iterator[scrapy.Request]:
        # without a unitid in the profile the channel page is read: for its unitid (which the
        # plain style posts) and for the first records it may embed (one GET instead of POSTs)
        if channel.unitid:
            yield self.listing_request(channel, channel.unitid, page=1)
        else:
            yield scrapy.Request(
                self.profile.channel_url(channel.code),
                callback=self.on_channel_page,
                errback=self.spider.on_error,
                cb_kwargs={"channel": channel},
            )

    def on_channel_page(self, response: Response, channel: Channel) -> Iterator[Any]:
        spider = self.spider
        page = parse_channel_page(getattr(response, "text", ""), self.profile.base_url)
        unitid = page.unitid
        if unitid:
            spider.logger.info(
                "channel %s: unitid %s read from %s", channel.code, unitid, response.url
            )
        elif self.profile.query_style == "plain":
            spider.report(
                "no_unitid",
                response.url,
                f"channel {channel.code!r}: no unitid in the page's list template; "
                f"set unitid for this channel in {self.profile.path or 'the profile'}",
            )
            return
        for problem in page.problems:
            spider.crawler.stats.inc_value(f"govcrawl/listing/bad_field/{problem}")
            spider.logger.warning("%s: embedded %s does not parse; ignored", response.url, problem)
        if page.entries:
            yield from self.embedded_listing(page, channel, unitid)
        else:
            yield self.listing_request(channel, unitid, page=1)

    def embedded_listing(
        self, page: ChannelPage, channel: Channel, unitid: str | None
    ) -> Iterator[Any]:
        """The records the channel page embeds are the listing's first page; /queryList goes
        on from the page that holds the first record not embedded. With 50 embedded and 15 a
        page that is page 4 (records 46–60): its first five were listed already, and the
        policy counts them as repeats, not as news."""
        spider = self.spider
        entries = page.entries or []
        spider.crawler.stats.inc_value("govcrawl/listing/embedded_pages")
        spider.logger.info(
            "channel %s: %d records embedded in its page", channel.code, len(entries)
        )
        yield from spider.listed(channel, entries)
        # the page says nothing of the channel's total: the replies of /queryList do
        if spider.listing_page_done(channel, page.total, len(entries)):
            next_page = len(entries) // self.profile.per_page + 1
            yield self.listing_request(channel, unitid, next_page, page.total)

    def listing_request(
        self, channel: Channel, unitid: str | None, page: int, total: int | None = None
    ) -> scrapy.Request:
        profile = self.profile
        form = build_query_form(
            site_code=profile.site_code,
            channel_code=channel.code,
            unitid=unitid,
            page=page,
            per_page=profile.per_page,
            style=profile.query_style,
        )
        return scrapy.FormRequest(
            profile.base_url + profile.query_path,
            formdata=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                "X-Requested-With": "XMLHttpRequest",
                "Referer": profile.channel_url(channel.code),
                "Accept": "application/json, text/javascript, */*; q=0.01",
            },
            callback=self.on_listing,
            errback=self.spider.on_error,
            cb_kwargs={"channel": channel, "unitid": unitid, "page": page, "total": total},
            dont_filter=True,
        )

    def on_listing(
        self, response: Response, channel: Channel, unitid: str | None, page: int, total: int | None
    ) -> Iterator[Any]:
        spider = self.spider
        where = f"{response.url} channel={channel.code} page={page}"
        try:
            if not hasattr(response, "text"):
                ctype = response.headers.get("Content-Type", b"").decode(errors="replace")
                raise ListingError(f"reply is not text ({ctype})")
            listing = parse_listing(response.text, self.profile.base_url)
        except ListingError as exc:
            spider.bad_listing(channel, where, str(exc))
            if total is not None and spider.policy.expects_more(channel.code):
                # a later page failed: the pages after it are still listed
                if page * self.profile.per_page < total and (
                    spider.max_pages is None or page < spider.max_pages
                ):
                    yield self.listing_request(channel, unitid, page + 1, total)
            return
        spider.crawler.stats.inc_value("govcrawl/listing/pages")
        if total is None:  # the channel's first reply
            spider.logger.info("channel %s: %d records on the portal", channel.code, listing.total)
        yield from spider.listed(channel, listing.entries)
        # the portal's own page size may be smaller than asked: pages go on until they hold
        # the total, run out, or repeat (the policy decides)
        if spider.listing_page_done(channel, listing.total, self.profile.per_page):
            yield self.listing_request(channel, unitid, page + 1, listing.total)

"""Navigation of the current platform: channel page (for its unitid and the records it embeds),
then POST /queryList."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.extraction.body import body_is_empty
from crawler.extraction.listing import ListingEntry
from crawler.extraction.querylist import (
    ChannelPage,
    ListingError,
    build_query_form,
    parse_channel_page,
    parse_listing,
)
from crawler.profiles import Channel


class QueryListNavigation:
    """Mixed into PortalSpider for profiles with ``platform = "querylist"``."""

    def querylist_channel_requests(self, channel: Channel) -> Iterator[scrapy.Request]:
        # without a unitid in the profile the channel page is read: for its unitid (which the
        # plain style posts) and for the first records it may embed (one GET instead of POSTs)
        if channel.unitid:
            yield self.listing_request(channel, channel.unitid, page=1)
        else:
            yield scrapy.Request(
                self.channel_url(channel),
                callback=self.parse_channel_page,
                errback=self.on_error,
                cb_kwargs={"channel": channel},
            )

    def channel_url(self, channel: Channel) -> str:
        return self.profile.channel_url(channel.code)

    def parse_channel_page(self, response: Response, channel: Channel) -> Iterator[Any]:
        page = parse_channel_page(getattr(response, "text", ""), self.profile.base_url)
        unitid = page.unitid
        if unitid:
            self.logger.info(
                "channel %s: unitid %s read from %s", channel.code, unitid, response.url
            )
        elif self.profile.query_style == "plain":
            self.report(
                "no_unitid",
                response.url,
                f"channel {channel.code!r}: no unitid in the page's list template; "
                f"set unitid for this channel in {self.profile.path or 'the profile'}",
            )
            return
        for problem in page.problems:
            self.crawler.stats.inc_value(f"govcrawl/listing/bad_field/{problem}")
            self.logger.warning("%s: embedded %s does not parse; ignored", response.url, problem)
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
        entries = page.entries or []
        self.crawler.stats.inc_value("govcrawl/listing/embedded_pages")
        self.crawler.stats.inc_value("govcrawl/listing/entries", len(entries))
        self.logger.info("channel %s: %d records embedded in its page", channel.code, len(entries))
        for entry in entries:
            if self.note_entry(entry, channel):
                yield from self.handle_entry(entry, channel)
        # the page says nothing of the channel's total: the replies of /queryList do
        if self.listing_page_done(channel, page.total, len(entries)):
            next_page = len(entries) // self.profile.per_page + 1
            yield self.listing_request(channel, unitid, next_page, page.total)

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
            if not hasattr(response, "text"):
                raise ListingError(
                    f"reply is not text ({response.headers.get('Content-Type', b'').decode(errors='replace')})"
                )
            listing = parse_listing(response.text, self.profile.base_url)
        except ListingError as exc:
            self.crawler.stats.inc_value("govcrawl/listing/bad_reply")
            self.listing_failed(channel)
            self.report("bad_listing", where, str(exc))
            if total is not None and self.policy.expects_more(channel.code):
                # a later page failed: the pages after it are still listed
                if page * self.profile.per_page < total and (
                    self.max_pages is None or page < self.max_pages
                ):
                    yield self.listing_request(channel, unitid, page + 1, total)
            return
        self.crawler.stats.inc_value("govcrawl/listing/pages")
        self.crawler.stats.inc_value("govcrawl/listing/entries", len(listing.entries))
        if total is None:  # the channel's first reply
            self.logger.info("channel %s: %d records on the portal", channel.code, listing.total)
        for entry in listing.entries:
            if self.note_entry(entry, channel):
                yield from self.handle_entry(entry, channel)
        # the portal's own page size may be smaller than asked: pages go on until they hold
        # the total, run out, or repeat (the policy decides)
        if self.listing_page_done(channel, listing.total, self.profile.per_page):
            yield self.listing_request(channel, unitid, page + 1, listing.total)

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
        if needs_page and self.may_fetch(entry.url):
            yield self.article_request(entry.url, entry, channel)
            return
        if needs_page:  # never requested: only the profile's hosts are
            self.crawler.stats.inc_value("govcrawl/listing/off_host")
            self.logger.info(
                "record %s: page %s is on another host; kept from the listing, not fetched",
                entry.platform_id, entry.url,
            )  # fmt: skip
        if entry.external:
            self.crawler.stats.inc_value("govcrawl/listing/external")
        yield self.item_from(entry, channel, page=None)

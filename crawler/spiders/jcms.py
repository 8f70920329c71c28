"""Navigation of the legacy Hanweb JCMS layout.

The column page ``/col/col<id>/index.html`` embeds its first records in a ``<datastore>``
and the pager's total and parameters in scripts; later records come in batches from
``POST /module/web/jpage/dataproxy.jsp?startrecord=…&endrecord=…&perpage=…``. Batches may
overlap by a row: an entry already listed for the column is counted and skipped. A column
without ``totalRecord`` (paging only in ``<nextgroup>``) is paged until a batch brings nothing
new.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.extraction.jcms import JcmsListing, dataproxy_form, parse_column_page, parse_dataproxy
from crawler.profiles import Channel


class JcmsNavigation:
    """Mixed into PortalSpider for profiles with ``platform = "jcms"``."""

    def jcms_channel_requests(self, channel: Channel) -> Iterator[scrapy.Request]:
        yield scrapy.Request(
            self.column_url(channel),
            callback=self.parse_column_page,
            errback=self.on_error,
            cb_kwargs={"channel": channel},
        )

    def column_url(self, channel: Channel) -> str:
        return f"{self.profile.base_url}/col/col{channel.code}/index.html"

    def _pager_params(self, channel: Channel, found: dict[str, str]) -> dict[str, str]:
        """The profile's values win over the page's; the page's fill the gaps."""
        opts = self.profile.jcms
        params = dict(found)
        for key, value in (
            ("webid", opts.webid),
            ("webname", opts.webname),
            ("path", opts.path),
            ("unitid", channel.unitid),
        ):
            if value:
                params[key] = value
        params.setdefault("path", "/")
        return params

    def parse_column_page(self, response: Response, channel: Channel) -> Iterator[Any]:
        listing = parse_column_page(response.text, self.profile.base_url)
        params = self._pager_params(channel, listing.params)
        self.crawler.stats.inc_value("govcrawl/listing/pages")
        self.logger.info(
            "column %s: %s records on the portal, %d in the page",
            channel.code, listing.total if listing.total is not None else "?", len(listing.entries),
        )  # fmt: skip
        yield from self._jcms_entries(listing, channel, response.url)
        # without a totalRecord (paging only in <nextgroup>) batches go on until one brings
        # nothing new
        total = listing.total
        last = total is not None and total <= len(listing.entries) + listing.unreadable
        if not self.listing_page_done(channel, total, self.profile.jcms.per_page, last):
            return
        if not params.get("unitid"):
            self.listing_failed(channel)
            self.report(
                "no_unitid", response.url,
                f"column {channel.code}: {total} records but no pager unitid in the page; "
                f"set unitid for this channel in {self.profile.path or 'the profile'}",
            )  # fmt: skip
            return
        yield self.dataproxy_request(
            channel, params, len(listing.entries) + listing.unreadable + 1, total, batch_no=1
        )

    def dataproxy_request(
        self,
        channel: Channel,
        params: dict[str, str],
        start: int,
        total: int | None,
        batch_no: int,
    ) -> scrapy.Request:
        opts = self.profile.jcms
        end = start + opts.batch - 1 if total is None else min(start + opts.batch - 1, total)
        url = f"{self.profile.base_url}{opts.proxy_path}?startrecord={start}&endrecord={end}&perpage={opts.per_page}"
        return scrapy.FormRequest(
            url,
            formdata=dataproxy_form(params, channel.code),
            headers={"X-Requested-With": "XMLHttpRequest", "Referer": self.column_url(channel)},
            callback=self.parse_dataproxy,
            errback=self.on_error,
            cb_kwargs={
                "channel": channel,
                "params": params,
                "start": start,
                "end": end,
                "total": total,
                "batch_no": batch_no,
            },  # fmt: skip
            dont_filter=True,
        )

    def parse_dataproxy(
        self, response: Response, channel: Channel, params: dict[str, str], start: int, end: int,
        total: int | None, batch_no: int,
    ) -> Iterator[Any]:  # fmt: skip
        try:
            if not hasattr(response, "text"):
                raise ValueError("reply is not text")
            listing = parse_dataproxy(response.text, self.profile.base_url)
        except ValueError as exc:
            self.crawler.stats.inc_value("govcrawl/listing/bad_reply")
            self.listing_failed(channel)
            self.report("bad_listing", f"{response.url} column={channel.code}", str(exc))
            if total is None or end >= total or not self.policy.expects_more(channel.code):
                return
        else:
            self.crawler.stats.inc_value("govcrawl/listing/pages")
            yield from self._jcms_entries(listing, channel, response.url)
            total = total if total is not None else listing.total
            last = total is not None and end >= total
            if not self.listing_page_done(channel, total, self.profile.jcms.batch, last=last):
                return
        if self.max_pages is None or batch_no < self.max_pages:
            yield self.dataproxy_request(channel, params, end + 1, total, batch_no + 1)

    def _jcms_entries(self, listing: JcmsListing, channel: Channel, where: str) -> Iterator[Any]:
        """Requests (or items) for the entries the policy says to fetch."""
        if listing.unreadable:
            self.crawler.stats.inc_value("govcrawl/listing/unreadable_records", listing.unreadable)
            self.policy.unreadable(channel.code, listing.unreadable)
            self.logger.warning(
                "%s: %d record(s) without a link could not be read", where, listing.unreadable
            )
        self.crawler.stats.inc_value("govcrawl/listing/entries", len(listing.entries))
        for entry in listing.entries:
            # a row that an overlapping batch repeats is counted (listing/overlap) and skipped
            if not self.note_entry(entry, channel):
                continue
            if self.may_fetch(entry.url):
                yield self.article_request(entry.url, entry, channel)
            else:
                self.crawler.stats.inc_value("govcrawl/listing/external")
                yield self.item_from(entry, channel, page=None)

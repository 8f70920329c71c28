"""The legacy Hanweb JCMS layout.

The column page ``/col/col<id>/index.html`` embeds its first records in a ``<datastore>``
and the pager's total and parameters in scripts (or, without a ``param_…`` script, in its
``<nextgroup>`` link); later records come in batches from
``POST /module/web/jpage/dataproxy.jsp?startrecord=…&endrecord=…&perpage=…``. Batches may
overlap by a row: the policy counts an entry listed twice in a run once. A column without
``totalRecord`` is paged until a batch brings nothing new.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from crawler.extraction.jcms import (
    JcmsListing,
    article_ids,
    dataproxy_form,
    nextgroup_params,
    parse_column_page,
    parse_dataproxy,
)
from crawler.platforms import register
from crawler.platforms.base import Platform
from crawler.profiles import Channel, SiteProfile

_DATASTORE = re.compile(r"<datastore\b|<recordset\b|<totalrecord\b", re.I)


@register
class JcmsPlatform(Platform):
    name = "jcms"

    @classmethod
    def check_profile(cls, profile: SiteProfile) -> str | None:
        bad = [c.code for c in profile.channels if not c.code.isdigit()]
        if bad:
            return f"jcms channel codes are column ids (the digits of /col/col<id>/), got {bad}"
        return None

    @classmethod
    def describe_listing(cls, html: str, url: str) -> dict[str, Any] | None:
        """A column page (its embedded ``<datastore>``) or a ``dataproxy.jsp`` reply."""
        if not _DATASTORE.search(html):
            return None
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        if re.search(r"<datastore\b|<recordset\b", html, re.I):
            listing, kind = parse_column_page(html, site), "jcms-column"
        else:
            listing, kind = parse_dataproxy(html, site), "jcms-dataproxy"
        return {
            "kind": kind,
            "url": url,
            "total": listing.total if listing.total is not None else "unknown",
            "entries": [
                {"title": e.title, "url": e.url, "date": e.published} for e in listing.entries
            ],
            "unreadable_records": listing.unreadable,
            "pager": {**nextgroup_params(html), **listing.params},
        }

    def platform_id(self, url: str) -> str | None:
        ids = article_ids(url)
        return ids[1] if ids else None

    def channel_of(self, url: str) -> str | None:
        ids = article_ids(url)
        return ids[0] if ids else None

    def column_url(self, channel: Channel) -> str:
        return f"{self.profile.base_url}/col/col{channel.code}/index.html"

    def channel_requests(self, channel: Channel) -> Iterator[scrapy.Request]:
        yield scrapy.Request(
            self.column_url(channel),
            callback=self.on_column_page,
            errback=self.spider.on_error,
            cb_kwargs={"channel": channel},
        )

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

    def on_column_page(self, response: Response, channel: Channel) -> Iterator[Any]:
        spider = self.spider
        listing = parse_column_page(response.text, self.profile.base_url)
        params = self._pager_params(channel, listing.params)
        spider.crawler.stats.inc_value("govcrawl/listing/pages")
        spider.logger.info(
            "column %s: %s records on the portal, %d in the page",
            channel.code, listing.total if listing.total is not None else "?", len(listing.entries),
        )  # fmt: skip
        yield from self._entries(listing, channel, response.url)
        # without a totalRecord (paging only in <nextgroup>) batches go on until one brings
        # nothing new
        total = listing.total
        last = total is not None and total <= len(listing.entries) + listing.unreadable
        if not spider.listing_page_done(channel, total, self.profile.jcms.per_page, last):
            return
        if not params.get("unitid"):
            spider.listing_failed(channel)
            spider.report(
                "no_unitid", response.url,
                f"column {channel.code}: {total} records but no pager unitid in the page; "
                f"set unitid for this channel in {self.profile.path or 'the profile'}",
            )  # fmt: skip
            return
        start = len(listing.entries) + listing.unreadable + 1
        yield self.batch_request(channel, params, start, total, batch_no=1)

    def batch_request(
        self, channel: Channel, params: dict[str, str], start: int, total: int | None, batch_no: int
    ) -> scrapy.Request:
        opts = self.profile.jcms
        end = start + opts.batch - 1 if total is None else min(start + opts.batch - 1, total)
        url = f"{self.profile.base_url}{opts.proxy_path}?startrecord={start}&endrecord={end}&perpage={opts.per_page}"
        return scrapy.FormRequest(
            url,
            formdata=dataproxy_form(params, channel.code),
            headers={"X-Requested-With": "XMLHttpRequest", "Referer": self.column_url(channel)},
            callback=self.on_batch,
            errback=self.spider.on_error,
            cb_kwargs={
                "channel": channel,
                "params": params,
                "end": end,
                "total": total,
                "batch_no": batch_no,
            },  # fmt: skip
            dont_filter=True,
        )

    def on_batch(
        self, response: Response, channel: Channel, params: dict[str, str], end: int,
        total: int | None, batch_no: int,
    ) -> Iterator[Any]:  # fmt: skip
        spider = self.spider
        try:
            if not hasattr(response, "text"):
                raise ValueError("reply is not text")
            listing = parse_dataproxy(response.text, self.profile.base_url)
        except ValueError as exc:
            spider.bad_listing(channel, f"{response.url} column={channel.code}", str(exc))
            if total is None or end >= total or not spider.policy.expects_more(channel.code):
                return
        else:
            spider.crawler.stats.inc_value("govcrawl/listing/pages")
            yield from self._entries(listing, channel, response.url)
            total = total if total is not None else listing.total
            last = total is not None and end >= total
            if not spider.listing_page_done(channel, total, self.profile.jcms.batch, last=last):
                return
        if spider.max_pages is None or batch_no < spider.max_pages:
            yield self.batch_request(channel, params, end + 1, total, batch_no + 1)

    def _entries(self, listing: JcmsListing, channel: Channel, where: str) -> Iterator[Any]:
        yield from self.spider.listed(
            channel, listing.entries, unreadable=listing.unreadable, where=where
        )

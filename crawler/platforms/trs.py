"""TRS WCM (most ministries, many provinces) and Gansu's shared platform: static list pages.

A channel is a folder of list pages, ``index.html``, ``index_1.html``, … (Gansu:
``zwgklist.shtml``, ``zwgklist_2.shtml``, …) whose count ``createPageHTML(…)`` announces;
entries link to ``…/YYYYMM/tYYYYMMDD_<id>.html`` pages, always fetched (a list is a title
and a date). The channel code is the folder (``zwgk/tzgg``); ``[trs] first_page`` names the
list file when it is not ``index.html`` (Gansu: ``first_page = "zwgklist.shtml"``), and
``[trs.channels."<code>"] first_page`` one channel's own (Gansu's ``zwgklzyj.shtml``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.extraction.trs import article_id, parse_list_page
from crawler.platforms import register
from crawler.platforms.base import Platform
from crawler.profiles import Channel, SiteProfile

PAGE_SIZE = 20  # what TRS lists hold when a page does not say: only a hint to the page cap


def _first_page_problem(key: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+\.s?html?", value):
        return f"{key} must be a list file name such as 'index.html', got {value!r}"
    return None


@register
class TrsPlatform(Platform):
    name = "trs"

    @classmethod
    def check_profile(cls, profile: SiteProfile) -> str | None:
        unknown = set(profile.options) - {"first_page", "channels"}
        if unknown:
            return f"trs.{sorted(unknown)[0]} is not a trs option (known: first_page, channels)"
        if problem := _first_page_problem("trs.first_page", profile.options.get("first_page")):
            return problem
        per_channel = profile.options.get("channels", {})
        if not isinstance(per_channel, dict):
            return f'trs.channels must be tables [trs.channels."<code>"], got {per_channel!r}'
        codes = {c.code for c in profile.channels}
        for code, table in per_channel.items():
            where = f"trs.channels.{code}"
            if code not in codes:
                return f"{where} names no [[channels]] entry (codes: {', '.join(sorted(codes))})"
            if not isinstance(table, dict) or set(table) - {"first_page"}:
                return f"{where} must be a table with first_page only, got {table!r}"
            if problem := _first_page_problem(f"{where}.first_page", table.get("first_page")):
                return problem
        return None

    @classmethod
    def describe_listing(cls, html: str, url: str) -> dict[str, Any] | None:
        """A static list page: one with a ``createPageHTML``/``countPage`` pager and article
        entries. An article page carries the same pager for its own pages (Shanxi's
        ``createPageHTML(1, 0, "t20190918_693227", "shtml")``) and links to itself or to other
        articles: a page whose address or pager names an article is none."""
        page = parse_list_page(html, url)
        if page.provenance[0] == "pager:none" or article_id(url):
            return None
        if article_id(f"/{page.stem}.{page.ext}"):
            return None  # the pager of an article split over several pages
        if not any(e.url != url for e in page.entries):
            return None
        after = page.current + 1
        last = page.page_count is None or after >= page.page_count
        return {
            "kind": "trs-list",
            "url": url,
            "total": page.total_records if page.total_records is not None else "unknown",
            "entries": [
                {"title": e.title, "url": e.url, "date": e.published} for e in page.entries
            ],
            "unreadable_records": page.unreadable,
            "pager": {
                "page_count": page.page_count,
                "page": page.current + 1,
                "next": None if last else page.page_url(url, after),
            },
            "read": page.provenance,
        }

    def list_url(self, channel: Channel) -> str:
        own = self.profile.options.get("channels", {}).get(channel.code, {})
        first = own.get("first_page") or self.profile.options.get("first_page") or "index.html"
        return f"{self.profile.base_url}/{channel.code.strip('/')}/{first}"

    def platform_id(self, url: str) -> str | None:
        return article_id(url)

    def channel_of(self, url: str) -> str | None:
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1]
        for channel in self.profile.channels:
            if path.startswith(f"/{channel.code.strip('/')}/"):
                return channel.code
        return None

    def channel_requests(self, channel: Channel) -> Iterator[scrapy.Request]:
        yield self.list_request(channel, self.list_url(channel), 0)

    def list_request(self, channel: Channel, url: str, number: int) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.on_list_page,
            errback=self.spider.on_error,
            cb_kwargs={"channel": channel, "number": number},
        )

    def on_list_page(self, response: Response, channel: Channel, number: int) -> Iterator[Any]:
        spider = self.spider
        if not hasattr(response, "text"):
            spider.bad_listing(channel, response.url, "reply is not a page")
            return
        page = parse_list_page(response.text, response.url)
        spider.crawler.stats.inc_value("govcrawl/listing/pages")
        for how in page.provenance:
            spider.crawler.stats.inc_value(f"govcrawl/listing/read/{how}")
        yield from spider.listed(
            channel, page.entries, unreadable=page.unreadable, where=response.url
        )
        last = page.page_count is None or number + 1 >= page.page_count
        size = len(page.entries) + page.unreadable or PAGE_SIZE
        if spider.listing_page_done(channel, page.total_records, size, last=last):
            yield self.list_request(channel, page.page_url(response.url, number + 1), number + 1)

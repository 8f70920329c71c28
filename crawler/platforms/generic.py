"""The long tail: a site whose list pages a profile describes with a URL pattern and selectors.

``[generic]`` names the list pages — ``list_url = "/{channel}/index_{n}.html"`` with pages
numbered from ``first_page`` (1, or 0), ``first_url`` for a first page named otherwise
(``/{channel}/index.html``), or a ``next_page`` selector whose link is followed instead of the
pattern — and what an entry is (``entry``, ``title``, ``link``, ``date``: see
``crawler/extraction/generic.py``). Article pages are the spider's, as on every platform; the
article URL is the key. Paging stops when the policy says so, when the next link is absent,
when a page past the first answers 404 or 410 (the pattern ran past the last page), or after
``max_pages`` pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from string import Formatter
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.extraction.generic import ListSelectors, parse_list, selector_problem
from crawler.extraction.markup import repair_stray_end_tags
from crawler.platforms import register
from crawler.platforms.base import Platform
from crawler.profiles import Channel, SiteProfile

PAGE_SIZE = 20  # a hint to the page cap when a page holds nothing
PAST_THE_END = (404, 410)
URL_KEYS = ("list_url", "first_url")
SELECTOR_KEYS = ("entry", "title", "link", "date", "next_page")
REQUIRED = {"entry": "each list entry", "title": "an entry's title", "link": "an entry's link"}
OPTIONS = ("list_url", "first_url", "first_page", "max_pages", *SELECTOR_KEYS)


def _url_problem(key: str, value: object, fields: set[str]) -> str | None:
    example = "'/{channel}/index_{n}.html'" if "n" in fields else "'/{channel}/index.html'"
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return f"generic.{key} must be a path on the site such as {example}, got {value!r}"
    try:
        named = {name for _, name, _, _ in Formatter().parse(value) if name is not None}
    except ValueError as error:
        return f"generic.{key} is not a valid pattern ({error}): {value!r}"
    if named - fields:
        unknown = sorted(named - fields)[0]
        return f"generic.{key} may only use {' and '.join(f'{{{f}}}' for f in sorted(fields))}, not {{{unknown}}}"  # fmt: skip
    if missing := sorted(fields - named):
        return f"generic.{key} must contain {{{missing[0]}}}, such as {example}"
    return None


def _selectors_of(value: object) -> tuple[str, ...] | None:
    """A field's selectors: one string, or a list tried in order; None when neither."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(value)
    return None


def list_selectors(options: dict[str, Any]) -> ListSelectors:
    """The selectors of a checked ``[generic]`` table."""
    return ListSelectors(
        entry=options["entry"],
        title=_selectors_of(options["title"]) or (),
        link=_selectors_of(options["link"]) or (),
        date=_selectors_of(options.get("date", [])) or (),
        next_page=_selectors_of(options.get("next_page", [])) or (),
    )


@register
class GenericPlatform(Platform):
    name = "generic"

    @classmethod
    def check_profile(cls, profile: SiteProfile) -> str | None:
        options = profile.options
        if unknown := sorted(set(options) - set(OPTIONS)):
            return f"generic.{unknown[0]} is not a generic option (known: {', '.join(OPTIONS)})"
        for key, what in REQUIRED.items():
            if key not in options:
                return f"generic.{key} is required: the selector of {what}"
        if "list_url" not in options and not ("first_url" in options and "next_page" in options):
            return "generic.list_url is required (or generic.first_url with generic.next_page)"
        for key, fields in (("list_url", {"channel", "n"}), ("first_url", {"channel"})):
            if key in options and (problem := _url_problem(key, options[key], fields)):
                return problem
        first = options.get("first_page", 1)
        if type(first) is not int or first not in (0, 1):
            return f"generic.first_page must be 0 or 1 (the number of the first page), got {first!r}"  # fmt: skip
        cap = options.get("max_pages", 1)
        if type(cap) is not int or cap < 1:
            return f"generic.max_pages must be a whole number of pages, at least 1, got {cap!r}"
        if not isinstance(options["entry"], str) or not options["entry"].strip():
            return f"generic.entry must be one selector, got {options['entry']!r}"
        for key in SELECTOR_KEYS:
            if key not in options:
                continue
            queries = _selectors_of(options[key])
            if queries is None:
                return f"generic.{key} must be a selector or a list of selectors, got {options[key]!r}"  # fmt: skip
            for query in queries:
                if problem := selector_problem(query):
                    return f"generic.{key} {query!r} {problem}"
        return None

    def __init__(self, spider: Any) -> None:
        super().__init__(spider)
        options = self.profile.options
        self.selectors = list_selectors(options)
        self.first_page: int = options.get("first_page", 1)
        self.max_pages: int | None = options.get("max_pages")

    def page_url(self, channel: Channel, n: int) -> str:
        """Page ``n`` of a channel's list, by the pattern (``first_url`` for the first)."""
        options = self.profile.options
        code = channel.code.strip("/")
        if n == self.first_page and "first_url" in options:
            path = options["first_url"].format(channel=code)
        else:
            path = options["list_url"].format(channel=code, n=n)
        return self.profile.base_url.rstrip("/") + path

    def channel_requests(self, channel: Channel) -> Iterator[scrapy.Request]:
        yield self.list_request(channel, self.page_url(channel, self.first_page), 1)

    def list_request(self, channel: Channel, url: str, pages: int) -> scrapy.Request:
        """``pages``: how many list pages of the channel this one makes, from 1."""
        return scrapy.Request(
            url,
            callback=self.on_list_page,
            errback=self.spider.on_error,
            cb_kwargs={"channel": channel, "pages": pages},
            # past the last page a pattern leads to "not found": the end, not a failure
            meta={"handle_httpstatus_list": list(PAST_THE_END)} if pages > 1 else {},
        )

    def on_list_page(self, response: Response, channel: Channel, pages: int) -> Iterator[Any]:
        spider = self.spider
        stats = spider.crawler.stats
        if response.status in PAST_THE_END:
            if self.selectors.next_page:  # a next link that leads nowhere: no trustworthy end
                spider.bad_listing(channel, response.url, f"next page answers {response.status}")
                return
            stats.inc_value("govcrawl/listing/read/generic:past_end")
            spider.listing_page_done(channel, None, PAGE_SIZE, last=True)
            return
        if not hasattr(response, "text"):
            spider.bad_listing(channel, response.url, "reply is not a page")
            return
        html, repaired = repair_stray_end_tags(response.text)
        if repaired:
            stats.inc_value("govcrawl/listing/read/repaired:stray-end-tag")
        entries, unreadable, next_url = parse_list(html, response.url, self.selectors)
        stats.inc_value("govcrawl/listing/pages")
        yield from spider.listed(channel, entries, unreadable=unreadable, where=response.url)
        follows_link = bool(self.selectors.next_page)
        last = follows_link and next_url is None
        size = len(entries) + unreadable or PAGE_SIZE
        if not spider.listing_page_done(channel, None, size, last=last):
            return
        if self.max_pages is not None and pages >= self.max_pages:
            stats.inc_value("govcrawl/listing/generic/max_pages")
            spider.logger.info(
                "channel %s: generic.max_pages (%d) reached; paging stops", channel.code,
                self.max_pages,
            )  # fmt: skip
            return
        if next_url is not None and follows_link:  # a page without one was the last
            stats.inc_value("govcrawl/listing/read/generic:next_page")
            yield self.list_request(channel, next_url, pages + 1)
        elif not follows_link:
            stats.inc_value("govcrawl/listing/read/generic:list_url")
            number = self.first_page + pages
            yield self.list_request(channel, self.page_url(channel, number), pages + 1)

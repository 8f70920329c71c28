"""Hanweb jpaas (集约化: ministries and Zhejiang): list pages from the unit endpoint.

A channel is one unit of a column page: ``GET /api-gateway/jpaas-publish-server/front/page/
build/unit?webId=…&pageId=…&tplSetId=…&tagId=…&paramJson={"pageNo":N,"pageSize":M}``
answers JSON whose ``data.html`` is the list (``crawler/extraction/jpaas.py``). Article pages
are always fetched: a list is a link, a title and a date.

``[jpaas]`` holds what the column page's ``unitbuild.js`` script names — ``web_id``,
``tpl_set_id`` and ``tag_id`` for the whole site, ``page_size`` — and
``[jpaas.channels.<code>]`` what differs for one channel (``page_id``, ``tag_id``, …, and
``column``: the column page's path when it is not ``/col/col<page_id>/index.html``). A
channel's code is its pageId unless ``page_id`` says otherwise. ``govcrawl discover`` on a
column page writes all of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from string import Formatter
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.extraction.jpaas import (
    PARSE_TYPE,
    UNIT_PATH,
    article_id,
    column_of,
    describe_reply,
    parse_unit_reply,
    unit_url,
)
from crawler.platforms import register
from crawler.platforms.base import Platform
from crawler.profiles import Channel, SiteProfile

PAGE_SIZE = 15  # what most jpaas list templates show
COLUMN_PATH = "/col/col{page_id}/index.html"  # Zhejiang's column pages
# profile key → (the unit parameter it sets, what it is, an example)
UNIT_OPTIONS = {
    "web_id": ("webId", "the site's webId", "'3630'"),
    "tpl_set_id": ("tplSetId", "the template set's tplSetId", "'5HrZiFGOR8vHklhTYqM4B'"),
    "tag_id": ("tagId", "the list unit's tagId", "'信息列表'"),
    "page_id": ("pageId", "the column's pageId", "'1229208550'"),
}
SITE_OPTIONS = ("web_id", "tpl_set_id", "tag_id", "page_size", "parse_type", "unit_path",
                "column_path", "channels")  # fmt: skip
CHANNEL_OPTIONS = ("page_id", "web_id", "tpl_set_id", "tag_id", "column")
MAX_VALUE = 200  # characters of a unit parameter
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _value_problem(key: str, value: object) -> str | None:
    what = UNIT_OPTIONS.get(key, ("", "a unit parameter", "'…'"))
    if not isinstance(value, str) or not value.strip():
        return f"jpaas.{key} must be a non-empty string ({what[1]}, e.g. {what[2]}), got {value!r}"
    if len(value) > MAX_VALUE or _CONTROL.search(value):
        return f"jpaas.{key} must be at most {MAX_VALUE} printable characters, got {value[:40]!r}"
    return None


def _path_problem(key: str, value: object, placeholders: set[str]) -> str | None:
    example = "'/col/col{page_id}/index.html'" if placeholders else "'/zwgk/tzgg/index.html'"
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or value.startswith("//")
        or re.search(r"[\s?#\\]", value)
    ):
        return f"jpaas.{key} must be a path on the site such as {example}, got {value!r}"
    try:
        named = {name for _, name, _, _ in Formatter().parse(value) if name is not None}
    except ValueError:
        return f"jpaas.{key} is not a valid path pattern, got {value!r}"
    if named - placeholders:
        allowed = " or ".join(f"{{{p}}}" for p in sorted(placeholders)) or "no placeholder"
        return f"jpaas.{key} may only use {allowed}, got {value!r}"
    return None


def _site_problem(options: dict[str, Any]) -> str | None:
    """What is wrong with the ``[jpaas]`` table's own values."""
    if unknown := sorted(set(options) - set(SITE_OPTIONS)):
        return f"jpaas.{unknown[0]} is not a jpaas option (known: {', '.join(SITE_OPTIONS)})"
    for key in ("web_id", "tpl_set_id", "tag_id", "parse_type"):
        if key in options and (problem := _value_problem(key, options[key])):
            return problem
    size = options.get("page_size", PAGE_SIZE)
    if type(size) is not int or not 1 <= size <= 200:
        return f"jpaas.page_size must be a whole number from 1 to 200, got {size!r}"
    for key, placeholders in (("unit_path", set()), ("column_path", {"page_id", "channel"})):
        if key in options and (problem := _path_problem(key, options[key], placeholders)):
            return problem
    return None


def _channels_problem(per_channel: object, codes: set[str]) -> str | None:
    """What is wrong with the ``[jpaas.channels.<code>]`` tables."""
    if not isinstance(per_channel, dict):
        return f"jpaas.channels must be tables [jpaas.channels.<code>], got {per_channel!r}"
    for code, table in per_channel.items():
        where = f"jpaas.channels.{code}"
        if code not in codes:
            return f"{where} names no [[channels]] entry (codes: {', '.join(sorted(codes))})"
        if not isinstance(table, dict):
            return f"{where} must be a table, got {table!r}"
        if unknown := sorted(set(table) - set(CHANNEL_OPTIONS)):
            known = ", ".join(CHANNEL_OPTIONS)
            return f"{where}.{unknown[0]} is not a channel option (known: {known})"
        for key, value in table.items():
            if key == "column":
                problem = _path_problem(key, value, set())
            else:
                problem = _value_problem(key, value)
            if problem:
                return problem.replace("jpaas.", f"{where}.", 1)
    return None


def _missing_problem(
    profile: SiteProfile, options: dict[str, Any], per_channel: dict[str, Any]
) -> str | None:
    """A unit parameter that neither ``[jpaas]`` nor a channel's own table gives."""
    for channel in profile.channels:
        own = per_channel.get(channel.code, {})
        for key in ("web_id", "tpl_set_id", "tag_id"):
            if key not in own and key not in options:
                _, what, example = UNIT_OPTIONS[key]
                return (
                    f"jpaas.{key} is required: {what} in the column page's unitbuild script, "
                    f"e.g. {example} (or jpaas.channels.{channel.code}.{key})"
                )
    return None


@register
class JpaasPlatform(Platform):
    name = "jpaas"

    @classmethod
    def check_profile(cls, profile: SiteProfile) -> str | None:
        options = profile.options
        per_channel = options.get("channels", {})
        return (
            _site_problem(options)
            or _channels_problem(per_channel, {c.code for c in profile.channels})
            or _missing_problem(profile, options, per_channel)
        )

    @classmethod
    def describe_listing(cls, html: str, url: str) -> dict[str, Any] | None:
        """A unit reply (``{"data": {"html": …}}``) or a column page declaring its list unit."""
        return describe_reply(html, url)

    def __init__(self, spider: Any) -> None:
        super().__init__(spider)
        options = self.profile.options
        self.page_size: int = options.get("page_size", PAGE_SIZE)
        self.per_channel: dict[str, dict[str, str]] = options.get("channels", {})

    def unit_params(self, channel: Channel) -> dict[str, str]:
        """The unit parameters of a channel: its own table's values over the site's."""
        options = self.profile.options
        own = self.per_channel.get(channel.code, {})
        params = {
            name: own.get(key) or options.get(key) or ""
            for key, (name, _, _) in UNIT_OPTIONS.items()
        }
        params["pageId"] = own.get("page_id") or channel.code
        params["parseType"] = options.get("parse_type", PARSE_TYPE)
        params["url"] = options.get("unit_path", UNIT_PATH)
        return params

    def column_url(self, channel: Channel) -> str:
        """The channel's column page: the Referer of its list requests, the base of its links."""
        own = self.per_channel.get(channel.code, {})
        if "column" in own:
            path = own["column"]
        else:
            template = self.profile.options.get("column_path", COLUMN_PATH)
            path = template.format(
                page_id=self.unit_params(channel)["pageId"], channel=channel.code
            )
        return self.profile.base_url + path

    def platform_id(self, url: str) -> str | None:
        return article_id(url)

    def channel_of(self, url: str) -> str | None:
        column = column_of(url)
        if column is None:
            return None
        for channel in self.profile.channels:
            if column in (channel.code, self.unit_params(channel)["pageId"]):
                return channel.code
        return None

    def channel_requests(self, channel: Channel) -> Iterator[scrapy.Request]:
        yield self.unit_request(channel, 1)

    def unit_request(self, channel: Channel, page_no: int) -> scrapy.Request:
        url = unit_url(self.profile.base_url, self.unit_params(channel), page_no, self.page_size)
        return scrapy.Request(
            url,
            # what the site's own script sends: some gateways refuse a request without them
            headers={
                "Referer": self.column_url(channel),
                "X-Requested-With": "XMLHttpRequest",
                "Accept": "application/json, text/javascript, */*; q=0.01",
            },
            callback=self.on_unit,
            errback=self.spider.on_error,
            cb_kwargs={"channel": channel, "page_no": page_no},
        )

    def on_unit(self, response: Response, channel: Channel, page_no: int) -> Iterator[Any]:
        spider = self.spider
        if not hasattr(response, "text"):
            spider.bad_listing(channel, response.url, "reply is not text")
            return
        unit = parse_unit_reply(response.text, self.column_url(channel))
        if unit.problem:
            spider.bad_listing(channel, response.url, unit.problem)
            return
        stats = spider.crawler.stats
        stats.inc_value("govcrawl/listing/pages")
        for how in unit.provenance:
            stats.inc_value(f"govcrawl/listing/read/jpaas:{how}")
        yield from spider.listed(
            channel, unit.entries, unreadable=unit.unreadable, where=response.url
        )
        # the pager's rows win over what was asked: a site may ignore pageSize
        size = unit.page_size or self.page_size
        # without a pager the pages go on until one comes back empty
        last = unit.total is not None and page_no * size >= unit.total
        if spider.listing_page_done(channel, unit.total, size, last=last):
            yield self.unit_request(channel, page_no + 1)

"""A toy platform, registered from a test module: proof that a platform is one module and
needs no change anywhere else. Its lists are plain text, one ``id|title|date|path`` line a
record under a first ``total N`` line, at ``/<channel>/list?page=N``, ten records a page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import scrapy

from crawler.extraction.listing import ListingEntry
from crawler.platforms import Platform, register
from sample_portal.server import PortalServer

PAGE = 10


@register
class ToyPlatform(Platform):
    name = "toy"

    def platform_id(self, url: str) -> str | None:
        match = re.search(r"/a(\d+)\.html$", url)
        return match.group(1) if match else None

    def channel_requests(self, channel: Any) -> Iterator[scrapy.Request]:
        yield self.page_request(channel, 1)

    def page_request(self, channel: Any, page: int) -> scrapy.Request:
        return scrapy.Request(
            f"{self.profile.base_url}/{channel.code}/list?page={page}",
            callback=self.on_list,
            errback=self.spider.on_error,
            cb_kwargs={"channel": channel, "page": page},
        )

    def on_list(self, response: Any, channel: Any, page: int) -> Iterator[Any]:
        head, *lines = response.text.strip().splitlines()
        entries = []
        for line in lines:
            rid, title, date, path = line.split("|")
            entries.append(ListingEntry(rid, title, self.profile.base_url + path, date))
        yield from self.spider.listed(channel, entries)
        if self.spider.listing_page_done(channel, int(head.split()[1]), PAGE):
            yield self.page_request(channel, page + 1)


class ToyPortalServer(PortalServer):
    """``records`` per channel: (id, title, date, body); page requests are logged."""

    def __init__(self, records: dict[str, list[tuple[str, str, str, str]]]) -> None:
        super().__init__()
        self.records = records

    def respond(self, method, path, query, form, headers):  # type: ignore[no-untyped-def]
        if path == "/robots.txt":
            return 200, "text/plain", b""
        match = re.fullmatch(r"/(\w+)/list", path)
        if match and match[1] in self.records:
            rows = self.records[match[1]]
            page = int((query.get("page") or ["1"])[0])
            chunk = rows[(page - 1) * PAGE : page * PAGE]
            lines = [f"total {len(rows)}"] + [
                f"{rid}|{title}|{date}|/{match[1]}/a{rid}.html" for rid, title, date, _ in chunk
            ]
            return 200, "text/plain; charset=utf-8", "\n".join(lines).encode()
        match = re.fullmatch(r"/(\w+)/a(\d+)\.html", path)
        for rid, title, date, body in self.records.get(match[1], []) if match else []:
            if rid == match[2]:
                page = (f"<html><head><meta name='ArticleTitle' content='{title}'>"
                        f"<meta name='PubDate' content='{date}'></head>"
                        f"<body><div id='zoom'><p>{body}</p></div></body></html>")  # fmt: skip
                return 200, "text/html; charset=utf-8", page.encode()
        return 404, "text/html", b"<h1>404</h1>"

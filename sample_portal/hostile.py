"""A hostile portal of the current platform, on 127.0.0.1, for the hardening tests.

Each channel is one way a portal can try to make the crawler lose articles or reach
somewhere else:

- ``nul``: 40 records in one listing page; one title holds a NUL, bidi overrides and a
  ``<script>``, one source and author hold markup and control characters, one body holds a
  NUL, and one record's URL is too long for PostgreSQL's URL index (the store must skip that
  row alone, not the batch);
- ``redirect`` / ``redirect302``: the ``/queryList`` reply is a 307 / 302 to the same path on
  the *other* server (another port of 127.0.0.1), which answers with listings of its own;
- ``moved``: article pages to fetch, one of which redirects to the other server;
- ``port``: a record whose page is on the other server's port of the same host;
- ``schemes``: records linking ``javascript:``, ``data:``, ``file:`` and ``mailto:`` URLs;
- ``deep``: a reply of 100,000 nested JSON arrays;
- ``liar``: claims a total of 10^12, then answers page 2 and later with no records;
- ``repeat``: claims 10^12 and answers every page with the same 15 records;
- ``capped``: 80 records, but only 10 to a page whatever page size is asked.

Both servers log every request they receive (``requests``): the other server must see none.

    with HostilePortalServer() as elsewhere, HostilePortalServer(elsewhere.base_url) as portal:
        write_profile(portal.base_url, path)
"""

from __future__ import annotations

import json
import random
import re
import string
from html import escape
from pathlib import Path
from typing import Any

from sample_portal.server import PortalServer

SITE_CODE = "hostile"
UNITID = "1000"
NUL_RECORDS = 40
# positions, in the ``nul`` listing, of the records that carry something hostile
HOSTILE_TITLE, HOSTILE_SOURCE, HOSTILE_BODY, LONG_URL = 3, 11, 19, 27
TITLE_WITH_NUL = (
    "\u0000<p>关于\u202e做好\u0000防汛\u2066工作\u2069的通知</p>"
    "<script>alert('x')</script>\u200f\x07"
)
TITLE_CLEAN = "关于做好防汛工作的通知"
SOURCE_WITH_MARKUP = "<b>新华社</b>\u202d<style>b{}</style>\x1b"
AUTHOR_WITH_NUL = "张\u0000伟\u2067"
NON_WEB_URLS = (
    "javascript:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
    "mailto:admin@example.invalid",
    " JavaScript:void(0)",
)
CHANNELS = ("nul", "redirect", "redirect302", "moved", "port", "schemes", "deep", "liar", "repeat",
            "capped")  # fmt: skip
CLAIMED_TOTAL = 10**12
CAPPED_RECORDS, CAPPED_PAGE = 80, 10
ARTICLE_PATH = re.compile(rf"^/{SITE_CODE}/(?P<channel>\w+)/content/content_(?P<id>\d+)\.html$")
HTML = "text/html; charset=utf-8"
JSON = "application/json;charset=UTF-8"


def record_id(channel: str, n: int) -> str:
    return f"{CHANNELS.index(channel) + 1}{n:018d}"


def article_path(channel: str, n: int) -> str:
    return f"/{SITE_CODE}/{channel}/content/content_{record_id(channel, n)}.html"


def record(
    channel: str,
    n: int,
    *,
    url: str | None = None,
    body: str | None = None,
    title: str | None = None,
    source: str = "本站",
    author: str = "",
    relation_url: str = "",
) -> dict[str, Any]:
    """One ``data.results[*]`` record as the platform sends it (JSON strings inside JSON)."""
    rid = record_id(channel, n)
    return {
        "id": rid,
        "index": f"{SITE_CODE}_{channel}",
        "source": {
            "id": rid,
            "title": title if title is not None else f"测试文章{channel}第{n}号",
            "pubDate": f"2025-11-{1 + n % 28:02d} 08:00:00",
            "contentSource": source,
            "channelCode": channel,
            "urls": json.dumps({"pc": url}) if url is not None else "",
            "metadata": json.dumps({"author": author}),
            "images": "",
            "content": {"content": body if body is not None else f"<p>正文{channel}第{n}号。</p>"},
            "isTop": 0,
            "relationUrl": relation_url,
        },
    }


def listing(results: list[dict[str, Any]], total: int | None = None, page: int = 1) -> bytes:
    total = len(results) if total is None else total
    reply = {"success": True, "code": 200, "data": {"total": total, "current": page,
                                                     "results": results}}  # fmt: skip
    return json.dumps(reply, ensure_ascii=False).encode()


def paged(channel: str, n: int) -> dict[str, Any]:
    return record(channel, n, url=article_path(channel, n))


def long_url(n: int) -> str:
    """A page URL of 6,000 characters that do not compress: too long for a btree index entry."""
    noise = "".join(random.Random(n).choices(string.ascii_letters + string.digits, k=6000))
    return f"{article_path('nul', n)}?q={noise}"


def nul_listing() -> list[dict[str, Any]]:
    results = []
    for n in range(NUL_RECORDS):
        kwargs: dict[str, Any] = {"url": article_path("nul", n)}
        if n == HOSTILE_TITLE:
            kwargs["title"] = TITLE_WITH_NUL
        elif n == HOSTILE_SOURCE:
            kwargs.update(source=SOURCE_WITH_MARKUP, author=AUTHOR_WITH_NUL)
        elif n == HOSTILE_BODY:
            kwargs["body"] = "<p>第一段\u0000。</p><p>第二段\u202e。</p>"
        elif n == LONG_URL:
            kwargs["url"] = long_url(n)
        results.append(record("nul", n, **kwargs))
    return results


def article_page(title: str, body: str) -> bytes:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="ArticleTitle" content="{escape(title)}"><meta name="PubDate" content="2025-11-02 09:00">
<meta name="ContentSource" content="本站"></head><body>
<h1>{escape(title)}</h1><div id="zoom">{body}</div></body></html>""".encode()


class HostilePortalServer(PortalServer):
    """The hostile portal; ``elsewhere`` is the base URL of the server it redirects to.

    Without ``elsewhere`` it is that other server: every listing it is asked for holds three
    records of its own, with pages of its own, so anything it serves would show in the
    database."""

    def __init__(self, elsewhere: str | None = None, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self.elsewhere = elsewhere

    def respond(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        form: dict[str, list[str]],
        headers: Any,
    ) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow:\n"
        if self.elsewhere is None:
            return self._elsewhere(path)
        if path == "/queryList":
            page = (form.get("current") or ["1"])[0]
            return self._query_list(
                (form.get("channelCode") or [""])[0], int(page) if page.isdigit() else 1
            )
        match = ARTICLE_PATH.match(path)
        if match and method == "GET":
            channel, rid = match["channel"], match["id"]
            if channel == "moved" and rid == record_id("moved", 1):
                return 302, HTML, b""  # Location: see _redirect_target
            return 200, HTML, article_page(f"页面{rid}", f"<p>页面正文{rid}。</p>")
        return 404, HTML, b"<html><body><h1>404</h1></body></html>"

    def redirect_target(self, path: str) -> str | None:
        """Where a 3xx reply of ``path`` points: the same path on the other server."""
        return f"{self.elsewhere}{path}" if self.elsewhere else None

    def _query_list(self, channel: str, page: int = 1) -> tuple[int, str, bytes]:
        if channel == "nul":
            return 200, JSON, listing(nul_listing())
        if channel == "redirect":
            return 307, JSON, b""
        if channel == "redirect302":
            return 302, JSON, b""
        if channel == "moved":
            # no bodies in the listing: every page is fetched, and page 1 redirects elsewhere
            return 200, JSON, listing([record("moved", n, url=article_path("moved", n), body="")
                                       for n in range(3)])  # fmt: skip
        if channel == "port":
            return 200, JSON, listing([
                record("port", 0, url=article_path("port", 0), body=""),
                record("port", 1, url=self.elsewhere + article_path("port", 1), body=""),
            ])  # fmt: skip
        if channel == "schemes":
            results = [record("schemes", n, url=url) for n, url in enumerate(NON_WEB_URLS)]
            results.append(record("schemes", 5, relation_url="javascript:alert(1)"))
            results += [record("schemes", n, url=article_path("schemes", n)) for n in (6, 7)]
            return 200, JSON, listing(results)
        if channel == "deep":
            return 200, JSON, b"[" * 100_000 + b"]" * 100_000
        if channel == "liar":
            results = [paged("liar", n) for n in range(15)] if page == 1 else []
            return 200, JSON, listing(results, CLAIMED_TOTAL, page)
        if channel == "repeat":
            return 200, JSON, listing([paged("repeat", n) for n in range(15)], CLAIMED_TOTAL, page)
        if channel == "capped":
            start = (page - 1) * CAPPED_PAGE
            numbers = range(start, min(start + CAPPED_PAGE, CAPPED_RECORDS))
            return 200, JSON, listing([paged("capped", n) for n in numbers], CAPPED_RECORDS, page)
        return 200, JSON, listing([])

    def _elsewhere(self, path: str) -> tuple[int, str, bytes]:
        if path == "/queryList":
            here = self.base_url
            return 200, JSON, listing([record("port", 90 + n, url=f"{here}/elsewhere/{n}.html")
                                       for n in range(3)])  # fmt: skip
        return 200, HTML, article_page("外站页面", "<p>外站正文，不应抓取。</p>")

    def _handler_class(self) -> type:
        server = self

        class Handler(super()._handler_class()):  # type: ignore[misc]
            def send_response(self, code: int, message: str | None = None) -> None:
                super().send_response(code, message)
                target = server.redirect_target(self.path.split("?")[0])
                if target and 300 <= code < 400:
                    self.send_header("Location", target)

        return Handler


def profile_text(base_url: str, name: str = "hostile") -> str:
    lines = [
        f'name = "{name}"',
        'title = "敌意门户（本地）"',
        f'base_url = "{base_url}"',
        'platform = "querylist"',
        f'site_code = "{SITE_CODE}"',
        "",
        "[querylist]",
        "per_page = 50  # one page holds a whole channel",
        "",
        "[politeness]  # a local server: no need to be gentle",
        "download_delay = 0",
        "concurrent_requests = 8",
        "autothrottle = false",
        "obey_robots = false",
        "",
        "[schedule]",
        "interval_minutes = 60",
    ]
    for code in CHANNELS:
        lines += ["", "[[channels]]", f'code = "{code}"', f'unitid = "{UNITID}"']
    return "\n".join(lines) + "\n"


def write_profile(base_url: str, path: Path, name: str = "hostile") -> Path:
    path.write_text(profile_text(base_url, name), encoding="utf-8")
    return path

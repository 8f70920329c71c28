"""A sample portal for the ``generic`` platform, and its ground truth.

Two channels of static list pages, ``/<channel>/list_1.html``, ``list_2.html``, … ten entries
a page, each ``<li><a href=… title="full title">short…</a><span>2025-10-03</span></li>``, with
a "下一页" link on every page but the last, and no page count anywhere: past the last page
the site answers 404. The first page of 新闻动态 holds a withdrawn entry whose link is
``javascript:;``. Articles live at ``/<channel>/art/<YYYYMM>/<id>.html`` with ArticleTitle and
PubDate metas and the body in ``<div id="zoom">``. For tests the portal changes (articles
added, moved to another channel under the URL they were published at) and the server has
list pages that answer 500 (``failing``) and channels whose list is empty for a while
(``emptied``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from sample_portal import text as zh
from sample_portal.server import PortalServer

CST = timezone(timedelta(hours=8))
SITE_NAME = "示例县人民政府"
PER_PAGE = 10
DEAD_ITEM = '<li><a href="javascript:;" title="该信息已撤回">该信息已撤回</a><span></span></li>'


@dataclass
class GenericArticle:
    id: str
    channel: str
    title: str
    published: datetime
    paragraphs: list[str] = field(default_factory=list)
    # the channel it was published in, when a move listed it elsewhere: its URL stays there
    home: str | None = None

    @property
    def path(self) -> str:
        return f"/{self.home or self.channel}/art/{self.published:%Y%m}/{self.id}.html"


@dataclass
class GenericChannel:
    code: str
    name: str
    records: list[GenericArticle] = field(default_factory=list)  # newest first
    dead_item: int | None = None  # position on the first page of an entry without a link

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.records) // PER_PAGE))


@dataclass
class GenericPortal:
    channels: list[GenericChannel]

    def channel(self, code: str) -> GenericChannel | None:
        return next((c for c in self.channels if c.code == code), None)

    def add_article(
        self, code: str, title: str, published: datetime, paragraphs: list[str], position: int = 0
    ) -> GenericArticle:
        """A new article of channel ``code``, listed at ``position`` (0: the top)."""
        channel = self.channel(code)
        assert channel is not None, code
        ids = [int(a.id) for c in self.channels for a in c.records]
        article = GenericArticle(
            id=str(max(ids) + 1), channel=code, title=title, published=published,
            paragraphs=list(paragraphs),
        )  # fmt: skip
        channel.records.insert(position, article)
        return article

    def move(self, article: GenericArticle, code: str, position: int) -> None:
        """The article is listed in channel ``code`` (at ``position``) instead; its page stays
        at its URL."""
        for channel in self.channels:
            if article in channel.records:
                channel.records.remove(article)
        target = self.channel(code)
        assert target is not None, code
        target.records.insert(position, article)
        article.home, article.channel = article.home or article.channel, code

    def ground_truth(self) -> dict[str, Any]:
        return {
            "site_name": SITE_NAME,
            "channels": [
                {
                    "code": c.code,
                    "name": c.name,
                    "records": len(c.records),
                    "pages": c.page_count,
                    "unreadable": 0 if c.dead_item is None else 1,
                }  # fmt: skip
                for c in self.channels
            ],
            "articles": [
                {
                    "url": a.path,
                    "channels": [a.channel],
                    "title": a.title,
                    "published_at": a.published.isoformat(),
                    "body_text": "\n".join(a.paragraphs),
                }
                for c in self.channels
                for a in c.records
            ],
        }


def generate_generic_portal(seed: int = 20251003, sizes: tuple[int, int] = (25, 12)) -> GenericPortal:  # fmt: skip
    rng = random.Random(seed)
    channels = [GenericChannel("xwdt", "新闻动态", dead_item=4), GenericChannel("tzgg", "通知公告")]
    next_id = 51_000
    for channel, size in zip(channels, sizes, strict=True):
        when = datetime(2025, 10, 3, 9, 30, tzinfo=CST)
        for _ in range(size):
            next_id += rng.randint(1, 9)
            article = GenericArticle(
                id=str(next_id), channel=channel.code, title=zh.title(rng, when.year),
                published=when, paragraphs=zh.paragraphs(rng, rng.randint(2, 4)),
            )  # fmt: skip
            channel.records.append(article)
            when -= timedelta(hours=rng.randint(10, 80), minutes=rng.randint(0, 59))
    return GenericPortal(channels)


def list_item(a: GenericArticle) -> str:
    short = a.title if len(a.title) <= 16 else a.title[:16] + "…"
    # relative to the list's folder (from the root for a moved article: its page stayed)
    href = a.path.removeprefix(f"/{a.channel}/")
    return (
        f'<li><a href="{href}" target="_blank" title="{escape(a.title)}">{escape(short)}</a>'
        f"<span>{a.published:%Y-%m-%d}</span></li>"
    )


def list_page(portal: GenericPortal, channel: GenericChannel, n: int) -> str:
    """Page ``n`` (from 1) of a channel's list."""
    items = [list_item(a) for a in channel.records[(n - 1) * PER_PAGE : n * PER_PAGE]]
    if n == 1 and channel.dead_item is not None:
        items.insert(channel.dead_item, DEAD_ITEM)
    nav = "".join(f'<li><a href="/{c.code}/list_1.html">{c.name}</a></li>' for c in portal.channels)
    pager = [f'<a href="list_{n - 1}.html">上一页</a>'] if n > 1 else []
    pager.append(f"<span>第{n}页</span>")
    if n < channel.page_count:
        pager.append(f'<a class="next" href="list_{n + 1}.html">下一页</a>')
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{channel.name}_{SITE_NAME}</title></head><body>
<div class="header"><ul class="nav">{nav}</ul></div>
<div class="main"><h2>{channel.name}</h2>
<ul class="list">
{chr(10).join(items)}
</ul>
<div class="pager">{"".join(pager)}</div>
</div>
<div class="side"><h3>热点</h3><ul class="hot"><li><a href="/xwdt/list_1.html">更多</a></li></ul></div>
<div class="footer">主办：{SITE_NAME}</div>
</body></html>"""


def article_page(channel: GenericChannel, a: GenericArticle) -> str:
    body = "".join(f"<p>\u3000\u3000{escape(p)}</p>" for p in a.paragraphs)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta name="ArticleTitle" content="{escape(a.title)}">
<meta name="PubDate" content="{a.published:%Y-%m-%d %H:%M}">
<title>{escape(a.title)}_{SITE_NAME}</title></head><body>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="../../list_1.html">{channel.name}</a></div>
<h1>{escape(a.title)}</h1>
<div class="info">发布时间：{a.published:%Y-%m-%d %H:%M}</div>
<div id="zoom">{body}</div>
<div class="footer">主办：{SITE_NAME}</div>
</body></html>"""


class GenericPortalServer(PortalServer):
    """The generic sample portal over HTTP. ``failing`` holds paths that answer 500,
    ``emptied`` the codes of channels whose list shows no entry (emptied for a while)."""

    def __init__(self, portal: GenericPortal, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.portal = portal
        self.failing: set[str] = set()
        self.emptied: set[str] = set()

    def respond(self, method, path, query, form, headers):  # type: ignore[no-untyped-def]
        html = "text/html; charset=utf-8"
        not_found = (404, html, "<html><body><h1>404 页面不存在</h1></body></html>".encode())
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        if path in self.failing:
            return 500, html, b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        parts = path.strip("/").split("/")
        channel = self.portal.channel(parts[0])
        if method != "GET" or channel is None:
            return not_found
        if len(parts) == 2 and parts[1].startswith("list_") and parts[1].endswith(".html"):
            if channel.code in self.emptied:
                channel = replace(channel, records=[], dead_item=None)
            number = parts[1].removeprefix("list_").removesuffix(".html")
            if number.isdigit() and 1 <= int(number) <= channel.page_count:
                return 200, html, list_page(self.portal, channel, int(number)).encode()
            return not_found
        for listing in self.portal.channels:  # a moved article's page stays in its folder
            for a in listing.records:
                if a.path == path:
                    return 200, html, article_page(listing, a).encode()
        return not_found


def profile_text(base_url: str, name: str = "sample-generic", next_link: bool = False) -> str:
    """A profile for the sample: its list pages by pattern, or by their 下一页 link."""
    paging = (
        ['first_url = "/{channel}/list_1.html"', 'next_page = "div.pager a.next::attr(href)"']
        if next_link
        else ['list_url = "/{channel}/list_{n}.html"', "first_page = 1"]
    )
    lines = [
        f'name = "{name}"', f'title = "{SITE_NAME}（样例）"', f'base_url = "{base_url}"',
        'platform = "generic"', "", "[politeness]", "download_delay = 0",
        "concurrent_requests = 8", "autothrottle = false", "", "[generic]", *paging,
        'entry = "ul.list li"', 'title = ["a::attr(title)", "a::text"]',
        'link = "a::attr(href)"', 'date = "span::text"',
    ]  # fmt: skip
    for channel in generate_generic_portal().channels:
        lines += ["", "[[channels]]", f'code = "{channel.code}"', f'name = "{channel.name}"']
    return "\n".join(lines) + "\n"

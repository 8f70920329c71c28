"""A sample portal of the Hanweb jpaas layout (集约化 sites of ministries and Zhejiang), and
its ground truth.

Two columns whose pages hold no list: each declares a unit in an ``AuthorizedRead/
unitbuild.js`` script (``queryData`` in single-quoted JSON, beside a footer unit), and
``GET /api-gateway/jpaas-publish-server/front/page/build/unit?…&paramJson={"pageNo":N,
"pageSize":M}`` answers ``{"code":"200","success":true,"data":{"html":…}}``.

- 通知公告, a Zhejiang column (``/col/col<pageId>/index.html``, tagId 信息列表): its unit
  HTML ends with the pager element ``<table class="pagination" count=… rows=… pageno=…>``;
  articles at ``/art/YYYY/M/D/art_<column>_<id>.html``; an old notice pinned at the top (no
  flag), a withdrawn record left in the list as a ``javascript:`` link.
- 工作动态, a ministry-style column (``/zwgk/gzdt/index.html``, a 32-hex pageId, tagId
  分页列表): no pager, pages go on until ``data.html`` is empty; articles at
  ``/zwgk/gzdt/art/YYYY/art_<hex>.html``; a 通知公告 article listed here too under its own
  URL (a Hanweb 引用); a GBK page.

Article pages follow Zhejiang's jpaas template: meta tags (``ArticleTitle``, ``PubDate``,
``ContentSource`` — empty on some pages, whose 来源 is only the ``信息来源：`` label), the body
in ``div#zoom``, attachments below it (``downfile.jsp`` or the province's file store on another
host). ``ministry_page`` renders miit.gov.cn's template (body in ``div#con_con``) for tests.

For tests the server has ``failing`` (unit pages that answer 500) and ``fail_once`` (500 on
the first request only), and the portal has mutation helpers: ``add_article``, ``edit``,
``withdraw`` (gone from every list, its page 404), ``restore``, ``move``, ``pin``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from sample_portal import text as zh
from sample_portal.server import PortalServer

CST = timezone(timedelta(hours=8))
SITE_NAME = "示例省发展和改革委员会"
SITE_ID_CODE = "3300000055"
WEB_ID = "3630"
TPL_SET_ID = "Xk7pQ2mZr9TbV4cN1sHdA"
FOOTER_PAGE_ID = "1229000001"  # the site's home page: its footer is a unit too
UNIT_PATH = "/api-gateway/jpaas-publish-server/front/page/build/unit"
FILE_STORE = "https://zjjcmspublic.oss-cn-hangzhou-zwynet-d01-a.internet.cloud.zj.gov.cn"
PER_PAGE = 10
NOTICE_ID = "1229123351"
NEWS_ID = "6f3c2a9e0d4b4e5f8a7c1b2d3e4f5a6b"
GBK_TEXT = [
    "全省重大项目建设推进会召开，会议通报了一季度重大项目开工和投资完成情况。",
    "会议要求各地压实项目责任，强化要素保障，确保全年目标任务顺利完成。",
]
NOT_FOUND = (
    "<html><head><title>404 页面不存在</title></head><body><h1>404 页面不存在</h1></body></html>"
)


@dataclass
class JpaasArticle:
    id: str
    home: str  # the pageId of the column that published it (its URL names it)
    title: str
    published: datetime
    source: str
    paragraphs: list[str] = field(default_factory=list)
    body_html: str = ""
    # {"url": a path on the site or a full URL, "name", "type"}
    attachments: list[dict[str, str]] = field(default_factory=list)
    source_in_meta: bool = True  # False: ContentSource is empty, 来源 only in the 信息来源 label
    charset: str = "utf-8"
    channels: list[str] = field(default_factory=list)
    withdrawn: bool = False  # gone from every list; its page answers 404
    dead: bool = False  # a list record whose link is javascript: (no article behind it)

    @property
    def path(self) -> str:
        d = self.published
        if self.home == NOTICE_ID:
            return f"/art/{d.year}/{d.month}/{d.day}/art_{self.home}_{self.id}.html"
        return f"/zwgk/gzdt/art/{d.year}/art_{self.id}.html"


@dataclass
class JpaasColumn:
    page_id: str
    name: str
    tag_id: str
    path: str  # the column page
    pager: bool  # the unit HTML ends with the pager element (count, rows, pageno)
    records: list[JpaasArticle] = field(default_factory=list)
    pinned: int = 0  # how many entries at the top are pinned there

    def page_count(self, size: int = PER_PAGE) -> int:
        return max(1, -(-len(self.records) // size))


@dataclass
class JpaasPortal:
    columns: list[JpaasColumn]
    articles: dict[str, JpaasArticle]
    rng: random.Random = field(default_factory=lambda: random.Random(3630))
    _withdrawn_at: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def column(self, page_id: str) -> JpaasColumn:
        return next(c for c in self.columns if c.page_id == page_id)

    def listed(self, page_id: str) -> list[JpaasArticle]:
        """The column's records that are articles, in list order."""
        return [a for a in self.column(page_id).records if not a.dead]

    # --- changes between runs -------------------------------------------------------------
    def add_article(
        self, page_id: str, when: datetime, title: str, paragraphs: list[str]
    ) -> JpaasArticle:
        """A new article at the top of its column, below the entries pinned there."""
        column = self.column(page_id)
        new_id = (
            str(max(int(a.id) for a in self.articles.values() if a.id.isdigit()) + 7)
            if page_id == NOTICE_ID
            else f"{self.rng.getrandbits(128):032x}"
        )
        article = JpaasArticle(
            id=new_id, home=page_id, title=title, published=when, source=SITE_NAME,
            paragraphs=list(paragraphs), channels=[page_id],
        )  # fmt: skip
        article.body_html = _body_html(self.rng, article)
        self.articles[article.id] = article
        column.records.insert(column.pinned, article)
        return article

    def edit(self, article_id: str, paragraphs: list[str], title: str | None = None) -> None:
        """A corrected article: same URL, same place in its lists (Hanweb does not re-sort)."""
        article = self.articles[article_id]
        article.paragraphs = list(paragraphs)
        if title is not None:
            article.title = title
        article.body_html = _body_html(self.rng, article)

    def withdraw(self, article_id: str) -> None:
        """撤回: the article leaves every list and its page answers 404."""
        article = self.articles[article_id]
        self._withdrawn_at[article_id] = [
            (c.page_id, c.records.index(article)) for c in self.columns if article in c.records
        ]
        for column in self.columns:
            if article in column.records:
                column.records.remove(article)
        article.withdrawn = True

    def restore(self, article_id: str) -> None:
        """A withdrawn article published again, where it was."""
        article = self.articles[article_id]
        for page_id, index in self._withdrawn_at.pop(article_id):
            self.column(page_id).records.insert(index, article)
        article.withdrawn = False

    def move(self, article_id: str, to: str, position: int) -> None:
        """An article moved to another column; its URL (naming its first column) stays."""
        article = self.articles[article_id]
        for column in self.columns:
            if article in column.records:
                column.records.remove(article)
        self.column(to).records.insert(position, article)
        article.channels = [to]

    def pin(self, article_id: str, page_id: str) -> None:
        """An old entry put at the top of a column, with no flag the list shows."""
        column = self.column(page_id)
        article = self.articles[article_id]
        column.records.remove(article)
        column.records.insert(0, article)
        column.pinned += 1

    def ground_truth(self) -> dict[str, Any]:
        live = [a for a in self.articles.values() if not a.withdrawn]
        return {
            "site_name": SITE_NAME,
            "columns": [
                {
                    "code": c.page_id,
                    "name": c.name,
                    "tag_id": c.tag_id,
                    "path": c.path,
                    "pager": c.pager,
                    "records": len(c.records),
                    "pages": c.page_count(),
                    "unreadable": sum(a.dead for a in c.records),
                    "entries": [
                        {
                            "id": a.id,
                            "url": a.path,
                            "title": a.title,
                            "published": f"{a.published:%Y-%m-%d}",
                        }
                        for a in c.records
                        if not a.dead
                    ],  # fmt: skip
                }
                for c in self.columns
            ],
            "articles": [
                {
                    "id": a.id,
                    "url": a.path,
                    "channels": sorted(a.channels),
                    "title": a.title,
                    "published_at": a.published.isoformat(),
                    "source": a.source,
                    "body_text": "\n".join(a.paragraphs),
                    "attachments": a.attachments,
                    "charset": a.charset,
                }
                for a in sorted(live, key=lambda a: a.id)
            ],
        }


def generate_jpaas_portal(seed: int = 3630, sizes: tuple[int, int] = (33, 26)) -> JpaasPortal:
    rng = random.Random(seed)
    notices = JpaasColumn(
        NOTICE_ID, "通知公告", "信息列表", f"/col/col{NOTICE_ID}/index.html", True
    )
    news = JpaasColumn(NEWS_ID, "工作动态", "分页列表", "/zwgk/gzdt/index.html", False)
    columns = [notices, news]
    articles: dict[str, JpaasArticle] = {}
    next_id = 4_638_000
    for column, size in zip(columns, sizes, strict=True):
        when = datetime(2025, 12, 18, 9, 30, tzinfo=CST)
        for _ in range(size):
            if column is notices:
                next_id += rng.randint(3, 40)
                article_id = str(next_id)
            else:
                article_id = f"{rng.getrandbits(128):032x}"
            a = JpaasArticle(
                id=article_id, home=column.page_id, title=zh.title(rng, when.year), published=when,
                source=rng.choice([SITE_NAME, "省发展改革委办公室", "浙江日报", "新华社"]),
                paragraphs=zh.paragraphs(rng, rng.randint(2, 4)), channels=[column.page_id],
                source_in_meta=rng.random() < 0.7,
            )  # fmt: skip
            _attach_files(rng, a)
            articles[a.id] = a
            column.records.append(a)
            when -= timedelta(hours=rng.randint(10, 120), minutes=rng.randint(0, 59))

    # An old notice pinned at the top of 通知公告: the list is not in date order.
    pinned = JpaasArticle(
        id="4512345", home=NOTICE_ID, title="关于公布省级重大产业项目名单的通知",
        published=datetime(2024, 2, 6, 15, 0, tzinfo=CST), source="省发展改革委办公室",
        paragraphs=["现将省级重大产业项目名单予以公布。", "请各地做好项目服务保障工作。"],
        channels=[NOTICE_ID],
        attachments=[{"url": "/module/download/downfile.jsp?classid=0&filename=240206150012345.xlsx",
                      "name": "省级重大产业项目名单.xlsx", "type": "xlsx"}],
    )  # fmt: skip
    articles[pinned.id] = pinned
    notices.records.insert(0, pinned)
    notices.pinned = 1

    # A withdrawn document whose record stays in the list as a javascript: link.
    notices.records.insert(3, JpaasArticle(
        id="", home=NOTICE_ID, title="该信息已撤回", published=notices.records[3].published,
        source="", dead=True,
    ))  # fmt: skip

    # A Hanweb 引用: a 通知公告 article shown in 工作动态 too, under its own URL.
    quoted = notices.records[9]
    quoted.channels.append(NEWS_ID)
    news.records.insert(5, quoted)

    # A GBK page, its charset declared in its meta tag only.
    gbk = news.records[12]
    gbk.charset, gbk.title, gbk.source = "gbk", "全省重大项目建设推进会召开", SITE_NAME
    gbk.paragraphs, gbk.attachments, gbk.source_in_meta = list(GBK_TEXT), [], True

    for a in articles.values():
        a.body_html = _body_html(rng, a)
    return JpaasPortal(columns=columns, articles=articles, rng=rng)


def _attach_files(rng: random.Random, a: JpaasArticle) -> None:
    """A file below the body: JCMS's downfile.jsp on the site, or the province's file store on
    another host (a link to it is stored, never fetched)."""
    if rng.random() >= 0.3:
        return
    kind = rng.choice(["pdf", "doc", "xls", "docx"])
    name = f"{rng.choice(zh.PLACES)}{rng.choice(['项目清单', '实施方案', '名单公示', '情况表'])}.{kind}"
    stamp = f"{a.published:%Y%m%d%H%M}{rng.randrange(10**5, 10**6)}"
    if rng.random() < 0.5:
        url = f"/module/download/downfile.jsp?classid=0&filename={stamp}.{kind}"
    else:
        url = f"{FILE_STORE}/jcms_files/jcms1/web{WEB_ID}/site/attach/0/{stamp}.{kind}"
    a.attachments.append({"url": url, "name": name, "type": kind})


def _body_html(rng: random.Random, a: JpaasArticle) -> str:
    return "".join(
        f'<p style="text-indent: 2em; line-height: 2em;">{zh.messy(rng, p)}</p>'
        for p in a.paragraphs
    )


# --- pages -----------------------------------------------------------------------------------


def _unit_script(page_id: str, tag_id: str, element: str) -> str:
    query = {"webId": WEB_ID, "pageId": page_id, "tplSetId": TPL_SET_ID, "tagId": tag_id,
             "parseType": "bulidstatic", "pageType": "column", "editType": "null"}  # fmt: skip
    data = json.dumps(query, ensure_ascii=False, separators=(",", ":")).replace('"', "'")
    return (
        f'<script id="{element}" src="/AuthorizedRead/unitbuild.js" url="{UNIT_PATH}" '
        f'queryData="{escape(data)}"></script>'
    )


def column_page(portal: JpaasPortal, column: JpaasColumn) -> str:
    nav = "".join(f'<li><a href="{c.path}">{c.name}</a></li>' for c in portal.columns)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>{column.name}_{SITE_NAME}</title>
<meta name="SiteName" content="{SITE_NAME}"><meta name="SiteIDCode" content="{SITE_ID_CODE}">
<meta name="ColumnName" content="{column.name}"><meta name="ColumnType" content="{column.name}">
<link rel="stylesheet" href="/images/{WEB_ID}/hanweb.css">
<script src="/module/jslib/jquery/jquery.js"></script>
</head><body>
<div class="header"><img src="/images/{WEB_ID}/logo.png" alt="{SITE_NAME}"><ul class="nav">{nav}</ul></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="{column.path}">{column.name}</a></div>
<div class="main"><div class="list-title">{column.name}</div>
<div id="{column.tag_id}"></div>
{_unit_script(column.page_id, column.tag_id, "unit_list")}
</div>
<div id="页脚"></div>
{_unit_script(FOOTER_PAGE_ID, "页脚", "unit_footer")}
</body></html>"""


def _list_item(column: JpaasColumn, a: JpaasArticle) -> str:
    if a.dead:
        return (
            f'<li><a href="javascript:void(0)" title="{a.title}">{a.title}</a>'
            f'<span class="bt_time">{a.published:%Y-%m-%d}</span></li>'
        )
    if column.pager:  # Zhejiang: the full title in the attribute, a cut one shown
        shown = a.title if len(a.title) <= 20 else a.title[:20] + "..."
        return (
            f'<li><a href="{a.path}" title="{escape(a.title)}" target="_blank">{escape(shown)}</a>'
            f'<span class="bt_time">{a.published:%Y-%m-%d}</span></li>'
        )
    return (
        f'<li><a href="{a.path}" target="_blank" title="{escape(a.title)}">{escape(a.title)}</a>'
        f"<span>[{a.published:%Y-%m-%d}]</span></li>"
    )


def unit_html(column: JpaasColumn, page_no: int, size: int) -> str:
    """The list HTML of one page; empty past the last page."""
    rows = column.records[(page_no - 1) * size : page_no * size]
    if not rows:
        return ""
    items = "\n".join(_list_item(column, a) for a in rows)
    html = f'<div class="page-content"><ul class="list">\n{items}\n</ul></div>'
    if column.pager:
        query = escape(json.dumps({"webId": WEB_ID, "pageId": column.page_id, "tplSetId":
                                   TPL_SET_ID, "tagId": column.tag_id}, ensure_ascii=False))  # fmt: skip
        html += (
            f'<table class="pagination" querydata="{query}" uniturl="{UNIT_PATH}" '
            f'count="{len(column.records)}" rows="{size}" pageno="{page_no}"></table>'
            '<script src="/AuthorizedRead/unitpage.js"></script>'
        )
    return html


def unit_reply(html: str) -> bytes:
    reply = {"code": "200", "success": True, "message": "操作成功", "data": {"html": html}}
    return json.dumps(reply, ensure_ascii=False).encode()


def _files_block(a: JpaasArticle) -> str:
    if not a.attachments:
        return ""
    links = "".join(
        f'<li><a href="{escape(f["url"])}" target="_blank">{escape(f["name"])}</a></li>'
        for f in a.attachments
    )
    return f'<div class="article-attach"><p>附件：</p><ul>{links}</ul></div>'


def article_page(portal: JpaasPortal, a: JpaasArticle) -> str:
    """Zhejiang's jpaas article template."""
    column = portal.column(a.home)
    related = "".join(
        f'<li><a href="{r.path}">{escape(r.title[:14])}</a><span>{r.published:%m-%d}</span></li>'
        for r in portal.listed(a.home)[:6]
        if r.id != a.id
    )
    meta_source = escape(a.source) if a.source_in_meta else ""
    return f"""<!DOCTYPE html>
<html><head>
<meta http-equiv="Content-Type" content="text/html; charset={a.charset}">
<title>{escape(a.title)}</title>
<meta name="SiteName" content="{SITE_NAME}">
<meta name="SiteDomain" content="fzggw.example.gov.cn">
<meta name="SiteIDCode" content="{SITE_ID_CODE}">
<meta name="ColumnName" content="{column.name}">
<meta name="ColumnType" content="{column.name}">
<meta name="ArticleTitle" content="{escape(a.title)}">
<meta name="PubDate" content="{a.published:%Y-%m-%d %H:%M}">
<meta name="ContentSource" content="{meta_source}">
<meta name="Keywords" content="{column.name}">
<meta name="Description" content="{escape(a.title)}">
<link rel="stylesheet" href="/images/{WEB_ID}/article.css">
<script src="/module/jslib/jquery/jquery.js"></script>
</head><body>
<div class="header"><img src="/images/{WEB_ID}/logo.png" alt="{SITE_NAME}"></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="{column.path}">{column.name}</a></div>
<div class="main clearfix">
  <div class="article">
    <div class="article-tit">{escape(a.title)}</div>
    <div class="article-info">
      <span>发布日期：{a.published:%Y-%m-%d}</span>
      <span>信息来源：{escape(a.source)}</span>
      <span>浏览次数：<em id="hits"></em></span>
      <span class="zh">字号：[<a href="javascript:doZoom(20)">大</a> <a href="javascript:doZoom(16)">中</a> <a href="javascript:doZoom(14)">小</a>]</span>
    </div>
    <div class="article-conter" id="zoom">{a.body_html}</div>
    {_files_block(a)}
    <div class="article-tools"><a href="javascript:window.print()">【打印本页】</a> <a href="javascript:window.close()">【关闭窗口】</a></div>
  </div>
  <div class="xgwz"><h3>相关文章</h3><ul>{related}</ul></div>
</div>
<div class="footer">主办单位：{SITE_NAME}　网站标识码：{SITE_ID_CODE}</div>
<script src="/module/visitcount/articlehits.jsp?colid={a.home}&artid={a.id}"></script>
</body></html>"""


def ministry_page(portal: JpaasPortal, a: JpaasArticle) -> str:
    """miit.gov.cn's jpaas article template: the body in ``div#con_con``."""
    column = portal.column(a.home)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta name="SiteName" content="中华人民共和国示例部">
<meta name="ColumnName" content="{column.name}">
<meta name="ArticleTitle" content="{escape(a.title)}">
<meta name="PubDate" content="{a.published:%Y-%m-%d %H:%M}">
<meta name="ContentSource" content="{escape(a.source)}">
<title>{escape(a.title)}_中华人民共和国示例部</title></head><body>
<div class="header">中华人民共和国示例部</div>
<div class="ctitle"><h1 id="con_title">{escape(a.title)}</h1></div>
<div class="cinfo center"><span id="con_time">发布时间：{a.published:%Y-%m-%d %H:%M}</span><span>来源：{escape(a.source)}</span></div>
<div id="con_con" class="ccontent center">{a.body_html}</div>
{_files_block(a)}
<div class="footer">版权所有：中华人民共和国示例部</div>
</body></html>"""


class JpaasPortalServer(PortalServer):
    """The jpaas sample portal over HTTP.

    ``failing`` holds (pageId, pageNo) unit pages that answer 500; ``fail_once`` those that
    answer 500 to their first request and 200 after."""

    def __init__(self, portal: JpaasPortal, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.portal = portal
        self.failing: set[tuple[str, int]] = set()
        self.fail_once: set[tuple[str, int]] = set()
        self._failed: set[tuple[str, int]] = set()

    def respond(self, method, path, query, form, headers):  # type: ignore[no-untyped-def]
        html = "text/html; charset=utf-8"
        if method == "GET" and path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /module/visitcount/\n"
        if method != "GET":
            return 405, html, b"<h1>405</h1>"
        if path == UNIT_PATH:
            return self._unit(query)
        for column in self.portal.columns:
            if path == column.path:
                return 200, html, column_page(self.portal, column).encode()
        if path.endswith(".html") and "/art_" in path:
            name = path.rsplit("/art_", 1)[1].removesuffix(".html")
            a = self.portal.articles.get(name.rsplit("_", 1)[-1])
            if a is None or a.path != path or a.withdrawn:
                return 404, html, NOT_FOUND.encode()
            # the GBK page declares its charset in its meta tag only, as old hosts send it
            ctype = html if a.charset == "utf-8" else "text/html"
            return 200, ctype, article_page(self.portal, a).encode(a.charset)
        if path == "/module/download/downfile.jsp":
            return 200, "application/octet-stream", b"%PDF-1.4 sample attachment\n"
        return 404, html, NOT_FOUND.encode()

    def _unit(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        def one(key: str) -> str:
            return (query.get(key) or [""])[0]

        json_type = "application/json;charset=UTF-8"
        column = next((c for c in self.portal.columns if c.page_id == one("pageId")), None)
        try:
            paging = json.loads(one("paramJson") or "{}")
            page_no = int(paging.get("pageNo", 1))
            size = min(max(int(paging.get("pageSize", PER_PAGE)), 1), 100)
        except (ValueError, TypeError, AttributeError):
            page_no, size = 0, 0
        if (
            column is None
            or (one("webId"), one("tplSetId"), one("tagId")) != (WEB_ID, TPL_SET_ID, column.tag_id)
            or page_no < 1
        ):
            error = {"code": "400", "success": False, "message": "参数错误", "data": None}
            return 200, json_type, json.dumps(error, ensure_ascii=False).encode()
        page = (column.page_id, page_no)
        if page in self.failing or (page in self.fail_once and page not in self._failed):
            self._failed.add(page)
            return 500, "text/html; charset=utf-8", b"<html><body><h1>500 Internal Server Error</h1></body></html>"  # fmt: skip
        return 200, json_type, unit_reply(unit_html(column, page_no, size))


def ground_truth(portal: JpaasPortal | None = None) -> dict[str, Any]:
    return (portal or generate_jpaas_portal()).ground_truth()


def profile_text(base_url: str, name: str = "sample-jpaas") -> str:
    """A profile for the jpaas sample: the site's unit parameters, 工作动态's own tagId and
    column page, one channel per column (its pageId)."""
    lines = [
        f'name = "{name}"', f'title = "{SITE_NAME}（样例）"', f'base_url = "{base_url}"',
        'platform = "jpaas"', "",
        "[jpaas]", f'web_id = "{WEB_ID}"', f'tpl_set_id = "{TPL_SET_ID}"', 'tag_id = "信息列表"',
        f"page_size = {PER_PAGE}", "",
        f"[jpaas.channels.{NEWS_ID}]", 'tag_id = "分页列表"', 'column = "/zwgk/gzdt/index.html"', "",
        "[politeness]", "download_delay = 0", "concurrent_requests = 8", "autothrottle = false",
    ]  # fmt: skip
    for column in generate_jpaas_portal().columns:
        lines += ["", "[[channels]]", f'code = "{column.page_id}"', f'name = "{column.name}"']
    return "\n".join(lines) + "\n"

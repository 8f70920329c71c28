"""A sample portal of the TRS WCM layout, and its ground truth.

Two columns of static list pages (``index.html``, ``index_1.html``, … twenty entries a page,
announced by ``createPageHTML``), articles at ``/<column>/<YYYYMM>/t<YYYYMMDD>_<id>.html`` in
the three page templates seen on real TRS sites (``.TRS_Editor`` with 来源 and the attachment
list outside the body, far down the page; a UEditor detail block ``div.view.TRS_UEDITOR`` with
``./P0….pdf`` links inside the body; ``ContentStart``/``ContentEnd`` markers that leave a
责任编辑 line out), a pinned old entry at the top of a list, an article listed in both columns
under one URL (a TRS 引用, linked as ``../../``), a list item whose link cannot be followed, a
sidebar of the other column's articles beside a list, a 信息公开 metadata block, a GBK page,
and, for tests, pages that answer 503 once (``flaky``), list pages that answer 500
(``failing``), columns whose list shows nothing for a while (``emptied``), and a portal that
changes: articles added, edited, re-sorted to the top, moved to another column, withdrawn and
restored.
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
SITE_NAME = "示例市人民政府"
PER_PAGE = 20
GBK_TEXT = [
    "全市政务公开工作推进会召开，会议通报了上半年政务公开第三方评估情况。",
    "会议要求各部门进一步规范政府信息公开目录，做好政策解读和回应关切。",
]


@dataclass
class TrsArticle:
    id: str
    home: str  # the folder of the column that published it: "xwzx/gzdt"
    title: str
    published: datetime
    source: str
    paragraphs: list[str] = field(default_factory=list)
    body_html: str = ""
    # "editor": .TRS_Editor, 来源 and files below the body; "ueditor": div.view.TRS_UEDITOR in
    # a detail block without ArticleTitle/PubDate metas; "markers": ContentStart/ContentEnd
    template: str = "editor"
    attachments: list[dict[str, str]] = field(default_factory=list)  # path, name, type
    outside_files: list[tuple[str, str]] = field(default_factory=list)  # (file, name) below
    public_info: dict[str, str] = field(default_factory=dict)
    charset: str = "utf-8"
    channels: list[str] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return f"/{self.home}/{self.published:%Y%m}/"

    @property
    def path(self) -> str:
        return f"{self.folder}t{self.published:%Y%m%d}_{self.id}.html"


@dataclass
class TrsColumn:
    code: str  # the column's folder: "zwgk/tzgg"
    name: str
    # "vars": var countPage/currentPage then createPageHTML(countPage, currentPage, …);
    # "literal": createPageHTML(2, 0, "index", "html")
    pager: str = "vars"
    dates: str = "dash"  # "dash": <span>2025-12-01</span>; "cn": <em>2025年12月1日</em>
    records: list[TrsArticle] = field(default_factory=list)
    sidebar: bool = False  # the newest articles of the other column beside the list
    dead_item: int | None = None  # position of a list item whose link is javascript:;

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.records) // PER_PAGE))

    def page_path(self, n: int) -> str:
        return f"/{self.code}/index.html" if n == 0 else f"/{self.code}/index_{n}.html"


@dataclass
class TrsPortal:
    columns: list[TrsColumn]
    articles: dict[str, TrsArticle]
    # withdrawn articles, with where each was listed (column, position), for restore()
    withdrawn: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def column(self, code: str) -> TrsColumn:
        return next(c for c in self.columns if c.code == code)

    def add_article(
        self, code: str, title: str, published: datetime, paragraphs: list[str], position: int = 0
    ) -> TrsArticle:
        """A new article of column ``code``, listed at ``position`` (0: the top; 1: below a
        pinned entry); its id is the next the site hands out."""
        a = TrsArticle(
            id=str(max(int(i) for i in [*self.articles, *self.withdrawn]) + 1), home=code,
            title=title, published=published, source=SITE_NAME, paragraphs=list(paragraphs),
            channels=[code],
        )  # fmt: skip
        a.body_html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        self.articles[a.id] = a
        self.column(code).records.insert(position, a)
        return a

    def edit_body(self, article_id: str, paragraphs: list[str]) -> None:
        """The article's page shows another body; its list entries stay as they are."""
        a = self.articles[article_id]
        a.paragraphs = list(paragraphs)
        a.body_html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)

    def move(self, article_id: str, code: str, position: int) -> None:
        """The article's list entry moves to column ``code`` (at ``position``); its page stays
        where it was published."""
        a = self.articles[article_id]
        for column in self.columns:
            if a in column.records:
                column.records.remove(a)
        self.column(code).records.insert(position, a)
        a.channels = [code]

    def withdraw(self, article_id: str) -> TrsArticle:
        """The article leaves every list and its page answers 404."""
        a = self.articles.pop(article_id)
        self.withdrawn[article_id] = [
            (c.code, c.records.index(a)) for c in self.columns if a in c.records
        ]
        for column in self.columns:
            if a in column.records:
                column.records.remove(a)
        return a

    def restore(self, a: TrsArticle) -> None:
        """A withdrawn article is back where it was listed, its page with it."""
        for code, position in self.withdrawn.pop(a.id):
            self.column(code).records.insert(position, a)
        self.articles[a.id] = a

    def move_to_top(self, article_id: str) -> None:
        """An edited article moves to the top of every list that shows it (TRS re-sorts on
        publication), above even the pinned entry."""
        for column in self.columns:
            for i, record in enumerate(column.records):
                if record.id == article_id:
                    column.records.insert(0, column.records.pop(i))
                    break

    def ground_truth(self) -> dict[str, Any]:
        stored = []
        for a in sorted(self.articles.values(), key=lambda a: a.id):
            stored.append(
                {
                    "id": a.id,
                    "url": a.path,
                    "channels": sorted(a.channels),
                    "title": a.title,
                    "published_at": a.published.isoformat(),
                    "source": a.source,
                    "body_text": "\n".join(a.paragraphs),
                    "attachments": a.attachments,
                    "extra": dict(a.public_info),
                    "charset": a.charset,
                }
            )
        return {
            "site_name": SITE_NAME,
            "columns": [
                {
                    "code": c.code,
                    "name": c.name,
                    "records": len(c.records),
                    "pages": c.page_count,
                    "unreadable": 0 if c.dead_item is None else 1,
                    "entries": [
                        {
                            "id": a.id,
                            "url": a.path,
                            "title": a.title,
                            "published": f"{a.published:%Y-%m-%d}",
                        }
                        for a in c.records
                    ],  # fmt: skip
                }
                for c in self.columns
            ],
            "articles": stored,
        }


def _file_name(rng: random.Random, when: datetime, kind: str) -> str:
    return f"P0{when:%Y%m%d}{rng.randrange(10**11, 10**12)}.{kind}"


def generate_trs_portal(seed: int = 83454, sizes: tuple[int, int] = (40, 25)) -> TrsPortal:
    rng = random.Random(seed)
    columns = [
        TrsColumn("xwzx/gzdt", "工作动态", pager="vars", dates="dash"),
        TrsColumn("zwgk/tzgg", "通知公告", pager="literal", dates="cn", sidebar=True, dead_item=3),
    ]
    # publication times, newest first within a column; ids grow with time across the site
    slots: list[tuple[datetime, TrsColumn]] = []
    for column, size in zip(columns, sizes, strict=True):
        when = datetime(2025, 12, 18, 9, 30, tzinfo=CST)
        for _ in range(size):
            slots.append((when, column))
            when -= timedelta(hours=rng.randint(10, 120), minutes=rng.randint(0, 59))
    articles: dict[str, TrsArticle] = {}
    next_id = 274_000
    for when, column in sorted(slots, key=lambda s: s[0]):
        next_id += rng.randint(1, 30)
        a = TrsArticle(
            id=str(next_id), home=column.code, title=zh.title(rng, when.year), published=when,
            source=rng.choice([SITE_NAME, "示例日报", "市政府办公室", "新华社"]),
            template=rng.choice(["editor", "editor", "ueditor", "markers"]), channels=[column.code],
        )  # fmt: skip
        a.paragraphs = zh.paragraphs(rng, rng.randint(2, 4))
        articles[a.id] = a
    for column in columns:
        column.records = sorted(
            (a for a in articles.values() if a.home == column.code),
            key=lambda a: a.published,
            reverse=True,
        )
    gzdt, tzgg = columns

    for a in articles.values():
        _attach_files(rng, a)
        a.body_html = _body_html(rng, a)

    # An old entry pinned at the top of 工作动态: the list is not in date order.
    pinned = TrsArticle(
        id="268120", home=gzdt.code, title="示例市政府信息公开工作年度报告发布",
        published=datetime(2024, 1, 26, 10, 0, tzinfo=CST), source="市政府办公室",
        paragraphs=["现将本市政府信息公开工作年度报告予以公布。", "报告全文见附件。"],
        channels=[gzdt.code],
    )  # fmt: skip
    pinned.attachments = [
        {
            "path": pinned.folder + "P020240126512345678901.pdf",
            "name": "年度报告.pdf",
            "type": "pdf",
        }
    ]
    pinned.outside_files = [("P020240126512345678901.pdf", "年度报告.pdf")]
    pinned.body_html = _body_html(rng, pinned)
    articles[pinned.id] = pinned
    gzdt.records.insert(0, pinned)

    # A TRS 引用: a 工作动态 article listed in 通知公告 too, under its one URL.
    quoted = gzdt.records[12]
    quoted.channels.append(tzgg.code)
    tzgg.records.insert(5, quoted)

    # 信息公开: the <li>索&ensp;引&ensp;号：<font>…</font></li> block, 成文日期 before 发布日期.
    info = tzgg.records[2]
    info.template, info.paragraphs = "editor", zh.paragraphs(rng, 2)
    info.attachments = [
        {"path": info.folder + _file_name(rng, info.published, "pdf"), "name": "工作安排表.pdf",
         "type": "pdf"}
    ]  # fmt: skip
    info.outside_files = [(info.attachments[0]["path"].rsplit("/", 1)[1], "工作安排表.pdf")]
    info.title = "示例市人民政府办公室关于做好2026年元旦春节期间有关工作的通知"
    info.public_info = {
        "index_no": "11350100MB0000000X/2025-00318",
        "topic": "综合政务",
        "publisher": "示例市人民政府办公室",
        "created": f"{info.published - timedelta(days=3):%Y-%m-%d}",
        "doc_no": "示政办〔2025〕41号",
    }
    info.body_html = _body_html(rng, info)

    # A GBK page, its charset declared in its meta tag only.
    gbk = gzdt.records[7]
    gbk.charset, gbk.template = "gbk", "editor"
    gbk.title, gbk.source, gbk.paragraphs = "全市政务公开工作推进会召开", SITE_NAME, list(GBK_TEXT)
    gbk.attachments, gbk.outside_files = [], []
    gbk.body_html = _body_html(rng, gbk)
    return TrsPortal(columns=columns, articles=articles)


def _attach_files(rng: random.Random, a: TrsArticle) -> None:
    """``./P0….pdf`` files: inside the UEditor body, or in the list below a .TRS_Editor body."""
    if rng.random() >= 0.35:
        return
    kind = rng.choice(["pdf", "xls", "doc", "docx"])
    name = f"{rng.choice(zh.PLACES)}{rng.choice(['项目清单', '实施方案', '名单公示', '情况表'])}.{kind}"
    file = _file_name(rng, a.published, kind)
    a.attachments.append({"path": a.folder + file, "name": name, "type": kind})
    if a.template == "ueditor":
        a.paragraphs.append(name)  # the link is a paragraph of the body
    else:
        a.outside_files.append((file, name))


def _body_html(rng: random.Random, a: TrsArticle) -> str:
    parts = [
        f'<p style="text-align: left; text-indent: 2em;">\u3000\u3000{zh.messy(rng, p)}</p>'
        for p in (a.paragraphs[:-1] if a.template == "ueditor" and a.attachments else a.paragraphs)
    ]
    if a.template == "ueditor":
        for found in a.attachments:
            file = found["path"].rsplit("/", 1)[1]
            parts.append(
                '<p class="insertfileTag" style="line-height: 16px; font-size: 16px;">'
                '<img style="vertical-align: middle;" src="/govapp/lib/ueditor_demo/ueditor2/'
                f'dialogs/attachment/fileTypeImages/icon_{found["type"]}.gif">'
                f'<a style="color:#0066cc;" appendix="true" href="./{file}" '
                f'title="{escape(found["name"])}" download="{escape(found["name"])}">'
                f"{escape(found['name'])}</a></p>"
            )
    return "".join(parts)


def list_item(column: TrsColumn, a: TrsArticle) -> str:
    if a.home == column.code:
        href = "./" + a.path[len(f"/{column.code}/") :]
    else:  # another column's article: TRS links it relative to this folder
        href = "../" * column.code.count("/") + "../" + a.path.lstrip("/")
    if column.dates == "cn":
        day = f"<em>{a.published.year}年{a.published.month}月{a.published.day}日</em>"
        return f'<li><a href="{href}" target="_blank">{escape(a.title)}</a>{day}</li>'
    short = a.title if len(a.title) <= 18 else a.title[:18] + "..."
    return (
        f'<li><a href="{href}" target="_blank" title="{escape(a.title)}">{escape(short)}</a>'
        f"<span>{a.published:%Y-%m-%d}</span></li>"
    )


def _pager(column: TrsColumn, n: int) -> str:
    if column.pager == "vars":
        return f"""<script type="text/javascript">
var currentPage = {n};//所在页从0开始
var prevPage = currentPage-1//上一页
var nextPage = currentPage+1//下一页
var countPage = {column.page_count}//共多少页
createPageHTML(countPage, currentPage, "index", "html");
</script>"""
    return f'<script>createPageHTML({column.page_count}, {n}, "index", "html");</script>'


def list_page(portal: TrsPortal, column: TrsColumn, n: int) -> str:
    rows = column.records[n * PER_PAGE : (n + 1) * PER_PAGE]
    items = [list_item(column, a) for a in rows]
    if n == 0 and column.dead_item is not None:  # a withdrawn document's placeholder
        items.insert(column.dead_item, '<li><a href="javascript:;">该信息已撤回</a><em></em></li>')
    nav = "".join(f'<li><a href="/{c.code}/">{c.name}</a></li>' for c in portal.columns)
    sidebar = ""
    if column.sidebar:
        other = next(c for c in portal.columns if c.code != column.code)
        sidebar = '<div class="side_news"><h3>最新动态</h3><ul>' + "".join(
            f'<li><a href="/{a.path.lstrip("/")}">{escape(a.title[:12])}...</a>'
            f"<span>{a.published:%m-%d}</span></li>"
            for a in other.records[1:7]
        ) + "</ul></div>"  # fmt: skip
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>{column.name}_{SITE_NAME}</title>
<meta name="SiteName" content="{SITE_NAME}"><meta name="ColumnName" content="{column.name}">
<script type="text/javascript" src="/images/page.js"></script>
</head><body>
<div class="header"><img src="/images/site_logo.png"><ul class="nav">{nav}</ul></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="./">{column.name}</a></div>
<div class="main">
<div class="list_box"><div class="list_title">{column.name}</div>
<ul class="list_ul">
{chr(10).join(items)}
</ul>
<div class="page">{_pager(column, n)}</div>
</div>
{sidebar}
</div>
<div class="footer">主办：{SITE_NAME}</div>
</body></html>"""


def _metas(portal: TrsPortal, a: TrsArticle) -> str:
    column = portal.column(a.home)
    metas = [
        f'<meta name="SiteName" content="{SITE_NAME}"/>',
        f'<meta name="ColumnName" content="{column.name}"/>',
    ]
    if a.template != "ueditor":
        metas += [
            f'<meta name="ArticleTitle" content="{escape(a.title)}"/>',
            f'<meta name="PubDate" content="{a.published:%Y-%m-%d %H:%M}"/>',
            '<meta name="ContentSource" content=""/>',  # TRS leaves it empty: 来源 is below
        ]
    metas += [f'<meta name="DocId" content="{a.id}"/>', '<meta name="Author" content=""/>']
    return "\n".join(metas)


def _info_block(a: TrsArticle) -> str:
    if not a.public_info:
        return ""
    p = a.public_info
    return f"""<div class="index_box"><ul class="trt-row">
<li>索&ensp;引&ensp;号：<font>{p["index_no"]}</font></li>
<li>主题分类：<font>{p["topic"]}</font></li>
<li>发文机关：<font>{p["publisher"]}</font></li>
<li>成文日期：{p["created"]}</li>
<li>标&ensp;&ensp;&ensp;&ensp;题：<font>{escape(a.title)}</font></li>
<li>发文字号：<font>{p["doc_no"]}</font></li>
<li>发布日期：{a.published:%Y-%m-%d}</li>
</ul></div>"""


def article_page(portal: TrsPortal, a: TrsArticle) -> str:
    column = portal.column(a.home)
    related = "".join(
        f'<li><a href="{r.path}">{escape(r.title[:12])}...</a><span>{r.published:%m-%d}</span></li>'
        for r in column.records[:6]
        if r.id != a.id
    )
    when = f"{a.published:%Y-%m-%d %H:%M}"
    if a.template == "ueditor":
        article = f"""<div class="wrapper_deatil">
  <div class="wrapper_deatil_title">
    {escape(a.title)}
  </div>
  <div class="wrapper_menu clearfix">
    <div class="wrapper_deatil_date fl"><span>
        {when}
      </span><span>来源：
        {escape(a.source)}
      </span></div>
    <div class="wrapper_deatil_font fl"><p class="ft">Aa</p><span>字体：</span><a class="small" href="#">小</a>
      <div class="detail_line">|</div><a href="#" class="middle active_font">中</a><div class="detail_line">|</div><a class="big" href="#">大</a></div>
  </div>
  <div class="wrapper_detail_text"><div class="view TRS_UEDITOR trs_paper_default">{a.body_html}</div></div>
  <div class="file"><h2>附件：</h2><ul>
  </ul></div>
  <div id="div_div" class="xlewm mhide"><div id="qr_container" class="sweep">扫一扫在手机打开当前页</div></div>
</div>"""
    else:
        if a.template == "markers":
            body = (
                f'<div class="TRS_Editor"><meta name="ContentStart">{a.body_html}'
                f'<meta name="ContentEnd"><p>责任编辑：{editor_of(a)}</p></div>'
            )
        else:
            body = f"<div class=TRS_Editor>{a.body_html}</div>"
        files = "".join(
            f'<li><a href="./{file}" target="_blank">{escape(name)}</a></li>'
            for file, name in a.outside_files
        )
        attachment_block = (
            f"""<div class="article_attachment"><div class="title_base">附件下载</div>
  <ul>{files}</ul></div>"""
            if files
            else ""
        )
        article = f"""<div class="article_component">
  <div class="article_title_group"><div class="article_title text_align_center">
    {escape(a.title)}
  </div></div>
  <div class="article_info"><span>发布时间：{when}</span>
    <span class="font">字号：[<a href="javascript:;">大</a>] [<a href="javascript:;">中</a>] [<a href="javascript:;">小</a>]</span></div>
  <div class="article_area"><div class="article_content article_content_01">
    <div class="detail_video"></div>
    {body}
  </div></div>
  <div class="article_extend">
      <span class="article_source">来源：{escape(a.source)}</span>
  </div>
  {attachment_block}
  <div class="article_qrcode_area"><p>扫一扫在手机上查看当前页面</p></div>
</div>"""
    return f"""<!DOCTYPE html>
<html><head>
<meta http-equiv="Content-Type" content="text/html; charset={a.charset}">
{_metas(portal, a)}
<title>{column.name}_{SITE_NAME}</title>
</head><body>
<div class="header"><img src="/images/site_logo.png"></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/{column.code}/">{column.name}</a></div>
{_info_block(a)}
{article}
<div class="xgxx"><h3>相关信息</h3><ul>{related}</ul></div>
<div class="footer">主办：{SITE_NAME}</div>
</body></html>"""


def editor_of(a: TrsArticle) -> str:
    """The 责任编辑 of a page: fixed by the article id, so every render is the same."""
    return zh.AUTHORS[int(a.id) % len(zh.AUTHORS)]


class TrsPortalServer(PortalServer):
    """The TRS sample portal over HTTP.

    ``flaky`` holds article paths that answer 503 to their first request and 200 after,
    ``failing`` paths that answer 500 every time, ``emptied`` the codes of columns whose list
    shows no entry (a column emptied for a while)."""

    def __init__(self, portal: TrsPortal, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.portal = portal
        self.flaky: set[str] = set()
        self.failing: set[str] = set()
        self.emptied: set[str] = set()
        self._failed: set[str] = set()

    def respond(self, method, path, query, form, headers):  # type: ignore[no-untyped-def]
        html = "text/html; charset=utf-8"
        not_found = (404, html, "<html><body><h1>404 页面不存在</h1></body></html>".encode())
        if method == "GET" and path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /guestweb4/\n"
        if method != "GET":
            return 405, html, b"<h1>405</h1>"
        if path in self.failing:
            return 500, html, b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        for listed in self.portal.columns:
            emptied = listed.code in self.emptied
            column = replace(listed, records=[], dead_item=None) if emptied else listed
            folder = f"/{column.code}/"
            if path in (folder, folder + "index.html"):
                return 200, html, list_page(self.portal, column, 0).encode()
            for n in range(1, column.page_count):
                if path == column.page_path(n):
                    return 200, html, list_page(self.portal, column, n).encode()
        name = path.rsplit("/", 1)[-1]
        if name.startswith("t") and name.endswith(".html"):
            a = self.portal.articles.get(name.rsplit("_", 1)[-1].removesuffix(".html"))
            if a is None or a.path != path:
                return not_found
            if path in self.flaky and path not in self._failed:
                self._failed.add(path)
                return 503, html, b"<html><body><h1>503 Service Unavailable</h1></body></html>"
            # the GBK page declares its charset in its meta tag only, as old hosts send it
            ctype = html if a.charset == "utf-8" else "text/html"
            return 200, ctype, article_page(self.portal, a).encode(a.charset)
        if name.startswith("P0") and "." in name:
            return 200, "application/octet-stream", b"%PDF-1.4 sample attachment\n"
        return not_found


def ground_truth(portal: TrsPortal | None = None) -> dict[str, Any]:
    return (portal or generate_trs_portal()).ground_truth()


def profile_text(base_url: str, name: str = "sample-trs") -> str:
    """A profile for the TRS sample: one channel per column folder."""
    lines = [
        f'name = "{name}"', f'title = "{SITE_NAME}（样例）"', f'base_url = "{base_url}"', 'platform = "trs"', "",
        "[politeness]", "download_delay = 0", "concurrent_requests = 8", "autothrottle = false",
    ]  # fmt: skip
    for column in generate_trs_portal().columns:
        lines += ["", "[[channels]]", f'code = "{column.code}"', f'name = "{column.name}"']
    return "\n".join(lines) + "\n"

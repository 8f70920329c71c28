"""A sample portal of the legacy Hanweb JCMS layout, and its ground truth.

Two columns with more records than their pages embed (so ``dataproxy.jsp`` paging runs, in
batches that overlap by a row), three record markups, an article listed in both columns, a
GB2312 page, a page whose declared charset is wrong, a listed article that is 404, a
信息公开 page with its metadata table, attachments, and chrome, counters and a sidebar
around the body modelled on ../shared/reference/seed-article.txt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from w3lib.url import safe_url_string

from sample_portal import text as zh
from sample_portal.server import PortalServer

CST = timezone(timedelta(hours=8))
WEBNAME = "江西省住房和城乡建设厅"
WEBID = "3"
PROXY_PATH = "/module/web/jpage/dataproxy.jsp"
EMBEDDED = 45  # records a column page carries in its <datastore>
GB2312_TEXT = [
    "全省城市更新工作专题培训班在南昌举办。",
    "培训围绕城市体检、老旧小区改造和历史文化保护等内容展开。",
]


@dataclass
class JcmsArticle:
    id: str
    columns: list[str]
    title: str
    published: datetime
    source: str
    paragraphs: list[str] = field(default_factory=list)
    body_html: str = ""
    attachments: list[dict[str, str]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    # "zoom": body in div#zoom; "markers": between ContentStart/ContentEnd metas
    container: str = "zoom"
    public_info: dict[str, str] = field(default_factory=dict)
    lowercase_pubdate: bool = False
    charset: str = "utf-8"  # the page's bytes
    declared_charset: str = "utf-8"  # what its meta tag says
    missing: bool = False  # listed, but the page is 404
    unreadable: bool = False  # its only record has no link: the crawler cannot know it
    home_name: str = ""

    def path(self, column: str) -> str:
        d = self.published
        return f"/art/{d.year}/{d.month}/{d.day}/art_{column}_{self.id}.html"

    @property
    def url(self) -> str:
        # the crawler keeps the smaller of an article's URLs (see pipelines/store.py)
        return min(self.path(c) for c in self.columns)

    @property
    def drop_reason(self) -> str | None:
        if self.missing:
            return "HTTP 404"
        if self.charset != self.declared_charset:
            return "undecodable"
        return None


@dataclass
class JcmsColumn:
    id: str
    name: str
    unitid: str
    markup: str  # "single", "double"
    records: list[JcmsArticle] = field(default_factory=list)
    # a pager without totalRecord: paging only in <nextgroup>, replies without <totalrecord>
    no_total: bool = False


@dataclass
class JcmsPortal:
    columns: list[JcmsColumn]
    articles: dict[str, JcmsArticle]

    def column(self, column_id: str) -> JcmsColumn:
        return next(c for c in self.columns if c.id == column_id)

    def ground_truth(self) -> dict[str, Any]:
        stored, dropped = [], []
        for a in sorted(self.articles.values(), key=lambda a: a.id):
            if a.unreadable:
                continue
            if a.drop_reason:
                dropped.append({"id": a.id, "url": a.path(a.columns[0]), "reason": a.drop_reason})
                continue
            extra = {"column_name": a.home_name, **a.public_info}
            stored.append(
                {
                    "id": a.id,
                    "url": a.url,
                    "channels": sorted(a.columns),
                    "title": a.title,
                    "published_at": a.published.isoformat(),
                    "source": a.source,
                    "body_text": "\n".join(a.paragraphs),
                    "images": a.images,
                    "attachments": a.attachments,
                    "extra": extra,
                }
            )
        return {
            "webid": WEBID,
            "webname": WEBNAME,
            "columns": [
                {"id": c.id, "name": c.name, "unitid": c.unitid, "records": len(c.records)}
                for c in self.columns
            ],
            "unreadable_records": sum(1 for a in self.articles.values() if a.unreadable),
            "articles": stored,
            "dropped": dropped,
        }


def generate_jcms_portal(seed: int = 77926, sizes: tuple[int, int] = (100, 60)) -> JcmsPortal:
    rng = random.Random(seed)
    columns = [
        JcmsColumn("77926", "工作动态", "125478", markup="single"),
        JcmsColumn("77927", "通知公告", "125479", markup="double"),
    ]
    articles: dict[str, JcmsArticle] = {}
    next_id = 4_638_000

    def new_article(column: JcmsColumn, when: datetime) -> JcmsArticle:
        nonlocal next_id
        next_id += rng.randint(1, 40)
        a = JcmsArticle(
            id=str(next_id), columns=[column.id], title=zh.title(rng, when.year), published=when,
            source=rng.choice([WEBNAME, "江西日报", "省住建厅城建处", "新华社"]), home_name=column.name,
        )  # fmt: skip
        a.paragraphs = zh.paragraphs(rng, rng.randint(2, 4))
        parts = [
            f"<p style='text-indent:2em'>\u3000\u3000{zh.messy(rng, p)}</p>" for p in a.paragraphs
        ]
        if rng.random() < 0.2:
            name = f"{rng.choice(zh.PLACES)}城市更新项目清单"
            kind = rng.choice(["pdf", "doc", "xls", "wps", "zip"])
            href = f"/module/download/downfile.jsp?classid=0&filename={rng.getrandbits(64):016x}.{kind}&showname={name}.{kind}"
            parts.append(f'<p>附件：<a href="{escape(href)}">{escape(name)}.{kind}</a></p>')
            a.paragraphs.append(f"附件：{name}.{kind}")
            a.attachments.append(
                {"url": safe_url_string(href), "name": f"{name}.{kind}", "type": kind}
            )
        if rng.random() < 0.15:
            src = f"/picture/0/{a.id}_{rng.getrandbits(32):08x}.jpg"
            parts.insert(1, f'<p style="text-align:center"><img src="{src}" border="0"></p>')
            a.images.append(src)
        if rng.random() < 0.3:
            parts.append("<p>【打印本页】 【关闭窗口】</p>")
        a.body_html = "\n".join(parts)
        a.lowercase_pubdate = rng.random() < 0.2
        column.records.append(a)
        articles[a.id] = a
        return a

    start = datetime(2025, 11, 18, 10, 0, tzinfo=CST)
    for column, size in zip(columns, sizes, strict=True):
        when = start
        for _ in range(size):
            new_article(column, when)
            when -= timedelta(hours=rng.randint(8, 90), minutes=rng.randint(0, 59))

    a_col, b_col = columns
    # One article in both columns: same article id, one URL per column.
    shared = a_col.records[30]
    shared.columns.append(b_col.id)
    b_col.records.insert(10, shared)

    # The reference article as an archive page: 原文链接, a disclaimer and a sidebar after the body.
    seed_title, seed_body, trailer = zh.seed_article()
    seed = a_col.records[60]
    seed.title, seed.source, seed.paragraphs = seed_title, "新华社", list(seed_body)
    seed.images, seed.attachments = [], []
    sidebar = [line[2:] for line in trailer if line.startswith("- ")]
    seed.body_html = "\n".join(
        [f"<p>\u3000\u3000{zh.messy(rng, p)}</p>" for p in seed_body]
        + [f"<p>{escape(line)}</p>" for line in trailer if not line.startswith("- ")]
        + ["<ul class='sidebar'>"] + [f"<li>{escape(line)}</li>" for line in sidebar] + ["</ul>"]
    )  # fmt: skip

    # 信息公开: metadata table, body between the ContentStart/ContentEnd markers.
    info = b_col.records[3]
    info.container = "markers"
    info.title = "江西省住房和城乡建设厅关于开展2024年度城市体检工作的通知"
    info.public_info = {
        "index_no": "014500587/2024-00123",
        "topic": "城乡建设、环境保护",
        "publisher": WEBNAME,
        "created": f"{info.published:%Y-%m-%d}",
        "doc_no": "赣建字〔2024〕12号",
        "validity": "有效",
    }

    # A GB2312 page, correctly declared; and one whose meta tag lies (UTF-8 said, GB2312 sent).
    for record, declared in ((a_col.records[5], "gb2312"), (a_col.records[6], "utf-8")):
        record.paragraphs = list(GB2312_TEXT)
        record.body_html = "\n".join(f"<p>{p}</p>" for p in GB2312_TEXT)
        record.title = "全省城市更新工作专题培训班举办"
        record.source = WEBNAME
        record.attachments, record.images = [], []
        record.charset, record.declared_charset = "gb2312", declared

    # Listed, but gone; and a record with no link at all (in the first dataproxy batch).
    b_col.records[20].missing = True
    a_col.records[50].unreadable = True
    return JcmsPortal(columns=columns, articles=articles)


def record_markup(column: JcmsColumn, a: JcmsArticle, position: int) -> str:
    if a.unreadable:
        return f"<li><span>{escape(a.title)}</span><span>{a.published:%Y-%m-%d}</span></li>"
    href = a.path(column.id)
    if column.markup == "single":
        short = a.title if len(a.title) <= 16 else a.title[:16] + "..."
        return f"<li><a href='{href}' title='{escape(a.title)}' target='_blank'>{escape(short)}</a><span>{a.published:%Y-%m-%d}</span></li>"
    if position % 5 == 4:
        return f'<h1><a href="{href}" target="_blank">{escape(a.title)}</a></h1><h2>{a.published.year}年{a.published.month}月{a.published.day}日</h2>'
    return f'<li>  <a  href="{href}"   target="_blank"  title="{escape(a.title)}">{escape(a.title)}</a>   <span class="bt-data-time">{a.published:%Y-%m-%d}</span>  </li>'


def records_xml(column: JcmsColumn, start: int, end: int) -> str:
    """Records ``start``…``end`` (1-based, inclusive) as <record><![CDATA[…]]></record>."""
    rows = []
    for position in range(start - 1, min(end, len(column.records))):
        rows.append(
            f"<record><![CDATA[{record_markup(column, column.records[position], position)}]]></record>"
        )
    return "\n".join(rows)


def column_page(portal: JcmsPortal, column: JcmsColumn) -> str:
    total = len(column.records)
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{column.name} {WEBNAME}</title>
<meta name="SiteName" content="{WEBNAME}"><meta name="SiteIDCode" content="3600000035">
<meta name="ColumnName" content="{column.name}"><meta name="ColumnType" content="{column.name}">
</head><body>
<div class="top">{WEBNAME}</div>
<div class="position">您当前的位置：<a href="/">首页</a> &gt; <a href="/col/col{column.id}/index.html">{column.name}</a></div>
<div class="list">
<div id="{column.unitid}"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&webid={WEBID}&path=/&columnid={column.id}&unitid={column.unitid}&webname={WEBNAME}&permissiontype=0"></a>]]></nextgroup>
<recordset>
{records_xml(column, 1, EMBEDDED)}
</recordset></datastore></script>
<script language="javascript" src="/module/jslib/jquery/jpage/jquery.page.min.js"></script>
<script language="javascript">
var param_{column.unitid}={{col:1,appid:1,webid:{WEBID},path:'/',columnid:{column.id},sourceContentType:1,unitid:'{column.unitid}',webname:'{WEBNAME}',permissiontype:0}};
$(function(){{ $('#{column.unitid}').jpage({{dataStore:null, {"" if column.no_total else f"totalRecord:{total},"}perPage:15,proxyUrl:'{PROXY_PATH}',groupSize:3,barPosition:'bottom',ajaxParam:param_{column.unitid}}}); }});
</script></div>
</div>
<div class="footer">主办：{WEBNAME}　网站标识码：3600000035</div>
</body></html>"""


def article_page(portal: JcmsPortal, a: JcmsArticle) -> str:
    pubdate_name = "pubdate" if a.lowercase_pubdate else "PubDate"
    info_table = ""
    if a.public_info:
        p = a.public_info
        info_table = f"""<table class="xxgk_table" width="100%">
<tr><td>索引号：</td><td>{p["index_no"]}</td><td>主题分类：</td><td>{p["topic"]}</td></tr>
<tr><td>发布机构：</td><td>{p["publisher"]}</td><td>生成日期：</td><td>{p["created"]}</td></tr>
<tr><td>文号：</td><td>{p["doc_no"]}</td><td>有效性：</td><td>{p["validity"]}</td></tr>
</table>"""
    if a.container == "markers":
        body = f'<div class="bt_content"><meta name="ContentStart">{a.body_html}<meta name="ContentEnd"></div>'
    else:
        body = f'<div id="zoom">{a.body_html}</div>'
    sidebar = "".join(
        f"<li><a href='#'>{escape(r.title[:12])}...</a> {r.published:%m-%d}</li>"
        for r in portal.columns[0].records[:9]
    )
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={a.declared_charset}">
<title>{escape(a.title)}</title>
<meta name="SiteName" content="{WEBNAME}"><meta name="SiteDomain" content="zjt.jiangxi.gov.cn"><meta name="SiteIDCode" content="3600000035">
<meta name="ColumnName" content="{a.home_name}"><meta name="ColumnType" content="{a.home_name}">
<meta name="ArticleTitle" content="{escape(a.title)}">
<meta name="{pubdate_name}" content="{a.published:%Y-%m-%d %H:%M}">
<meta name="ContentSource" content="{escape(a.source)}">
<meta name="Keywords" content="{a.home_name}"><meta name="Description" content="{escape(a.title)}">
</head><body>
<div class="top">{WEBNAME}</div>
<div class="position">您当前的位置：<a href="/">首页</a> &gt; {a.home_name}</div>
{info_table}
<div class="title">{escape(a.title)}</div>
<div class="info">发布时间：{a.published:%Y-%m-%d %H:%M}　来源：{escape(a.source)}　浏览次数：<script language="javascript" src="/module/visitcount/articlehits.jsp?colid={a.columns[0]}&artid={a.id}"></script>
　字体：[<a href="javascript:doZoom(20)">大</a> <a href="javascript:doZoom(16)">中</a> <a href="javascript:doZoom(12)">小</a>]</div>
{body}
<div class="print"><a href="javascript:window.print()">打印</a> <a href="javascript:window.close()">关闭</a></div>
<div class="bdsharebuttonbox">分享到：<a class="bds_weixin">微信</a></div>
<div class="xgxx"><h3>相关信息</h3><ul>{sidebar}</ul></div>
<div class="footer">主办：{WEBNAME}</div>
</body></html>"""


class JcmsPortalServer(PortalServer):
    """The JCMS sample portal over HTTP."""

    def __init__(self, portal: JcmsPortal, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.portal = portal

    def respond(self, method, path, query, form, headers):  # type: ignore[no-untyped-def]
        html = "text/html; charset=utf-8"
        not_found = (
            404,
            html,
            "<html><body><h1>404 您访问的页面不存在</h1></body></html>".encode(),
        )
        if method == "GET" and path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /module/visitcount/\n"
        if method == "POST" and path == PROXY_PATH:
            return self._dataproxy(query, form)
        if path.startswith("/col/col") and path.endswith("/index.html"):
            column_id = path[len("/col/col") : -len("/index.html")]
            if any(c.id == column_id for c in self.portal.columns):
                return 200, html, column_page(self.portal, self.portal.column(column_id)).encode()
            return not_found
        if path.startswith("/art/"):
            article_id = path.rsplit("_", 1)[-1].removesuffix(".html")
            a = self.portal.articles.get(article_id)
            if a is None or a.missing or path not in {a.path(c) for c in a.columns}:
                return not_found
            # a page with its charset only in its meta tag, as the old hosts send them
            return 200, "text/html", article_page(self.portal, a).encode(a.charset)
        if path == "/module/download/downfile.jsp":
            return 200, "application/octet-stream", b"%PDF-1.4 sample"
        if path.startswith("/picture/"):
            return 200, "image/jpeg", b"\xff\xd8\xff\xe0 sample"
        return not_found

    def _dataproxy(self, query, form):  # type: ignore[no-untyped-def]
        def one(source, key):  # type: ignore[no-untyped-def]
            return (source.get(key) or [""])[0]

        column = next((c for c in self.portal.columns if c.id == one(form, "columnid")), None)
        if column is None or one(form, "unitid") != column.unitid or one(form, "webid") != WEBID:
            return (
                200,
                "text/xml;charset=UTF-8",
                b"<datastore><totalrecord>0</totalrecord></datastore>",
            )
        try:
            start, end = int(one(query, "startrecord")), int(one(query, "endrecord"))
        except ValueError:
            return 500, "text/html", b"<html><body>java.lang.NumberFormatException</body></html>"
        # the real pager's batches overlap by one row
        first = max(1, start - 1)
        counts = (
            ""
            if column.no_total
            else f"<totalrecord>{len(column.records)}</totalrecord><totalpage>{-(-len(column.records) // 15)}</totalpage>"
        )
        xml = (
            f"<datastore><nextgroup><![CDATA[]]></nextgroup><recordset>\n{records_xml(column, first, end)}\n</recordset>"
            f"{counts}</datastore>"
        )
        return 200, "text/xml;charset=UTF-8", xml.encode()


def profile_text(base_url: str, name: str = "sample-jcms", with_pager_params: bool = False) -> str:
    """A profile for the JCMS sample; pager params come from the column pages unless asked."""
    lines = [
        f'name = "{name}"', f'title = "{WEBNAME}（样例）"', f'base_url = "{base_url}"', 'platform = "jcms"', "",
        "[politeness]", "download_delay = 0", "concurrent_requests = 8", "autothrottle = false",
    ]  # fmt: skip
    if with_pager_params:
        lines += ["", "[jcms]", f'webid = "{WEBID}"', f'webname = "{WEBNAME}"']
    for column in generate_jcms_portal().columns:
        lines += ["", "[[channels]]", f'code = "{column.id}"', f'name = "{column.name}"']
    return "\n".join(lines) + "\n"

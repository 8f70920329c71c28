"""A sample site in the shape of gov.cn (UCAP), crawled with the ``generic`` platform.

What is copied from the real article page (``shared/real-pages/www.gov.cn/gne_other.html``):
articles at ``/<column>/<YYYY-MM>/<DD>/content_<id>.htm``; the date only in
``<meta name="firstpublishedtime" content="2007-08-20-23:59:59">`` (and ``lastmodifiedtime``
beside it), the editor in ``<meta name='author'>``, the column in ``<meta name="lanmu">``; the
body in ``<div class="pages_content" id="UCAP-CONTENT">``; the header include that ends with a
stray ``</html>`` before ``<!--end header-->`` and the rest of the page; the 字号/打印/share
chrome in the breadcrumb; an empty 相关稿件 list; a hidden ``.share-title`` copy of the title at
the bottom. 公报 pages are the real page's template: no ``<h1>``, the title only in ``<title>``
(``标题__2025年第35号国务院公报_…``), the body opening with the centred title and a
（…通过） line, and no 来源.

What is assumed: news pages put the title in ``<h1 id="ti">`` (the real page's script reads
``$('#ti')``) and a 来源 line in ``div.pages-date`` with no date beside it; body images and
files under ``./<id>/images/`` and ``./<id>/files/``. gov.cn list pages are not described by
the notes: these are simple static pages ``/<column>/home.htm``, ``home_1.htm``, … (15 entries,
``<li><h4><a>title</a><span class="date">YYYY-MM-DD</span></h4></li>``, a 下一页 link, 404 past
the last page), read by the ``generic`` platform from the selectors in :func:`profile_text`.
They carry the same header include as the articles only when ``header_in_lists`` is set.

Quirks: an old entry pinned at the top of 要闻; for history tests, helpers that add, edit (a new
body and ``lastmodifiedtime``, the list unchanged), withdraw (off the list, page 404), pin and
move (listed in the other column, the page where it was) articles, and ``failing`` paths that
answer 500.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from sample_portal.changes import ListChanges
from sample_portal.server import PortalServer

CST = timezone(timedelta(hours=8))
SITE_NAME = "示例政府网"
PER_PAGE = 15
EDITORS = ["马娟", "王洋", "李晓", "张然", "刘茜", "陈曦"]
NEWS_SOURCES = ["新华社", "人民日报", "示例政府网", "国家发展改革委网站", "央视新闻"]
SUBJECTS = ["稳就业", "粮食安全", "数字经济", "乡村振兴", "生态环境保护", "城市更新", "养老服务",
            "科技创新", "对外开放", "营商环境", "安全生产", "防汛抗旱"]  # fmt: skip
BODIES = ["国务院常务会议", "国务院办公厅", "国家发展改革委", "财政部", "教育部", "民政部",
          "生态环境部", "农业农村部", "商务部", "应急管理部"]  # fmt: skip
PLACES = ["北京", "河北", "山西", "江苏", "浙江", "安徽", "江西", "河南", "四川", "甘肃"]


@dataclass
class UcapFile:
    name: str
    stem: str
    type: str


@dataclass
class UcapArticle:
    id: str
    home: str  # the column folder its page lives in: "yaowen"
    title: str
    published: datetime
    source: str  # "" on 公报 pages: they name none
    editor: str  # <meta name='author'>
    paragraphs: list[str] = field(default_factory=list)  # body text lines, as read
    files: list[UcapFile] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # file stems under ./<id>/images/
    template: str = "news"  # "news": <h1 id="ti">, 来源; "gongbao": the real page's template
    issue: str = ""  # 公报: "2025年第35号"
    channels: list[str] = field(default_factory=list)
    modified: datetime | None = None  # lastmodifiedtime, when edited
    gone: bool = False

    @property
    def folder(self) -> str:
        return f"/{self.home}/{self.published:%Y-%m}/{self.published:%d}/"

    @property
    def path(self) -> str:
        return f"{self.folder}content_{self.id}.htm"

    def file_path(self, f: UcapFile) -> str:
        return f"{self.folder}{self.id}/files/{f.stem}.{f.type}"

    def image_path(self, stem: str) -> str:
        return f"{self.folder}{self.id}/images/{stem}.jpg"


@dataclass
class UcapColumn:
    code: str  # "yaowen"
    name: str
    records: list[UcapArticle] = field(default_factory=list)

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.records) // PER_PAGE))

    def page_path(self, n: int) -> str:
        """Page ``n`` (from 0) of the column's list."""
        return f"/{self.code}/home.htm" if n == 0 else f"/{self.code}/home_{n}.htm"


@dataclass
class UcapPortal(ListChanges):
    columns: list[UcapColumn]
    articles: dict[str, UcapArticle]
    pinned: set[str] = field(default_factory=set)
    next_id: int = 7_090_000

    def column(self, code: str) -> UcapColumn:
        return next(c for c in self.columns if c.code == code)

    # --- changes between runs, for history tests ------------------------------------------
    def add(self, code: str, when: datetime, title: str, paragraphs: list[str]) -> UcapArticle:
        """A new news article on top of a column's list (below its pinned entries)."""
        self.next_id += 311
        a = UcapArticle(
            id=str(self.next_id), home=code, title=title, published=when, source="新华社",
            editor=EDITORS[0], paragraphs=list(paragraphs), channels=[code],
        )  # fmt: skip
        self.articles[a.id] = a
        self._insert_by_date(self.column(code), a)
        return a

    def edit_body(self, article_id: str, paragraphs: list[str], when: datetime) -> UcapArticle:
        """A corrected body: ``lastmodifiedtime`` moves, the list does not change."""
        a = self.articles[article_id]
        a.paragraphs, a.files, a.images, a.modified = list(paragraphs), [], [], when
        return a

    def move(self, article_id: str, to: str) -> UcapArticle:
        """Listed in column ``to`` instead of its columns; its page stays where it was."""
        a = self.articles[article_id]
        self._off_lists(a)
        a.channels = [to]
        self._insert_by_date(self.column(to), a)
        return a

    # --- the truth ------------------------------------------------------------------------
    def live(self) -> list[UcapArticle]:
        listed = {a.id for c in self.columns for a in c.records}
        return [a for a in self.articles.values() if a.id in listed and not a.gone]

    def ground_truth(self) -> dict[str, Any]:
        return {
            "site_name": SITE_NAME,
            "columns": [
                {
                    "code": c.code,
                    "name": c.name,
                    "records": len(c.records),
                    "pages": c.page_count,
                    "entries": [
                        {"id": a.id, "url": a.path, "published": f"{a.published:%Y-%m-%d}"}
                        for a in c.records
                    ],
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
                    "author": a.editor,
                    "body_text": "\n".join(body_lines(a)),
                    "images": [a.image_path(stem) for stem in a.images],
                    "attachments": [
                        {"url": a.file_path(f), "name": f.name, "type": f.type} for f in a.files
                    ],
                }
                for a in sorted(self.live(), key=lambda a: a.id)
            ],
        }


def body_lines(a: UcapArticle) -> list[str]:
    """The body as a reader sees it, one paragraph a line: on 公报 pages the centred title
    (as the page breaks it) and its （…通过） line come first; file links are paragraphs."""
    head = [*title_lines(a), passed_line(a)] if a.template == "gongbao" else []
    return [*head, *a.paragraphs, *(f.name for f in a.files)]


def passed_line(a: UcapArticle) -> str:
    """The （…通过） line of a 公报 document: adopted some days before it is published."""
    day = a.published - timedelta(days=3 + int(a.id) % 20)
    return f"（{day.year}年{day.month}月{day.day}日{BODIES[0]}通过）"


def title_lines(a: UcapArticle) -> list[str]:
    """A 公报 title as its centred paragraph breaks it: after the issuer, then in halves."""
    issuer, _, rest = a.title.partition("关于")
    if not rest:
        return [a.title]
    rest = "关于" + rest
    half = len(rest) // 2
    return [issuer, rest[:half], rest[half:]] if len(rest) > 16 else [issuer, rest]


def _sentence(rng: random.Random) -> str:
    forms = [
        "会议指出，要坚持稳中求进工作总基调，扎实做好{subject}各项工作。",
        "{body}有关负责人表示，将进一步完善{subject}政策措施，推动各项部署落地见效。",
        "截至目前，{place}已累计推动{n}个{subject}重点项目开工建设。",
        "各地区各部门要加强统筹协调，强化{subject}要素保障，确保取得实效。",
        "会议强调，要压实各方责任，持续抓好{subject}，切实增强人民群众获得感。",
    ]
    return rng.choice(forms).format(
        subject=rng.choice(SUBJECTS), body=rng.choice(BODIES), place=rng.choice(PLACES),
        n=rng.randint(12, 3000),
    )  # fmt: skip


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    return ["".join(_sentence(rng) for _ in range(rng.randint(1, 3))) for _ in range(count)]


def _stem(rng: random.Random) -> str:
    return hashlib.md5(str(rng.random()).encode()).hexdigest()[:24]


def _news_title(rng: random.Random) -> str:
    forms = ["{body}部署推进{subject}工作", "{place}：多措并举推进{subject}",
             "{body}召开{subject}专题会议", "国务院新闻办就{subject}有关情况举行发布会"]  # fmt: skip
    return rng.choice(forms).format(
        body=rng.choice(BODIES), subject=rng.choice(SUBJECTS), place=rng.choice(PLACES)
    )


def _gongbao_title(rng: random.Random) -> str:
    return rng.choice(
        [
            f"国务院关于进一步做好{rng.choice(SUBJECTS)}工作的意见",
            f"国务院办公厅关于印发{rng.choice(SUBJECTS)}行动方案的通知",
            f"国务院关于同意{rng.choice(PLACES)}开展{rng.choice(SUBJECTS)}试点的批复",
        ]
    )


def generate_ucap_portal(seed: int = 5046260, sizes: tuple[int, int] = (38, 26)) -> UcapPortal:
    rng = random.Random(seed)
    columns = [UcapColumn("yaowen", "要闻"), UcapColumn("gongbao", "国务院公报")]
    drafts: list[tuple[datetime, UcapColumn]] = []
    for column, size in zip(columns, sizes, strict=True):
        when = datetime(2025, 12, 18, 19, 42, 16, tzinfo=CST)
        for _ in range(size):
            drafts.append((when, column))
            when -= timedelta(hours=rng.randint(8, 100), minutes=rng.randint(0, 59),
                              seconds=rng.randint(0, 59))  # fmt: skip
    articles: dict[str, UcapArticle] = {}
    next_id = 7_050_000
    for when, column in sorted(drafts, key=lambda d: d[0]):
        next_id += rng.randint(3, 400)
        gongbao = column.code == "gongbao"
        a = UcapArticle(
            id=str(next_id), home=column.code, published=when, editor=rng.choice(EDITORS),
            title=_gongbao_title(rng) if gongbao else _news_title(rng),
            source="" if gongbao else rng.choice(NEWS_SOURCES),
            paragraphs=_paragraphs(rng, rng.randint(2, 5)),
            template="gongbao" if gongbao else "news", channels=[column.code],
            issue=f"{when:%Y}年第{when.timetuple().tm_yday // 10 + 1}号" if gongbao else "",
        )  # fmt: skip
        if rng.random() < 0.25:
            kind = rng.choice(["pdf", "doc", "docx"])
            name = f"附件：{rng.choice(SUBJECTS)}重点任务分工.{kind}"
            a.files.append(UcapFile(name, _stem(rng), kind))
        if not gongbao and rng.random() < 0.3:
            a.images.append(_stem(rng))
        articles[a.id] = a
        column.records.insert(0, a)

    # an old article pinned on top of 要闻
    yaowen = columns[0]
    when = datetime(2024, 3, 5, 9, 0, 0, tzinfo=CST)
    pinned = UcapArticle(
        id="6936283", home=yaowen.code, title="政府工作报告全文", published=when,
        source="新华社", editor="马娟", channels=[yaowen.code],
        paragraphs=["各位代表：", "现在，我代表国务院，向大会报告政府工作，请予审议，并请全国政协委员提出意见。"],
    )  # fmt: skip
    articles[pinned.id] = pinned
    yaowen.records.insert(0, pinned)
    return UcapPortal(columns=columns, articles=articles, pinned={pinned.id})


# --- pages ------------------------------------------------------------------------------------
HEADER_INCLUDE = """<!--header-->
<link rel="stylesheet" type="text/css" href="/images/trs_FZYouHK_512B.css">
<div class="header">
  <div class="container mhide">
    <div class="padding pos_r">
      <div class="header_logo"><a href="/" target="_blank" aria-label="示例政府网"><img src="/images/gtrs_logo_lt.png" alt="" /></a></div>
      <div class="header_search">
        <form>
          <input type="hidden" name="t" value="govall" />
          <input class="header_search_txt" name="headSearchword" type="text" autocomplete="off" value="" />
          <button class="header_search_btn" type="button" value="&nbsp;" onClick="goSearch(this)" />
        </form>
      </div>
      <ul class="header_toolbar">
        <li><a href="/" target="_blank">首页</a></li>
        <li class="split">|</li>
        <li><a href="../../" target="_blank">简</a></li>
        <li class="split">|</li>
        <li class="nologin"><a id="userlogin" href="javascript:void(0);">登录</a></li>
        <li class="split">|</li>
        <li><a href="javascript:;" onclick="aria.start()" clickhide="false">无障碍</a></li>
      </ul>
    </div>
  </div>
</div>
<div class="siteurl hide">/</div>
<script src="/images/jquery.pagination.js"></script>
<script type="text/javascript" src="/images/pub.js"></script>
<!--  <a href="javascript:void(0)" onclick="aria.start()" style="position: absolute;top: 0px;" class='mhide'>网站无障碍开关</a> -->

</html>
<!--end header-->"""

FOOTER = f"""<!--公共尾开始-->
<div class="footer_wrap">
  <div class="container mhide">
    <div class="footer_links footer_links1">
      <ul class="clearfix">
        <li>链接：</li>
        <li><a href="http://www.npc.gov.cn/" target="_blank">全国人大</a></li>
        <li>|</li>
        <li><a href="http://www.cppcc.gov.cn/" target="_blank">全国政协</a></li>
      </ul>
    </div>
    <div class="footer over_hide">
      <div class="footer_txt fl">
        <div class="footer_nav">
          <span><a href="/index.htm" target="_blank">{SITE_NAME}</a></span>
          <span class="split">|</span>
          <span><a href="/home/2016-05/11/content_5046257.htm" target="_blank">关于本网</a></span>
        </div>
        <div class="footer_copyright">
          <p class="footer_bg_gray zbd">主办单位：示例政府办公厅　运行维护单位：{SITE_NAME}运行中心 </p>
          <p class="footer_bg_gray bqs">版权所有：{SITE_NAME}</p>
          <p>网站标识码bm00000001　<a class="banquan" href="https://beian.miit.gov.cn/#/Integrated/index" target="_blank">京ICP备00000000号</a></p>
        </div>
      </div>
    </div>
  </div>
</div>"""


def _date_meta(when: datetime) -> str:
    return f"{when:%Y-%m-%d-%H:%M:%S}"


def _body_html(a: UcapArticle) -> str:
    rng = random.Random(f"{a.id}:{'/'.join(a.paragraphs)}")  # the same page on every request
    parts = []
    if a.template == "gongbao":
        lines = "<br>\n".join(escape(line) for line in title_lines(a))
        parts.append(
            f'<p align="center"><font size="1" style="FONT-SIZE: 18pt"><strong>{lines}</strong>'
            f"</font><br>\n{passed_line(a)}</p>"
        )
    for i, text in enumerate(a.paragraphs):
        if i == 1 and a.images:
            for stem in a.images:
                parts.append(
                    f'<p style="text-align: center;"><img src="./{a.id}/images/{stem}.jpg" '
                    'border="0" alt="" /></p>'
                )
        indent = "\u3000\u3000" if rng.random() < 0.7 else "&nbsp;&nbsp;&nbsp;&nbsp;"
        parts.append(f'<p style="text-indent: 2em; font-family: 宋体;">{indent}{escape(text)}</p>')
    for f in a.files:
        href = f"./{a.id}/files/{f.stem}.{f.type}"
        parts.append(f'<p><a href="{href}" target="_blank">{escape(f.name)}</a></p>')
    return "\n".join(parts)


def article_page(portal: UcapPortal, a: UcapArticle) -> str:
    column = portal.column(a.home)
    modified = a.modified or a.published
    if a.template == "gongbao":
        page_title = f"{escape(a.title)}__{a.issue}国务院公报_{SITE_NAME}"
        heading = ""
    else:
        page_title = f"{escape(a.title)}_{column.name}_{SITE_NAME}"
        heading = f"""<h1 id="ti">{escape(a.title)}</h1>
                <div class="pages-date">
                    <span class="font">来源：{escape(a.source)}</span>
                </div>"""
    share_title = escape(a.title[:20]) + "<br>" + escape(a.title[20:])
    return f"""
<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">
<html>

<head>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8">
    <meta http-equiv="x-ua-compatible" content="IE=edge">
    <link href="../../../images/trs_favicon.ico" rel="shortcut icon" type="image/x-icon">

 <title>{page_title}</title>
<meta name="others" content="页面生成时间 {modified:%Y-%m-%d %H:%M:%S}">
<meta name="template,templategroup,version" content="6051,100053,1.0" />
<meta name="keywords" content="">
<meta name="description" content='' />
<meta name="catalog" content="{column.code}">
 <meta name="lanmu" content="{a.issue or column.name}">
<meta name='manuscriptId' content="{a.id}">
<meta name='author' content="{escape(a.editor)}">
<meta name="firstpublishedtime" content="{_date_meta(a.published)}">
<meta name="lastmodifiedtime" content="{_date_meta(modified)}">

    <link href="../../../images/trs_public.css" rel="stylesheet" type="text/css" />
    <script src="../../../images/trs_jquery.min.js"></script>
    <style>
    .pages_content img {{
        max-width: 100%;
    }}
    </style>
<script>
var INFO_FLAG={{
	channelinfo:"1238_{a.published:%Y.%m.%d}{a.id}"
}}
</script>
</head>

<body class="GWYGBXL">
{HEADER_INCLUDE}
<div class="content">
    <div class="gwy_gb">
        <!--面包屑开始-->
        <div class="BreadcrumbNav BreadcrumbNav-zyygwj">
            <a href="/" target="_blank">首页</a>&nbsp;&gt;&nbsp;<a href="/{column.code}/home.htm"><span id="lastNodeID">{column.name}</span></a>
            <div class="pages_print mhide pages_print_gwygb">
                <span class="font index_switchsize">字号：<span class="default on">默认</span>
                    <span class="big">大</span>
                    <span class="bigger">超大</span>
                </span>
                <span class="split">|</span>
                <span class="font printIco" onclick="forPrintEventListenerFn('beforeprint')">打印</span>
                <span class="split">|</span>
                <div class="share share_gwygb" id="share">
                    <div class="share-box" id="share-box">
                    <a class="share-btn gwds_tsina" data-w="gwds_tsina" title="新浪微博">&nbsp;</a>
                    <a class="share-btn gwds_weixin" data-w="gwds_weixin" title="微信">&nbsp;</a>
                    </div>
                </div>
            </div>
        </div>
        <!--面包屑结束-->

        <div class="padd-zyygwj">
            <div class="article oneColumn oneColumn_gwygb noneBorder">
                {heading}
                <div class="pages_content" id="UCAP-CONTENT">
                    {_body_html(a)}

                    <div style="display:none">

                    </div>
                </div>

    <div class="pageInfo pageGray" id="pagination"></div>

                <div id="div_div" class="mhide sweep_gb">
                    <div id="qr_container" class="sweep sweep_gwygb">扫一扫在手机打开当前页</div>
                </div>
                <!--相关稿件-->
                <div class="xg-list related">
                    <div class="pannel-title">相关稿件</div>
                    <ul class="list01">

                    </ul>
                </div>
                <!--相关稿件-->
                <div class="clear"></div>
            </div>
        </div>
        <div class="clear"></div>
    </div>
</div>
{FOOTER}
<!--微信分享图功能-->
<div class="share-title" style="display:none">{share_title}</div>
<div class="share-substr" style="display:none"></div>
<img class="share-img" style="display:none" src="/images/150.jpg" width="300" height="300" />
<!--公共尾结束-->
<script src="../../../images/trs_article_pub.js"></script>
<div style="display:none"><script type="text/javascript">document.write(unescape("%3Cscript src='//stat.example.gov.cn/webdig.js?z=1' type='text/javascript'%3E%3C/script%3E"));</script></div></body>

</html>"""


def list_item(column: UcapColumn, a: UcapArticle) -> str:
    if a.home == column.code:
        href = "./" + a.path.removeprefix(f"/{column.code}/")
    else:
        href = f"../{a.path.lstrip('/')}"
    return (
        f'<li><h4><a href="{href}" target="_blank">{escape(a.title)}</a>'
        f'<span class="date">{a.published:%Y-%m-%d}</span></h4></li>'
    )


def list_page(portal: UcapPortal, column: UcapColumn, n: int, header: bool = False) -> str:
    """Page ``n`` (from 0) of a column's list; ``header``: with the articles' header include."""
    shown = column.records[n * PER_PAGE : (n + 1) * PER_PAGE]
    rows = "\n".join(list_item(column, a) for a in shown)

    def file(k: int) -> str:
        return column.page_path(k).rsplit("/", 1)[1]

    pager = [f'<a href="{file(n - 1)}">上一页</a>'] if n > 0 else []
    pager.append(f'<span class="on">{n + 1}</span>')
    if n + 1 < column.page_count:
        pager.append(f'<a class="next" href="{file(n + 1)}">下一页</a>')
    nav = "".join(f'<a href="/{c.code}/home.htm">{c.name}</a>' for c in portal.columns)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{column.name}_{SITE_NAME}</title>
<meta name="lanmu" content="{column.name}">
<link href="/images/trs_public.css" rel="stylesheet" type="text/css" />
</head>
<body>
{HEADER_INCLUDE if header else '<div class="header"><div class="header_logo"><img src="/images/gtrs_logo_lt.png" alt="" /></div></div>'}
<div class="content">
<div class="channel_nav">{nav}</div>
<div class="BreadcrumbNav"><a href="/">首页</a>&nbsp;&gt;&nbsp;{column.name}</div>
<div class="list_box">
  <div class="list list_1 list_2">
    <ul>
{rows}
    </ul>
  </div>
  <div class="pageInfo">{"".join(pager)}</div>
</div>
<div class="side_box"><div class="pannel-title">热点专题</div><ul class="list01"><li><a href="/zhuanti/index.htm">专题</a></li></ul></div>
</div>
{FOOTER}
</body>
</html>"""


class UcapPortalServer(PortalServer):
    """The UCAP sample over HTTP. ``failing``: paths that answer 500 until removed;
    ``header_in_lists``: list pages carry the articles' header include (its stray ``</html>``)."""

    def __init__(self, portal: UcapPortal, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.portal = portal
        self.failing: set[str] = set()
        self.header_in_lists = False

    def respond(self, method, path, query, form, headers):  # type: ignore[no-untyped-def]
        html = "text/html; charset=utf-8"
        not_found = (404, html, "<html><body><h1>404 页面不存在</h1></body></html>".encode())
        if method == "GET" and path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /sousuo/\n"
        if method != "GET":
            return 405, html, b"<h1>405</h1>"
        if path in self.failing:
            return 500, html, b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        for column in self.portal.columns:
            for n in range(column.page_count):
                if path == column.page_path(n):
                    page = list_page(self.portal, column, n, self.header_in_lists)
                    return 200, html, page.encode()
        name = path.rsplit("/", 1)[-1]
        if name.startswith("content_") and name.endswith(".htm"):
            a = self.portal.articles.get(name.removeprefix("content_").removesuffix(".htm"))
            if a is None or a.gone or a.path != path:
                return not_found
            return 200, html, article_page(self.portal, a).encode()
        if "/files/" in path:
            return 200, "application/octet-stream", b"%PDF-1.4 sample attachment\n"
        if "/images/" in path:
            return 200, "image/jpeg", b"\xff\xd8\xff\xe0 sample image"
        return not_found


def ground_truth(portal: UcapPortal | None = None) -> dict[str, Any]:
    return (portal or generate_ucap_portal()).ground_truth()


def profile_text(base_url: str, name: str = "sample-ucap") -> str:
    """A profile for the UCAP sample: the generic platform, its list pages by pattern."""
    lines = [
        f'name = "{name}"', f'title = "{SITE_NAME}（样例）"', f'base_url = "{base_url}"',
        'platform = "generic"', "", "[politeness]", "download_delay = 0",
        "concurrent_requests = 8", "autothrottle = false", "", "[generic]",
        'first_url = "/{channel}/home.htm"', 'list_url = "/{channel}/home_{n}.htm"',
        "first_page = 0", 'entry = "div.list ul li"', 'title = ["h4 a::text", "a::attr(title)"]',
        'link = "h4 a::attr(href)"', 'date = "span.date::text"',
    ]  # fmt: skip
    for column in generate_ucap_portal().columns:
        lines += ["", "[[channels]]", f'code = "{column.code}"', f'name = "{column.name}"']
    return "\n".join(lines) + "\n"

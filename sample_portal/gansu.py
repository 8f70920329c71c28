"""A sample site of Gansu's shared platform (甘肃省政府网站集约化平台), and its ground truth.

What is copied from the real list page (``shared/real-pages/jyt.gansu.gov.cn/column_c110634.html``):
the column's static list pages ``/<site>/<column>/zwgklist.shtml``, ``zwgklist_2.shtml``, …
twenty entries a page, each ``<li><a href="/<site>/<column>/<YYYYMM>/<id>.shtml" title=…>`` with
the date in ``<b>``; the whole list and its pager call
``createPageHTML('page_div', <pages>, <current from 1>, 'zwgklist', 'shtml', <records>)`` inside
one ``<!-- … -->`` comment of ``ul.jytxxgklist``; the 瑞数 script (``$_ts``, ``<meta … r="m">``)
that every page of the host carries, content and all; a left menu of the other columns in table
cells; titles with two spaces between joint issuers (``…教育厅  …财政厅关于…``); month folders
that are not the month of the date the list shows (an entry dated 07-03 under ``202509/``).

What is assumed (no Gansu article page has been seen): the article page is a TRS-like layout —
``ArticleTitle``/``PubDate``/``ContentSource`` metas, a 发布日期/信息来源 line, the body in
``.TRS_Editor`` (信息公开 pages, with an ``<li><strong>索引号：</strong><span>…</span></li>`` block
and no ``PubDate`` meta) or in a UEditor ``div.view.TRS_UEDITOR`` with ``p.insertfileTag`` file
links; files at ``…/<YYYYMM>/<id>/files/<32 hex>.pdf`` (that shape was seen in a link to
jyt.gansu.gov.cn). The second column has its list visible and only its pager call commented out.

Quirks: an old entry pinned at the top of 文件通知, a GBK page (charset in its meta tag only), a
list page that answers 503 once (``flaky``), and, for history tests, helpers that add, edit (the
edited article is re-sorted to the top of its list), withdraw (off the list, page 404), pin and
move articles, and ``failing`` paths that answer 500.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from sample_portal import text as zh
from sample_portal.changes import ListChanges
from sample_portal.server import PortalServer

CST = timezone(timedelta(hours=8))
SITE = "jyt"
SITE_NAME = "示例省教育厅"
SITE_ID_CODE = "6200000099"
PER_PAGE = 20
FIRST_PAGE = "zwgklist.shtml"
# the UEditor's file-type icons beside a file link (not images of the article)
UEDITOR_ICONS = f"/{SITE}/xhtml/ueditor/dialogs/attachment/fileTypeImages"
PLACES = ["兰州市", "天水市", "白银市", "武威市", "张掖市", "酒泉市", "定西市", "陇南市",
          "平凉市", "庆阳市", "临夏州", "甘南州"]  # fmt: skip
TOPICS = ["基础教育精品课", "智慧教育平台应用", "中小学实验教学", "教材建设研究", "银龄讲学计划",
          "学校思想政治工作", "语言文字专项研究", "职业教育教学改革", "学前教育普及普惠",
          "义务教育优质均衡"]  # fmt: skip
VERBS = ["开展", "做好", "组织申报", "推进", "规范"]
DEGREES = ["成效明显", "稳步推进", "进展顺利", "取得阶段性成果"]
OFFICES = ["基础教育处", "教师工作处", "职业教育处", "高等教育处", "办公室"]
SOURCES = [SITE_NAME, "示例省教育厅办公室", "示例省人民政府", "示例日报"]
# a GBK page: its text must be encodable in GBK
GBK_TITLE = "全省教育系统安全工作视频会议召开"
GBK_TEXT = [
    "全省教育系统安全工作视频会议召开，会议通报了秋季学期校园安全检查情况。",
    "会议要求各地各校压实安全责任，做好冬季校园安全和学生心理健康教育工作。",
]


@dataclass
class GansuFile:
    name: str  # what the page calls it: "附件1.名单.pdf"
    stem: str  # 32 hex digits
    type: str  # pdf, doc, xls, …


@dataclass
class GansuArticle:
    id: str
    home: str  # the column folder its page lives in: "c110634"
    title: str  # as a reader sees it (blank runs folded)
    published: datetime  # the date the list and the page show
    filed: datetime  # when the platform stored it: the month folder of its URL
    source: str
    paragraphs: list[str] = field(default_factory=list)
    files: list[GansuFile] = field(default_factory=list)
    public_info: dict[str, str] = field(default_factory=dict)
    charset: str = "utf-8"
    channels: list[str] = field(default_factory=list)
    raw_title: str = ""  # as the platform holds it: two spaces between joint issuers
    gone: bool = False  # withdrawn: its page answers 404

    @property
    def path(self) -> str:
        return f"/{SITE}/{self.home}/{self.filed:%Y%m}/{self.id}.shtml"

    def file_path(self, f: GansuFile) -> str:
        return f"/{SITE}/{self.home}/{self.filed:%Y%m}/{self.id}/files/{f.stem}.{f.type}"

    @property
    def shown_title(self) -> str:
        return self.raw_title or self.title


@dataclass
class GansuColumn:
    code: str  # "c110634"
    name: str
    # "zwgk": 信息公开 pages (.TRS_Editor, metadata block, no PubDate meta); "news": UEditor
    template: str
    # "list": the list and its pager call in one comment (the real page); "pager": only the
    # pager call is commented out
    commented: str = "list"
    records: list[GansuArticle] = field(default_factory=list)
    # the real site names some columns' lists otherwise (zwgklzyj.shtml, jytjydt_jyyw.shtml)
    list_file: str = FIRST_PAGE

    @property
    def stem(self) -> str:
        return self.list_file.removesuffix(".shtml")

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.records) // PER_PAGE))

    def page_path(self, n: int) -> str:
        """Page ``n`` (from 1) of the column's list."""
        name = self.list_file if n == 1 else f"{self.stem}_{n}.shtml"
        return f"/{SITE}/{self.code}/{name}"


@dataclass
class GansuPortal(ListChanges):
    columns: list[GansuColumn]
    articles: dict[str, GansuArticle]
    pinned: set[str] = field(default_factory=set)  # ids kept at the top of their lists
    next_id: int = 174_300_000

    def column(self, code: str) -> GansuColumn:
        return next(c for c in self.columns if c.code == code)

    # --- changes between runs, for history tests ------------------------------------------
    def add(self, code: str, when: datetime, title: str, paragraphs: list[str]) -> GansuArticle:
        """A new article on top of a column's list."""
        self.next_id += 137
        column = self.column(code)
        on_top = sum(1 for r in column.records if r.id in self.pinned)
        a = GansuArticle(
            id=str(self.next_id), home=code, title=title, published=when, filed=when,
            source=SITE_NAME, paragraphs=list(paragraphs), channels=[code],
        )  # fmt: skip
        if column.template == "zwgk":
            a.public_info = _public_info(a, f"示教发〔{when:%Y}〕{int(a.id) % 97}号")
        self.articles[a.id] = a
        column.records.insert(on_top, a)
        return a

    def edit_body(self, article_id: str, paragraphs: list[str]) -> GansuArticle:
        """A corrected body. The platform re-sorts the edited article to the top of every list
        that shows it (its date stays as it was)."""
        a = self.articles[article_id]
        a.paragraphs = list(paragraphs)
        self._to_top(a)
        return a

    def move(self, article_id: str, to: str, keep_url: bool = True) -> GansuArticle:
        """Listed in column ``to`` instead of its columns. ``keep_url``: the page stays where it
        was (a 引用 of the old page); otherwise it is republished in the new column's folder
        under the same id, and the old URL answers 404."""
        a = self.articles[article_id]
        self._off_lists(a)
        if not keep_url:
            a.home = to
        a.channels = [to]
        self._insert_by_date(self.column(to), a)
        return a

    # --- the truth ------------------------------------------------------------------------
    def live(self) -> list[GansuArticle]:
        listed = {a.id for c in self.columns for a in c.records}
        return [a for a in self.articles.values() if a.id in listed and not a.gone]

    def ground_truth(self) -> dict[str, Any]:
        articles = []
        for a in sorted(self.live(), key=lambda a: a.id):
            articles.append(
                {
                    "id": a.id,
                    "url": a.path,
                    "channels": sorted(f"{SITE}/{code}" for code in a.channels),
                    "title": a.title,
                    "published_at": a.published.isoformat(),
                    "source": a.source,
                    "body_text": "\n".join(a.paragraphs + [f.name for f in _inline_files(self, a)]),
                    "images": [],
                    "attachments": [
                        {"url": a.file_path(f), "name": f.name, "type": f.type} for f in a.files
                    ],
                    "extra": {"column_name": self.column(a.home).name, **a.public_info},
                    "charset": a.charset,
                }
            )
        return {
            "site_name": SITE_NAME,
            "columns": [
                {
                    "code": f"{SITE}/{c.code}",
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
            "articles": articles,
        }


def _inline_files(portal: GansuPortal, a: GansuArticle) -> list[GansuFile]:
    """Files whose links are paragraphs of the body (UEditor pages): their names are body text."""
    return a.files if portal.column(a.home).template == "news" else []


def _title(rng: random.Random, year: int, template: str) -> tuple[str, str]:
    """(title as read, title as the platform holds it)."""
    topic, place = rng.choice(TOPICS), rng.choice(PLACES)
    if template == "news":
        form = rng.choice(["{place}：{verb}{topic}{degree}", "{place}召开{topic}工作推进会",
                           "图解：{year}年{topic}政策要点", "一图读懂{topic}"])  # fmt: skip
    else:
        form = rng.choice(["关于{verb}{year}年{topic}工作的通知", f"{SITE_NAME}关于{{verb}}{{topic}}工作的通知",
                           "关于公布{year}年{topic}名单的通知", "JOINT"])  # fmt: skip
    if form == "JOINT":
        raw = f"{SITE_NAME}  示例省财政厅关于做好{year}年{topic}实施工作的通知"
        return raw.replace("  ", " "), raw
    title = form.format(place=place, topic=topic, verb=rng.choice(VERBS), year=year,
                        degree=rng.choice(DEGREES))  # fmt: skip
    return title, title


def _sentence(rng: random.Random) -> str:
    forms = [
        "各市（州）教育局要高度重视{topic}，认真{verb}相关工作。",
        "{place}已有{n}所学校参与{topic}，工作{degree}。",
        "请于{m}月{d}日前将有关材料报送省教育厅{office}。",
        "各地要结合实际，统筹推进{topic}，确保各项任务落到实处。",
        "全省共有{n}个项目纳入{topic}，覆盖中小学{k}所。",
    ]
    return rng.choice(forms).format(
        topic=rng.choice(TOPICS), verb=rng.choice(VERBS), place=rng.choice(PLACES),
        n=rng.randint(3, 900), degree=rng.choice(DEGREES), m=rng.randint(1, 12),
        d=rng.randint(1, 28), office=rng.choice(OFFICES), k=rng.randint(10, 3000),
    )  # fmt: skip


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    return ["".join(_sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(count)]


def _stem(rng: random.Random) -> str:
    return hashlib.md5(str(rng.random()).encode()).hexdigest()


def _public_info(a: GansuArticle, doc_no: str) -> dict[str, str]:
    return {
        "index_no": f"11620000013897953F/{a.published:%Y}-{int(a.id) % 100000:05d}",
        "publisher": SITE_NAME,
        "created": f"{a.published - timedelta(days=3):%Y年%m月%d日}",
        "doc_no": doc_no,
    }


def generate_gansu_portal(seed: int = 110634, sizes: tuple[int, int] = (41, 27)) -> GansuPortal:
    rng = random.Random(seed)
    columns = [
        GansuColumn("c110634", "文件通知", template="zwgk", commented="list"),
        GansuColumn("c107274", "政策解读", template="news", commented="pager"),
    ]
    drafts: list[tuple[datetime, datetime, GansuColumn]] = []
    newest = datetime(2025, 12, 18, 10, 23, tzinfo=CST)
    for column, size in zip(columns, sizes, strict=True):
        when = newest
        for i in range(size):
            # most are stored the day they are dated; now and then one weeks later (a document
            # put online late: its folder is a later month than its date)
            late = i % 7 == 4 and when + timedelta(days=40) < newest
            days = rng.randint(30, 40) if late else 0
            drafts.append((when, when + timedelta(days=days, hours=rng.randint(0, 5)), column))
            when -= timedelta(hours=rng.randint(20, 140), minutes=rng.randint(0, 59))
    articles: dict[str, GansuArticle] = {}
    next_id = 174_100_000
    # ids grow with the time the platform stored the article, not with its date
    for when, filed, column in sorted(drafts, key=lambda d: d[1]):
        next_id += rng.randint(40, 4000)
        title, raw = _title(rng, when.year, column.template)
        a = GansuArticle(
            id=str(next_id), home=column.code, title=title, raw_title=raw, published=when,
            filed=filed, source=rng.choice(SOURCES), paragraphs=_paragraphs(rng, rng.randint(2, 4)),
            channels=[column.code],
        )  # fmt: skip
        if column.template == "zwgk":
            a.public_info = _public_info(a, f"示教发〔{when:%Y}〕{rng.randint(1, 120)}号")
        if rng.random() < 0.3:
            kind = rng.choice(["pdf", "pdf", "doc", "xls"])
            what = rng.choice(["名单", "申报表", "实施方案"])
            name = f"附件{rng.randint(1, 3)}.{rng.choice(TOPICS)}{what}.{kind}"
            a.files.append(GansuFile(name, _stem(rng), kind))
        articles[a.id] = a
    for column in columns:
        column.records = sorted(
            (a for a in articles.values() if a.home == column.code),
            key=lambda a: a.published,
            reverse=True,
        )
    zwgk, news = columns

    # an old report pinned at the top of 文件通知: the list is not in date order
    when = datetime(2024, 3, 5, 9, 0, tzinfo=CST)
    pinned = GansuArticle(
        id="173790215", home=zwgk.code, title=f"{SITE_NAME}2023年政府信息公开工作年度报告",
        published=when, filed=when, source=SITE_NAME,
        paragraphs=["现将本厅2023年政府信息公开工作年度报告予以公布。", "报告全文见附件。"],
        channels=[zwgk.code], files=[GansuFile("2023年政府信息公开工作年度报告.pdf", _stem(rng), "pdf")],
    )  # fmt: skip
    pinned.public_info = _public_info(pinned, "")
    del pinned.public_info["doc_no"]
    articles[pinned.id] = pinned
    zwgk.records.insert(0, pinned)

    # a GBK page, its charset declared in its meta tag only
    gbk = news.records[6]
    gbk.charset, gbk.title, gbk.raw_title = "gbk", GBK_TITLE, GBK_TITLE
    gbk.source, gbk.paragraphs, gbk.files = SITE_NAME, list(GBK_TEXT), []
    return GansuPortal(columns=columns, articles=articles, pinned={pinned.id})


# --- pages ------------------------------------------------------------------------------------
_TS_META = '<meta content="3N1ZV.MVSmU2jFVQWicA1Rljz2F1Q5NppjZta2kBMQSD6iPhuoAfXRezB7mRTpeY" r="m">'
_TS_SCRIPT = """<script type="text/javascript" r='m'>
        $_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=59352;$_ts.cd="qWNqrfAlErLcDsZkDGlRHaEcqrLoDGARDqEscs3EqGqFrG9Cm1LWcqAMlAqFqrLrDpGcqrLoDGARDrlqDGEFqS93";if($_ts.lcd)$_ts.lcd();
    </script>
    <script type="text/javascript" charset="utf-8" src="/tQrlMwxgEtCS/Jk6aVTYjhBeW.294cc83.js" r='m'></script>"""


def _head(title: str, column: GansuColumn, charset: str, extra_meta: str = "") -> str:
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
    <meta name="channelId" content="{hashlib.md5(column.code.encode()).hexdigest()}">
    <meta name="code" content="{column.code}">
    <meta http-equiv="Content-Type" content="text/html; charset={charset}">
    <meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1">
    <meta name="SiteName" content="{SITE_NAME}"/>
    <meta name="SiteDomain" content="http://jyt.example.gov.cn/"/>
    <meta name="SiteIDCode" content="{SITE_ID_CODE}"/>
    <meta name="ColumnName" content="{column.name}"/>
    <meta name="ColumnType" content="政府信息公开"/>
{extra_meta}
    <title>{title}</title>
    <link rel="stylesheet" type="text/css" href="/{SITE}/xhtml/static/css/style.css">
    {_TS_META}
    <!--[if lt IE 9]>
    <script r='m'>document.createElement("section")</script><![endif]-->
    {_TS_SCRIPT}
    <script language="javascript" src="/{SITE}/xhtml/static/js/jquery.min.js"></script>
    <script language="javascript" src="/{SITE}/xhtml/static/js/page.js"></script>
</head>"""


def _top(portal: GansuPortal) -> str:
    nav = "\n".join(
        f'                <a href="{c.page_path(1)}">{c.name}</a>' for c in portal.columns
    )
    return f"""<body>
<div class="top_box">
    <div class="top">
        <div class="logo_box"><img class="logo" src="/{SITE}/xhtml/skin202209/img/logo.svg"/></div>
        <p>
            <a class="wza" href="javascript:;" onclick="aria.start()">网站无障碍</a>
            <a class="slh" href="javascript:;" onclick="aria.oldFixedStart()">适老版</a>
        </p>
        <!--<a class="ztlink" href="http://jyt.example.gov.cn/{SITE}/c250100/jygzindex.shtml" target="_blank"></a> -->
    </div>
    <div class="nav_box"><div class="nav_main"><div class="nav d float">
                <a href="/"><img src="/{SITE}/xhtml/skin202209/img/icon_home.svg"/></a>
{nav}
                <a href="/{SITE}/c107347/hdjl.shtml">互动交流</a>
    </div></div></div>
</div>"""


def _left_menu(portal: GansuPortal) -> str:
    rows = "".join(
        f"""
                                        <tr><td></td></tr>
                                        <tr>
                                            <td>
                                                <li id="erji_{c.code}" class=""><span>·</span><a href="{c.page_path(1)}">{c.name}</a></li>
                                            </td>
                                        </tr>"""
        for c in portal.columns
    )
    return f"""                <!-- 左侧导航 -->
                <div class="xinxigongkai_con_left float">
                    <div class="dl_nav01">
                        <h3 id="c107268"><a href="/{SITE}/c107268/zwgk.shtml"><em class="zwxxgk_bnt1"></em>政府信息<br>公开指南</a></h3>
                    </div>
                    <div class="dl_nav02"><div class="sideMenu">
                        <h3><em class="zwxxgk_bnt0"></em><div style="line-height: 58px;">政府文件</div></h3>
                        <ul id="fd_list" style="background:#fff;border:1px solid #e4e4e4;">
                            <table width="100%" cellspacing="0" cellpadding="0" border="0">
                                <tbody>{rows}
                                </tbody>
                            </table>
                        </ul>
                    </div></div>
                </div>"""


def _footer() -> str:
    return f"""<div class="foot_box"><div class="foot_con">
    <div class="foot_middle">
        <p>版权所有：{SITE_NAME}　　制作维护：示例省教育融媒体中心</p>
        <p style="display:flex;">网站标识码：{SITE_ID_CODE}　　<a href="https://beian.miit.gov.cn/" target="_blank">陇ICP备00000000号-1</a></p>
    </div>
</div></div>
</body>
</html>"""


def list_item(a: GansuArticle) -> str:
    raw = escape(a.shown_title)
    return f"""
                                <li>
                                    <a target="_blank" href="{a.path}" title="{raw}">
                                        {raw}
                                    </a>
                                    <b>{a.published:%Y-%m-%d}</b>
                                </li>
"""


def pager_call(column: GansuColumn, n: int) -> str:
    return (
        f"createPageHTML('page_div',{column.page_count}, {n},'{column.stem}','shtml',"
        f"{len(column.records)});"
    )


def list_page(portal: GansuPortal, column: GansuColumn, n: int) -> str:
    """Page ``n`` (from 1) of a column's list."""
    rows = "".join(list_item(a) for a in column.records[(n - 1) * PER_PAGE : n * PER_PAGE])
    pager = (
        f'<script type="text/javascript" src="/{SITE}/xhtml/js/page.js"></script>'
        f"<script>{pager_call(column, n)}</script>"
    )
    if column.commented == "list":  # as the real page: list and pager in one comment
        listing = f"""<ul class="jytxxgklist">
                            <!--
{rows}{pager}-->

                        </ul>"""
    else:
        listing = f"""<ul class="jytxxgklist">
{rows}
                        </ul>
                        <!--{pager}-->"""
    return f"""{_head(f"{column.name} - {SITE_NAME}", column, "utf-8")}
{_top(portal)}
<div class="index_box">
    <div class="xinxigongkai_box">
        <div class="xinxigongkai_main">
            <div class="xinxigongkai_con container">
                <!-- 搜索 -->
                <div class="zwxxgk_ss"><div class="inputText1">
                    <!--<form name="qForm">-->
                    <input class="int" name="q" value="请输入关键字" id="allsearch_textzwgk" type="text">
                    <input id="inp-submit" type="button" value="提交查询内容" onclick="allSearchzwgk();">
                    <!--</form>-->
                </div></div>
{_left_menu(portal)}
                <div class="scroll_main1">
                    <div class="zfxxgk_zdgktit"><a style="cursor: default;">{column.name}</a></div>
                    <div class="zfxxgk_zdgkc" style=" padding:0px 20px;">
                        <input id="page" type="hidden" value="{n}">
                        <input id="pageSize" type="hidden" value="{PER_PAGE}">
                        {listing}
                    </div>
                    <div class="fenye2 d float"><div class="page"><div id="page_div"></div></div></div>
                </div>
                <div class="clear"></div>
            </div>
        </div>
    </div>
    {_footer()}"""


def _info_block(a: GansuArticle) -> str:
    if not a.public_info:
        return ""
    labels = [("索引号", "index_no"), ("发布机构", "publisher"), ("发文日期", "created"),
              ("文号", "doc_no")]  # fmt: skip
    items = "".join(
        f"<li><strong>{label}：</strong><span>{escape(a.public_info[key])}</span></li>"
        for label, key in labels
        if key in a.public_info
    )
    items += f"<li><strong>发布日期：</strong><span>{a.published:%Y年%m月%d日}</span></li>"
    return f'<div class="xxgk_table"><ul class="clearfix">{items}</ul></div>'


def _body_html(rng: random.Random, portal: GansuPortal, a: GansuArticle) -> str:
    parts = [
        f'<p style="text-indent: 2em; line-height: 2;">\u3000\u3000{zh.messy(rng, p)}</p>'
        for p in a.paragraphs
    ]
    for f in _inline_files(portal, a):
        parts.append(
            '<p class="insertfileTag" style="line-height: 16px;"><img style="vertical-align: '
            f'middle; margin-right: 2px;" src="{UEDITOR_ICONS}/icon_{f.type}.gif"/>'
            f'<a href="{a.file_path(f)}" title="{escape(f.name)}">{escape(f.name)}</a></p>'
        )
    return "".join(parts)


def article_page(portal: GansuPortal, a: GansuArticle) -> str:
    column = portal.column(a.home)
    rng = random.Random(f"{a.id}:{'/'.join(a.paragraphs)}")  # the same page on every request
    when = f"{a.published:%Y-%m-%d %H:%M}"
    metas = [f'    <meta name="ArticleTitle" content="{escape(a.shown_title)}"/>']
    if column.template == "news":
        metas += [
            f'    <meta name="PubDate" content="{when}"/>',
            f'    <meta name="ContentSource" content="{escape(a.source)}"/>',
        ]
    metas.append('    <meta name="Author" content=""/>')
    body = _body_html(rng, portal, a)
    font = (
        '<span class="font">字号：<a href="javascript:;">大</a> <a href="javascript:;">中</a> '
        '<a href="javascript:;">小</a></span>'
    )
    if column.template == "news":
        article = f"""<div class="detail_box">
            <div class="detail_title">{escape(a.shown_title)}</div>
            <div class="detail_info"><span>发布日期：{when}</span>　<span>来源：{escape(a.source)}</span>　{font}</div>
            <div class="detail_con"><div class="view TRS_UEDITOR trs_paper_default trs_web">{body}</div></div>
            <div class="detail_tools"><a href="javascript:window.print();">打印本页</a> <a href="javascript:window.close();">关闭窗口</a></div>
        </div>"""
    else:
        files = "".join(
            f'<p><a href="{a.file_path(f)}" target="_blank">{escape(f.name)}</a></p>'
            for f in a.files
        )
        attachment_block = f'<div class="fjxz"><span>附件：</span>{files}</div>' if files else ""
        article = f"""<div class="detail_box">
            {_info_block(a)}
            <div class="detail_title">{escape(a.shown_title)}</div>
            <div class="detail_info"><span>发布日期：{when}</span>　<span>信息来源：{escape(a.source)}</span>　{font}</div>
            <div class="notice_content"><div class="TRS_Editor">{body}</div></div>
            {attachment_block}
            <div class="detail_tools"><a href="javascript:window.print();">打印本页</a> <a href="javascript:window.close();">关闭窗口</a></div>
        </div>"""
    others = "".join(
        f'<li><a href="{r.path}" title="{escape(r.shown_title)}">{escape(r.title[:14])}…</a><b>{r.published:%m-%d}</b></li>'
        for r in column.records[:6]
        if r.id != a.id
    )
    return f"""{_head(f"{escape(a.shown_title)}-{SITE_NAME}", column, a.charset, chr(10).join(metas))}
{_top(portal)}
<div class="index_box">
    <div class="position">当前位置：<a href="/">首页</a> &gt; <a href="{column.page_path(1)}">{column.name}</a></div>
    <div class="detail_main">
        {article}
        <div class="xgwz"><h3>相关文章</h3><ul>{others}</ul></div>
    </div>
    <script>$.get("/{SITE}/hits?id={a.id}");</script>
    {_footer()}"""


class GansuPortalServer(PortalServer):
    """The Gansu sample over HTTP. ``flaky``: paths that answer 503 to their first request and
    200 after; ``failing``: paths that answer 500 until removed."""

    def __init__(self, portal: GansuPortal, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.portal = portal
        self.flaky: set[str] = set()
        self.failing: set[str] = set()
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
        if path in self.flaky and path not in self._failed:
            self._failed.add(path)
            return 503, html, b"<html><body><h1>503 Service Unavailable</h1></body></html>"
        for column in self.portal.columns:
            for n in range(1, column.page_count + 1):
                if path == column.page_path(n):
                    return 200, html, list_page(self.portal, column, n).encode()
        name = path.rsplit("/", 1)[-1]
        if name.endswith(".shtml"):
            a = self.portal.articles.get(name.removesuffix(".shtml"))
            if a is None or a.gone or a.path != path:
                return not_found
            # the GBK page declares its charset in its meta tag only
            ctype = html if a.charset == "utf-8" else "text/html"
            return 200, ctype, article_page(self.portal, a).encode(a.charset)
        if "/files/" in path:
            return 200, "application/octet-stream", b"%PDF-1.4 sample attachment\n"
        return not_found


def ground_truth(portal: GansuPortal | None = None) -> dict[str, Any]:
    return (portal or generate_gansu_portal()).ground_truth()


def profile_text(base_url: str, name: str = "sample-gansu") -> str:
    """A profile for the Gansu sample: platform trs, the list file named zwgklist.shtml."""
    lines = [
        f'name = "{name}"', f'title = "{SITE_NAME}（样例）"', f'base_url = "{base_url}"',
        'platform = "trs"', "", "[trs]", f'first_page = "{FIRST_PAGE}"', "",
        "[politeness]", "download_delay = 0", "concurrent_requests = 8", "autothrottle = false",
    ]  # fmt: skip
    for column in generate_gansu_portal().columns:
        lines += ["", "[[channels]]", f'code = "{SITE}/{column.code}"', f'name = "{column.name}"']
    return "\n".join(lines) + "\n"

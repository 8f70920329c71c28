"""A sample site of the current platform in its ``col`` shape, and its ground truth.

The shape of sthjt.jiangxi.gov.cn (../shared/real-pages/sthjt.jiangxi.gov.cn): channels
``col<number>`` whose pages live at ``/<site>/col/<channel>/index.html`` and embed, in the
real page's syntax, the channel tree (``channelsTagSelf``, ``channelsTagParent`` with a
trailing comma), the first 50 records (``var listData = { articleList: [ … ] }``, without
bodies) and the list script's parameters (``webSiteCode: ['…']``: /queryList is posted with
``webSiteCode[]=…&channelCode[]=…``). Records carry ``topStatus``, ``articleFiles`` (served
under ``/doc/ucap/…``), ``relationUrl`` (served as the related-articles JSON), ``showTitle``
in ``<p>``, ``metadata``/``images`` as JSON objects and lists, ``pubDate`` without seconds
and ``sortNum`` = publication time in seconds × 10^7 + a counter.

    python -m sample_portal serve --col --port 8800
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from w3lib.url import safe_url_string

from sample_portal import text as zh
from sample_portal.server import PNG_1PX, PortalServer

CST = timezone(timedelta(hours=8))
SITE_CODE = "jxssthjt"
SITE_NAME = "江西省生态环境厅"
WEBSITE_ID = "1753255916894359552"
DOMAIN = "http://sthjt.jiangxi.gov.cn"  # what records say; the crawler must not go there
EMBEDDED = 50  # records a channel page carries in its listData
PER_PAGE = 15


@dataclass
class ColChannel:
    code: str
    name: str
    id: str
    unitid: str
    parent: str = ""  # code of the parent channel
    show_name: str = ""  # the menu's name; may be wrapped in <p>
    shown: bool = True
    records: list[ColArticle] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"/{SITE_CODE}/col/{self.code}/index.html"


@dataclass
class ColArticle:
    id: str
    home: str
    title: str
    published: datetime
    source: str
    author: str = ""
    paragraphs: list[str] = field(default_factory=list)
    body_html: str = ""
    body_attachments: list[dict[str, str]] = field(default_factory=list)
    files: list[dict[str, str]] = field(default_factory=list)  # articleFiles
    images: list[str] = field(default_factory=list)  # the record's images (filePath)
    show_title_only: bool = False  # title "" and showTitle "<p>…</p>"
    pinned: bool = False
    sort_num: int = 0
    in_reply: bool = True  # /queryList carries the body (channel pages never do)

    @property
    def path(self) -> str:
        return f"/{SITE_CODE}/col/{self.home}/content/content_{self.id}.html"

    @property
    def relation_path(self) -> str:
        return f"/{SITE_CODE}/{self.home}/relation/{self.id}-RelationArticle.json"


@dataclass
class ColPortal:
    channels: list[ColChannel]
    articles: dict[str, ColArticle]
    site_code: str = SITE_CODE

    def channel(self, code: str) -> ColChannel:
        return next(c for c in self.channels if c.code == code)

    def listing(self, code: str) -> list[ColArticle]:
        """Records in the platform's order: sortNum desc, pinned (topStatus 1) first."""
        return sorted(self.channel(code).records, key=lambda a: (not a.pinned, -a.sort_num))

    def files(self) -> dict[str, ColArticle]:
        return {f["url"]: a for a in self.articles.values() for f in a.files}

    def ground_truth(self) -> dict[str, Any]:
        return {
            "site_code": SITE_CODE,
            "channel_path": "/{site}/col/{channel}/index.html",
            "channels": [
                {
                    "code": c.code,
                    "name": c.name,
                    "unitid": c.unitid,
                    "records": len(c.records),
                    "shown": c.shown,
                }
                for c in self.channels
            ],  # fmt: skip
            "articles": [
                {
                    "id": a.id,
                    "url": a.path,
                    "channels": [a.home],
                    "title": a.title,
                    "published_at": a.published.isoformat(),
                    "source": a.source,
                    "author": a.author,
                    "body_text": "\n".join(a.paragraphs),
                    "images": a.images,
                    "attachments": a.body_attachments,
                    "listing_attachments": [
                        {"url": f["url"], "name": f["fileName"], "type": f["type"]} for f in a.files
                    ],
                    "pinned": a.pinned,
                    "fetched_from": "listing" if a.in_reply else "page",
                }
                for a in sorted(self.articles.values(), key=lambda a: a.id)
            ],
        }


def _body(rng: random.Random, article: ColArticle) -> None:
    lines = zh.paragraphs(rng, rng.randint(2, 4))
    parts = [f'<p style="text-indent:2em">{zh.messy(rng, p)}</p>' for p in lines]
    if rng.random() < 0.2:
        name = f"{rng.choice(zh.PLACES)}生态环境监测方案"
        digest = f"{rng.getrandbits(64):016x}"
        href = f"/module/download/downfile.jsp?classid=0&filename={digest}.pdf&showname={name}.pdf"
        label = f"附件：{name}.pdf"
        parts.append(f'<p><a href="{escape(href)}">{escape(label)}</a></p>')
        lines.append(label)
        article.body_attachments.append(
            {"url": safe_url_string(href), "name": label, "type": "pdf"}
        )
    article.paragraphs = lines
    article.body_html = "\n".join(parts)


def generate_col_portal(
    seed: int = 20250606, sizes: tuple[int, int, int] = (80, 65, 6)
) -> ColPortal:
    """A parent channel with no records of its own and three children: two larger than the
    50 records a channel page embeds, and one hidden from the menus (showOrNot 0)."""
    rng = random.Random(seed)
    parent = ColChannel("col10001", "政务公开", "1765024993942487040", "380001")
    channels = [
        parent,
        ColChannel("col10002", "文件通知", "1765025138700500992", "380002", parent.code),
        ColChannel(
            "col10003",
            "政策法规解读· 以案释法",
            "1765025142823501824",
            "380055",
            parent.code,
            show_name="<p>政策法规解读· 以案释法</p>",
        ),  # fmt: skip
        ColChannel(
            "col10004", "政府信息公开", "1765025145772097536", "380004", parent.code, shown=False
        ),  # fmt: skip
    ]
    articles: dict[str, ColArticle] = {}
    counter = 0
    start = datetime(2025, 7, 29, 16, 59, tzinfo=CST)
    for channel, size in zip(channels[1:], sizes, strict=True):
        when = start - timedelta(hours=rng.randint(0, 30))
        for _ in range(size):
            counter += 1
            article = ColArticle(
                id=str(1_950_000_000_000_000_000 + rng.randint(0, 10**15) * 1000 + counter),
                home=channel.code,
                title=f"《{zh.title(rng, when.year)}》政策解读",
                published=when,
                source=rng.choice(
                    ["法规与标准处", "固体废物与化学品处", "厅综合处", "生态环境执法局"]
                ),
                author=rng.choice(["张敏", "刘洋", ""]),
                in_reply=counter % 9 != 0,
            )
            _body(rng, article)
            if counter % 4 == 0:
                stamp = 1754038819428 + counter
                name = f"关于印发{article.title[1:9]}的通知{stamp}.pdf"
                token = "".join(
                    rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz") for _ in range(8)
                )
                kind = rng.choice(["pdf", "pdf", "docx", "xlsx"])
                name = name[: -len(".pdf")] + f".{kind}"
                files = [{
                    "url": f"/doc/ucap/1749973237782081536/document/{when:%Y%m%d}/{token}.{kind}",
                    "fileName": name,
                    "filePath": f"/{SITE_CODE}/{channel.code}/{article.id}/{token}.{kind}",
                    "type": kind,
                }]  # fmt: skip
                article.files = files
            if counter % 7 == 0:
                article.images = [f"/{SITE_CODE}/{channel.code}/{article.id}/NAlLquPa.png"]
            if counter % 11 == 0:
                article.show_title_only = True
            article.sort_num = int(when.timestamp()) * 10**7 + rng.randint(0, 99999)
            channel.records.append(article)
            articles[article.id] = article
            when -= timedelta(hours=rng.randint(5, 90), minutes=rng.randint(0, 59))
    # two old entries pinned (topStatus 1) above newer ones
    for article in channels[1].records[-2:]:
        article.pinned = True
    return ColPortal(channels=channels, articles=articles)


# --- rendering, in the real page's syntax -----------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def record_json(article: ColArticle, with_body: bool) -> dict[str, Any]:
    """One record as the platform writes it (a channel page's articleList never has a body)."""
    title = escape(article.title, quote=False)
    record: dict[str, Any] = {
        "classify": 0,
        "images": [
            {
                "cover": p,
                "filePath": p,
                "domainName": DOMAIN,
                "delFlag": 0,
                "fileId": article.id[:18] + "1",
            }
            for p in article.images
        ]
        or [{}],
        "metadata": {"VcEditor": article.source, "Source": article.source}
        | ({"author": article.author} if article.author else {}),
        "relationUrl": article.relation_path,
        "attDownloadType": 0,
        "title": "" if article.show_title_only else title,
        "type": 0,
        "pubDate": f"{article.published:%Y-%m-%d %H:%M}",
        "relation": 1,
        "urls": _dumps({"pc": article.path}),
        "contentSource": article.source,
        "showTitle": f"<p>{title}</p>" if article.show_title_only or article.pinned else title,
        "topStatus": 1 if article.pinned else 0,
        "archiveStatus": 0,
        "sortNum": article.sort_num,
        "articleFiles": [
            {
                "cover": f"/{SITE_CODE}/{article.home}/{article.id}/file.png",
                "fileName": f["fileName"],
                "domainName": DOMAIN,
                "filePath": f["filePath"],
                "delFlag": 0,
                "url": f["url"],
                "fileId": article.id[:18] + "2",
            }
            for f in article.files
        ]
        or [{}],  # fmt: skip
        "id": article.id,
    }
    if with_body and article.in_reply:
        record["content"] = {"content": article.body_html}
    return record


def _channel_json(portal: ColPortal, channel: ColChannel, with_children: bool) -> dict[str, Any]:
    crumbs = [{"urls": {"pc": portal.channel(channel.parent).path}, "name": portal.channel(channel.parent).name}] if channel.parent else []  # fmt: skip
    crumbs.append({"urls": {"pc": channel.path}, "name": channel.name})
    children = [c for c in portal.channels if c.parent == channel.code]
    node: dict[str, Any] = {
        "code": channel.code,
        "releaseTime": 1749181130585,
        "showName": channel.show_name or channel.name,
        "channelType": "0",
        "childCount": len(children),
        "articleCount": len(channel.records),
        "sort": portal.channels.index(channel),
        "parentId": portal.channel(channel.parent).id if channel.parent else "",
        "urls": _dumps({"pc": channel.path}),
        "crumbs": crumbs,
    }
    if with_children and children:
        node["children"] = [_channel_json(portal, c, False) for c in children]
    node |= {"name": channel.name, "showOrNot": 1 if channel.shown else 0, "id": channel.id,
             "aggregationChannel": "0"}  # fmt: skip
    return node


def channel_page(portal: ColPortal, code: str) -> str:
    channel = portal.channel(code)
    root = portal.channel(channel.parent) if channel.parent else channel
    embedded = ",".join(_dumps(record_json(a, False)) for a in portal.listing(code)[:EMBEDDED])
    return f"""<!doctype html>
<html>
  <head>
  <base href="/{SITE_CODE}/" />
  <meta name="SiteName" content="{SITE_NAME}" />
  <meta name="SiteDomain" content="{DOMAIN}" />
  <meta name="SiteIDCode" content="3600000076" />
  <meta name="ColumnName" content="{channel.name}" />
  <meta name="HtmlGenerateTime" content="2025-06-06 11:38:50" />
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
    <title>{channel.name} - {SITE_NAME}</title>
    <script type="text/javascript" src="/{SITE_CODE}/images/jquery-1.7.1.min.js"></script>
    <script src="commonfiles/handlebars.min.js"></script>
    <script>
      var websiteId = '{WEBSITE_ID}',
        websiteCode = '{SITE_CODE}',
        channelId = '{channel.id}',
        codeName = '{channel.code}';
      var channelsTagSelf = {_dumps(_channel_json(portal, channel, False))}; //当前栏目信息
      var channelsTagParent = [
        {_dumps(_channel_json(portal, root, True))},
      ]; //父级栏目信息
      var listData = {{
        articleList: [{embedded}]
      }};
    </script>
  <meta charset="UTF-8"></head>

  <body>
    <div class="container">
      <p class="list-left-title"><span tabindex="0"><script>
          document.write(channelsTagParent[0].showName);
        </script></span></p>
      <div class="box03"><h2><span class="tit">{channel.name}</span></h2></div>
      <div class="box03_con clearfix">
        <div id="{channel.unitid}"></div>
        <script id="div{channel.unitid}" type="text/x-handlebars-template">
          <ul class='List_list'>
            {{{{#each data}}}}{{{{#with this}}}}<li><a href='{{{{pcUrl}}}}' target='_blank' title='{{{{title}}}}'>{{{{title}}}}</a></li>{{{{/with}}}}{{{{/each}}}}
          </ul>
        </script>
        <script src="commonfiles/jquery.jpage.js"></script>
        <script src="commonfiles/utils.js"></script>
        <script>
          var params = {{
            current: 1,
            unitid: '{channel.unitid}',
            webSiteCode: ['{SITE_CODE}'],
            channelCode: ['{channel.code}'],
            dataBefore: '',
            dataAfter: '',
            perPage: '{PER_PAGE}',
            notReturnContent:false,
            showMode: 'normal',
            groupSize: 1,
            barPosition: 'bottom',
            titleMax: '34',
            templateContainerId: 'div{channel.unitid}',
            themeName: 'lucidity',
          }};

          loadPageData(params, '{channel.unitid}');
        </script>
      </div>
    </div>
  </body>
</html>"""


def article_page(portal: ColPortal, article: ColArticle) -> str:
    channel = portal.channel(article.home)
    files = "".join(
        f'<li><a href="{f["url"]}">{escape(f["fileName"])}</a></li>' for f in article.files
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8">
<title>{escape(article.title)} - {SITE_NAME}</title>
<meta name="SiteName" content="{SITE_NAME}"><meta name="ColumnName" content="{channel.name}">
<meta name="ArticleTitle" content="{escape(article.title)}">
<meta name="PubDate" content="{article.published:%Y-%m-%d %H:%M}">
<meta name="ContentSource" content="{escape(article.source)}">
</head><body>
<div class="location">当前位置：<a href="/{SITE_CODE}/index.html">首页</a> &gt; <a href="{channel.path}">{channel.name}</a></div>
<div class="article">
  <h1 class="article-title">{escape(article.title)}</h1>
  <div class="article-info"><span>发布时间：{article.published:%Y-%m-%d %H:%M}</span><span>来源：{escape(article.source)}</span></div>
  <div class="article-content" id="zoom">
{article.body_html}
  </div>
  <div class="fjxz"><ul>{files}</ul></div>
</div>
</body></html>"""


def listing_json(portal: ColPortal, code: str, page: int, per_page: int) -> dict[str, Any]:
    records = portal.listing(code)
    chunk = records[(page - 1) * per_page : page * per_page]
    results = [
        {"id": a.id, "index": f"{SITE_CODE}_{code}", "source": record_json(a, True)} for a in chunk
    ]
    return {"success": True, "code": 200, "msg": "操作成功",
            "data": {"total": len(records), "current": page, "size": per_page,
                     "pages": math.ceil(len(records) / per_page), "results": results}}  # fmt: skip


ARTICLE_PATH = re.compile(rf"^/{SITE_CODE}/col/(?P<channel>\w+)/content/content_(?P<id>\d+)\.html$")
CHANNEL_PATH = re.compile(rf"^/{SITE_CODE}/col/(?P<channel>\w+)/(index\.html)?$")
RELATION_PATH = re.compile(
    rf"^/{SITE_CODE}/(?P<channel>\w+)/relation/(?P<id>\d+)-RelationArticle\.json$"
)


class ColPortalServer(PortalServer):
    """The ``col``-shaped site on a background thread."""

    def __init__(self, portal: ColPortal, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.portal = portal
        self.per_page = PER_PAGE

    def respond(
        self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]],
        headers: Any,
    ) -> tuple[int, str, bytes]:  # fmt: skip
        html = "text/html; charset=utf-8"
        not_found = 404, html, "<html><body><h1>404 页面不存在</h1></body></html>".encode()
        portal = self.portal
        if method == "GET" and path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /admin/\n"
        if method == "POST" and path == "/queryList":
            return self._query_list(form, headers)
        if method != "GET":
            return 405, html, b"<h1>405</h1>"
        if match := ARTICLE_PATH.match(path):
            article = portal.articles.get(match["id"])
            if article is None or article.home != match["channel"]:
                return not_found
            return 200, html, article_page(portal, article).encode()
        if (match := CHANNEL_PATH.match(path)) and any(
            c.code == match["channel"] for c in portal.channels
        ):
            return 200, html, channel_page(portal, match["channel"]).encode()
        if match := RELATION_PATH.match(path):
            return 200, "application/json", b'{"data":[]}'
        if path in portal.files():
            return 200, "application/octet-stream", b"%PDF-1.4 sample attachment\n"
        if path == "/module/download/downfile.jsp" and query.get("filename"):
            return 200, "application/octet-stream", b"%PDF-1.4 sample attachment\n"
        if path.endswith(".png"):
            return 200, "image/png", PNG_1PX
        return not_found

    def _query_list(self, form: dict[str, list[str]], headers: Any) -> tuple[int, str, bytes]:
        if headers.get("X-Requested-With") != "XMLHttpRequest":
            return 403, "text/html; charset=utf-8", b"<html><body>403 Forbidden</body></html>"

        def one(key: str) -> str:
            return (form.get(key) or [""])[0]

        # this site's list script posts the codes as arrays: plain keys find nothing
        code, site = one("channelCode[]"), one("webSiteCode[]")
        try:
            page = max(int(one("current") or 1), 1)
            per_page = max(int(one("perPage") or self.per_page), 1)
        except ValueError:
            return 400, "application/json", b'{"success":false,"msg":"bad paging"}'
        if site != SITE_CODE or all(c.code != code for c in self.portal.channels):
            empty = {
                "success": True,
                "code": 200,
                "data": {"total": 0, "current": page, "results": []},
            }
            return 200, "application/json;charset=UTF-8", _dumps(empty).encode()
        reply = listing_json(self.portal, code, page, per_page)
        return 200, "application/json;charset=UTF-8", _dumps(reply).encode()

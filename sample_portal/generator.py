"""Build a sample portal of the current platform and its ground truth, deterministically.

The generator starts from clean values (title, paragraphs, dates) and renders them the way
the real portal does (padding, entities, wrapped titles, JSON strings inside JSON, pinned
entries, bodies missing from the listing), so the crawler has to recover the clean values.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from w3lib.url import safe_url_string

from sample_portal import text as zh

CST = timezone(timedelta(hours=8))
SITE_CODE = "jxsnynct"
SITE_NAME = "江西省农业农村厅"


@dataclass
class SampleChannel:
    code: str
    name: str
    unitid: str
    # "ok", or a fault the /queryList reply has for this channel: "html_error", "bad_json"
    reply: str = "ok"
    unitid_in_profile: bool = True
    unitid_in_page: bool = True
    records: list[SampleArticle] = field(default_factory=list)


@dataclass
class SampleArticle:
    id: str
    home: str
    title: str
    published: datetime | None
    source: str = ""
    author: str = ""
    paragraphs: list[str] = field(default_factory=list)
    body_html: str = ""
    raw_title: str = ""
    show_title: str = ""
    pub_raw: str = ""
    url_json: str = ""
    metadata_raw: str = ""
    images_json: list[str] = field(default_factory=list)
    body_images: list[str] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    in_json: bool = True
    page_pubdate_meta: bool = True
    page_source: str = ""
    pinned: bool = False
    channels: list[str] = field(default_factory=list)
    repost_of: str | None = None
    drop_reason: str | None = None
    sort_num: int = 0
    # what the listing JSON carries as the body when it is not the body itself ("<p>&nbsp;</p>")
    json_body: str | None = None

    @property
    def path(self) -> str:
        return f"/{SITE_CODE}/{self.home}/content/content_{self.id}.html"

    @property
    def body_text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass
class SamplePortal:
    channels: list[SampleChannel]
    articles: dict[str, SampleArticle]

    def channel(self, code: str) -> SampleChannel:
        return next(c for c in self.channels if c.code == code)

    def listing(self, code: str) -> list[SampleArticle]:
        """Records as /queryList serves them: sortNum desc (pinned first)."""
        return sorted(self.channel(code).records, key=lambda a: (-a.sort_num, a.id))

    def add_article(
        self,
        code: str,
        published: datetime,
        title: str,
        paragraphs: list[str],
        pinned: bool = False,
    ) -> SampleArticle:
        """A new entry at the top of a channel (or pinned above it), as an editor adds one."""
        channel = self.channel(code)
        article = SampleArticle(
            id=str(1_900_000_000_000_000_000 + len(self.articles)), home=code, title=title,
            published=published, source=SITE_NAME, channels=[code], paragraphs=list(paragraphs),
        )  # fmt: skip
        article.raw_title = title
        article.pub_raw = published.strftime("%Y-%m-%d %H:%M:%S")
        article.body_html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        article.metadata_raw = json.dumps({"author": ""})
        article.url_json = json.dumps({"pc": article.path})
        article.page_source = SITE_NAME
        top = max((a.sort_num for a in channel.records if not a.pinned), default=0)
        article.pinned = pinned
        article.sort_num = 9_500_000 if pinned else top + 1
        channel.records.append(article)
        self.articles[article.id] = article
        return article

    def edit_body(self, article_id: str, paragraphs: list[str]) -> SampleArticle:
        article = self.articles[article_id]
        article.paragraphs = list(paragraphs)
        article.body_html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        article.body_images, article.attachments = [], []
        return article

    def ground_truth(self) -> dict[str, Any]:
        stored, dropped = [], []
        for article in sorted(self.articles.values(), key=lambda a: a.id):
            if article.drop_reason:
                dropped.append(
                    {"id": article.id, "channel": article.home, "reason": article.drop_reason}
                )
                continue
            if all(self.channel(c).reply != "ok" for c in article.channels):
                continue
            original = self.articles[article.repost_of].path if article.repost_of else None
            stored.append(
                {
                    "id": article.id,
                    "url": article.path,
                    "channels": sorted(
                        c for c in article.channels if self.channel(c).reply == "ok"
                    ),
                    "title": article.title,
                    "published_at": article.published.isoformat() if article.published else None,
                    "source": article.source or article.page_source,
                    "author": article.author,
                    "body_text": article.body_text,
                    "images": article.images_json
                    + [i for i in article.body_images if i not in article.images_json],
                    "attachments": article.attachments,
                    "duplicate_of": original,
                    "fetched_from": "listing" if article.in_json else "page",
                }
            )
        return {
            "site_code": SITE_CODE,
            "channels": [
                {
                    "code": c.code,
                    "name": c.name,
                    "unitid": c.unitid,
                    "reply": c.reply,
                    "unitid_in_profile": c.unitid_in_profile,
                    "records": len(c.records),
                }
                for c in self.channels
            ],  # fmt: skip
            "articles": stored,
            "dropped": dropped,
        }


def _article_id(rng: random.Random) -> str:
    return str(rng.randint(1_800_000_000_000_000_000, 1_899_999_999_999_999_999))


def _table(rng: random.Random) -> tuple[str, list[str]]:
    header = ["地区", "面积（万亩）", "发生程度"]
    rows = [[rng.choice(zh.PLACES), f"{rng.randint(1, 300)}.{rng.randint(0, 9)}", rng.choice(zh.DEGREES)]
            for _ in range(rng.randint(2, 4))]  # fmt: skip
    html = ['<table border="1" cellspacing="0" style="width:100%">', "<tbody>"]
    for row in [header, *rows]:
        cells = "".join(
            f'<td style="padding:2px"><p style="text-align:center">{escape(c)}</p></td>'
            for c in row
        )
        html.append(f"<tr>{cells}</tr>")
    html.append("</tbody></table>")
    return "\n".join(html), [" | ".join(row) for row in [header, *rows]]


def _paragraph_html(rng: random.Random, clean: str) -> str:
    inner = zh.messy(rng, clean)
    style = rng.random()
    if style < 0.5:
        return f'<p style="text-indent:2em;line-height:1.75em;">\u3000\u3000{inner}</p>'
    if style < 0.8:
        return f'<p><span style="font-family:仿宋_GB2312;font-size:16px">&nbsp;&nbsp;{inner}</span></p>'
    return f"<p>{inner}</p>"


def _regular_body(rng: random.Random, article: SampleArticle) -> None:
    parts_html, lines = [], []
    for paragraph in zh.paragraphs(rng, rng.randint(2, 5)):
        parts_html.append(_paragraph_html(rng, paragraph))
        lines.append(paragraph)
    if rng.random() < 0.15:
        table_html, table_lines = _table(rng)
        parts_html.insert(1, table_html)
        lines[1:1] = table_lines
    if rng.random() < 0.2:
        src = f"/{SITE_CODE}/{article.home}/images/{article.id}_1.jpg"
        parts_html.append(f'<p style="text-align:center"><img src="{src}" alt="" width="600"/></p>')
        article.body_images.append(src)
    if rng.random() < 0.15:
        name = f"{rng.choice(zh.PLACES)}{rng.choice(zh.SUBJECTS)}防控技术方案"
        kind = rng.choice(["pdf", "doc", "xls", "wps"])
        digest = f"{rng.getrandbits(64):016x}"
        href = f"/module/download/downfile.jsp?classid=0&filename={digest}.{kind}&showname={name}.{kind}"
        label = f"附件：{name}.{kind}"
        parts_html.append(f'<p><a href="{escape(href)}" target="_blank">{escape(label)}</a></p>')
        lines.append(label)
        article.attachments.append({"url": safe_url_string(href), "name": label, "type": kind})
    if rng.random() < 0.05:
        href = f"/{SITE_CODE}/{article.home}/files/{article.id}.docx"
        label = "点击下载申报表"
        parts_html.append(f'<p>附件下载：<a href="{href}">{label}</a></p>')
        lines.append(f"附件下载：{label}")
        article.attachments.append({"url": href, "name": label, "type": "docx"})
    article.paragraphs = lines
    article.body_html = "\n".join(parts_html)


def generate_portal(
    seed: int = 20251124,
    per_channel: tuple[int, int, int] = (120, 80, 60),
    detail_every: int = 7,
    specials: bool = True,
) -> SamplePortal:
    """The default sample portal: three working channels with ``per_channel`` articles, two
    channels whose /queryList reply is broken, and (with ``specials``) every quirk of
    ../shared/portal-notes.md. ``detail_every``: every n-th article's body is left out of the
    listing JSON so the article page must be fetched (1 = all)."""
    rng = random.Random(seed)
    channels = [
        SampleChannel("bcyb", "病虫预报", "368486"),
        SampleChannel("fzjz", "防灾减灾", "1821717000426962944"),
        SampleChannel("yjxx", "预警信息", "391204", unitid_in_profile=False),
    ]
    if specials:
        channels += [
            SampleChannel("tzgg", "通知公告", "400001", reply="html_error"),
            SampleChannel("gsgg", "公示公告", "400002", reply="bad_json"),
        ]
    articles: dict[str, SampleArticle] = {}
    start = datetime(2025, 11, 20, 9, 0, tzinfo=CST)
    counter = 0

    def new_article(channel: SampleChannel, when: datetime) -> SampleArticle:
        nonlocal counter
        counter += 1
        article = SampleArticle(
            id=_article_id(rng),
            home=channel.code,
            title=zh.title(rng, when.year),
            published=when,
            source=rng.choice(zh.SOURCES),
            author=rng.choice(zh.AUTHORS) if rng.random() < 0.7 else "",
            channels=[channel.code],
        )
        article.raw_title = zh.messy_title(rng, article.title)
        article.pub_raw = (
            when.strftime("%Y-%m-%d %H:%M:%S")
            if rng.random() < 0.9
            else when.strftime("%Y-%m-%d %H:%M")
        )
        article.published = when.replace(second=0) if len(article.pub_raw) == 16 else when
        article.metadata_raw = json.dumps(
            {"author": article.author, "editor": "", "keywords": ""}, ensure_ascii=False
        )
        article.in_json = counter % detail_every != 0
        article.page_source = article.source
        _regular_body(rng, article)
        if rng.random() < 0.1:
            path = f"/{SITE_CODE}/{channel.code}/images/{article.id}_cover.jpg"
            article.images_json.append(path)
        channel.records.append(article)
        articles[article.id] = article
        return article

    for channel, count in zip(channels, per_channel, strict=False):
        when = start - timedelta(hours=rng.randint(0, 12))
        for _ in range(count):
            new_article(channel, when)
            when -= timedelta(
                hours=rng.randint(6, 60), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59)
            )
    if specials:
        for channel in channels[3:]:
            for _ in range(20):
                new_article(channel, start - timedelta(days=rng.randint(1, 300)))
        _add_specials(rng, channels, articles, new_article)

    for article in articles.values():
        if not article.url_json:
            article.url_json = json.dumps({"pc": article.path}, ensure_ascii=False)
    for channel in channels:
        ordered = sorted(channel.records, key=lambda a: a.published or start, reverse=True)
        for rank, article in enumerate(ordered):
            if not article.pinned:
                article.sort_num = 1_000_000 - rank
    return SamplePortal(channels=channels, articles=articles)


def _add_specials(rng, channels, articles, new_article) -> None:  # type: ignore[no-untyped-def]
    bcyb, fzjz, yjxx = channels[0], channels[1], channels[2]
    records = {c.code: c.records for c in channels}

    # Two old entries pinned (置顶) above newer ones.
    for years_ago in (6, 5):
        pinned = new_article(bcyb, datetime(2025 - years_ago, 3, 15, 10, 0, tzinfo=CST))
        pinned.pinned = True
        pinned.sort_num = 9_000_000 + years_ago
        pinned.title = f"【置顶】{pinned.title}"
        pinned.raw_title = pinned.title

    # One article listed in two channels: same id, same URL (its home channel's).
    shared = records["bcyb"][10]
    shared.channels.append("fzjz")
    fzjz.records.append(shared)

    # An exact repost: another id, later date, the same body.
    original = records["bcyb"][20]
    original.in_json = True
    repost = new_article(yjxx, original.published + timedelta(days=2))
    repost.title = "转载：" + original.title
    repost.raw_title = repost.title
    repost.paragraphs = list(original.paragraphs)
    repost.body_html = original.body_html
    repost.body_images = list(original.body_images)
    repost.attachments = list(original.attachments)
    repost.images_json = []
    repost.in_json = True
    repost.repost_of = original.id

    # The reference article: a Xinhua piece with 原文链接, a disclaimer and a sidebar after it.
    seed_title, seed_body, trailer = zh.seed_article()
    seed = new_article(yjxx, datetime(2023, 10, 24, 9, 12, 0, tzinfo=CST))
    seed.title, seed.raw_title = seed_title, seed_title.replace(" ", "\u3000")
    seed.source, seed.page_source = "新华社", "新华社"
    seed.paragraphs = seed_body
    sidebar = [line for line in trailer if line.startswith("- ")]
    tail = [line for line in trailer if not line.startswith("- ")]
    seed.body_html = "\n".join(
        [f"<p>\u3000\u3000{zh.messy(rng, p)}</p>" for p in seed_body]
        + [f"<p>{escape(line)}</p>" for line in tail]
        + ['<div class="xgxx"><ul>']
        + [
            f'<li><a href="#">{escape(line[2:].rsplit(" ", 1)[0])}</a> {escape(line.rsplit(" ", 1)[-1])}</li>'
            if " " in line[2:]
            else f"<li>{escape(line[2:])}</li>"
            for line in sidebar
        ]  # fmt: skip
        + ["</ul></div>"]
    )
    seed.body_images, seed.attachments, seed.images_json, seed.in_json = [], [], [], True

    # A body of only an image.
    image_only = new_article(yjxx, datetime(2025, 8, 1, 16, 30, tzinfo=CST))
    src = f"/{SITE_CODE}/yjxx/images/{image_only.id}_poster.jpg"
    image_only.body_html = f'<p style="text-align:center"><img src="{src}" title="海报"/></p>'
    image_only.paragraphs, image_only.body_images, image_only.attachments = [], [src], []
    image_only.images_json, image_only.in_json = [], True

    # A body that is only a blank paragraph in the JSON: fetch the page.
    blank = records["fzjz"][5]
    blank.in_json = False
    blank.json_body = "<p>&nbsp;</p>"
    blank.source = ""  # the listing has no 来源; the page's meta tag gives it

    # Listing without pubDate; the page has only the visible label "发布时间：2024年5月6日".
    label = records["fzjz"][7]
    label.in_json = False
    label.pub_raw = ""
    label.page_pubdate_meta = False
    label.published = datetime(
        label.published.year, label.published.month, label.published.day, tzinfo=CST
    )

    # Metadata that is not valid JSON: the author is lost, the article is not.
    broken = records["bcyb"][3]
    broken.metadata_raw = '{"author": "' + (broken.author or "张伟") + '", "editor'
    broken.author = ""

    # Only showTitle, and a URL given as "wap" with tracking parameters.
    show_only = records["yjxx"][4]
    show_only.show_title, show_only.raw_title = show_only.raw_title, ""
    tracked = records["fzjz"][12]
    tracked.url_json = json.dumps({"wap": tracked.path + "?spm=2.1&utm_source=weixin"})

    # Records that cannot be stored: no title; no date.
    untitled = new_article(fzjz, datetime(2025, 6, 3, 8, 0, tzinfo=CST))
    untitled.raw_title, untitled.show_title, untitled.in_json = "", "\u3000 ", True
    untitled.drop_reason = "missing title"
    undated = new_article(bcyb, datetime(2025, 6, 4, 8, 0, tzinfo=CST))
    undated.pub_raw, undated.in_json = "", True
    undated.drop_reason = "missing published_at"


def listing_json(portal: SamplePortal, code: str, page: int, per_page: int) -> dict[str, Any]:
    """The /queryList reply for one channel page, JSON strings inside JSON included."""
    records = portal.listing(code)
    chunk = records[(page - 1) * per_page : page * per_page]
    results = []
    for a in chunk:
        body = a.json_body if a.json_body is not None else (a.body_html if a.in_json else "")
        source = {
            "id": a.id,
            "title": a.raw_title,
            "showTitle": a.show_title,
            "subTitle": "",
            "pubDate": a.pub_raw,
            "contentSource": a.source,
            "channelCode": code,
            "channelName": portal.channel(code).name,
            "urls": a.url_json,
            "metadata": a.metadata_raw,
            "images": json.dumps([{"filePath": p} for p in a.images_json]) if a.images_json else "",
            "content": {"content": body},
            "isTop": 1 if a.pinned else 0,
            "sortNum": a.sort_num,
            "relationUrl": "",
        }
        results.append(
            {"id": a.id, "index": f"{SITE_CODE}_{code}", "score": None, "source": source}
        )
    return {
        "success": True,
        "code": 200,
        "msg": "操作成功",
        "data": {
            "total": len(records),
            "current": page,
            "size": per_page,
            "pages": math.ceil(len(records) / per_page),
            "results": results,
        },
    }

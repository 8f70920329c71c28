"""The article page: its fields, channels, attachments, images, 信息公开 fields, status, the
body as sanitised HTML (never the stored HTML as is), and its version history as diffs."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from fastapi import APIRouter, Request
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.engine import Engine

from crawler import query
from crawler.extraction.body import html_cleaner
from crawler.models import Article, ArticleVersion
from crawler.web import diff
from crawler.web.errors import id_of
from crawler.web.render import page, plain, when
from crawler.web.schemas import ArticleDetail, Problem

router = APIRouter()

# 信息公开 fields of `extra`, in the order a reader expects them
EXTRA_LABELS = {
    "index_no": "索引号",
    "publisher": "发布机构",
    "created": "生成日期",
    "doc_no": "文号",
    "topic": "主题分类",
    "validity": "有效性",
    "column_name": "栏目",
}

_cleaner = html_cleaner(remove_unknown_tags=True, kill_tags=["img", "svg", "math", "template"])


def web_url(url: Any) -> str | None:
    """``url`` when it is an http(s) URL a page may link to, else None."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # e.g. an unclosed [ in the host
        return None
    return url.strip() if scheme in ("http", "https") else None


# a line break the portal's editor left inside a sentence: between two CJK characters it is
# no space (browsers other than Firefox would show one)
CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
WRAPPED = re.compile(f"(?<=[{CJK}])[ \t\u3000]*\n\\s*(?=[{CJK}])")


def _join_cjk(text: str | None) -> str | None:
    return WRAPPED.sub("", text) if text and "\n" in text else text


def sanitise(body_html: str) -> str:
    """The body as HTML safe to show: no script, style, event handler, form, frame or image
    (the page lists the images), links only to http(s) and opened without a referrer."""
    if not body_html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(_cleaner.clean_html(f"<div>{body_html}</div>"))
    except Exception:  # markup lxml cannot read at all is shown as no body
        return ""
    for element in root.iter():
        element.text = _join_cjk(element.text)
        element.tail = _join_cjk(element.tail)
    for link in root.iter("a"):
        href = web_url(link.get("href"))
        link.attrib.clear()
        if href:
            link.set("href", href)
            link.set("rel", "noopener noreferrer nofollow")
    root.attrib.clear()
    root.set("class", "body")
    return lxml.html.tostring(root, encoding="unicode")


def article_detail(engine: Engine, article_id: int) -> dict[str, Any]:
    """``govcrawl show``'s record, the sanitised body and each version with its diff to the
    content that replaced it."""
    record = query.show(engine, str(id_of(article_id, "article")))
    fields = (
        ArticleVersion.replaced_at,
        ArticleVersion.changed,
        ArticleVersion.title,
        ArticleVersion.published_at,
        ArticleVersion.source,
        ArticleVersion.author,
        ArticleVersion.body_text,
    )
    with engine.connect() as conn:
        current = conn.execute(
            select(Article.body_html).where(Article.id == record["id"])
        ).scalar_one()
        versions = [
            dict(r._mapping)
            for r in conn.execute(
                select(*fields)
                .where(ArticleVersion.article_id == record["id"])
                .order_by(ArticleVersion.replaced_at, ArticleVersion.id)
            )
        ]
    record["body_html"] = sanitise(current)
    newer = [*versions[1:], record][: len(versions)]
    record["versions"] = [
        {
            **old,
            "rows": diff.rows(old, new),
            "diff": diff.unified(
                old,
                new,
                f"before {when(old['replaced_at'])}",
                "after" if new is record else f"before {when(new['replaced_at'])}",
            ),
        }
        for old, new in zip(versions, newer, strict=True)
    ]
    record["versions"].reverse()  # the newest edit first
    return record


@router.get(
    "/api/articles/{article_id}",
    response_model=ArticleDetail,
    tags=["search"],
    responses={404: {"model": Problem}},
)
def api_article(request: Request, article_id: int) -> dict[str, Any]:
    """One article (``govcrawl show ID``) with its sanitised body and its version diffs."""
    record = article_detail(request.app.state.reader, article_id)
    for version in record["versions"]:
        version.pop("rows")
    return plain(record)


@router.get("/articles/{article_id}", include_in_schema=False)
def article_page(request: Request, article_id: int) -> Any:
    state = request.app.state
    article = article_detail(state.reader, article_id)
    names = state.catalog.channel_names(article["site"])
    extra = article["extra"] or {}
    known = [(EXTRA_LABELS[k], extra[k]) for k in EXTRA_LABELS if extra.get(k)]
    other = [(k, v) for k, v in extra.items() if k not in EXTRA_LABELS and v]
    attachments = [
        {
            "name": a.get("name") or a.get("url") or "?",
            "type": a.get("type") or "",
            "href": web_url(a.get("url")),
        }
        for a in article["attachments"] or []
        if isinstance(a, dict)
    ]
    return page(
        request,
        "article.html",
        {
            "a": article,
            "body": Markup(article["body_html"]),
            "extra": known + other,
            "channels": [(c, names.get(c, "")) for c in article["channels"]],
            "attachments": attachments,
            "images": [(u, web_url(u)) for u in article["images"] or []],
            "source_href": web_url(article["url"]),
            "active": "/search",
        },
    )

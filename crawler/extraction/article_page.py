"""Article pages of both platforms: meta tags first, then the body container, then labels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

import lxml.html
from lxml import etree

from crawler.extraction.text import clean_text

# Body containers in order of trust; the name is what the stats call the extractor.
BODY_CONTAINERS = [
    ("zoom", "#zoom"),
    ("article-content", ".article-content"),
    ("trs-editor", ".TRS_Editor"),
    ("content-id", "#content"),
]
_CONTENT_MARKERS = re.compile(
    r"<meta\s+name=[\"']?ContentStart[\"']?[^>]*>(?P<body>.*?)<meta\s+name=[\"']?ContentEnd[\"']?[^>]*>",
    re.S | re.I,
)
_LABELS = {
    "published": re.compile(
        r"(?:发布时间|发布日期|日期|时间)\s*[:：]\s*([0-9]{4}[-/年.][0-9]{1,2}[-/月.][0-9]{1,2}日?(?:\s+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?)"
    ),
    "source": re.compile(r"(?:来源|信息来源|文章来源)\s*[:：]\s*([^\s|｜<]{1,40})"),
    "author": re.compile(r"(?:作者|撰稿)\s*[:：]\s*([^\s|｜<]{1,20})"),
}
_CHALLENGE = re.compile(r"\$_ts\s*=\s*window\[['\"]\$_ts['\"]\]|<meta[^>]+\br=[\"']m[\"']", re.I)


@dataclass
class ArticlePage:
    title: str = ""
    published: str | None = None
    source: str = ""
    author: str = ""
    column_name: str = ""
    body_html: str = ""
    body_extractor: str = "none"
    meta: dict[str, str] = field(default_factory=dict)


_NOT_FOUND = re.compile(
    r"<title>[^<]*(?:404|页面不存在|页面未找到|找不到|已删除|不存在)[^<]*</title>|页面不存在|页面未找到|您访问的页面|信息已删除",
    re.I,
)


def is_not_found_page(html: str) -> bool:
    """The portal's own "page not found" page served with 200 (often after a redirect)."""
    return bool(_NOT_FOUND.search(html[:20000]))


def is_challenge_page(html: str) -> bool:
    """A 瑞数-style JavaScript challenge (``$_ts=window['$_ts']``, ``<meta … r="m">``)."""
    return bool(_CHALLENGE.search(html[:20000]))


def _metas(root: lxml.html.HtmlElement) -> dict[str, str]:
    metas: dict[str, str] = {}
    for meta in root.iter("meta"):
        name = (meta.get("name") or "").strip().lower()
        content = meta.get("content")
        if name and content is not None and name not in metas:
            metas[name] = content.strip()
    return metas


def _inner_html(node: lxml.html.HtmlElement) -> str:
    return (escape(node.text) if node.text else "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in node
    )


def _body(root: lxml.html.HtmlElement, html: str) -> tuple[str, str]:
    for name, css in BODY_CONTAINERS:
        found = root.cssselect(css)
        if found:
            return _inner_html(found[0]), name
    match = _CONTENT_MARKERS.search(html)
    if match:
        return match.group("body"), "content-markers"
    return "", "none"


def _label(text: str, key: str) -> str:
    match = _LABELS[key].search(text)
    return clean_text(match.group(1)) if match else ""


_BODY_START = re.compile(r"<body\b", re.I)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")


def _visible_text(html: str) -> str:
    """The start of the page's visible text, where the 发布时间/来源 labels are."""
    start = _BODY_START.search(html)
    head = html[start.start() if start else 0 :][:15000]
    return clean_text(_TAG.sub(" ", _SCRIPT.sub(" ", head)))


def extract_article(html: str, url: str) -> ArticlePage:
    """Fields of one article page. Missing fields come back empty, never invented."""
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return ArticlePage()
    metas = _metas(root)
    labels: dict[str, str] = {}

    def label(key: str) -> str:
        if "text" not in labels:  # read the visible text only when a meta tag is missing
            labels["text"] = _visible_text(html)
        return _label(labels["text"], key)

    title = clean_text(metas.get("articletitle", ""))
    if not title:
        title = clean_text(" ".join(h.text_content() for h in root.iter("h1")))
    if not title:
        page_title = clean_text(root.findtext(".//title") or "")
        title = re.split(r"\s*[-_|｜]\s*", page_title)[0] if page_title else ""

    body_html, extractor = _body(root, html)
    return ArticlePage(
        title=title,
        published=metas.get("pubdate") or label("published") or None,
        source=clean_text(metas.get("contentsource", "")) or label("source"),
        author=clean_text(metas.get("author", "")) or label("author"),
        column_name=clean_text(metas.get("columnname", "")),
        body_html=body_html,
        body_extractor=extractor,
        meta=metas,
    )

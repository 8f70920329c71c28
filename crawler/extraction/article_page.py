"""Article pages of both platforms: meta tags first, then the body container, then labels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsel import Selector

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


def is_challenge_page(html: str) -> bool:
    """A 瑞数-style JavaScript challenge (``$_ts=window['$_ts']``, ``<meta … r="m">``)."""
    return bool(_CHALLENGE.search(html[:20000]))


def _metas(sel: Selector) -> dict[str, str]:
    metas: dict[str, str] = {}
    for meta in sel.xpath("//meta[@name]"):
        name = (meta.attrib.get("name") or "").strip().lower()
        content = meta.attrib.get("content")
        if name and content is not None and name not in metas:
            metas[name] = content.strip()
    return metas


def _body(sel: Selector, html: str) -> tuple[str, str]:
    for name, css in BODY_CONTAINERS:
        found = sel.css(css)
        if found:
            node = found[0]
            inner = "".join(child.get() for child in node.xpath("node()"))
            return inner, name
    match = _CONTENT_MARKERS.search(html)
    if match:
        return match.group("body"), "content-markers"
    return "", "none"


def _label(text: str, key: str) -> str:
    match = _LABELS[key].search(text)
    return clean_text(match.group(1)) if match else ""


def extract_article(html: str, url: str) -> ArticlePage:
    """Fields of one article page. Missing fields come back empty, never invented."""
    sel = Selector(text=html)
    metas = _metas(sel)
    header_text = clean_text(
        " ".join(sel.xpath("//body//text()[not(ancestor::script)]").getall()[:400])
    )

    title = clean_text(metas.get("articletitle", ""))
    if not title:
        title = clean_text(" ".join(sel.css("h1 ::text").getall()))
    if not title:
        page_title = clean_text(sel.xpath("string(//title)").get() or "")
        title = re.split(r"\s*[-_|｜]\s*", page_title)[0] if page_title else ""

    published = metas.get("pubdate") or _label(header_text, "published") or None
    body_html, extractor = _body(sel, html)
    return ArticlePage(
        title=title,
        published=published,
        source=clean_text(metas.get("contentsource", "")) or _label(header_text, "source"),
        author=clean_text(metas.get("author", "")) or _label(header_text, "author"),
        column_name=clean_text(metas.get("columnname", "")),
        body_html=body_html,
        body_extractor=extractor,
        meta=metas,
    )

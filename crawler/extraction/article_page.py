"""Article pages: meta tags first, then the body container, then the visible labels.

Every field records the extractor that produced it in ``ArticlePage.provenance`` (``title`` →
``meta:ArticleTitle``, ``source`` → ``label:来源``, ``body`` → ``container:trs-ueditor`` …), so a
crawl can count which fallbacks a portal needs. Platforms seen: Hanweb JCMS (``#zoom``,
``ContentStart``/``ContentEnd`` markers), TRS WCM (``.TRS_Editor``, ``div.view.TRS_UEDITOR``,
``div.article_content``; 来源 and attachments outside the body), gov.cn UCAP
(``#UCAP-CONTENT``, ``<meta name="firstpublishedtime">``) and the new Jiangxi platform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

import lxml.html
from lxml import etree

from crawler.extraction.body import attachments_in, has_article_text
from crawler.extraction.jcms import public_info_of
from crawler.extraction.markup import repair_stray_end_tags
from crawler.extraction.text import clean_text

# Body containers in order of trust; the name is what the stats call the extractor. The
# ContentStart/ContentEnd markers come before all of them: where a page has both, the markers
# are the editor's own bounds and the container holds more (a 责任编辑 line, a pager).
BODY_CONTAINERS = [
    ("zoom", "#zoom"),
    ("ucap-content", "#UCAP-CONTENT"),
    ("article-content", ".article-content"),
    ("trs-ueditor", "div.view.TRS_UEDITOR"),
    ("trs-editor", ".TRS_Editor"),
    ("trs-article-content", "div.article_content"),
    ("con-con", "#con_con"),  # Hanweb jpaas ministry pages (miit.gov.cn)
    ("content-id", "#content"),
]
# Title elements of page templates without an ArticleTitle meta tag
TITLE_CONTAINERS = [
    ("article-title", ".article_title, .article-title"),
    ("detail-title", ".wrapper_deatil_title, .detail_title, .detail-title"),
]
_CONTENT_MARKERS = re.compile(
    r"<meta\s+name=[\"']?ContentStart[\"']?[^>]*>(?P<body>.*?)<meta\s+name=[\"']?ContentEnd[\"']?[^>]*>",
    re.S | re.I,
)
_DATE = (
    r"(?:19|20)\d{2}\s*[-/年.]\s*\d{1,2}\s*[-/月.]\s*\d{1,2}\s*日?"
    r"(?:[\sT]*\d{1,2}[:：时]\d{2}(?:[:：分]\d{2})?)?"
)
# 发布时间 and 发布日期 before a bare 时间/日期; never 成文日期, 生成日期, 发文日期, 印发日期 …
_PUBLISHED_LABEL = re.compile(
    r"(?P<label>发布时间|发布日期|(?<![成生发印文施效止改新])(?:时间|日期))\s*[:：]\s*"
    rf"(?P<value>{_DATE})"
)
_PUBLISHED_RANK = {"发布时间": 0, "发布日期": 0, "时间": 1, "日期": 2}
_SOURCE_LABEL = re.compile(
    r"(?P<label>信息来源|文章来源|稿件来源|来源)\s*[:：]\s*(?P<value>[^\s|｜<>]{1,60})"
)
_AUTHOR_LABEL = re.compile(r"(?P<label>作者|撰稿)\s*[:：]\s*(?P<value>[^\s|｜<>]{1,30})")
# a label glued to the value before it: "…财政金融局时间：2023-08-31", "…研究院等字号:"
_NEXT_LABEL = re.compile(
    r"(?:发布时间|发布日期|时间|日期|作者|责任编辑|编辑|字号|字体|浏览|点击|阅读|访问|来源|打印|分享)"
    r"\s*[:：]|[【\[]"
)
_DATE_ANYWHERE = re.compile(_DATE)
_DATE_CLASS = etree.XPath(
    ".//*[contains(translate(@class, 'DATEIM', 'dateim'), 'date')"
    " or contains(translate(@class, 'DATEIM', 'dateim'), 'time')]"
)
_CHALLENGE = re.compile(r"\$_ts\s*=\s*window\[['\"]\$_ts['\"]\]|<meta[^>]+\br=[\"']m[\"']", re.I)
# text that is never shown: it holds no labels
_INVISIBLE = frozenset({"script", "style", "noscript", "template", "title", "head", "select"})


# an </html> or </body> with page content after it (gov.cn's header include): libxml2 stops there
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
    # every file link of the article area (the body and what surrounds it): url, name, type
    attachments: list[dict[str, str]] = field(default_factory=list)
    # the 信息公开 metadata: index_no, publisher, created, doc_no, topic, validity
    public_info: dict[str, str] = field(default_factory=dict)
    # field → the extractor that produced it ("meta:PubDate", "label:来源", "content-markers" …)
    provenance: dict[str, str] = field(default_factory=dict)
    # what had to be mended before the page could be read ("stray-end-tag")
    repairs: list[str] = field(default_factory=list)


_NOT_FOUND = re.compile(
    r"<title>[^<]*(?:404|页面不存在|页面未找到|找不到|已删除|不存在)[^<]*</title>|页面不存在|页面未找到|您访问的页面|信息已删除",
    re.I,
)


def is_not_found_page(html: str) -> bool:
    """The portal's own "page not found" page served with 200 (often after a redirect)."""
    return bool(_NOT_FOUND.search(html[:20000]))


_SCRIPTS = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_TAGS = re.compile(r"<[^>]*>")
# a challenge page is a script and nothing to read; some sites (Gansu's) carry the same script
# on every page, content and all
CHALLENGE_MAX_TEXT = 200


def is_challenge_page(html: str) -> bool:
    """A 瑞数-style JavaScript challenge (``$_ts=window['$_ts']``, ``<meta … r="m">``) with no
    content of its own."""
    if not _CHALLENGE.search(html[:20000]):
        return False
    visible = clean_text(_TAGS.sub(" ", _SCRIPTS.sub(" ", html)))
    return len(visible) < CHALLENGE_MAX_TEXT


def _metas(root: lxml.html.HtmlElement) -> dict[str, str]:
    metas: dict[str, str] = {}
    for meta in root.iter("meta"):
        name = (meta.get("name") or "").strip().lower()
        content = meta.get("content")
        if name and content is not None and name not in metas:
            metas[name] = content.strip()
    return metas


def _meta_names(root: lxml.html.HtmlElement) -> dict[str, str]:
    """lower-case name → the name as the page spells it, for provenance."""
    return {
        (m.get("name") or "").strip().lower(): (m.get("name") or "").strip()
        for m in root.iter("meta")
    }


def _inner_html(node: lxml.html.HtmlElement) -> str:
    return (escape(node.text) if node.text else "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in node
    )


def _parse(html: str) -> tuple[lxml.html.HtmlElement | None, list[str]]:
    repairs = []
    html, repaired = repair_stray_end_tags(html)
    if repaired:
        repairs.append("stray-end-tag")
    try:
        return lxml.html.document_fromstring(html), repairs
    except (etree.ParserError, ValueError):
        return None, repairs


def _body(
    root: lxml.html.HtmlElement, html: str, url: str
) -> tuple[str, str, etree._Element | None]:
    """(body HTML, extractor name, the element that holds it)."""
    match = _CONTENT_MARKERS.search(html)
    if match and has_article_text(match.group("body"), url):
        start = next(
            (m for m in root.iter("meta") if (m.get("name") or "").lower() == "contentstart"), None
        )
        return (
            match.group("body"),
            "content-markers",
            start.getparent() if start is not None else None,
        )
    for name, css in BODY_CONTAINERS:
        for found in root.cssselect(css):
            inner = _inner_html(found)
            if has_article_text(inner, url):  # a container of nothing but 打印/关闭 is no body
                return inner, name, found
    return "", "none", None


def visible_text(el: etree._Element) -> str:
    """The text a reader sees under ``el``, one line per text node: element boundaries stay
    apart, so a label never runs into the next element's text."""
    out: list[str] = []
    todo: list[tuple[etree._Element, bool]] = [(el, False)]
    while todo:
        node, done = todo.pop()
        if done:
            if node is not el and node.tail and node.tail.strip():
                out.append(node.tail.strip())
            continue
        todo.append((node, True))
        if isinstance(node.tag, str) and node.tag.lower() not in _INVISIBLE:
            if node.text and node.text.strip():
                out.append(node.text.strip())
            todo.extend((child, False) for child in reversed(node))
    return "\n".join(out)


def _label_value(value: str) -> str:
    value = _NEXT_LABEL.split(clean_text(value), maxsplit=1)[0]
    return value.strip(" ,，;；、")


def _labelled(pattern: re.Pattern[str], texts: list[str]) -> tuple[str, str]:
    """(value, label) of the first label with a value, in the first text that has one."""
    for text in texts:
        for match in pattern.finditer(text):
            value = _label_value(match["value"])
            if value:
                return value, match["label"]
    return "", ""


def _published_label(texts: list[str]) -> tuple[str, str]:
    """The publication date among the labelled dates: 发布时间/发布日期 over 时间 over 日期;
    a 发布日期 without a time takes the time of another label of the same day."""
    for text in texts:
        found = [
            (_PUBLISHED_RANK[m["label"]], i, clean_text(m["value"]), m["label"])
            for i, m in enumerate(_PUBLISHED_LABEL.finditer(text))
        ]
        if not found:
            continue
        _, _, value, label = min(found)
        if not re.search(r"\d[:：时]\d", value):
            day = _day(value)
            timed = [v for _, _, v, _ in found if re.search(r"\d[:：时]\d", v) and _day(v) == day]
            value = timed[0] if timed else value
        return value, label
    return "", ""


def _day(value: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", value)[:3])


def _title_node(root: lxml.html.HtmlElement, title: str) -> etree._Element | None:
    """The element that shows the title on the page (not <title>, not a script)."""
    needle = clean_text(title)[:8]
    if len(needle) < 4:
        return None
    for text in root.xpath("//body//text()[contains(., $n)]", n=needle):
        node = text.getparent()
        if text.is_tail:
            node = node.getparent()
        if node is None or not isinstance(node.tag, str) or node.tag in _INVISIBLE:
            continue
        if len(clean_text(node.text_content())) <= len(title) * 1.5 + 10:
            return node
    return None


def _after(body_node: etree._Element | None, levels: int = 3) -> list[etree._Element]:
    """The elements that follow the body container and its two nearest ancestors."""
    following: list[etree._Element] = []
    node = body_node
    for _ in range(levels):
        if node is None or node.tag in ("body", "html"):
            break
        following += [el for el in node.itersiblings() if isinstance(el.tag, str)]
        node = node.getparent()
    return following


def _article_area(
    root: lxml.html.HtmlElement, title_node: etree._Element | None, body_node: etree._Element | None
) -> etree._Element:
    """The smallest element holding both the title and the body: where the 来源 line, the date
    and the attachment list of the article are, and not the page's sidebars."""
    page_body = root.find("body")
    page = page_body if page_body is not None else root
    if body_node is None:
        return (
            title_node.getparent()
            if title_node is not None and title_node.getparent() is not None
            else page
        )
    if title_node is not None:
        ancestors = set(title_node.iterancestors())
        area = next((a for a in body_node.iterancestors() if a in ancestors), None)
        if area is not None and area.tag not in ("body", "html"):
            return area
    parent = body_node.getparent()
    return parent if parent is not None and parent.tag not in ("body", "html") else body_node


def _title(
    root: lxml.html.HtmlElement, metas: dict[str, str]
) -> tuple[str, str, etree._Element | None]:
    title = clean_text(metas.get("articletitle", ""))
    if title:
        return title, "meta:ArticleTitle", None
    for name, css in TITLE_CONTAINERS:
        for found in root.cssselect(css):
            title = clean_text(found.text_content())
            if title:
                return title, f"container:{name}", found
    title = clean_text(" ".join(h.text_content() for h in root.iter("h1")))
    if title:
        return title, "h1", None
    page_title = clean_text(root.findtext(".//title") or "")
    if page_title:  # "标题_栏目_网站", "标题 - 网站"; a hyphen inside a title ("1-10月") stays
        return re.split(r"\s*[_|｜]\s*|\s+[-–—]+\s+", page_title)[0], "title-tag", None
    return "", "", None


def extract_article(html: str, url: str) -> ArticlePage:
    """Fields of one article page. Missing fields come back empty, never invented."""
    root, repairs = _parse(html)
    if root is None:
        return ArticlePage(repairs=repairs)
    metas = _metas(root)
    names = _meta_names(root)
    provenance: dict[str, str] = {}

    title, how, title_node = _title(root, metas)
    if title:
        provenance["title"] = how
        if title_node is None:
            title_node = _title_node(root, title)
    body_html, extractor, body_node = _body(root, html, url)
    if body_html:
        provenance["body"] = (
            extractor if extractor == "content-markers" else f"container:{extractor}"
        )
    area = _article_area(root, title_node, body_node)
    texts = [visible_text(area)]  # the article's own lines first, then the whole page
    if area is not root.find("body"):
        texts.append(visible_text(root))

    def from_meta(field_name: str, *keys: str) -> str:
        for key in keys:
            value = clean_text(metas.get(key, ""))
            if value:
                provenance[field_name] = f"meta:{names.get(key, key)}"
                return value
        return ""

    published = from_meta("published", "pubdate", "firstpublishedtime")
    if not published:
        published, label = _published_label(texts)
        if published:
            provenance["published"] = f"label:{label}"
    if not published:
        for el in _DATE_CLASS(area):
            found = _DATE_ANYWHERE.search(clean_text(el.text_content()))
            if found:
                published = found.group(0)
                provenance["published"] = "container:date"
                break
    source = from_meta("source", "contentsource")
    if not source:
        source, label = _labelled(_SOURCE_LABEL, texts)
        if source:
            provenance["source"] = f"label:{label}"
    author = from_meta("author", "author")
    if not author:
        author, label = _labelled(_AUTHOR_LABEL, texts)
        if author:
            provenance["author"] = f"label:{label}"
    column_name = from_meta("column_name", "columnname")

    attachments = attachments_in(area, url)
    # a file list right after the body, outside the area found from the title: on 信息公开
    # pages the title found first is the 标题 item of the metadata block above the article
    seen = {a["url"] for a in attachments}
    for sibling in _after(body_node):
        for found in attachments_in(sibling, url):
            if found["url"] not in seen:
                seen.add(found["url"])
                attachments.append(found)
    if attachments:
        in_body = (
            {a["url"] for a in attachments_in(body_node, url)} if body_node is not None else set()
        )
        outside = any(a["url"] not in in_body for a in attachments)
        provenance["attachments"] = "article-area" if outside else "body"
    public_info = public_info_of(root)
    if public_info:
        provenance["public_info"] = "public-info"
    return ArticlePage(
        title=title,
        published=published or None,
        source=source,
        author=author,
        column_name=column_name,
        body_html=body_html,
        body_extractor=extractor,
        meta=metas,
        attachments=attachments,
        public_info=public_info,
        provenance=provenance,
        repairs=repairs,
    )

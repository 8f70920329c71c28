"""Article body cleaning: sanitise, strip page chrome and trailing matter, derive plain text.

Each heuristic that removes something has a name; ``CleanBody.trimmed`` lists the names that
fired so the pipeline can count them as stats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml_html_clean import Cleaner
from w3lib.url import safe_url_string

from crawler.extraction.text import clean_text

ATTACHMENT_TYPES = frozenset(
    {
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "et",
        "wps",
        "ppt",
        "pptx",
        "zip",
        "rar",
        "7z",
        "ofd",
        "txt",
        "csv",
    }
)
BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "table",
        "tr",
        "thead",
        "tbody",
        "tfoot",
        "blockquote",
        "pre",
        "center",
        "dl",
        "dt",
        "dd",
        "figure",
        "figcaption",
        "caption",
        "hr",
    }
)
_BLOCK_BREAK = "\ue001"
_CELL_BREAK = "\ue000"

# Lines that end the article: everything from them on is repost matter, not body.
_TRAILER = re.compile(r"^[\[【(（]?\s*(原文链接|原文地址|免责声明|版权声明)")
# Page chrome inside the body container: font-size switches, print/close buttons, counters.
# A short element whose text is nothing but these tokens is chrome. Font switches come as
# 【字体：大 中 小】, 字号:[大] [中] [小] (TRS) and "Aa 字体：小 | 中 | 大" (UEditor detail pages).
_CHROME_TOKEN = re.compile(
    r"[\[【]?\s*("
    r"(Aa\s*)?(字体|字号)\s*[:：]?\s*"
    r"([\[【(（]?\s*(超大|大|中|小|默认|标准)\s*[\]】)）]?\s*[|｜/]?\s*)+"
    r"|打印(本页|此页|文章)?|关闭(窗口|本页)?|收藏(本页)?|返回顶部|分享到\s*[:：]?"
    r"|(浏览|阅读|访问)(次数|量)\s*[:：]?\s*\d*"
    r"|扫一扫在手机(上)?(打开|查看|浏览)当前(页面|页)"
    r")\s*[\]】]?"
)


def _is_chrome(text: str) -> bool:
    return bool(text) and len(text) <= 40 and not _CHROME_TOKEN.sub("", text).strip(" []【】|｜/")


_CHROME_CLASS = re.compile(
    r"(^|[\s_-])(share|bdshare|print|fontsize|font-size|visitcount|article-tools)($|[\s_-])", re.I
)
# A sidebar entry: a title cut with "..." and a MM-DD date.
_SIDEBAR_ENTRY = re.compile(r"(\.\.\.|…)\s*\d{2}-\d{2}\s*$")


def html_cleaner(**overrides: object) -> Cleaner:
    """The sanitiser of stored HTML: scripts, styles, event handlers, frames, forms and
    ``javascript:`` URLs go; ``overrides`` tighten it (the web app also drops images)."""
    options: dict[str, object] = {
        "scripts": True, "javascript": True, "comments": True, "style": True,
        "inline_style": True, "links": True, "meta": True, "page_structure": True,
        "processing_instructions": True, "embedded": True, "frames": True, "forms": True,
        "annoying_tags": True, "remove_unknown_tags": False, "safe_attrs_only": True,
    }  # fmt: skip
    return Cleaner(**{**options, **overrides})


_cleaner = html_cleaner()


@dataclass
class CleanBody:
    html: str = ""
    text: str = ""
    images: list[str] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    trimmed: list[str] = field(default_factory=list)


def _text_of(el: etree._Element) -> str:
    return clean_text(el.text_content()) if isinstance(el, lxml.html.HtmlElement) else ""


def _drop(el: etree._Element) -> None:
    """Remove an element but keep its tail text in the document."""
    if el.getparent() is not None:
        el.drop_tree()


_TRAILER_WORDS = re.compile(r"原文链接|原文地址|免责声明|版权声明")
_CHROME_WORDS = re.compile(r"字体|字号|打印|关闭|收藏|返回顶部|分享|浏览|阅读|访问|扫一扫")
_SIDEBAR_ANYWHERE = re.compile(r"(\.\.\.|…)\s*\d{2}-\d{2}")


def _trim_trailer(root: etree._Element, trimmed: list[str]) -> None:
    if not _TRAILER_WORDS.search(root.text_content()):
        return
    for el in root.iter():
        if el is root or not isinstance(el.tag, str):
            continue
        text = _text_of(el)
        if not _TRAILER.match(text):
            continue
        # The smallest element that starts the trailer: cut it and everything after it.
        if any(_TRAILER.match(_text_of(child)) for child in el if isinstance(child.tag, str)):
            continue
        trimmed.append("trailer")
        node = el
        while node is not None and node is not root:
            for sibling in list(node.itersiblings()):
                sibling.getparent().remove(sibling)
            parent = node.getparent()
            if node is el:
                node.tail = None
                parent.remove(node)
            node = parent
        return


def _strip_sidebars(root: etree._Element, trimmed: list[str]) -> None:
    if not _SIDEBAR_ANYWHERE.search(root.text_content()):
        return
    for el in list(root.iter("ul", "ol", "div", "table")):
        if el.getparent() is None:
            continue
        entries = [
            c for c in el if isinstance(c.tag, str) and c.tag in ("li", "p", "a", "tr", "div")
        ]
        if len(entries) < 3:
            continue
        hits = sum(1 for c in entries if _SIDEBAR_ENTRY.search(_text_of(c)))
        if hits >= 3 and hits / len(entries) >= 0.6:
            trimmed.append("sidebar")
            _drop(el)


# chrome is a few words: only short elements, or elements with a chrome class, are looked at
_CHROME_CANDIDATES = etree.XPath("//*[string-length(normalize-space(.)) <= 40 or @class or @id]")


def _strip_chrome(root: etree._Element, trimmed: list[str]) -> None:
    words = bool(_CHROME_WORDS.search(root.text_content()))
    for el in _CHROME_CANDIDATES(root):
        if el is root or not isinstance(el.tag, str) or el.getparent() is None:
            continue
        cls = f"{el.get('class', '')} {el.get('id', '')}"
        by_class = bool(cls.strip()) and bool(_CHROME_CLASS.search(cls))
        if not by_class and not words:
            continue
        raw = el.text_content()
        if len(raw) > 200 and not by_class:
            continue
        text = clean_text(raw)
        if (by_class and len(text) < 80) or _is_chrome(text):
            trimmed.append("chrome")
            _drop(el)


# UEditor puts a file-type icon before each attachment link it inserts
# (/…/ueditor2/dialogs/attachment/fileTypeImages/icon_pdf.gif): the editor's, not an image of
# the article
_FILE_TYPE_ICON = re.compile(r"/fileTypeImages/icon_\w+\.(?:gif|png)$", re.I)


def _strip_file_type_icons(root: etree._Element, trimmed: list[str]) -> None:
    for img in list(root.iter("img")):
        try:
            path = urlsplit((img.get("src") or "").strip()).path
        except ValueError:
            continue
        if _FILE_TYPE_ICON.search(path):
            trimmed.append("chrome")
            _drop(img)


_LINKED = etree.XPath("//*[@href or @src]")


def _absolute_links(root: etree._Element, base_url: str) -> None:
    """href and src made absolute (the cleaner has already removed style and CSS URLs)."""
    for el in _LINKED(root):
        for attr in ("href", "src"):
            value = el.get(attr)
            if value is None:
                continue
            value = value.strip()
            if not value:
                # the cleaner blanks javascript: URLs; a blank link would resolve to the page itself
                del el.attrib[attr]
            elif not value.startswith(("http://", "https://", "data:", "mailto:")):
                try:
                    el.set(attr, urljoin(base_url, value))
                except ValueError:
                    del el.attrib[attr]


# download scripts whose URL names no file: JCMS downfile.jsp and its kin
_DOWNLOAD_PATH = re.compile(r"downfile\.jsp|/module/download/|download\.jsp|filedownload", re.I)


def _attachment(href: str, link_text: str) -> dict[str, str] | None:
    parts = urlsplit(href)
    params = parse_qs(parts.query)
    showname = (params.get("showname") or [""])[0]
    filename = (params.get("filename") or [""])[0]
    candidates = [showname, filename, unquote(PurePosixPath(parts.path).name)]
    ext = ""
    for candidate in candidates:
        suffix = PurePosixPath(candidate).suffix.lower().lstrip(".")
        if suffix in ATTACHMENT_TYPES:
            ext = suffix
            break
    if not ext and not _DOWNLOAD_PATH.search(parts.path):
        return None
    name = clean_text(link_text) or clean_text(showname) or unquote(PurePosixPath(parts.path).name)
    # one spelling for every link to a file: UTF-8 percent-encoded, as a browser sends it
    return {"url": safe_url_string(href), "name": name, "type": ext or "bin"}


def _walk_text(el: etree._Element, out: list[str], in_cell: bool) -> None:
    tag = el.tag if isinstance(el.tag, str) else None
    if tag is not None:
        block = tag in BLOCK_TAGS or tag == "br"
        if block and not in_cell:
            out.append(_BLOCK_BREAK)
        if el.text:
            out.append(el.text)
        inner_cell = in_cell or tag in ("td", "th")
        for child in el:
            _walk_text(child, out, inner_cell)
        if tag in ("td", "th"):
            out.append(_CELL_BREAK)
        elif block:
            # blocks inside a table cell (Word exports wrap every cell in <p>) stay on the row
            out.append(" " if in_cell else _BLOCK_BREAK)
    if el.tail:
        out.append(el.tail)


def _plain_text(root: etree._Element) -> str:
    out: list[str] = []
    _walk_text(root, out, in_cell=False)
    lines = []
    for raw in "".join(out).split(_BLOCK_BREAK):
        cells = [clean_text(cell) for cell in raw.split(_CELL_BREAK)]
        line = " | ".join(c for c in cells if c)
        if line:
            lines.append(line)
    return "\n".join(lines)


_TAG = re.compile(r"<[^>]*>")


def _link_name(link: etree._Element) -> str:
    """What a file link calls its file: its text, else its title (a UEditor link's text can
    be an icon)."""
    return clean_text(link.text_content()) or clean_text(link.get("title") or "")


def has_article_text(fragment: str | None, base_url: str) -> bool:
    """True when the body, once cleaned as it will be stored, still holds text, an image or
    a table: a ``#zoom`` holding only 字体/打印本页/关闭窗口 is no body."""
    body = clean_body(fragment, base_url)
    return bool(body.text or body.images or "<table" in body.html)


def body_is_empty(fragment: str | None) -> bool:
    """True when a body fragment, cleaned, has no text and no image or table: the page must
    be fetched (or, for a fetched page, it holds no article)."""
    if not fragment:
        return True
    visible = clean_text(_TAG.sub(" ", fragment))
    if not visible and not re.search(r"<(img|table)\b", fragment, re.I):
        return True  # nothing at all: no need to clean
    if len(visible) > 200:
        return False  # page chrome (字体 大 中 小, 打印本页, 关闭窗口) is never this long
    return not has_article_text(fragment, "http://localhost/")


def attachments_in(area: etree._Element, base_url: str) -> list[dict[str, str]]:
    """Every file link under ``area`` (a page's article area, not only its body): URL made
    absolute, name, type."""
    found: list[dict[str, str]] = []
    seen: set[str] = set()
    for link in area.iter("a"):
        href = (link.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "#", "mailto:", "data:")):
            continue
        try:
            href = urljoin(base_url, href)
        except ValueError:
            continue
        attachment = _attachment(href, _link_name(link))
        if attachment and attachment["url"] not in seen:
            seen.add(attachment["url"])
            found.append(attachment)
    return found


def clean_body(fragment: str | None, base_url: str) -> CleanBody:
    """Clean an article body fragment taken from JSON or from a page's body container.

    Returns sanitised HTML with absolute links (no script, style, event handlers or
    ``javascript:`` URLs), the body as plain text (one paragraph a line, table cells joined
    by " | "), the images and attachments it links, and the names of the trims applied.
    """
    if not fragment or not fragment.strip():
        return CleanBody()
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return CleanBody()
    root = _cleaner.clean_html(root)
    trimmed: list[str] = []
    _trim_trailer(root, trimmed)
    _strip_sidebars(root, trimmed)
    _strip_chrome(root, trimmed)
    _strip_file_type_icons(root, trimmed)
    _absolute_links(root, base_url)

    images: list[str] = []
    for img in root.iter("img"):
        src = img.get("src")
        if src and not src.startswith("data:") and src not in images:
            images.append(src)
    attachments: list[dict[str, str]] = []
    seen: set[str] = set()
    for link in root.iter("a"):
        href = link.get("href")
        if not href or href in seen:
            continue
        found = _attachment(href, _link_name(link))
        if found:
            seen.add(href)
            attachments.append(found)

    inner = (root.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in root
    )
    return CleanBody(
        html=inner.strip(),
        text=_plain_text(root),
        images=images,
        attachments=attachments,
        trimmed=trimmed,
    )

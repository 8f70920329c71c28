"""Hanweb jpaas (集约化: ministries and Zhejiang): unit replies, column pages and /art/ URLs.

A column page does not hold its list. It carries a script that names a "unit" of the page —
``<script src="/AuthorizedRead/unitbuild.js" url="/api-gateway/jpaas-publish-server/front/
page/build/unit" queryData="{'webId':'…','pageId':'…','tplSetId':'…','tagId':'信息列表',
'parseType':'bulidstatic','pageType':'column','editType':'null'}">`` (single-quoted JSON) —
and the browser asks ``GET <url>?webId=…&pageId=…&tplSetId=…&tagId=…&paramJson=
{"pageNo":N,"pageSize":M}`` for it. The reply is JSON, ``{"code":"200","success":true,
"data":{"html":"<div class="page-content"><ul><li><a href… title…>…</a><span>2025-12-01
</span></li>…</ul></div><table class="pagination" count="2637" rows="10" pageno="1">"}}``:
the list as HTML, and on most sites a pager element whose ``count`` is the column's total.
Past the last page ``data.html`` is empty.

Articles live at ``/art/YYYY/M/D/art_<column>_<id>.html`` (Zhejiang, the JCMS shape),
``/col/col<column>/art/YYYY/art_<hex>.html`` (Zhejiang, newer) or
``/<folder>/art/YYYY/art_<hex>.html`` (ministries).

Every function here is pure and never raises on what a server sends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import lxml.html
from lxml import etree

from crawler.extraction.listing import ListingEntry
from crawler.extraction.text import clean_text
from crawler.extraction.urls import is_web_url

UNIT_PATH = "/api-gateway/jpaas-publish-server/front/page/build/unit"
# the platform's own spelling; miit.gov.cn's pages say "buildstatic"
PARSE_TYPE = "bulidstatic"
# the unit parameters a list request needs, as the page's script names them
UNIT_KEYS = ("webId", "pageId", "tplSetId", "tagId")

_ART = re.compile(r"/art_(?:(?P<col>\d+)_)?(?P<id>[0-9A-Za-z]{1,64})\.s?html?$", re.I)
_COL = re.compile(r"/col/col(?P<col>\d+)/", re.I)
_DATE = re.compile(
    r"(?:19|20)\d{2}\s*(?:[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}|年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)"
)
# a pager number: digits only, and few of them (int() of 5,000 digits raises, 10^15 is no count)
_NUMBER = re.compile(r"\s*(\d{1,15})\s*")
_ITEM_TAGS = ("li", "tr", "dd")
# links of a pager or a "more" box, not records
_PAGER_WORDS = frozenset({"首页", "上一页", "下一页", "尾页", "末页", "更多", ">", "<", ">>", "<<"})
_PAGER_CLASSES = frozenset({"pagination", "pager", "pages", "page_div", "fenye"})
# what an empty list says instead of records
_NOTHING = re.compile(r"暂无|没有(?:相关)?(?:信息|数据|记录|内容)|无记录|共\s*0\s*条")
_LIST_TAG = re.compile(r"列表|分页|list|内容|栏目", re.I)
MAX_QUERY_DATA = 4000  # characters of one queryData attribute worth reading


@dataclass
class JpaasUnit:
    """One unit reply, read."""

    entries: list[ListingEntry] = field(default_factory=list)
    # list items whose link cannot be followed (javascript:, no href): records all the same
    unreadable: int = 0
    total: int | None = None  # the pager's count: records in the column
    page_size: int | None = None  # the pager's rows
    page_no: int | None = None  # the pager's pageno
    # why the reply is not a list (not JSON, success false, no data.html …); None when it is
    problem: str | None = None
    # how it was read, for stats: "pager" or "no-pager", "empty" for an empty data.html
    provenance: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.entries and not self.unreadable


# --- URLs ------------------------------------------------------------------------------------


def article_id(url: str | None) -> str | None:
    """The article id of ``…/art_<column>_<id>.html`` or ``…/art/YYYY/art_<hex>.html``."""
    path = _path(url)
    match = _ART.search(path) if path else None
    return match["id"] if match else None


def column_of(url: str | None) -> str | None:
    """The column id an article URL names: ``art_<column>_<id>`` or ``/col/col<column>/``."""
    path = _path(url)
    if not path:
        return None
    match = _ART.search(path)
    if match and match["col"]:
        return match["col"]
    match = _COL.search(path)
    return match["col"] if match else None


def _path(url: str | None) -> str:
    if not url:
        return ""
    try:
        return urlsplit(url.strip()).path
    except ValueError:
        return ""


def unit_url(base_url: str, params: dict[str, str], page_no: int, page_size: int) -> str:
    """A list request: the unit parameters in the order the site's script sends them, then
    ``paramJson`` (compact JSON, as the script's ``JSON.stringify`` writes it)."""
    path = params.get("url") or UNIT_PATH
    query = {
        "webId": params["webId"],
        "pageId": params["pageId"],
        "parseType": params.get("parseType") or PARSE_TYPE,
        "pageType": params.get("pageType") or "column",
        "tagId": params["tagId"],
        "tplSetId": params["tplSetId"],
        "paramJson": json.dumps({"pageNo": page_no, "pageSize": page_size}, separators=(",", ":")),
    }
    return urljoin(base_url.rstrip("/") + "/", path) + "?" + urlencode(query)


# --- a column page ---------------------------------------------------------------------------


def unit_scripts(html: str) -> list[dict[str, str]]:
    """Every unit a column page declares: its ``queryData`` as strings, plus ``url`` (the unit
    endpoint it names). Scripts that are not jpaas units, or whose queryData cannot be read, are
    left out."""
    if not html or "querydata" not in html.lower():
        return []
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    units = []
    for script in root.iter("script"):
        raw = script.get("querydata")  # the parser gives attribute names in lower case
        url = (script.get("url") or "").strip()
        if not raw or ("jpaas" not in url and "unitbuild" not in (script.get("src") or "")):
            continue
        values = _query_data(raw)
        if values is None:
            continue
        values["url"] = url if url.startswith("/") and "jpaas" in url else UNIT_PATH
        units.append(values)
    return units


def _query_data(raw: str) -> dict[str, str] | None:
    """``{'webId':'3630',…}``: JSON, or JSON written with single quotes."""
    if len(raw) > MAX_QUERY_DATA:
        return None
    for text in (raw, raw.replace("'", '"')):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return {
                str(k): str(v)
                for k, v in value.items()
                if isinstance(v, (str, int)) and not isinstance(v, bool)
            }
    return None


def list_unit(html: str, page_url: str | None = None) -> dict[str, str] | None:
    """The unit that is the column's list: one with all of webId, pageId, tplSetId and tagId;
    among several (a page also builds its menus and footer from units), the one whose pageId is
    the column of the page's URL, then one whose tagId says list (列表, 分页, list …), then the
    first."""
    units = [u for u in unit_scripts(html) if all(u.get(k, "").strip() for k in UNIT_KEYS)]
    if not units:
        return None
    column = _COL.search(_path(page_url)) if page_url else None

    def rank(unit: dict[str, str]) -> tuple[bool, bool]:
        own = column is not None and unit["pageId"] == column["col"]
        return (not own, not _LIST_TAG.search(unit["tagId"]))

    return min(units, key=rank)


# --- a unit reply ----------------------------------------------------------------------------


def parse_unit_reply(text: object, page_url: str) -> JpaasUnit:
    """A unit reply (JSON text) read into entries, with the pager's numbers when it has a
    pager. ``page_url`` is the column page the list belongs to: links are resolved against
    it, and a link to another host is an external entry. Never raises: a reply that is not
    the expected JSON comes back with ``problem`` set and no entries."""
    if not isinstance(text, str):
        return JpaasUnit(problem="reply is not text")
    try:
        reply = json.loads(text)
    except (ValueError, RecursionError):
        return JpaasUnit(problem="reply is not JSON")
    if not isinstance(reply, dict):
        return JpaasUnit(problem="reply is not a JSON object")
    message = clean_text(str(reply.get("message") or reply.get("msg") or ""))[:80]
    said = f" ({message})" if message else ""
    if "success" in reply and reply["success"] is not True:
        return JpaasUnit(problem=f"reply says success={json.dumps(reply['success'])[:20]}{said}")
    code = reply.get("code")
    if code is not None and str(code).strip() not in ("200", "0", ""):
        return JpaasUnit(problem=f"reply says code {str(code)[:20]!r}{said}")
    data = reply.get("data")
    if not isinstance(data, dict):
        return JpaasUnit(problem="reply has no data object")
    if "html" not in data:
        return JpaasUnit(problem="reply has no data.html")
    html = data["html"]
    if html is None:  # nothing to build: no list, like the empty html past the last page
        return JpaasUnit(provenance=["empty"])
    if not isinstance(html, str):
        return JpaasUnit(problem=f"data.html is a {type(html).__name__}, not HTML")
    return parse_unit_html(html, page_url)


def parse_unit_html(html: str, page_url: str) -> JpaasUnit:
    """The list a unit's HTML holds: one entry per list item with a link, the pager's
    numbers. HTML with text but neither a list nor a pager (a "系统繁忙" notice) is a
    problem, not an empty page."""
    if not html.strip():
        return JpaasUnit(provenance=["empty"])
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return JpaasUnit(problem="data.html cannot be parsed")
    unit = JpaasUnit()
    pager = _pager(root)
    if pager is not None:
        unit.total, unit.page_size, unit.page_no = pager
    unit.provenance.append("pager" if pager is not None else "no-pager")
    items: dict[etree._Element, list[etree._Element]] = {}
    for link in root.iter("a"):
        if _is_pager_link(link):
            continue
        items.setdefault(_item_of(link), []).append(link)
    host = _host(page_url)
    seen: set[str] = set()
    for item, links in items.items():
        followable = [(a, u) for a in links if (u := _resolve(page_url, a.get("href")))]
        if not followable:
            if any((a.get("href") or "").strip() or clean_text(a.text_content()) for a in links):
                unit.unreadable += 1
            continue
        link, url = followable[0]
        if url in seen:  # the same record twice in one reply (a title link and a 详情 link)
            continue
        seen.add(url)
        unit.entries.append(_entry(item, link, url, host))
    text = clean_text(root.text_content())
    if unit.empty and pager is None and text and not _NOTHING.search(text):
        return JpaasUnit(problem="data.html holds no list (text but no list items or pager)")
    return unit


def _pager(root: etree._Element) -> tuple[int | None, int | None, int | None] | None:
    """(count, rows, pageno) of the element the site's pager script reads."""
    for el in root.iter():
        if not isinstance(el.tag, str) or el.get("count") is None:
            continue
        if (
            el.get("rows") is None
            and el.get("pageno") is None
            and "pagination" not in (el.get("class") or "")
        ):
            continue
        return _number(el.get("count")), _number(el.get("rows")), _number(el.get("pageno"))
    return None


def _number(value: str | None) -> int | None:
    match = _NUMBER.fullmatch(value or "")
    return int(match[1]) if match else None


def _is_pager_link(link: etree._Element) -> bool:
    if clean_text(link.text_content()) in _PAGER_WORDS:
        return True
    return any(set((el.get("class") or "").split()) & _PAGER_CLASSES for el in link.iterancestors())


def _item_of(link: etree._Element) -> etree._Element:
    """The list item a link belongs to: its nearest li/tr/dd within three levels."""
    node = link
    for _ in range(3):
        node = node.getparent()
        if node is None:
            break
        if node.tag in _ITEM_TAGS:
            return node
    return link


def _resolve(base_url: str, href: str | None) -> str | None:
    """The link as an absolute http(s) URL; None for javascript:, mailto:, "#", no href."""
    href = (href or "").strip()
    if not href or href.startswith("#"):
        return None
    try:
        url = urljoin(base_url, href)
    except ValueError:  # e.g. an unterminated IPv6 host: "http://[x"
        return None
    return url if is_web_url(url) else None


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _entry(item: etree._Element, link: etree._Element, url: str, host: str) -> ListingEntry:
    attr_title = clean_text(link.get("title") or "")
    link_text = clean_text(link.text_content())
    ancestors = set(link.iterancestors())
    others = [
        el.text_content()
        for el in item.iter("span", "em", "i", "b", "font", "td", "div", "p")
        if el is not link and el not in ancestors and link not in el.iterancestors()
    ]
    if item is not link:
        others.append(item.text_content().replace(link.text_content(), " "))
    else:  # a bare link: its date follows it
        others.append(link.tail or "")
    # ministries put the date in the next list item (<li><a…></li><li class="time">…</li>);
    # a bare link's date may sit in the element after it
    sibling = item.getnext()
    if (
        sibling is not None
        and isinstance(sibling.tag, str)
        and next(sibling.iter("a"), None) is None
    ):
        others.append(sibling.text_content())
    published = next((clean_text(m[0]) for t in others if (m := _DATE.search(t))), None)
    title = attr_title or link_text
    if published is None and (m := _DATE.search(link_text)):
        # the date inside the link ("…招标文件预公示 2026-06-17"): it is no part of the title
        published = clean_text(m[0])
        if not attr_title:
            title = clean_text(link_text[: m.start()] + link_text[m.end() :])
    external = _host(url) != host
    return ListingEntry(
        platform_id="" if external else (article_id(url) or ""),
        title=title,
        url=url,
        published=published,
        external=external,
    )


def describe_reply(text: str, url: str) -> dict[str, Any] | None:
    """What ``govcrawl extract`` shows of a unit reply or a column page; None for neither."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            reply = json.loads(stripped)
        except (ValueError, RecursionError):
            return None
        data = reply.get("data") if isinstance(reply, dict) else None
        if not isinstance(data, dict) or "html" not in data:
            return None  # JSON, but no unit reply
        unit = parse_unit_reply(stripped, url)
        described: dict[str, Any] = {
            "kind": "jpaas-unit",
            "url": url,
            "total": unit.total if unit.total is not None else "unknown",
            "entries": [
                {"title": e.title, "url": e.url, "date": e.published} for e in unit.entries
            ],
            "unreadable_records": unit.unreadable,
            "pager": {
                k: v
                for k, v in (("rows", unit.page_size), ("pageno", unit.page_no))
                if v is not None
            },
        }
        if unit.problem:
            described["problem"] = unit.problem
        return described
    # an article page may build a unit too (its hit counter, related articles): not a column
    unit_params = None if article_id(url) else list_unit(text, url)
    if unit_params is None:
        return None
    return {
        "kind": "jpaas-column",
        "url": url,
        "total": "unknown",  # the column page holds no list: its unit reply does
        "entries": [],
        "unreadable_records": 0,
        "pager": dict(unit_params),
    }

"""The legacy Hanweb JCMS layout: column pages, ``dataproxy.jsp`` batches and /art/ URLs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import lxml.html
from lxml import etree

from crawler.extraction.listing import ListingEntry
from crawler.extraction.text import clean_text
from crawler.extraction.urls import is_web_url

ART_URL = re.compile(
    r"/art/(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})/art_(?P<col>\d+)_(?P<id>\d+)\.html"
)
_RECORD = re.compile(
    r"<record>\s*(?:<!\[CDATA\[(?P<cdata>.*?)\]\]>|(?P<escaped>.*?))\s*</record>", re.S | re.I
)
_TOTAL = re.compile(r"totalRecord\s*:\s*['\"]?(\d+)|<totalrecord>\s*(\d+)\s*</totalrecord>", re.I)
_PARAM = re.compile(r"param_\w*\s*=\s*\{(?P<body>[^}]*)\}", re.S)
_PAIR = re.compile(r"""(\w+)\s*:\s*(?:'([^']*)'|"([^"]*)"|([^,}\s]+))""")
_DATE = re.compile(r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?")

# 信息公开 metadata labels (blanks removed: 索&ensp;引&ensp;号 is 索引号) → extra field names
PUBLIC_INFO_FIELDS = {
    "索引号": "index_no",
    "发布机构": "publisher",
    "发文机关": "publisher",
    "生成日期": "created",
    "成文日期": "created",
    "发文日期": "created",
    "文号": "doc_no",
    "发文字号": "doc_no",
    "主题分类": "topic",
    "有效性": "validity",
}
# a label and its colon; blanks may sit between its characters (索&ensp;引&ensp;号：)
_INFO_LABEL = re.compile(
    "(?P<label>"
    + "|".join(r"\s*".join(label) for label in PUBLIC_INFO_FIELDS)
    + r"|标\s*题)\s*[:：]"
)
_BLANKS = re.compile(r"\s+")


@dataclass
class JcmsListing:
    entries: list[ListingEntry]
    total: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    unreadable: int = 0


def article_ids(url: str) -> tuple[str, str] | None:
    """(column id, article id) of an /art/…/art_<col>_<id>.html URL."""
    match = ART_URL.search(url)
    return (match["col"], match["id"]) if match else None


def parse_record(fragment: str, base_url: str) -> ListingEntry | None:
    """One ``<record>`` of a column: a link, a title and a date, in any of the markups seen.

    The link is the record's first http(s) one; a record whose links are all ``javascript:``,
    ``data:``, ``file:``, ``mailto:`` … has ``url`` None and the problem ``"url"``."""
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return None
    links = [a for a in root.iter("a") if (a.get("href") or "").strip()]
    if not links:
        return None
    resolved = [(a, _resolve(base_url, a.get("href"))) for a in links]
    link, url = next(((a, u) for a, u in resolved if is_web_url(u)), (links[0], None))
    problems = [] if url else ["url"]
    title = clean_text(link.get("title") or "") or clean_text(link.text_content())
    dated = root.find_class("bt-data-time")
    candidates = [e.text_content() for e in dated] + [
        e.text_content() for e in root.iter("span", "h2", "em", "i")
    ]
    candidates.append(root.text_content().replace(link.text_content(), " "))
    published = next((m.group(0) for text in candidates if (m := _DATE.search(text))), None)
    ids = article_ids(url) if url else None
    return ListingEntry(
        platform_id=ids[1] if ids else "",
        title=title,
        url=url,
        published=published,
        problems=problems,
    )


def _resolve(base_url: str, href: str) -> str:
    try:
        return urljoin(base_url + "/", href.strip())
    except ValueError:  # e.g. an unterminated IPv6 host: "http://[x"
        return ""


def _records(text: str, base_url: str) -> tuple[list[ListingEntry], int]:
    entries, unreadable = [], 0
    for match in _RECORD.finditer(text):
        fragment = (
            match["cdata"] if match["cdata"] is not None else unescape(match["escaped"] or "")
        )
        entry = parse_record(fragment, base_url)
        if entry is None or entry.url is None:  # no link, or none that can be fetched
            unreadable += 1
        else:
            entries.append(entry)
    return entries, unreadable


def _total(text: str) -> int | None:
    match = _TOTAL.search(text)
    return int(match.group(1) or match.group(2)) if match else None


def parse_params(html: str) -> dict[str, str]:
    """The ``param_…={col:1,webid:1,…}`` object the column page hands its pager."""
    match = _PARAM.search(html)
    if not match:
        return {}
    return {k: next((v for v in vals if v), "") for k, *vals in _PAIR.findall(match["body"])}


_NEXTGROUP_LINK = re.compile(
    r"<nextgroup>\s*(?:<!\[CDATA\[)?.*?href=['\"](?P<href>[^'\"]+)['\"]", re.S | re.I
)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


def nextgroup_params(html: str) -> dict[str, str]:
    """The pager parameters of a ``<nextgroup>`` link (a datastore without ``param_…``)."""
    match = _NEXTGROUP_LINK.search(html)
    if not match:
        return {}
    link = urlsplit(match["href"].replace("&amp;", "&"))
    params = {"proxy": link.path}
    for key, value in parse_qsl(link.query, keep_blank_values=True):
        while _PERCENT.search(value):  # webname comes percent-encoded twice
            decoded = unquote(value)
            if decoded == value:
                break
            value = decoded
        params.setdefault(key, value)
    return params


def parse_column_page(html: str, base_url: str) -> JcmsListing:
    """Records embedded in the page's ``<datastore>``, the pager total and the pager params."""
    entries, unreadable = _records(html, base_url)
    # a page without the param_… script (only its <datastore>) names its pager in <nextgroup>
    params = parse_params(html) or {
        k: v for k, v in nextgroup_params(html).items() if k not in ("proxy", "page")
    }
    return JcmsListing(entries=entries, total=_total(html), params=params, unreadable=unreadable)


def parse_dataproxy(xml: str, base_url: str) -> JcmsListing:
    """A ``dataproxy.jsp`` reply: ``<totalrecord>`` and ``<record><![CDATA[<li>…]]></record>``."""
    if "<record" not in xml and "<totalrecord" not in xml.lower():  # <recordset> counts
        raise ValueError("reply has neither <record> nor <totalrecord>")
    entries, unreadable = _records(xml, base_url)
    return JcmsListing(entries=entries, total=_total(xml), unreadable=unreadable)


def dataproxy_form(params: dict[str, str], column_id: str) -> list[tuple[str, str]]:
    return [
        ("col", params.get("col", "1")),
        ("webid", params.get("webid", "1")),
        ("path", params.get("path", "/")),
        ("columnid", column_id),
        ("sourceContentType", params.get("sourceContentType", "1")),
        ("unitid", params.get("unitid", "")),
        ("webname", params.get("webname", "")),
        ("permissiontype", params.get("permissiontype", "0")),
    ]


def public_info_of(root: etree._Element) -> dict[str, str]:
    """The 信息公开 metadata of a parsed page, in either form seen: a JCMS table (a label cell,
    then its value cell) or TRS ``<li>索&ensp;引&ensp;号：<font>…</font></li>`` items. An
    element holding several "label：value" pairs gives each of them."""
    found: dict[str, str] = {}
    for el in root.iter("td", "th", "li", "dt"):
        text = clean_text(el.text_content())
        bare = PUBLIC_INFO_FIELDS.get(_BLANKS.sub("", text.rstrip(":：")))
        if bare is not None and el.tag != "li" and not text.endswith((":", "：")):
            text += "："  # a label cell without its colon
        labels = list(_INFO_LABEL.finditer(text))
        if not labels or labels[0].start() != 0:
            continue  # not a metadata cell: text that merely mentions a label
        for i, label in enumerate(labels):
            key = PUBLIC_INFO_FIELDS.get(_BLANKS.sub("", label["label"]))
            if key is None or key in found:
                continue
            end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
            value = text[label.end() : end].strip()
            if not value and len(labels) == 1 and el.tag != "li":
                value_cell = el.getnext()  # the table form: the value is the next cell
                value = clean_text(value_cell.text_content()) if value_cell is not None else ""
            if value:
                found[key] = value
    return found


def parse_public_info(html: str) -> dict[str, str]:
    """The 信息公开 metadata (索引号, 发布机构, 生成日期/成文日期, 文号, 主题分类, 有效性)."""
    if "索" not in html or "号" not in html:
        return {}
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return {}
    return public_info_of(root)

"""The current platform's listing API: ``POST /queryList`` and the channel page around it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from w3lib.url import safe_url_string

from crawler.extraction.listing import ListingEntry
from crawler.extraction.text import clean_text, strip_control
from crawler.extraction.urls import is_web_url

# a claimed total beyond this is no number a portal holds; a large one that the pages do not
# bear out is handled by the incremental policy (paging stops at an empty or repeated page)
MAX_TOTAL = 10**15


class ListingError(ValueError):
    """A /queryList reply that is not the JSON listing it should be."""


@dataclass
class ListingPage:
    total: int
    entries: list[ListingEntry]


def build_query_form(
    *,
    site_code: str,
    channel_code: str,
    unitid: str | None,
    page: int,
    per_page: int = 15,
    style: str = "plain",
) -> list[tuple[str, str]]:
    """The form body the portal's own list script sends, field for field."""
    if style == "array":
        return [
            ("current", str(page)),
            ("perPage", str(per_page)),
            ("pageSize", str(per_page)),
            ("searchstart", "1"),
            ("showMode", "full"),
            ("webSiteCode[]", site_code),
            ("channelCode[]", channel_code),
            ("sort", "sortNum"),
            ("order", "desc"),
        ]
    return [
        ("current", str(page)),
        ("perPage", str(per_page)),
        ("pageSize", str(per_page)),
        ("searchstart", "1"),
        ("showMode", "full"),
        ("unitid", unitid or ""),
        ("webSiteCode", site_code),
        ("channelCode", channel_code),
        ("sort", "sortNum"),
        ("order", "desc"),
    ]


def _json_field(raw: Any, name: str, problems: list[str]) -> Any:
    """Fields such as ``urls`` and ``metadata`` are JSON *strings* inside the JSON."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, (dict, list)):
        return raw
    try:
        return json.loads(raw)
    except (TypeError, ValueError, RecursionError):  # RecursionError: nested too deeply
        problems.append(name)
        return None


def _resolve(base_url: str, link: Any) -> str:
    try:
        return urljoin(base_url + "/", str(link).strip())
    except ValueError:  # e.g. an unterminated IPv6 host: "http://[x"
        return ""


def _attachments(raw: Any, base_url: str, problems: list[str]) -> list[dict[str, str]]:
    """``articleFiles``: the files the platform attaches to a record, as the body's
    attachments are stored (absolute URL, name, type from the extension)."""
    files = _json_field(raw, "articleFiles", problems)
    found: list[dict[str, str]] = []
    for item in files if isinstance(files, list) else []:
        # "[{}]" is how the platform says "no file"; delFlag marks a file taken down
        if not isinstance(item, dict) or str(item.get("delFlag") or "0") not in ("0", ""):
            continue
        link = item.get("url") or item.get("filePath")
        if not isinstance(link, str) or not link.strip():
            continue
        url = _resolve(base_url, link)
        if not is_web_url(url):
            problems.append("articleFiles")
            continue
        name = clean_text(item.get("fileName") or "") or unquote(
            PurePosixPath(urlsplit(url).path).name
        )
        suffix = PurePosixPath(name).suffix or PurePosixPath(urlsplit(url).path).suffix
        kind = suffix.lower().lstrip(".")
        url = safe_url_string(url)
        if all(a["url"] != url for a in found):
            found.append({"url": url, "name": name, "type": kind if kind.isalnum() else "bin"})
    return found


def _is_relation_list(link: str) -> bool:
    """``relationUrl`` names the record's related-articles JSON on this platform
    (``/<site>/<channel>/relation/<id>-RelationArticle.json``), not a page of its own."""
    path = urlsplit(link).path
    return path.endswith(".json") or "/relation/" in path


def parse_record(record: dict[str, Any], base_url: str, record_id: Any = None) -> ListingEntry:
    """One article record (a /queryList ``source``, or an entry of a channel page's embedded
    ``articleList``) → a listing entry (never raises on a bad field)."""
    source = record
    problems: list[str] = []
    title = clean_text(source.get("title") or source.get("showTitle") or "")

    url = None
    external = False
    urls = _json_field(source.get("urls"), "urls", problems)
    if isinstance(urls, dict):
        for key in ("pc", "wap", "app"):
            if urls.get(key):
                url = _resolve(base_url, urls[key])
                break
    relation = source.get("relationUrl")
    if url is None and isinstance(relation, str) and relation.strip():
        link = _resolve(base_url, relation)
        if not _is_relation_list(link):
            # an entry that is a link to an article elsewhere: its URL is the relationUrl
            url, external = link, True
    if url is not None and not is_web_url(url):
        # javascript:, data:, file:, mailto: … are never stored or followed
        problems.append("url")
        url, external = None, False

    metadata = _json_field(source.get("metadata"), "metadata", problems)
    author = clean_text(metadata.get("author", "")) if isinstance(metadata, dict) else ""

    images: list[str] = []
    raw_images = _json_field(source.get("images"), "images", problems)
    if isinstance(raw_images, list):
        for image in raw_images:
            path = image.get("filePath") if isinstance(image, dict) else image
            if path and is_web_url(image_url := _resolve(base_url, path)):
                images.append(image_url)

    content = source.get("content")
    body_html = content.get("content", "") if isinstance(content, dict) else (content or "")
    pinned = any(
        str(source.get(flag) or "0") not in ("0", "false", "False")
        for flag in ("topStatus", "isTop")
    )
    return ListingEntry(
        platform_id=strip_control(str(record_id or source.get("id") or "")).strip(),
        title=title,
        url=url,
        published=str(source["pubDate"]) if source.get("pubDate") else None,
        source=clean_text(source.get("contentSource") or ""),
        author=author,
        body_html=body_html if isinstance(body_html, str) else "",
        images=images,
        external=external,
        pinned=pinned,
        attachments=_attachments(source.get("articleFiles"), base_url, problems),
        problems=problems,
    )


def parse_entry(result: dict[str, Any], base_url: str) -> ListingEntry:
    """One ``data.results[*]`` record → a listing entry (never raises on a bad field)."""
    source = result.get("source")
    if not isinstance(source, dict):
        source = {}
    return parse_record(source, base_url, result.get("id"))


def parse_listing(text: str, base_url: str) -> ListingPage:
    """Parse a /queryList reply. Raises :class:`ListingError` for anything but a listing."""
    stripped = text.lstrip()
    if stripped.startswith("<"):
        raise ListingError("reply is an HTML page, not JSON")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ListingError(f"reply is not valid JSON ({exc.msg}: char {exc.pos})") from exc
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ListingError(f"reply is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ListingError("reply is JSON nested too deeply to be a listing") from exc
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise ListingError("JSON has no data.results list")
    try:
        total = int(data.get("total") or 0)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: 1e400 is inf
        raise ListingError(f"data.total is not a number: {str(data.get('total'))[:40]!r}") from exc
    if not 0 <= total <= MAX_TOTAL:
        raise ListingError(f"data.total is out of range: {str(total)[:40]}")
    entries = [parse_entry(r, base_url) for r in data["results"] if isinstance(r, dict)]
    return ListingPage(total=total, entries=entries)


_UNITID_PATTERNS = [
    re.compile(r"""["']?unitid["']?\s*[:=]\s*["']?(\d{3,})"""),
    re.compile(r"""data-unitid\s*=\s*["'](\d{3,})"""),
    re.compile(r"""[?&]unitid=(\d{3,})"""),
]


def find_unitid(channel_html: str) -> str | None:
    """The column's unitid from its page's list template, or None when it has none."""
    for pattern in _UNITID_PATTERNS:
        match = pattern.search(channel_html)
        if match:
            return match.group(1)
    return None


# --- the channel page ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelNode:
    """One channel of the tree a channel page embeds (``channelsTagParent``/``Self``)."""

    code: str
    name: str
    article_count: int | None = None
    url: str | None = None  # the channel page, absolute
    id: str = ""
    parent_id: str = ""
    shown: bool = True  # showOrNot: 0 for channels the site's menus hide


@dataclass
class ChannelPage:
    """What a channel page of the current platform says about its listing.

    ``entries`` is None when the page embeds no ``listData.articleList``; ``query_style`` is
    "array" when the list script sends ``webSiteCode: ['…']`` (posted as ``webSiteCode[]``),
    "plain" for ``webSiteCode: '…'``, None when the page has no list script."""

    unitid: str | None = None
    site_code: str | None = None
    channel_code: str | None = None
    per_page: int | None = None
    query_style: str | None = None
    entries: list[ListingEntry] | None = None
    total: int | None = None
    channel: ChannelNode | None = None  # the page's own channel (channelsTagSelf)
    tree: list[ChannelNode] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _script_value(html: str, key: str) -> tuple[str | None, bool]:
    """The value of ``key: 'x'`` or ``key: ['x']`` in the list script, and whether it is an array."""
    match = re.search(rf"""[{{,\s]["']?{key}["']?\s*[:=]\s*(\[)?\s*["']([^"'\]]+)["']""", html)
    if not match:
        return None, False
    return match.group(2).strip(), bool(match.group(1))


_BLANK = re.compile(r"\s*")


def _js_value(html: str, start: int) -> Any:
    """The JSON value at ``start``; an array may end with a trailing comma, as the page's
    script writes ``[ {…}, ]`` (JavaScript, not JSON)."""
    decoder = json.JSONDecoder()
    if html[start] != "[":
        return decoder.raw_decode(html, start)[0]
    items, pos = [], start + 1
    while True:
        pos = _BLANK.match(html, pos).end()  # type: ignore[union-attr]
        if html[pos : pos + 1] == "]":
            return items
        item, pos = decoder.raw_decode(html, pos)
        items.append(item)
        pos = _BLANK.match(html, pos).end()  # type: ignore[union-attr]
        if html[pos : pos + 1] == ",":
            pos += 1
        elif html[pos : pos + 1] != "]":
            raise ValueError(f"expected ',' or ']' at char {pos}")


def _js_json(html: str, marker: str, opener: str) -> tuple[bool, Any]:
    """(found, value): the value that follows ``marker`` (a JavaScript assignment or
    property) in a page; value is None when it is there but does not parse."""
    match = re.search(marker, html)
    if not match:
        return False, None
    start = html.find(opener, match.end())
    if start < 0 or html[match.end() : start].strip():
        return False, None
    try:
        return True, _js_value(html, start)
    except (ValueError, IndexError, RecursionError):
        return True, None


def _channel_node(raw: dict[str, Any], base_url: str) -> ChannelNode | None:
    code = raw.get("code")
    if not isinstance(code, str) or not code.strip():
        return None
    urls = _json_field(raw.get("urls"), "urls", [])
    link = urls.get("pc") if isinstance(urls, dict) else None
    count = raw.get("articleCount")
    return ChannelNode(
        code=code.strip(),
        name=clean_text(raw.get("name") or raw.get("showName") or ""),
        article_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        url=_resolve(base_url, link) if isinstance(link, str) and link else None,
        id=str(raw.get("id") or ""),
        parent_id=str(raw.get("parentId") or ""),
        shown=str(raw.get("showOrNot", 1)) != "0",
    )


def _channel_tree(roots: list[Any], base_url: str) -> list[ChannelNode]:
    """Every channel of the embedded tree, parents before their children, each once."""
    nodes: dict[str, ChannelNode] = {}

    def walk(raw: Any) -> None:
        if not isinstance(raw, dict):
            return
        node = _channel_node(raw, base_url)
        if node is not None and node.code not in nodes:
            nodes[node.code] = node
        children = raw.get("children")
        for child in children if isinstance(children, list) else []:
            walk(child)

    for root in roots:
        walk(root)
    return list(nodes.values())


def parse_channel_page(html: str, base_url: str) -> ChannelPage:
    """A channel page of the current platform: its list script's parameters, the records it
    embeds (``var listData = { articleList: [ … ] }``) and the channel tree it carries."""
    page = ChannelPage(unitid=find_unitid(html))
    site_code, site_array = _script_value(html, "webSiteCode")
    channel_code, channel_array = _script_value(html, "channelCode")
    page.site_code = site_code or _script_value(html, "websiteCode")[0]
    page.channel_code = channel_code or _script_value(html, "codeName")[0]
    if site_code or channel_code:
        page.query_style = "array" if site_array or channel_array else "plain"
    per_page = re.search(r"""[{,\s]["']?perPage["']?\s*:\s*["']?(\d{1,4})\b""", html)
    page.per_page = int(per_page.group(1)) if per_page else None

    found, records = _js_json(html, r"\blistData\s*=\s*\{\s*[\"']?articleList[\"']?\s*:", "[")
    if found and not isinstance(records, list):
        page.problems.append("articleList")
    elif found:
        page.entries = [parse_record(r, base_url) for r in records if isinstance(r, dict)]
        listed = re.search(r"\blistData\s*=\s*\{(?:.|\n)*?\btotal\s*:\s*(\d+)", html)
        page.total = int(listed.group(1)) if listed and int(listed.group(1)) <= MAX_TOTAL else None

    own = _js_json(html, r"\bchannelsTagSelf\s*=", "{")[1]
    parents = _js_json(html, r"\bchannelsTagParent\s*=", "[")[1]
    roots = [*(parents if isinstance(parents, list) else []), own]
    page.tree = _channel_tree(roots, base_url)
    if isinstance(own, dict):
        page.channel = _channel_node(own, base_url)
        page.channel_code = page.channel_code or (page.channel.code if page.channel else None)
    return page


def describe_channel_page(html: str, url: str | None) -> dict[str, Any] | None:
    """A listing reader for ``govcrawl extract``: what a channel page of the current platform
    holds, or None for any other page."""
    parts = urlsplit(url or "")
    base_url = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "http://localhost"
    page = parse_channel_page(html, base_url)
    if not (page.site_code and page.channel_code):
        return None
    return {
        "platform": "querylist",
        "site_code": page.site_code,
        "channel": page.channel_code,
        "unitid": page.unitid,
        "query_style": page.query_style,
        "per_page": page.per_page,
        "embedded_records": None if page.entries is None else len(page.entries),
        "entries": [
            {
                "id": e.platform_id,
                "title": e.title,
                "url": e.url,
                "published": e.published,
                "pinned": e.pinned,
                "attachments": e.attachments,
            }
            for e in page.entries or []
        ],  # fmt: skip
        "channels": [
            {"code": n.code, "name": n.name, "articles": n.article_count, "shown": n.shown}
            for n in page.tree
        ],
    }

"""``govcrawl discover``: write a site profile from one column page of a supported platform.

The page tells everything a profile needs: the current Jiangxi platform's list script gives
the site code, the query style and the page size, its embedded channel tree every channel
(code, name, article count) and where channel pages live; a legacy Hanweb JCMS column page
(``/col/col<id>/index.html`` with a ``<datastore>``) gives its column id and site name; a
Hanweb jpaas column page (a ``unitbuild.js`` script whose ``queryData`` names webId, pageId,
tplSetId and tagId) gives its list unit's parameters. The page is read from a local file or
fetched with one GET.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from crawler.extraction.jpaas import list_unit
from crawler.extraction.querylist import ChannelNode, ChannelPage, parse_channel_page
from crawler.extraction.text import CHINA_TZ, clean_text
from crawler.profiles import (
    CHANNEL_CODE,
    CHANNEL_PATHS,
    SITE_NAME,
    ProfileError,
    SiteProfile,
    parse_profile,
    tomllib,
)

USER_AGENT = "govcrawl-discover/1.0 (one request; a site profile for a scheduled crawler)"
MAX_PAGE_BYTES = 20 * 1024 * 1024
_META = r"""<meta\s+name=["']{name}["']\s+content=["']([^"']*)["']"""
_JCMS_COLUMN = re.compile(r"/col/col(\d+)/")


class DiscoverError(ValueError):
    """The page cannot be read, or is not a column page of a platform govcrawl knows."""


@dataclass
class DiscoveredChannel:
    code: str
    name: str
    unitid: str | None = None
    article_count: int | None = None
    shown: bool = True
    parent: str = ""  # the parent channel's code
    options: dict[str, str] = field(default_factory=dict)  # jpaas: [jpaas.channels.<code>]


@dataclass
class DiscoveredSite:
    name: str
    title: str
    base_url: str
    platform: str
    site_code: str = ""
    query_style: str = "plain"
    per_page: int = 15
    channel_path: str = CHANNEL_PATHS["default"]
    channels: list[DiscoveredChannel] = field(default_factory=list)
    source: str = ""  # the page it was discovered from
    first_page: str = ""  # trs: the list file of a column when it is not index.html
    options: dict[str, Any] = field(default_factory=dict)  # jpaas: the [jpaas] table


# --- reading the page ------------------------------------------------------------------------


def read_page(target: str, timeout: float = 30.0) -> tuple[str, str | None]:
    """(html, url): an http(s) URL fetched with one GET, or a local file (url None)."""
    if re.match(r"(?i)https?://", target):
        request = Request(target, headers={"User-Agent": USER_AGENT, "Accept": "text/html"})
        try:
            with urlopen(request, timeout=timeout) as reply:  # noqa: S310 - http(s) only
                body = reply.read(MAX_PAGE_BYTES + 1)
                charset = reply.headers.get_content_charset()
                url = reply.geturl()
        except (URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DiscoverError(f"{target}: cannot fetch the page ({reason})") from None
        if len(body) > MAX_PAGE_BYTES:
            raise DiscoverError(f"{target}: the page is larger than {MAX_PAGE_BYTES} bytes")
        return _decode(body, charset), url
    path = Path(target)
    if not path.is_file():
        raise DiscoverError(f"{target}: no such file, and not an http(s) URL")
    try:
        return _decode(path.read_bytes(), None), None
    except OSError as exc:
        raise DiscoverError(f"{target}: cannot read ({exc.strerror or exc})") from None


def _decode(body: bytes, charset: str | None) -> str:
    declared = re.search(rb"""<meta[^>]+charset=["']?([\w-]+)""", body[:4096], re.I)
    for name in (charset, declared.group(1).decode() if declared else None, "utf-8"):
        if not name:
            continue
        try:
            return body.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", "replace")


def _meta(html: str, name: str) -> str:
    match = re.search(_META.format(name=name), html, re.I)
    return clean_text(match.group(1)) if match else ""


def _base_url(html: str, url: str | None) -> str:
    """The site's origin: the page's own when fetched, else its SiteDomain meta tag."""
    if url:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"
    domain = _meta(html, "SiteDomain")
    if domain and not re.match(r"(?i)https?://", domain):
        domain = "https://" + domain
    parts = urlsplit(domain)
    if not parts.hostname:
        raise DiscoverError(
            "the page names no site (no SiteDomain meta tag): give its URL instead of a file"
        )
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _site_name(base_url: str, site_code: str) -> str:
    """A profile name: the host's first label (sthjt.jiangxi.gov.cn → sthjt), or the site
    code for a host that is an address."""
    host = urlsplit(base_url).hostname or ""
    labels = [label for label in host.split(".") if label and label != "www"]
    is_address = host.replace(".", "").isdigit() or ":" in host or host == "localhost"
    candidate = (
        site_code if (is_address or not labels) and site_code else labels[0] if labels else ""
    )
    name = re.sub(r"[^a-z0-9_-]+", "-", candidate.lower()).strip("-_")[:64]
    return name or "site"


# --- the two platforms -----------------------------------------------------------------------


def _channel_path(page: ChannelPage, site_code: str, url: str | None) -> str:
    """The template most of the page's channel URLs follow (the page's own URL counts too)."""
    found: Counter[str] = Counter()
    pairs = [(n.code, n.url) for n in page.tree if n.url]
    if url and page.channel_code:
        pairs.append((page.channel_code, url))
    for code, link in pairs:
        path = urlsplit(link).path
        if path.endswith("/"):
            path += "index.html"
        prefix = f"/{site_code}/"
        if not path.startswith(prefix) or f"/{code}/" not in path[len(prefix) - 1 :]:
            continue
        rest = path[len(prefix) - 1 :].replace(f"/{code}/", "/{channel}/", 1)
        found["/{site}" + rest] += 1
    if not found:
        return CHANNEL_PATHS["default"]
    return found.most_common(1)[0][0]


def _querylist_site(page: ChannelPage, html: str, url: str | None) -> DiscoveredSite:
    base_url = _base_url(html, url)
    site_code = page.site_code or ""
    channels: list[DiscoveredChannel] = []
    nodes: list[ChannelNode] = list(page.tree)
    if page.channel_code and all(n.code != page.channel_code for n in nodes):
        own = page.channel or ChannelNode(code=page.channel_code, name=_meta(html, "ColumnName"))
        nodes.append(own)
    parents = {n.id: n.code for n in nodes if n.id}
    for node in nodes:
        channels.append(
            DiscoveredChannel(
                code=node.code,
                name=node.name,
                unitid=page.unitid if node.code == page.channel_code else None,
                article_count=node.article_count,
                shown=node.shown,
                parent=parents.get(node.parent_id, ""),
            )
        )
    return DiscoveredSite(
        name=_site_name(base_url, site_code),
        title=_meta(html, "SiteName"),
        base_url=base_url,
        platform="querylist",
        site_code=site_code,
        query_style=page.query_style or "plain",
        per_page=page.per_page if page.per_page and 1 <= page.per_page <= 200 else 15,
        channel_path=_channel_path(page, site_code, url),
        channels=channels,
    )


def _jcms_site(html: str, url: str | None) -> DiscoveredSite:
    from crawler.extraction.jcms import parse_params

    params = parse_params(html)
    column = params.get("columnid") or ""  # (its "col" is a flag, not the column)
    if not column.isdigit():
        match = _JCMS_COLUMN.search(url or "") or re.search(r"columnid=(\d+)", html)
        column = match.group(1) if match else ""
    if not column:
        raise DiscoverError(
            "a Hanweb JCMS page, but its column id is neither in its URL nor its pager"
        )
    base_url = _base_url(html, url)
    name = _meta(html, "ColumnName") or f"栏目 {column}"
    return DiscoveredSite(
        name=_site_name(base_url, ""),
        title=_meta(html, "SiteName") or params.get("webname", ""),
        base_url=base_url,
        platform="jcms",
        per_page=15,
        channels=[DiscoveredChannel(code=column, name=name)],
    )


def _trs_site(html: str, url: str | None) -> DiscoveredSite:
    """A TRS WCM (or Gansu) static list page: its folder is the column."""
    from urllib.parse import urlsplit

    if not url:
        raise DiscoverError(
            "a TRS list page (createPageHTML): discover it from its URL, whose folder is the column"
        )
    folder, _, file = urlsplit(url).path.rpartition("/")
    code = folder.strip("/")
    title = re.search(r"<title>([^<]*)</title>", html, re.I)
    base_url = _base_url(html, url)
    return DiscoveredSite(
        name=_site_name(base_url, ""),
        title=_meta(html, "SiteName"),
        base_url=base_url,
        platform="trs",
        channels=[DiscoveredChannel(code=code, name=title.group(1).strip()[:60] if title else "")],
        first_page=file if file and file != "index.html" else "",
    )


def _jpaas_site(unit: dict[str, str], html: str, url: str | None) -> DiscoveredSite:
    """A Hanweb jpaas column page: the unit its list is built from. The channel's code is the
    unit's pageId; the column page's path is written when it is not /col/col<pageId>/."""
    from crawler.extraction.jpaas import PARSE_TYPE, UNIT_PATH
    from crawler.platforms.jpaas import COLUMN_PATH, PAGE_SIZE

    base_url = _base_url(html, url)
    page_id = unit["pageId"]
    code = page_id if CHANNEL_CODE.fullmatch(page_id) else "column"
    options: dict[str, Any] = {
        "web_id": unit["webId"],
        "tpl_set_id": unit["tplSetId"],
        "tag_id": unit["tagId"],
        "page_size": PAGE_SIZE,
    }
    if unit.get("parseType") and unit["parseType"] != PARSE_TYPE:
        options["parse_type"] = unit["parseType"]
    if unit.get("url") and unit["url"] != UNIT_PATH:
        options["unit_path"] = unit["url"]
    own: dict[str, str] = {}
    if code != page_id:
        own["page_id"] = page_id
    path = urlsplit(url).path if url else ""
    if path.endswith("/"):
        path += "index.html"
    if path and path != COLUMN_PATH.format(page_id=page_id):
        own["column"] = path
    title = re.search(r"<title>([^<]*)</title>", html, re.I)
    name = _meta(html, "ColumnName") or (
        re.split(r"\s*[_|｜]\s*", clean_text(title.group(1)))[0] if title else ""
    )
    return DiscoveredSite(
        name=_site_name(base_url, ""),
        title=_meta(html, "SiteName"),
        base_url=base_url,
        platform="jpaas",
        per_page=PAGE_SIZE,
        channels=[DiscoveredChannel(code=code, name=name[:60], options=own)],
        options=options,
    )


def discover(html: str, url: str | None = None, name: str | None = None) -> DiscoveredSite:
    """The site a column page belongs to, as a profile would describe it."""
    page = parse_channel_page(html, "http://placeholder.invalid")
    if page.site_code and page.channel_code:
        if url or _meta(html, "SiteDomain"):
            page = parse_channel_page(html, _base_url(html, url))
        site = _querylist_site(page, html, url)
    elif (unit := list_unit(html, url)) is not None:
        site = _jpaas_site(unit, html, url)
    elif "<datastore" in html.lower():
        site = _jcms_site(html, url)
    elif "createpagehtml" in html.lower():
        site = _trs_site(html, url)
    else:
        raise DiscoverError(
            "not a column page of a supported platform: no list script with webSiteCode and "
            "channelCode (the current Jiangxi platform), no unitbuild script naming a jpaas unit "
            "(Hanweb jpaas), no <datastore> (Hanweb JCMS), no createPageHTML pager (TRS WCM)"
        )
    if name is not None:
        if not SITE_NAME.fullmatch(name):
            raise DiscoverError(
                f"--name {name!r}: must be 1-64 lower-case letters, digits, '-' or '_'"
            )
        site.name = name
    site.source = url or ""
    usable = [c for c in site.channels if CHANNEL_CODE.fullmatch(c.code)]
    if not usable:
        raise DiscoverError("the page names no channel govcrawl can crawl")
    site.channels = usable
    return site


# --- the profile -----------------------------------------------------------------------------


def _toml(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _toml_value(value: object) -> str:
    return str(value) if type(value) is int else _toml(str(value))


def profile_text(site: DiscoveredSite, now: datetime | None = None) -> str:
    when = (now or datetime.now(CHINA_TZ)).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"# written by `govcrawl discover` on {when}"
        + (f" from {site.source}" if site.source else ""),
        f"name = {_toml(site.name)}",
    ]
    if site.title:
        lines.append(f"title = {_toml(site.title)}")
    lines += [f"base_url = {_toml(site.base_url)}", f"platform = {_toml(site.platform)}"]
    if site.platform == "querylist":
        lines += [
            f"site_code = {_toml(site.site_code)}",
            "",
            "[querylist]",
            'path = "/queryList"',
            f"per_page = {site.per_page}",
            f"query_style = {_toml(site.query_style)}"
            + (
                "           # webSiteCode[]=…&channelCode[]=…"
                if site.query_style == "array"
                else ""
            ),
            f"channel_path = {_toml(site.channel_path)}",
        ]
    elif site.platform == "jcms":
        lines += ["", "[jcms]", "per_page = 15", "batch = 45"]
    elif site.platform == "jpaas":
        lines += ["", "[jpaas]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in site.options.items()]
        for channel in site.channels:
            if channel.options:
                lines += ["", f"[jpaas.channels.{_toml(channel.code)}]"]
                lines += [f"{key} = {_toml(value)}" for key, value in channel.options.items()]
    elif site.first_page:
        lines += ["", "[trs]", f"first_page = {_toml(site.first_page)}"]
    lines += [
        "",
        "[politeness]",
        "download_delay = 1.5            # seconds between requests to the host",
        "concurrent_requests = 1",
        "autothrottle = true",
    ]
    for channel in site.channels:
        lines += ["", "[[channels]]", f"code = {_toml(channel.code)}"]
        if channel.name:
            lines.append(f"name = {_toml(channel.name)}")
        if channel.unitid:
            lines.append(f"unitid = {_toml(channel.unitid)}")
        notes = []
        if channel.article_count is not None:
            notes.append(f"{channel.article_count} articles on the portal")
        if channel.parent:
            notes.append(f"under {channel.parent}")
        if not channel.shown:
            notes.append("hidden from the site's menus")
        if notes:
            lines.append("# " + "; ".join(notes))
    return "\n".join(lines) + "\n"


def checked_profile_text(site: DiscoveredSite) -> str:
    """The profile, after loading it as govcrawl will: what is written is crawled unedited."""
    text = profile_text(site)
    try:
        loaded: SiteProfile = parse_profile(tomllib.loads(text), where="the discovered profile")
    except (ProfileError, tomllib.TOMLDecodeError) as exc:
        raise DiscoverError(f"cannot write a valid profile: {exc}") from None
    assert loaded.name == site.name
    return text

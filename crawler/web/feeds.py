"""Atom feeds (RFC 4287) of a site, a channel, or any search, newest first.

Ids are stable: a feed's id is made of what it selects, an entry's of the article's id, so a
reader never sees an article twice; ``updated`` is when the article last changed."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.engine import Engine

from crawler.models import Article, CrawlRun
from crawler.search import Filters, statement
from crawler.web.articles import web_url
from crawler.web.errors import NotFound, limit_of, text_of
from crawler.web.search import filters_of, terms_of

router = APIRouter()

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
SUMMARY_CHARS = 300
# characters XML 1.0 cannot carry at all
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

ET.register_namespace("", ATOM)


def _text(value: Any) -> str:
    return NOT_XML.sub("", str(value or ""))


def _time(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = _text(text)
    return element


def atom(
    feed_id: str, title: str, self_href: str, page_href: str, base: str, rows: list[Any]
) -> bytes:
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", feed_id)
    _add(feed, "title", title)
    newest = max((r.updated_at for r in rows), default=datetime(2000, 1, 1, tzinfo=timezone.utc))
    _add(feed, "updated", _time(newest))
    _add(feed, "link", rel="self", href=self_href, type="application/atom+xml")
    _add(feed, "link", rel="alternate", href=page_href, type="text/html")
    author = _add(feed, "author")
    _add(author, "name", "govcrawl")
    _add(feed, "generator", "govcrawl")
    for row in rows:
        entry = _add(feed, "entry")
        _add(entry, "id", f"urn:govcrawl:article:{row.id}")
        _add(entry, "title", row.title, type="text")
        _add(entry, "updated", _time(row.updated_at))
        _add(entry, "published", _time(row.published_at))
        _add(entry, "link", rel="alternate", href=f"{base}/articles/{row.id}", type="text/html")
        original = web_url(row.url)
        if original:
            _add(entry, "link", rel="via", href=original, type="text/html")
        if row.source:
            _add(_add(entry, "author"), "name", row.source)
        for code in row.channels or []:
            _add(
                entry,
                "category",
                term=_text(code),
                scheme=f"urn:govcrawl:channel:{quote(row.site, safe='')}",
            )
        body = " ".join((row.body_text or "").split())
        if body:
            cut = body[:SUMMARY_CHARS] + ("…" if len(body) > SUMMARY_CHARS else "")
            _add(entry, "summary", cut, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _rows(engine: Engine, text: str | None, filters: Filters, limit: int) -> list[Any]:
    stmt = statement(text, filters).limit(limit)
    with engine.connect() as conn:
        return list(conn.execute(stmt).all())


def _known_site(engine: Engine, request: Request, site: str) -> None:
    text_of("site", site)
    if request.app.state.catalog.get(site) is not None:
        return
    with engine.connect() as conn:
        found = conn.execute(select(Article.id).where(Article.site == site).limit(1)).first()
        found = (
            found or conn.execute(select(CrawlRun.id).where(CrawlRun.site == site).limit(1)).first()
        )
    if found is None:
        raise NotFound(f"no site {site!r}")


def _self(request: Request) -> str:
    """The feed's own address, without the token."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    return str(request.url.replace(query=urlencode(params)))


def _feed(request: Request, feed_id: str, title: str, page_href: str, rows: list[Any]) -> Response:
    base = str(request.base_url).rstrip("/")
    body = atom(feed_id, title, _self(request), base + page_href, base, rows)
    return Response(body, media_type=MEDIA_TYPE)


FEED_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {"application/atom+xml": {}}}}


@router.get("/feeds/sites/{site}", tags=["feeds"], responses=FEED_RESPONSES)
def site_feed(request: Request, site: str, limit: int = 50) -> Response:
    """The newest articles of a site, as Atom."""
    engine = request.app.state.reader
    limit_of(limit)
    _known_site(engine, request, site)
    rows = _rows(engine, None, Filters(site=site), limit)
    return _feed(
        request,
        f"urn:govcrawl:site:{quote(site, safe='')}",
        f"govcrawl: {site}",
        f"/search?{urlencode({'site': site})}",
        rows,
    )


@router.get("/feeds/sites/{site}/channels/{channel}", tags=["feeds"], responses=FEED_RESPONSES)
def channel_feed(request: Request, site: str, channel: str, limit: int = 50) -> Response:
    """The newest articles of one channel of a site (by code or by name), as Atom."""
    state = request.app.state
    limit_of(limit)
    _known_site(state.reader, request, site)
    code = state.catalog.channel_code(text_of("channel", channel) or channel, site)
    rows = _rows(state.reader, None, Filters(site=site, channel=code), limit)
    name = state.catalog.channel_names(site).get(code, code)
    return _feed(
        request,
        f"urn:govcrawl:site:{quote(site, safe='')}:channel:{quote(code, safe='')}",
        f"govcrawl: {site} · {name}",
        f"/search?{urlencode({'site': site, 'channel': code})}",
        rows,
    )


@router.get("/feeds/search", tags=["feeds"], responses=FEED_RESPONSES)
def search_feed(
    request: Request,
    q: str | None = None,
    site: str | None = None,
    channel: str | None = None,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: str = "active",
    limit: int = Query(50, description="1..200"),
) -> Response:
    """Any search of ``/api/search``, as Atom: e.g. ``/feeds/search?q=病虫害&site=nync``."""
    state = request.app.state
    filters = filters_of(state.catalog, site, channel, source, since, until, status)
    text, _ = terms_of(q)
    limit_of(limit)
    rows = _rows(state.reader, text, filters, limit)
    chosen = {k: v for k, v in vars(filters).items() if v and (k, v) != ("status", "active")}
    selection = [("q", text), *sorted(chosen.items())]
    feed_id = "urn:govcrawl:search:" + urlencode(selection)  # percent-encoded: a valid URN
    shown = " ".join(f"{k}={v}" for k, v in selection[1:])
    return _feed(
        request,
        feed_id,
        f"govcrawl: {text}" + (f" ({shown})" if shown else ""),
        f"/search?{urlencode(selection)}",
        rows,
    )

"""Search: the engine and filters of ``govcrawl search``, paginated, matches highlighted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request

from crawler.search import (
    STATUSES,
    Filters,
    SearchError,
    parse_day,
    parse_query,
    search,
)
from crawler.web.catalog import ProfileCatalog
from crawler.web.errors import BadInput, limit_of, page_of, text_of
from crawler.web.render import page, plain
from crawler.web.schemas import Problem, SearchPage

router = APIRouter()


def filters_of(
    catalog: ProfileCatalog,
    site: str | None,
    channel: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    status: str,
) -> Filters:
    """The filters of ``govcrawl search``, each checked and named when it is wrong; a channel
    may be given by code or by its name in a profile."""
    site, channel, source, since, until = (
        text_of(name, value)
        for name, value in (
            ("site", site),
            ("channel", channel),
            ("source", source),
            ("since", since),
            ("until", until),
        )
    )
    if status not in STATUSES:
        raise BadInput("status", f"status must be one of {', '.join(STATUSES)}")
    days = {}
    for name, value in (("since", since), ("until", until)):
        try:
            days[name] = parse_day(value, name, end=name == "until")
        except SearchError as exc:
            raise BadInput(name, str(exc).removeprefix(f"{name}: ")) from None
    first, after = days["since"], days["until"]
    if first and after and first >= after:
        raise BadInput("since", f"since {since} is after until {until}")
    if channel:
        channel = catalog.channel_code(channel, site)
    return Filters(
        site=site, channel=channel, source=source, since=since, until=until, status=status
    )


def terms_of(q: str | None) -> tuple[str, tuple[str, ...]]:
    text = text_of("q", q)
    if text is None:
        raise BadInput("q", "give a word or a phrase to search for")
    try:
        return text, parse_query(text).terms
    except SearchError as exc:
        raise BadInput("q", str(exc)) from None


def highlight(text: str, terms: tuple[str, ...]) -> list[tuple[str, bool]]:
    """``text`` cut into pieces, each a match of a term (any case) or not."""
    lowered = text.lower()
    if len(lowered) != len(text) or not terms:  # a case fold that changed the length
        return [(text, False)]
    marks = [False] * len(text)
    for term in terms:
        start = lowered.find(term)
        while start >= 0 and term:
            marks[start : start + len(term)] = [True] * len(term)
            start = lowered.find(term, start + len(term))
    pieces: list[tuple[str, bool]] = []
    for ch, marked in zip(text, marks, strict=True):
        if pieces and pieces[-1][1] == marked:
            pieces[-1] = (pieces[-1][0] + ch, marked)
        else:
            pieces.append((ch, marked))
    return pieces


def search_page_data(
    request: Request,
    q: str | None,
    site: str | None,
    channel: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    status: str,
    page_no: int,
    limit: int,
) -> dict[str, Any]:
    state = request.app.state
    filters = filters_of(state.catalog, site, channel, source, since, until, status)
    text, terms = terms_of(q)
    limit_of(limit)
    page_of(page_no)
    rows = search(state.reader, text, filters, limit + 1, (page_no - 1) * limit)
    return {
        "q": text,
        "terms": list(terms),
        "filters": asdict(filters),
        "page": page_no,
        "limit": limit,
        "has_more": len(rows) > limit,
        "results": rows[:limit],
    }


@router.get(
    "/api/search", response_model=SearchPage, tags=["search"], responses={400: {"model": Problem}}
)
def api_search(
    request: Request,
    q: str | None = Query(None, description="terms separated by spaces; every one must occur"),
    site: str | None = None,
    channel: str | None = Query(None, description="a channel code, or its name in a profile"),
    source: str | None = Query(None, description="the source (来源) contains this"),
    since: str | None = Query(None, description="YYYY-MM-DD or YYYY-MM, Beijing time"),
    until: str | None = Query(None, description="YYYY-MM-DD or YYYY-MM, included"),
    status: str = Query("active", description="active, withdrawn or all"),
    page_no: int = Query(1, alias="page"),
    limit: int = Query(20, description="1..200"),
) -> dict[str, Any]:
    """Full-text search, newest first: the engine and filters of ``govcrawl search``."""
    return plain(
        search_page_data(request, q, site, channel, source, since, until, status, page_no, limit)
    )


@router.get("/search", include_in_schema=False)
def search_page(
    request: Request,
    q: str | None = None,
    site: str | None = None,
    channel: str | None = None,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: str = "active",
    page_no: int = Query(1, alias="page"),
    limit: int = 20,
) -> Any:
    state = request.app.state
    context: dict[str, Any] = {
        "q": q or "",
        "form": request.query_params,
        "statuses": STATUSES,
        "active": "/search",
        "sites": [p.name for p in state.catalog.profiles()],
        "channel_names": state.catalog.channel_names(),
    }
    if q is None or not q.strip():
        return page(request, "search.html", {**context, "found": None})
    try:
        found = search_page_data(
            request, q, site, channel, source, since, until, status, page_no, limit
        )
    except BadInput as exc:  # the form again, saying what to change
        return page(request, "search.html", {**context, "found": None, "error": str(exc)}, 400)
    terms = tuple(found["terms"])
    for row in found["results"]:
        row["title_marked"] = highlight(row["title"], terms)
        row["match_marked"] = highlight(row["match"], terms)
    return page(request, "search.html", {**context, "found": found})

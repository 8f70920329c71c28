"""Pages and JSON: the Jinja2 environment (autoescaped), its filters, and plain JSON values.

Times are shown in Beijing time, as ``govcrawl runs`` and ``sites`` show them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from crawler.extraction.text import CHINA_TZ

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def beijing(value: datetime | None) -> datetime | None:
    return value.astimezone(CHINA_TZ) if value is not None and value.tzinfo else value


def plain(value: Any) -> Any:
    """A value for JSON: times in Beijing time, durations in seconds, containers walked."""
    if isinstance(value, datetime):
        return beijing(value)
    if isinstance(value, timedelta):
        return round(value.total_seconds(), 1)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def when(value: datetime | date | None, seconds: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return beijing(value).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return value.isoformat()


def took(value: timedelta | float | None) -> str:
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    if seconds >= 60:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{seconds:.1f}s"


def days_ago(value: int | None) -> str:
    if value is None:
        return "—"
    return "today" if value == 0 else f"{value} day{'s' if value != 1 else ''} ago"


def query_string(request: Request, **changes: Any) -> str:
    """The request's query with some parameters changed (None drops one), for pager links;
    the token never travels in a link."""
    params = {k: v for k, v in request.query_params.items() if k != "token"}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else ""


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.autoescape = True
    env.filters.update(when=when, took=took, days_ago=days_ago)
    env.globals.update(query_string=query_string)
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """A server-rendered page; every value is escaped by the template."""
    state = request.app.state
    return state.templates.TemplateResponse(
        request,
        name,
        {"nav": state.nav, "can_run": state.token is not None, **context},
        status_code=status,
    )

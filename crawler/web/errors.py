"""What a request did wrong, and how every error is answered: JSON under /api/ and /feeds/,
an HTML page elsewhere. User input never reaches a 500: each parameter is checked here first,
and the message names it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException

from crawler.query import MAX_ID, QueryError
from crawler.search import SearchError

logger = logging.getLogger("govcrawl.web")

MAX_LIMIT = 200
MAX_PAGE = 1000
MAX_TEXT = 500  # characters of any free-text parameter (a search term is at most 200)


class BadInput(ValueError):
    """A parameter that cannot be used (400): the message names it and says what would do."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class NotFound(LookupError):
    """Nothing there (404): an unknown site, a log file that is gone."""


def limit_of(value: int) -> int:
    if not 1 <= value <= MAX_LIMIT:
        raise BadInput("limit", f"limit must be 1..{MAX_LIMIT}, got {value}")
    return value


def page_of(value: int) -> int:
    if not 1 <= value <= MAX_PAGE:
        raise BadInput("page", f"page must be 1..{MAX_PAGE}, got {value}")
    return value


def id_of(value: int, what: str) -> int:
    """An id that may exist: ids are positive bigints."""
    if not 0 < value <= MAX_ID:
        raise NotFound(f"no {what} {value}")
    return value


def text_of(parameter: str, value: str | None) -> str | None:
    """Free text PostgreSQL can take: no NUL, bounded; blank is None."""
    if value is None or not value.strip():
        return None
    if "\x00" in value:
        raise BadInput(parameter, "contains a NUL character")
    if len(value) > MAX_TEXT:
        raise BadInput(parameter, f"{len(value)} characters; at most {MAX_TEXT}")
    return value.strip()


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/feeds/")) or path == "/api"


def error_response(request: Request, status: int, message: str, **extra: Any) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": message, **extra}, status_code=status)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("query", "path")]
    parameter = ".".join(location) or "request"
    return parameter, f"{parameter}: {first.get('msg', 'invalid value')}"


def install(app: FastAPI) -> None:
    @app.exception_handler(BadInput)
    async def bad_input(request: Request, exc: BadInput) -> Response:
        return error_response(request, 400, str(exc), parameter=exc.parameter)

    @app.exception_handler(SearchError)
    async def bad_search(request: Request, exc: SearchError) -> Response:
        return error_response(request, 400, str(exc))

    @app.exception_handler(QueryError)
    async def unknown_id(request: Request, exc: QueryError) -> Response:
        return error_response(request, 404, str(exc).replace("(see `govcrawl runs`)", "").strip())

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return error_response(request, 404, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        parameter, message = _validation_message(exc)
        return error_response(request, 422, message, parameter=parameter)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no page {request.url.path}"
        response = error_response(request, exc.status_code, message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("error answering %s %s", request.method, request.url.path)
        if wants_json(request):
            return JSONResponse({"detail": "internal error; see the server's log"}, 500)
        return HTMLResponse("<h1>500</h1><p>internal error; see the server's log</p>", 500)

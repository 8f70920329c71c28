"""The web app's guards: the token rule, the response headers, the bind rule.

Without a token the app answers only on a loopback address (``govcrawl web`` refuses any other
bind). With ``GOVCRAWL_WEB_TOKEN`` set, every request needs it: ``Authorization: Bearer …``,
or the session cookie that one ``?token=…`` sets (HttpOnly, SameSite=Strict; a page opened
with ``?token=`` is redirected to its address without it, so the token stays out of the
history, the Referer and the logs)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from html import escape
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "govcrawl_session"
MIN_TOKEN_LENGTH = 16

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_problem(host: str, token: str | None) -> str | None:
    """Why the app must not listen on ``host`` with this token, or None."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        return f"GOVCRAWL_WEB_TOKEN must be at least {MIN_TOKEN_LENGTH} characters long"
    if token is None and not is_loopback(host):
        return (
            f"--host {host}: any address but 127.0.0.1 needs GOVCRAWL_WEB_TOKEN set "
            "(every page and API call then requires it)"
        )
    return None


def session_value(token: str) -> str:
    """What the cookie holds: derived from the token, not the token itself."""
    return hmac.new(token.encode(), b"govcrawl-web-session", hashlib.sha256).hexdigest()


def without_token(query: str) -> str:
    return urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "token"])


class SecurityHeaders:
    """Adds the headers of ``HEADERS`` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in HEADERS if name not in names
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


class TokenGate:
    """Every request carries the token (header, cookie or ``?token=``), else 401."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token)

    def _matches(self, given: str, expected: str) -> bool:
        return hmac.compare_digest(given.encode(), expected.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        bearer = headers.get("authorization", "")
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no session
            cookie = SimpleCookie()
        query = scope.get("query_string", b"").decode("latin-1")
        given = dict(parse_qsl(query)).get("token")
        if bearer.startswith("Bearer ") and self._matches(bearer[7:].strip(), self.token):
            await self.app(scope, receive, send)
        elif COOKIE in cookie and self._matches(cookie[COOKIE].value, self.session):
            if scope["method"] not in ("GET", "HEAD") and not _same_origin(headers):
                await _refuse(scope, send, 403, "cross-site request refused")
                return
            await self.app(scope, receive, send)
        elif given is not None and self._matches(given, self.token):
            await self._open_session(scope, receive, send, query)
        else:
            await _refuse(
                scope,
                send,
                401,
                "this govcrawl needs its token: send "
                "'Authorization: Bearer <token>', or open a page once with ?token=<token>",
            )

    async def _open_session(self, scope: Scope, receive: Receive, send: Send, query: str) -> None:
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = f"{COOKIE}={self.session}; Path=/; HttpOnly; SameSite=Strict{secure}"
        page = scope["method"] == "GET" and not scope["path"].startswith(("/api/", "/feeds/"))
        if page:  # a browser: the same page, without the token in its address
            rest = without_token(query)
            location = scope["path"] + (f"?{rest}" if rest else "")
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [
                        (b"location", location.encode("latin-1", "replace")),
                        (b"set-cookie", cookie.encode()),
                        (b"content-length", b"0"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cookie(message: Message) -> None:  # an API client or a feed reader
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + [
                    (b"set-cookie", cookie.encode())
                ]
            await send(message)

        await self.app(scope, receive, with_cookie)


def _same_origin(headers: dict[str, str]) -> bool:
    """A state-changing request with a cookie must come from a page of this app. A browser
    says so in ``Sec-Fetch-Site`` (a header no page can set); with ``Referrer-Policy:
    no-referrer`` it sends ``Origin: null`` even from the app's own pages, so ``null`` alone
    decides nothing. Without either header (not a browser), the Origin must be this host."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == headers.get("host", "")


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    if scope["path"].startswith(("/api/", "/feeds/")):
        body, kind = json.dumps({"detail": message}).encode(), b"application/json"
    else:
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(message)}</p>"
        body, kind = body.encode(), b"text/html; charset=utf-8"
    extra = [(b"www-authenticate", b'Bearer realm="govcrawl"')] if status == 401 else []
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _RedactToken(logging.Filter):
    PATTERN = re.compile(r"(?<=[?&]token=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.PATTERN.sub("***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def redact_access_log() -> None:
    """uvicorn's access log shows ``?token=…`` as ``?token=***``."""
    logging.getLogger("uvicorn.access").addFilter(_RedactToken())

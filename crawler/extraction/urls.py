"""URL canonicalisation: one article, one URL, whatever link led to it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only say how a visitor arrived.
TRACKING_PARAMS = frozenset(
    {
        "spm",
        "from",
        "source",
        "share",
        "share_token",
        "isappinstalled",
        "scene",
        "clicktime",
        "enterid",
        "wfr",
        "fbclid",
        "gclid",
        "_t",
        "timestamp",
        "vd_source",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_INDEX_FILES = ("index.html", "index.htm", "index.shtml", "index.jhtml")
# Only these are ever stored or followed: not javascript:, data:, file:, mailto:, ftp:, …
WEB_SCHEMES = ("http", "https")
# control characters and bidi marks in a path: percent-encoded, as a browser sends them
_UNSAFE_IN_PATH = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def canonicalize_url(url: str, base_url: str | None = None) -> str:
    """Return the canonical form of ``url`` (resolved against ``base_url`` when relative).

    Lower-cases scheme and host, drops default ports, fragments and tracking parameters
    (``utm_*``, ``spm``, …), sorts the query, and reduces a trailing ``index.html`` to the
    folder. A URL on the same host as ``base_url`` takes ``base_url``'s scheme, so the http
    and https copies of a page are one article.
    """
    absolute = urljoin(base_url, url.strip()) if base_url else url.strip()
    parts = urlsplit(absolute)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    if base_url:
        base = urlsplit(base_url)
        if (base.hostname or "").lower() == host and base.scheme:
            scheme = base.scheme.lower()
            if port == _DEFAULT_PORTS.get(parts.scheme.lower()):
                port = None
    netloc = host
    if port and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    path = parts.path or "/"
    if _UNSAFE_IN_PATH.search(path):
        path = _UNSAFE_IN_PATH.sub(lambda m: quote(m.group(), safe=""), path)
    while "//" in path:
        path = path.replace("//", "/")
    for index in _INDEX_FILES:
        if path.endswith("/" + index):
            path = path[: -len(index)]
            break
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith("utm_")
    ]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def is_web_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host: the only URLs govcrawl stores or follows."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    host = parts.hostname or ""
    return (
        parts.scheme.lower() in WEB_SCHEMES
        and bool(host)
        and not _UNSAFE_IN_PATH.search(host)
        and " " not in host
        and "\\" not in parts.netloc
    )


def origin(url: str) -> tuple[str, int | None]:
    """(host, port) of ``url``, the port None when it is its scheme's default: scheme-agnostic,
    so ``http://x.cn`` and ``https://x.cn`` are one origin and ``http://x.cn:8080`` another."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        return host, -1  # a port that is not a number matches no profile
    if port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        port = None
    return host, port


def same_origin(url: str, base_url: str) -> bool:
    """True when ``url`` is an http(s) URL on the host *and port* of ``base_url``.

    The profile's base URL is the one place a portal is; another port of the same host is
    another server (an admin console, a test instance), never part of the crawl."""
    return is_web_url(url) and origin(url) == origin(base_url)


def same_host(url: str, hosts: tuple[str, ...]) -> bool:
    """True when ``url``'s host is one of ``hosts`` (any port: see :func:`same_origin`)."""
    host = (urlsplit(url).hostname or "").lower()
    return host in hosts

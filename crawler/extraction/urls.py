"""URL canonicalisation: one article, one URL, whatever link led to it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

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


def same_host(url: str, hosts: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in hosts

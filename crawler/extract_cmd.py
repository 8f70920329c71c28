"""``govcrawl extract``: what govcrawl reads from one saved page (or one fetched URL).

``describe(html, url)`` runs the real extraction and says what kind of page it is: a listing
of any registered platform (each platform's ``describe_listing`` is asked in turn, built-ins
first, then plug-ins: a JCMS ``<datastore>`` or ``dataproxy.jsp`` reply, a querylist channel
page, a TRS or Gansu static list page, …) with its entries, total and pager parameters;
otherwise an article page with the fields govcrawl would store and the extractor that
produced each.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from crawler import platforms
from crawler.extraction.article_page import extract_article
from crawler.extraction.normalise import normalise
from crawler.extraction.urls import is_web_url
from crawler.platforms.base import Platform

FETCH_TIMEOUT = 30  # seconds
MAX_PAGE_BYTES = 10 * 1024 * 1024
# links of a page whose URL is unknown are resolved against this, then shown as the page gives them
_NO_URL = "http://page-url-unknown.invalid"


class ExtractError(ValueError):
    """A page that cannot be read: the message names it and says why."""


def listing_platforms() -> list[type[Platform]]:
    """The registered platforms in the order ``describe`` asks them to read a listing: the
    built-ins in ``BUILT_IN`` order, then those of the plug-in modules
    (``GOVCRAWL_PLATFORM_MODULES`` order), then any other registered one, by name."""
    from crawler import settings

    modules = [*platforms.BUILT_IN, *settings.GOVCRAWL_PLATFORM_MODULES]

    def rank(cls: type[Platform]) -> tuple[int, str]:
        module = cls.__module__
        return (modules.index(module) if module in modules else len(modules), cls.name)

    return sorted((platforms.get(name) for name in platforms.names()), key=rank)


def article_record(page: Any, url: str, site: str) -> dict[str, Any]:
    """The record an article page alone gives the normaliser (no listing entry)."""
    extra: dict[str, Any] = {}
    if page.column_name:
        extra["column_name"] = page.column_name
    extra.update(page.public_info)
    return {
        "site": site,
        "url": url,
        "title": page.title,
        "published": page.published,
        "source": page.source,
        "author": page.author,
        "body_html": page.body_html,
        "attachments": page.attachments,
        "extra": extra,
    }


def describe_article(html: str, url: str) -> dict[str, Any]:
    """The row govcrawl would store for an article page, and where each field came from."""
    page = extract_article(html, url)
    record = article_record(page, url, site="extract")
    row, trims = normalise(record, url)
    published_at = row["published_at"]
    return {
        "kind": "article",
        "url": row["url"],
        "title": row["title"],
        "published_at": published_at.isoformat() if published_at else None,
        "source": row["source"],
        "author": row["author"],
        "attachments": row["attachments"],
        "images": row["images"],
        "extra": row["extra"],
        "provenance": page.provenance,
        "repairs": page.repairs,
        "trimmed": trims,
        "body_text": row["body_text"],
        "body_html": row["body_html"],
    }


def _unknown_url_shown_relative(value: Any) -> Any:
    if isinstance(value, str):
        return value[len(_NO_URL) :] if value.startswith(_NO_URL) else value
    if isinstance(value, dict):
        return {k: _unknown_url_shown_relative(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknown_url_shown_relative(v) for v in value]
    return value


def describe(html: str, url: str | None) -> dict[str, Any]:
    """What govcrawl reads from ``html``: a listing's entries, or an article's fields.

    ``url`` is the page's address (links are resolved against it); without one, links are
    shown as the page gives them and the article's ``url`` is None.
    """
    known = url if url and is_web_url(url) else None
    base = known or _NO_URL + "/page.html"
    for platform in listing_platforms():
        described = platform.describe_listing(html, base)
        if described is not None:
            described.setdefault("platform", platform.name)
            break
    else:
        described = describe_article(html, base)
    if known is None:
        described = _unknown_url_shown_relative(described)
        described["url"] = None
    return described


def _decode(raw: bytes, content_type: str | None) -> str:
    from w3lib.encoding import html_to_unicode

    _, text = html_to_unicode(content_type, raw)
    return text


def read_file(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ExtractError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ExtractError(f"{path}: is a folder, not a saved page") from None
    except OSError as exc:
        raise ExtractError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_PAGE_BYTES:
        raise ExtractError(f"{path}: larger than {MAX_PAGE_BYTES // 1024 // 1024} MB, not a page")
    return _decode(raw, None)


def fetch(url: str, user_agent: str) -> tuple[str, str]:
    """One polite GET: the project's User-Agent, a timeout, a size cap. (text, final URL)."""
    import urllib.error
    import urllib.request

    if not is_web_url(url):
        raise ExtractError(f"{url}: not an http(s) URL")
    request = urllib.request.Request(
        url,
        headers={"User-Agent": user_agent, "Accept": "text/html,application/xml;q=0.9,*/*;q=0.5"},
    )
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 (http(s) only, checked above)
            final_url = response.geturl()
            if not is_web_url(final_url):
                raise ExtractError(f"{url}: redirected to {final_url}, not an http(s) URL")
            raw = response.read(MAX_PAGE_BYTES + 1)
            content_type = response.headers.get("Content-Type")
    except urllib.error.HTTPError as exc:
        raise ExtractError(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ExtractError(f"{url}: cannot be fetched ({reason})") from None
    if len(raw) > MAX_PAGE_BYTES:
        raise ExtractError(f"{url}: larger than {MAX_PAGE_BYTES // 1024 // 1024} MB, not a page")
    return _decode(raw, content_type), final_url


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def load(file_or_url: str, user_agent: str) -> tuple[str, str | None]:
    """(page text, page URL or None): a saved file, or an http(s) URL fetched once."""
    if _SCHEME.match(file_or_url):
        if not file_or_url.lower().startswith(("http://", "https://")):
            raise ExtractError(f"{file_or_url}: not an http(s) URL (and not a file)")
        return fetch(file_or_url, user_agent)
    return read_file(Path(file_or_url)), None


def _short(value: Any, width: int = 100) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text if len(text) <= width else text[: width - 1] + "…"


def table_rows(described: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """For the table format: (field rows, entry or attachment rows, body text)."""
    if described.get("kind") != "article":
        # a plug-in platform's reply may leave out what its listing does not know
        fields = [
            {"field": "kind", "value": described.get("kind", ""), "from": ""},
            {"field": "platform", "value": described.get("platform", ""), "from": ""},
            {"field": "url", "value": described.get("url") or "", "from": ""},
            {"field": "total", "value": described.get("total", "unknown"), "from": ""},
            {"field": "entries", "value": len(described.get("entries") or []), "from": ""},
            {
                "field": "unreadable_records",
                "value": described.get("unreadable_records", 0),
                "from": "",
            },
        ]
        fields += [
            {"field": f"pager.{k}", "value": _short(v), "from": ""}
            for k, v in (described.get("pager") or {}).items()
        ]
        entries = [
            {
                "date": e.get("date") or "",
                "title": _short(e.get("title"), 60),
                "url": e.get("url") or "",
            }
            for e in described.get("entries") or []
        ]
        return fields, entries, ""
    how = described["provenance"]
    fields = [
        {"field": name, "value": _short(described[name]), "from": how.get(key, "")}
        for name, key in (
            ("url", ""),
            ("title", "title"),
            ("published_at", "published"),
            ("source", "source"),
            ("author", "author"),
        )
    ]
    fields.append({"field": "body", "value": f"{len(described['body_text'])} characters",
                   "from": how.get("body", "")})  # fmt: skip
    fields += [
        {"field": f"extra.{k}", "value": _short(v), "from": how.get("public_info", "")}
        for k, v in described["extra"].items()
    ]
    fields += [{"field": "image", "value": _short(i), "from": ""} for i in described["images"]]
    if described["repairs"]:
        fields.append({"field": "repairs", "value": ", ".join(described["repairs"]), "from": ""})
    files = [
        {"type": a["type"], "name": _short(a["name"], 60), "url": a["url"]}
        for a in described["attachments"]
    ]
    return fields, files, described["body_text"]

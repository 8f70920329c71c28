"""The current platform's listing API: ``POST /queryList`` and the channel page around it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

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


def parse_entry(result: dict[str, Any], base_url: str) -> ListingEntry:
    """One ``data.results[*]`` record → a listing entry (never raises on a bad field)."""
    source = result.get("source")
    if not isinstance(source, dict):
        source = {}
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
    if url is None and source.get("relationUrl"):
        url = _resolve(base_url, source["relationUrl"])
        external = True
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
    return ListingEntry(
        platform_id=strip_control(str(result.get("id") or source.get("id") or "")).strip(),
        title=title,
        url=url,
        published=str(source["pubDate"]) if source.get("pubDate") else None,
        source=clean_text(source.get("contentSource") or ""),
        author=author,
        body_html=body_html if isinstance(body_html, str) else "",
        images=images,
        external=external,
        pinned=str(source.get("isTop") or "0") not in ("0", "false", "False"),
        problems=problems,
    )


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

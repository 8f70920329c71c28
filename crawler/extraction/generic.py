"""List pages described by selectors: the ``generic`` platform's one parser.

A profile names, for a site without a platform of its own, how to find each entry of a list
page and, inside an entry, its title, link and date; optionally the page's "next page" link.
Every selector is a Scrapy/parsel one: CSS with ``::text`` and ``::attr(name)``, or XPath
when it starts with ``/``, ``./``, ``../`` or ``(``. A field may list several selectors, tried
in order until one yields something (``["a::attr(title)", "a::text"]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

from parsel import Selector, SelectorList

from crawler.extraction.listing import ListingEntry
from crawler.extraction.markup import repair_stray_end_tags
from crawler.extraction.text import clean_text, parse_datetime
from crawler.extraction.urls import is_web_url

_XPATH_START = ("/", "./", "../", "(")


@dataclass(frozen=True)
class ListSelectors:
    entry: str
    title: tuple[str, ...]
    link: tuple[str, ...]
    date: tuple[str, ...] = ()
    next_page: tuple[str, ...] = ()


def is_xpath(query: str) -> bool:
    return query.lstrip().startswith(_XPATH_START)


def select(node: Selector, query: str) -> SelectorList:
    """The nodes or strings ``query`` (CSS or XPath, see the module) finds under ``node``."""
    return node.xpath(query) if is_xpath(query) else node.css(query)


def selector_problem(query: str) -> str | None:
    """Why ``query`` is no usable selector, as a short phrase; None when it is one."""
    try:
        select(Selector(text="<html><body><p>x</p></body></html>"), query)
    except Exception as error:  # parsel raises cssselect's and lxml's own error types
        kind = "XPath" if is_xpath(query) else "CSS"
        return f"is not a valid {kind} selector ({type(error).__name__}: {error})"
    return None


def _first(node: Selector, queries: Sequence[str]) -> str:
    """The first non-blank string the selectors find, tried in order (a URL: one value)."""
    for query in queries:
        for found in select(node, query).getall():
            if found.strip():
                return found.strip()
    return ""


def _first_text(node: Selector, queries: Sequence[str]) -> str:
    """As :func:`_first`, as text: markup dropped, blanks folded (an element is its text)."""
    for query in queries:
        found = clean_text(" ".join(select(node, query).getall()))
        if found:
            return found
    return ""


def _resolve(page_url: str, href: str) -> str | None:
    if not href:
        return None
    try:
        url = urldefrag(urljoin(page_url, href.strip())).url
    except ValueError:  # e.g. an unterminated IPv6 host: "http://[x"
        return None
    return url if is_web_url(url) else None


def _entry(node: Selector, page_url: str, selectors: ListSelectors) -> ListingEntry | None:
    url = _resolve(page_url, _first(node, selectors.link))
    if url is None:
        return None
    date = _first_text(node, selectors.date)
    return ListingEntry(
        platform_id="",  # the URL is the key: a generic site's ids are unknown
        title=_first_text(node, selectors.title),
        url=url,
        published=date if parse_datetime(date) else None,
    )


def parse_list(
    html: str, url: str, selectors: ListSelectors
) -> tuple[list[ListingEntry], int, str | None]:
    """(entries, unreadable, next page URL) of a list page at ``url``.

    An entry whose link is missing or no http(s) URL (``javascript:;``) is unreadable; one
    without a parsable date is kept without it (the article page usually has one). The next
    page is None when ``selectors.next_page`` finds nothing usable or links back to this page
    (what many last pages do)."""
    page = Selector(text=repair_stray_end_tags(html)[0], base_url=url)
    entries: list[ListingEntry] = []
    unreadable = 0
    for node in select(page, selectors.entry):
        entry = _entry(node, url, selectors)
        if entry is None:
            unreadable += 1
        else:
            entries.append(entry)
    next_url = _resolve(url, _first(page, selectors.next_page))
    if next_url == urldefrag(url).url:
        next_url = None
    return entries, unreadable, next_url

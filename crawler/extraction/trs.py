"""TRS WCM static list pages: ``index.html``, ``index_1.html``, … and Gansu's shared platform.

A column's list is a set of static pages. TRS WCM announces how many with
``createPageHTML(countPage, currentPage, "index", "html")`` (current page counted from 0, page
``n`` is ``index_n.html``); Gansu's shared platform with
``createPageHTML('page_div', 10, 1, 'zwgklist', 'shtml', 200)`` (div, pages, current page
counted from 1, stem, extension, records; page ``k`` is ``zwgklist_k.shtml``, so the second
page is ``zwgklist_2.shtml``). Pages here are numbered from 0 whatever the platform; the
``first_suffix`` of a :class:`TrsListPage` (1 or 2) says which number the second page's file
carries.

Articles live at ``…/YYYYMM/tYYYYMMDD_<id>.html|.shtml|.htm`` (TRS) or
``…/YYYYMM/<id>.shtml`` (Gansu); list links are often relative (``./202312/t20231219_83454.htm``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from posixpath import basename, dirname
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from crawler.extraction.listing import ListingEntry
from crawler.extraction.markup import repair_stray_end_tags
from crawler.extraction.text import clean_text
from crawler.extraction.urls import is_web_url

# t20231219_83454.htm (TRS WCM) or 202511/174240943.shtml (Gansu's shared platform)
_ARTICLE_PATH = re.compile(
    r"/(?:(?:19|20)\d{4}/)?t(?:19|20)\d{6}_(?P<trs>\d+)\.s?html?$"
    r"|/(?:19|20)\d{4}/(?P<gansu>\d+)\.s?html?$",
    re.I,
)
# an href inside a comment that looks like an article link: the list may be commented out
_ARTICLE_HREF = re.compile(r"href\s*=\s*['\"]?[^'\" >]*(?:/t(?:19|20)\d{6}_\d+|/(?:19|20)\d{4}/\d+)\.s?html?", re.I)  # fmt: skip
_COMMENT = re.compile(r"<!--(?!\[if)(?P<inner>.*?)-->", re.S)
_PAGER_CALL = re.compile(r"(?<![\w.])createPageHTML\s*\((?P<args>[^()]*)\)", re.I)
_ARG = re.compile(r"""'(?P<s>[^']*)'|"(?P<d>[^"]*)"|(?P<bare>[^,\s'"][^,]*)""")
_DATE = re.compile(r"(?:19|20)\d{2}\s*(?:[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}|年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)")  # fmt: skip
_PAGE_FILE = re.compile(r"^(?P<stem>.+?)(?:_(?P<n>\d+))?\.(?P<ext>s?html?|jhtml)$", re.I)
# the elements that make one entry of a list
_ITEM_TAGS = ("li", "tr", "dd", "dt", "p")


@dataclass
class TrsListPage:
    entries: list[ListingEntry]
    page_count: int | None  # None: the page names no count (read it as a single page)
    stem: str  # "index", "zwgklist"
    ext: str  # "html", "shtml"
    current: int  # this page, counted from 0 (0 is stem.ext)
    # the number in the second page's file name: index_1.html (TRS) or zwgklist_2.shtml (Gansu)
    first_suffix: int = 1
    total_records: int | None = None  # Gansu's pager names it; TRS's does not
    # list items in the list area whose link is no http(s) article URL
    unreadable: int = 0
    # how the page was read, for stats: "pager:createPageHTML", "pager:div", "pager:countPage",
    # "pager:none"; "list:comment" when the entries sat inside an HTML comment
    provenance: list[str] = field(default_factory=list)

    def page_url(self, url: str, n: int) -> str:
        """The URL of page ``n`` (from 0) of the list ``url`` belongs to."""
        return list_page_url(url, n, self.stem, self.ext, self.first_suffix)

    def other_page_urls(self, url: str) -> list[str]:
        """Every page of the list but this one, in order (none when the count is unknown)."""
        if self.page_count is None:
            return []
        return [self.page_url(url, n) for n in range(self.page_count) if n != self.current]


def article_id(url: str | None) -> str | None:
    """The platform's article id of ``…/YYYYMM/tYYYYMMDD_<id>.html`` (``.shtml``, ``.htm``)
    or of Gansu's ``…/YYYYMM/<id>.shtml``; None for any other URL."""
    if not url:
        return None
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return None
    match = _ARTICLE_PATH.search(path)
    return (match["trs"] or match["gansu"]) if match else None


def list_page_url(
    first_page_url: str, n: int, stem: str = "index", ext: str = "html", first_suffix: int = 1
) -> str:
    """Page ``n`` (from 0) of a static list: page 0 is ``stem.ext``, page 1 ``stem_1.ext`` on
    TRS (``first_suffix`` 1) and ``stem_2.ext`` on Gansu's platform (``first_suffix`` 2).
    ``first_page_url`` is any page of the list, or its folder."""
    name = f"{stem}.{ext}" if n <= 0 else f"{stem}_{n + first_suffix - 1}.{ext}"
    return urljoin(first_page_url, name)


def _args(text: str) -> list[str]:
    return [
        s if s is not None else (d if d is not None else b.strip())
        for s, d, b in ((m["s"], m["d"], m["bare"]) for m in _ARG.finditer(text))
    ]


def _int(value: str, variables: dict[str, int]) -> int | None:
    value = value.strip()
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    return variables.get(value)


def _variables(html: str) -> dict[str, int]:
    """``var countPage = 7`` and the like: the pager's arguments are often variables."""
    found: dict[str, int] = {}
    for match in re.finditer(r"(?:\bvar\s+)?\b([A-Za-z_$][\w$]*)\s*=\s*(\d+)\s*[;\n/]", html):
        found.setdefault(match[1], int(match[2]))
    return found


@dataclass
class ListPager:
    """What a list page says about its paging."""

    page_count: int | None
    stem: str | None
    ext: str | None
    current: int | None
    first_suffix: int
    total_records: int | None
    how: str


def parse_pager(html: str) -> ListPager:
    """The list's paging, from the last ``createPageHTML(…)`` call (not its definition), else
    from ``var countPage = N`` / ``var currentPage = N``."""
    variables = _variables(html)
    calls = [m for m in _PAGER_CALL.finditer(html) if not _defines(html, m.start())]
    for match in reversed(calls):
        args = _args(match["args"])
        if len(args) >= 5 and not re.fullmatch(r"-?\d+", args[0].strip()) and args[0] not in variables:  # fmt: skip
            # Gansu's shared platform: (div, pages, current from 1, stem, ext[, records])
            count, current = _int(args[1], variables), _int(args[2], variables)
            total = _int(args[5], variables) if len(args) > 5 else None
            return ListPager(
                _count(count), args[3] or None, args[4] or None,
                current - 1 if current is not None and current > 0 else None, 2, total, "pager:div",
            )  # fmt: skip
        if len(args) >= 4:
            count, current = _int(args[0], variables), _int(args[1], variables)
            return ListPager(
                _count(count), args[2] or None, args[3] or None,
                current if current is not None and current >= 0 else None, 1, None,
                "pager:createPageHTML",
            )  # fmt: skip
    if "countPage" in variables:
        current = variables.get("currentPage")
        return ListPager(
            _count(variables["countPage"]), None, None, current, 1, None, "pager:countPage"
        )
    return ListPager(None, None, None, None, 1, None, "pager:none")


def _defines(html: str, at: int) -> bool:
    return html[max(0, at - 12) : at].rstrip().endswith("function")


def _count(value: int | None) -> int | None:
    return value if value is not None and value >= 1 else None


def _unwrap_comments(html: str) -> tuple[str, bool]:
    """The page with every comment that holds article links opened up: Gansu's pages carry the
    list (and its pager call) inside ``<!-- … -->``."""
    opened = False

    def unwrap(match: re.Match[str]) -> str:
        nonlocal opened
        if _ARTICLE_HREF.search(match["inner"]):
            opened = True
            return match["inner"]
        return match.group(0)

    return _COMMENT.sub(unwrap, html), opened


def _resolve(base_url: str, href: str) -> str | None:
    try:
        url = urljoin(base_url, href.strip())
    except ValueError:  # e.g. an unterminated IPv6 host: "http://[x"
        return None
    return url if is_web_url(url) else None


def _item_of(link: etree._Element) -> etree._Element:
    """The list item a link belongs to: its nearest li/tr/dd/… within three levels."""
    node = link
    for _ in range(3):
        node = node.getparent()
        if node is None:
            break
        if node.tag in _ITEM_TAGS:
            return node
    return link


def _folder(url: str) -> str:
    try:
        return dirname(urlsplit(url).path) + "/"
    except ValueError:
        return "/"


def _pager_scripts(root: etree._Element) -> list[etree._Element]:
    """The inline scripts that call ``createPageHTML(…)`` (not the ones defining it)."""
    found = []
    for script in root.iter("script"):
        text = script.text or ""
        if any(not _defines(text, m.start()) for m in _PAGER_CALL.finditer(text)):
            found.append(script)
    return found


def _beside(container: etree._Element, pagers: list[etree._Element]) -> bool:
    """True when a pager sits in the box that holds the container (the list and its pager
    share one box; a sidebar is a box of its own)."""
    box = container.getparent()
    return box is not None and any(
        p is box or any(a is box for a in p.iterancestors()) for p in pagers
    )


def _list_area(
    links: list[tuple[etree._Element, str]], page_url: str, pagers: list[etree._Element] = ()
) -> set[etree._Element] | None:
    """The containers of the list: the one holding the most entries of this column's folder
    (then the most entries), and its siblings of the same tag (TRS templates split a list into
    several ``<ul>``). A sidebar of another column's articles is left out, also when the
    column's own list is empty: a container with no entry of the column's folder is the list
    only when the page's pager sits beside it (a column that lists only other columns'
    articles) or the page has no inline pager."""
    groups: dict[etree._Element, list[str]] = {}
    for link, url in links:
        parent = _item_of(link).getparent()
        if parent is not None:
            groups.setdefault(parent, []).append(url)
    if not groups:
        return None
    folder = _folder(page_url)

    pager_list = list(pagers)

    def score(container: etree._Element) -> tuple[int, bool, int]:
        urls = groups[container]
        own = sum(1 for u in urls if _folder(u).startswith(folder))
        return own, bool(pager_list) and _beside(container, pager_list), len(urls)

    best = max(groups, key=score)
    own, beside, _ = score(best)
    if own == 0 and pager_list and not beside:
        return None
    area = {best}
    parent = best.getparent()
    if parent is not None:
        area |= {c for c in groups if c.getparent() is parent and c.tag == best.tag}
    return area


def _entry(item: etree._Element, link: etree._Element, url: str) -> ListingEntry:
    title = clean_text(link.get("title") or "") or clean_text(link.text_content())
    candidates = [
        el.text_content()
        for el in item.iter("span", "em", "b", "i", "font", "td")
        if el is not link
    ]
    candidates.append(item.text_content().replace(link.text_content(), " "))
    if item is link and link.tail:
        candidates.append(link.tail)
    published = next((clean_text(m.group(0)) for t in candidates if (m := _DATE.search(t))), None)
    return ListingEntry(
        platform_id=article_id(url) or "", title=title, url=url, published=published
    )


def _page_file(url: str) -> tuple[str | None, str | None, int | None]:
    """(stem, ext, page from 0 for TRS numbering) of a list page URL's file name."""
    try:
        name = basename(urlsplit(url).path)
    except ValueError:
        return None, None, None
    match = _PAGE_FILE.match(name)
    if not match:
        return None, None, None
    return match["stem"], match["ext"], int(match["n"]) if match["n"] else 0


def parse_list_page(html: str, url: str) -> TrsListPage:
    """The entries of one static list page, the page count and how the other pages are named.

    Never raises: a page that cannot be parsed gives no entries; an item of the list area
    whose link is not an http(s) article URL counts in ``unreadable``."""
    pager = parse_pager(html or "")
    file_stem, file_ext, file_n = _page_file(url)
    stem = pager.stem or file_stem or "index"
    ext = pager.ext or file_ext or "html"
    if pager.current is not None:
        current = pager.current
    elif file_n:
        current = file_n - (pager.first_suffix - 1)
    else:
        current = 0
    page = TrsListPage(
        entries=[], page_count=pager.page_count, stem=stem, ext=ext, current=max(current, 0),
        first_suffix=pager.first_suffix, total_records=pager.total_records,
        provenance=[pager.how],
    )  # fmt: skip
    text, opened = _unwrap_comments(html or "")
    if opened:
        page.provenance.append("list:comment")
    text, repaired = repair_stray_end_tags(text)
    if repaired:
        page.provenance.append("repaired:stray-end-tag")
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return page
    links = []
    for link in root.iter("a"):
        resolved = _resolve(url, link.get("href") or "")
        if resolved and article_id(resolved):
            links.append((link, resolved))
    area = _list_area(links, url, _pager_scripts(root))
    if area is None:
        return page
    items = {}
    for link, entry_url in links:
        items.setdefault(_item_of(link), (link, entry_url))
    seen: set[str] = set()
    for container in (el for el in root.iter() if el in area):
        for item in container:
            if not isinstance(item.tag, str):
                continue
            if item not in items:
                # a list item with a link it cannot follow (javascript:, no href): unreadable
                if item.tag in _ITEM_TAGS and any(
                    (a.get("href") or "").strip() or a.text_content().strip()
                    for a in item.iter("a")
                ):
                    page.unreadable += 1
                continue
            link, entry_url = items[item]
            if entry_url in seen:
                continue
            seen.add(entry_url)
            page.entries.append(_entry(item, link, entry_url))
    return page

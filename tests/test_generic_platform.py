"""The generic platform: a site's list pages described in its profile by a URL pattern (or a
next-page link) and selectors, checked when the profile loads, parsed without a crawl, and the
sample site crawled end to end to its ground truth."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.extraction.generic import ListSelectors, parse_list
from crawler.models import Article
from crawler.profiles import ProfileError, load_profile
from sample_portal.generic import GenericPortalServer, profile_text
from tests.support import latest_stats

GOOD = {
    "list_url": '"/{channel}/index_{n}.html"',
    "entry": '"ul.list li"',
    "title": '"a::attr(title)"',
    "link": '"a::attr(href)"',
    "date": '"span::text"',
}


def _profile(tmp_path: Path, **options: str | None):  # type: ignore[no-untyped-def]
    table = {**GOOD, **options}
    lines = [f"{key} = {value}" for key, value in table.items() if value is not None]
    path = tmp_path / "county.toml"
    path.write_text(
        'name = "county"\nbase_url = "https://www.example.gov.cn"\nplatform = "generic"\n'
        "[generic]\n" + "\n".join(lines) + '\n[[channels]]\ncode = "xxgk/tzgg"\n',
        encoding="utf-8",
    )
    return load_profile(str(path), tmp_path)


def test_a_good_generic_profile_loads(tmp_path):
    profile = _profile(tmp_path, first_url='"/{channel}/index.html"', first_page="0")
    assert profile.platform == "generic" and profile.options["first_page"] == 0


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("list_url", '"/{channel}/index.html"'),  # no {n}
        ("list_url", '"/index_{n}.html"'),  # no {channel}
        ("list_url", '"/{channel}/{page}.html"'),
        ("list_url", '"https://other.cn/{channel}/{n}.html"'),
        ("list_url", '"/{channel/{n}.html"'),
        ("list_url", "None"),  # removed, and no first_url + next_page instead
        ("first_url", '"/{channel}/index_{n}.html"'),
        ("first_url", "3"),
        ("first_page", "2"),
        ("first_page", '"1"'),
        ("first_page", "true"),
        ("max_pages", "0"),
        ("max_pages", "2.5"),
        ("entry", "None"),
        ("entry", '"ul.list >> li"'),
        ("entry", '["li", "tr"]'),
        ("title", "None"),
        ("title", '"a::attr(title"'),
        ("title", "[]"),
        ("link", "None"),
        ("link", '"./a/@@href"'),
        ("date", "5"),
        ("next_page", '"a.next:::text"'),
        ("pages", "3"),  # not an option
    ],
)
def test_each_bad_generic_option_is_named(tmp_path, option, value):
    value = None if value == "None" else value
    with pytest.raises(ProfileError, match=rf"generic\.{option}\b"):
        _profile(tmp_path, **{option: value})


def test_next_page_may_replace_the_url_pattern(tmp_path):
    profile = _profile(
        tmp_path,
        list_url=None,
        first_url='"/{channel}/index.html"',
        next_page='"a.next::attr(href)"',
    )
    assert "list_url" not in profile.options


LIST_PAGE = """<html><body>
<ul class="nav"><li><a href="/">首页</a></li></ul>
<ul class="list">
  <li><a href="./202510/t20251003_1.html" title="关于做好秋冬季农业生产工作的通知">关于做好秋冬季…</a>
      <span>2025-10-03</span></li>
  <li><a href="javascript:;">该信息已撤回</a><span></span></li>
  <li><a href="/xxgk/tzgg/202509/t20250928_2.html">全县  秋粮收购
      工作会议召开</a><span>[2025年9月28日]</span></li>
  <li><a href="202509/t20250901_3.html#top" title="无日期的条目">无日期…</a><span>置顶</span></li>
</ul>
<div class="pager"><a href="index_1.html" class="next">下一页</a></div>
</body></html>"""
PAGE_URL = "https://www.example.gov.cn/xxgk/tzgg/index.html"
EXPECTED = [
    ("关于做好秋冬季农业生产工作的通知", "https://www.example.gov.cn/xxgk/tzgg/202510/t20251003_1.html", "2025-10-03"),
    ("全县 秋粮收购工作会议召开", "https://www.example.gov.cn/xxgk/tzgg/202509/t20250928_2.html", "[2025年9月28日]"),
    ("无日期的条目", "https://www.example.gov.cn/xxgk/tzgg/202509/t20250901_3.html", None),
]  # fmt: skip


def _read(selectors: ListSelectors, html: str = LIST_PAGE, url: str = PAGE_URL):  # type: ignore[no-untyped-def]
    entries, unreadable, next_url = parse_list(html, url, selectors)
    return [(e.title, e.url, e.published) for e in entries], unreadable, next_url


def test_parse_list_reads_entries_with_css_selectors():
    selectors = ListSelectors(
        entry="ul.list li", title=("a::attr(title)", "a::text"), link=("a::attr(href)",),
        date=("span::text",), next_page=("div.pager a.next::attr(href)",),
    )  # fmt: skip
    assert _read(selectors) == (EXPECTED, 1, "https://www.example.gov.cn/xxgk/tzgg/index_1.html")


def test_parse_list_reads_entries_with_xpath_selectors():
    selectors = ListSelectors(
        entry="//ul[@class='list']/li", title=("./a/@title", "./a//text()"),
        link=("./a/@href",), date=("./span/text()",),
    )  # fmt: skip
    assert _read(selectors) == (EXPECTED, 1, None)


def test_parse_list_sees_no_next_page_in_a_link_to_the_page_itself():
    selectors = ListSelectors(
        entry="ul.list li", title=("a::text",), link=("a::attr(href)",),
        next_page=("div.pager a::attr(href)",),
    )  # fmt: skip
    last = LIST_PAGE.replace('href="index_1.html"', 'href="./index.html"')
    assert _read(selectors, last)[2] is None
    assert _read(selectors, LIST_PAGE.replace("ul", "ol"))[:2] == ([], 0)


def _write_profile(tmp_path: Path, base_url: str, next_link: bool = False) -> Path:
    path = tmp_path / "sample-generic.toml"
    path.write_text(profile_text(base_url, next_link=next_link), encoding="utf-8")
    return path


def _wrong_fields(db, server: GenericPortalServer) -> list[str]:  # type: ignore[no-untyped-def]
    truth = server.portal.ground_truth()
    with db.connect() as conn:
        rows = {r.url: r for r in conn.execute(select(Article))}
    base = server.base_url
    assert set(rows) == {base + a["url"] for a in truth["articles"]}
    wrong = []
    for want in truth["articles"]:
        got = rows[base + want["url"]]
        expected = {
            "channels": want["channels"],
            "title": want["title"],
            "published_at": datetime.fromisoformat(want["published_at"]),
            "body_text": want["body_text"],
        }
        wrong += [
            f"{want['url']} {field}: {getattr(got, field)!r} != {value!r}"
            for field, value in expected.items()
            if getattr(got, field) != value
        ]
    return wrong


def _list_requests(server: GenericPortalServer) -> list[str]:
    return sorted(r.path for r in server.requests if "/list_" in r.path)


def test_a_generic_site_is_crawled_to_its_ground_truth(db, crawl, generic_server, tmp_path):
    profile = _write_profile(tmp_path, generic_server.base_url)
    done = crawl(profile)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _wrong_fields(db, generic_server) == []
    stats = latest_stats(db)
    assert stats["govcrawl/listing/unreadable_records"] == 1  # the withdrawn entry
    # the pattern runs one page past each list's end, which answers 404: the end
    assert stats["govcrawl/listing/read/generic:past_end"] == 2
    assert _list_requests(generic_server) == sorted(
        [*(f"/xwdt/list_{n}.html" for n in (1, 2, 3, 4)), *(f"/tzgg/list_{n}.html" for n in (1, 2, 3))]
    )  # fmt: skip

    # incremental: the next run stops at the first page of each channel
    generic_server.requests.clear()
    assert crawl(profile).returncode == 0
    stats = latest_stats(db)
    assert stats.get("govcrawl/items/new", 0) == 0
    assert stats["govcrawl/listing/stopped_early"] == len(generic_server.portal.channels)
    assert _list_requests(generic_server) == ["/tzgg/list_1.html", "/xwdt/list_1.html"]


def test_a_generic_site_is_paged_by_its_next_links(db, crawl, generic_server, tmp_path):
    profile = _write_profile(tmp_path, generic_server.base_url, next_link=True)
    done = crawl(profile)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _wrong_fields(db, generic_server) == []
    stats = latest_stats(db)
    assert stats["govcrawl/listing/read/generic:next_page"] == 3  # 1→2→3 and 1→2
    assert "govcrawl/listing/read/generic:past_end" not in stats
    assert _list_requests(generic_server) == sorted(
        [*(f"/xwdt/list_{n}.html" for n in (1, 2, 3)), *(f"/tzgg/list_{n}.html" for n in (1, 2))]
    )  # fmt: skip


def test_generic_max_pages_caps_each_list(db, crawl, generic_server, tmp_path):
    profile = _write_profile(tmp_path, generic_server.base_url)
    profile.write_text(
        profile.read_text(encoding="utf-8").replace("first_page = 1", "first_page = 1\nmax_pages = 2"),
        encoding="utf-8",
    )  # fmt: skip
    assert crawl(profile).returncode == 0
    # a cap, not an end: each list stops after page 2, before the 404 that would end it
    assert latest_stats(db)["govcrawl/listing/generic/max_pages"] == 2
    assert _list_requests(generic_server) == sorted(
        f"/{code}/list_{n}.html" for code in ("xwdt", "tzgg") for n in (1, 2)
    )

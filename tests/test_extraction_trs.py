"""TRS WCM static list pages and Gansu's shared platform: crawler/extraction/trs.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extraction.trs import article_id, list_page_url, parse_list_page, parse_pager

REAL_PAGES = Path(__file__).resolve().parents[2] / "shared" / "real-pages"
GANSU = "https://jyt.gansu.gov.cn/jyt/c110634/zwgklist.shtml"
TRS_LIST = "https://www.example.gov.cn/zwgk/tzgg/index.html"


def real_page(name: str) -> str:
    path = REAL_PAGES / name
    if not path.is_file():
        pytest.skip(f"the saved real pages are not here: {path} is missing (../shared/real-pages)")
    return path.read_text(encoding="utf-8")


def test_gansu_list_page_gives_its_pager_and_twenty_entries():
    page = parse_list_page(real_page("jyt.gansu.gov.cn/column_c110634.html"), GANSU)
    # createPageHTML('page_div',10, 1,'zwgklist','shtml',200)
    assert (page.page_count, page.stem, page.ext) == (10, "zwgklist", "shtml")
    assert page.current == 0 and page.first_suffix == 2 and page.total_records == 200
    assert page.provenance == ["pager:div", "list:comment"]  # the list sits inside <!-- -->
    assert len(page.entries) == 20 and page.unreadable == 0
    first, last = page.entries[0], page.entries[-1]
    assert first.url == "https://jyt.gansu.gov.cn/jyt/c110634/202511/174240943.shtml"
    assert first.platform_id == "174240943"
    assert first.title == "关于开展2024年全域全员全过程使用智慧教育平台专项研究课题结项工作的通知"
    assert first.published == "2025-11-17"
    # the title attribute's double blank folds to one
    assert page.entries[1].title == (
        "甘肃省教育厅 甘肃省财政厅关于做好2025-2026学年“银龄讲学计划”实施工作的通知"
    )
    assert last.url == "https://jyt.gansu.gov.cn/jyt/c110634/202506/174155064.shtml"
    assert last.title == "关于做好甘肃省第十八届哲学社会科学优秀成果奖申报有关工作的通知"
    assert last.published == "2025-06-09"
    assert all(e.published and e.platform_id for e in page.entries)
    assert len({e.url for e in page.entries}) == 20  # no side menu column link is an entry


def test_gansu_pages_after_the_first_are_numbered_from_two():
    page = parse_list_page(real_page("jyt.gansu.gov.cn/column_c110634.html"), GANSU)
    others = page.other_page_urls(GANSU)
    assert others[0] == "https://jyt.gansu.gov.cn/jyt/c110634/zwgklist_2.shtml"
    assert others[-1] == "https://jyt.gansu.gov.cn/jyt/c110634/zwgklist_10.shtml"
    assert len(others) == 9


def test_gansu_second_page_knows_where_it_is():
    html = "<ul><li><a href='/jyt/c1/202501/1.shtml'>一</a><b>2025-01-02</b></li></ul><script>createPageHTML('page_div',10, 2,'zwgklist','shtml',200);</script>"
    page = parse_list_page(html, "https://jyt.gansu.gov.cn/jyt/c1/zwgklist_2.shtml")
    assert page.current == 1
    assert page.page_url("https://jyt.gansu.gov.cn/jyt/c1/zwgklist_2.shtml", 0).endswith(
        "/jyt/c1/zwgklist.shtml"
    )


@pytest.mark.parametrize(
    ("script", "count", "current", "stem", "ext", "how"),
    [
        ('createPageHTML(7, 0, "index", "html");', 7, 0, "index", "html", "pager:createPageHTML"),
        ("createPageHTML(12, 3, 'index', 'shtml');", 12, 3, "index", "shtml", "pager:createPageHTML"),
        (
            "var currentPage = 2;//所在页从0开始\nvar countPage = 34//共多少页\n"
            'createPageHTML(countPage, currentPage, "index", "htm");',
            34, 2, "index", "htm", "pager:createPageHTML",
        ),
        (
            "function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){}\n"
            'createPageHTML(5, 1, "index", "html");',
            5, 1, "index", "html", "pager:createPageHTML",
        ),
        ("var currentPage = 0;\nvar countPage = 9//共多少页\n", 9, 0, None, None, "pager:countPage"),
        ("createPageHTML('page_div',4, 1,'list','shtml',70);", 4, 0, "list", "shtml", "pager:div"),
        ("<p>no pager</p>", None, None, None, None, "pager:none"),
        ('createPageHTML(0, 0, "index", "html");', None, 0, "index", "html", "pager:createPageHTML"),
    ],
)  # fmt: skip
def test_pager_forms(script, count, current, stem, ext, how):
    pager = parse_pager(f"<script>{script}</script>")
    assert (pager.page_count, pager.current, pager.stem, pager.ext, pager.how) == (
        count, current, stem, ext, how,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("url", "n", "first_suffix", "expected"),
    [
        (TRS_LIST, 0, 1, "https://www.example.gov.cn/zwgk/tzgg/index.html"),
        (TRS_LIST, 1, 1, "https://www.example.gov.cn/zwgk/tzgg/index_1.html"),
        ("https://www.example.gov.cn/zwgk/tzgg/", 4, 1, "https://www.example.gov.cn/zwgk/tzgg/index_4.html"),
        ("https://www.example.gov.cn/zwgk/tzgg/index_3.html", 0, 1, "https://www.example.gov.cn/zwgk/tzgg/index.html"),
        (GANSU, 1, 2, "https://jyt.gansu.gov.cn/jyt/c110634/zwgklist_2.shtml"),
    ],
)  # fmt: skip
def test_list_page_url(url, n, first_suffix, expected):
    stem, ext = ("zwgklist", "shtml") if "gansu" in url else ("index", "html")
    assert list_page_url(url, n, stem, ext, first_suffix) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.pingtan.gov.cn/zwgk/ghxx/gzjzqk/202312/t20231219_83454.htm", "83454"),
        ("http://www.mee.gov.cn/ywdt/hjywnews/202204/t20220417_974894.shtml", "974894"),
        ("https://hunb.nea.gov.cn/xxgk/zcfg/202510/t20251017_288868.html", "288868"),
        ("https://jyt.gansu.gov.cn/jyt/c110634/202511/174240943.shtml", "174240943"),
        ("https://www.example.gov.cn/zwgk/tzgg/index_1.html", None),
        ("https://www.example.gov.cn/zwgk/tzgg/202312/P020231219320485765840.pdf", None),
        ("https://jyt.gansu.gov.cn/jyt/c110634/zwgklist.shtml", None),
        ("http://[x", None),
        ("", None),
        (None, None),
    ],
)
def test_article_id(url, expected):
    assert article_id(url) == expected


def test_relative_links_dates_and_titles_of_a_trs_list():
    html = """<html><body><ul class="nav"><li><a href="/zwgk/">政务公开</a></li></ul>
    <div class="list"><ul>
      <li><a href="./202312/t20231219_83454.htm" title="区公安局2023年第四季度抽查情况">区公安局2023...</a><span>2023-12-19</span></li>
      <li><a href="../../xwzx/gzdt/202312/t20231218_83440.html">一则引用的动态</a><em>2023年12月18日</em></li>
      <li><a href="javascript:;">该信息已撤回</a><em></em></li>
      <li><a href="./202312/t20231215_83400.html">没有日期的条目</a></li>
    </ul>
    <script>createPageHTML(3, 0, "index", "html");</script></div>
    <div class="side"><ul>
      <li><a href="/xwzx/gzdt/202312/t20231217_83431.html">侧栏一...</a><span>12-17</span></li>
      <li><a href="/xwzx/gzdt/202312/t20231216_83420.html">侧栏二...</a><span>12-16</span></li>
      <li><a href="/xwzx/gzdt/202312/t20231214_83410.html">侧栏三...</a><span>12-14</span></li>
      <li><a href="/xwzx/gzdt/202312/t20231213_83409.html">侧栏四...</a><span>12-13</span></li>
    </ul></div></body></html>"""
    page = parse_list_page(html, TRS_LIST)
    assert [(e.url, e.title, e.published) for e in page.entries] == [
        ("https://www.example.gov.cn/zwgk/tzgg/202312/t20231219_83454.htm", "区公安局2023年第四季度抽查情况", "2023-12-19"),
        ("https://www.example.gov.cn/xwzx/gzdt/202312/t20231218_83440.html", "一则引用的动态", "2023年12月18日"),
        ("https://www.example.gov.cn/zwgk/tzgg/202312/t20231215_83400.html", "没有日期的条目", None),
    ]  # fmt: skip
    assert page.unreadable == 1  # the withdrawn item's javascript: link
    assert page.page_count == 3 and page.other_page_urls(TRS_LIST)[-1].endswith("/index_2.html")


def test_a_list_split_into_several_uls_is_read_whole():
    html = "<div class='list'>" + "".join(
        f"<ul>{''.join(f'<li><a href=./2024{m:02d}/t2024{m:02d}0{d}_{m}{d}.html>第{m}月{d}</a><span>2024-{m:02d}-0{d}</span></li>' for d in range(1, 6))}</ul><div class='line'></div>"
        for m in (1, 2)
    ) + "</div>"  # fmt: skip
    page = parse_list_page(html, TRS_LIST)
    assert len(page.entries) == 10
    assert page.entries[0].published == "2024-01-01" and page.entries[-1].published == "2024-02-05"


def test_list_without_pager_reads_its_place_from_the_url():
    html = "<ul><li><a href='./202401/t20240102_1.html'>一</a><span>2024-01-02</span></li></ul>"
    page = parse_list_page(html, "https://www.example.gov.cn/zwgk/tzgg/index_3.html")
    assert page.page_count is None and page.current == 3
    assert (page.stem, page.ext, page.provenance) == ("index", "html", ["pager:none"])
    assert page.other_page_urls(TRS_LIST) == []


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<<<>>>",
        "\x00\x01",
        "<a href='http://[x/202401/t20240101_1.html'>坏链接</a>",
        "<ul><li><a href='file:///202401/t20240101_1.html'>本地文件</a></li></ul>",
        "<!-- <li><a href='./202401/t20240101_1.html'>未闭合的注释",
        "<script>createPageHTML(</script>",
        "<script>createPageHTML('page_div',x, y,'list','shtml');</script>",
    ],
)
def test_odd_markup_never_raises(html):
    page = parse_list_page(html, TRS_LIST)
    assert all(e.url and e.url.startswith(("http://", "https://")) for e in page.entries)


def _page(list_items: str, sidebar: str) -> str:
    return f"""<html><body><div class="main">
<div class="list_box"><ul class="list_ul">{list_items}</ul>
<div class="page"><script>createPageHTML(1, 0, "index", "html");</script></div></div>
<div class="side_news"><ul>{sidebar}</ul></div></div></body></html>"""


SIDEBAR = "".join(
    f'<li><a href="/xwzx/gzdt/202512/t2025121{i}_27400{i}.html">动态{i}</a><span>12-1{i}</span></li>'
    for i in range(1, 6)
)


def test_an_empty_list_does_not_read_the_sidebar_beside_it():
    page = parse_list_page(_page("", SIDEBAR), TRS_LIST)
    assert page.entries == [] and page.page_count == 1


def test_a_list_of_other_columns_articles_is_read_when_its_pager_is_beside_it():
    quoted = "".join(
        f'<li><a href="../../xwzx/gzdt/202511/t2025110{i}_2730{i}0.html">引用{i}</a>'
        f"<span>2025-11-0{i}</span></li>"
        for i in range(1, 4)
    )
    page = parse_list_page(_page(quoted, SIDEBAR), TRS_LIST)
    assert [e.title for e in page.entries] == ["引用1", "引用2", "引用3"]

import json
from pathlib import Path

import pytest

from crawler.extraction.querylist import (
    ListingError,
    build_query_form,
    find_unitid,
    parse_channel_page,
    parse_entry,
    parse_listing,
)

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://nync.jiangxi.gov.cn"


def test_listing_page_from_saved_reply():
    page = parse_listing((FIXTURES / "querylist_bcyb_page1.json").read_text(encoding="utf-8"), BASE)
    assert page.total == 123
    assert len(page.entries) == 15
    pinned = page.entries[0]
    assert pinned.title.startswith("【置顶】")
    assert pinned.published.startswith("2019-")  # pinned old entries sit above newer ones
    for entry in page.entries:
        assert entry.url.startswith(BASE + "/jxsnynct/bcyb/content/content_")
        assert len(entry.platform_id) == 19
        assert (
            "\u3000" not in entry.title and "&nbsp;" not in entry.title and "\n" not in entry.title
        )


def test_json_strings_inside_json():
    entry = parse_entry(
        {
            "id": "1",
            "source": {
                "title": "标题",
                "pubDate": "2025-01-02 03:04:05",
                "urls": '{"wap": "/m/1.html", "app": "/a/1"}',
                "metadata": '{"author": "\\u5f20\\u4f1f"}',
                "images": '[{"filePath": "/img/1.jpg"}, {"filePath": "https://cdn.example.cn/2.png"}]',
                "content": {"content": "<p>正文</p>"},
            },
        },
        BASE,
    )
    assert entry.url == BASE + "/m/1.html"
    assert entry.author == "张伟"
    assert entry.images == [BASE + "/img/1.jpg", "https://cdn.example.cn/2.png"]
    assert entry.body_html == "<p>正文</p>"
    assert entry.problems == []


def test_broken_json_fields_are_reported_not_fatal():
    entry = parse_entry(
        {
            "id": "2",
            "source": {
                "showTitle": "只有展示标题",
                "urls": '{"pc": "/x.html"',
                "metadata": '{"author": "张',
                "images": "[oops",
            },
        },
        BASE,
    )
    assert entry.title == "只有展示标题"
    assert entry.url is None and entry.author == "" and entry.images == []
    assert entry.problems == ["urls", "metadata", "images"]


def test_relation_url_marks_an_entry_that_points_elsewhere():
    entry = parse_entry(
        {
            "id": "3",
            "source": {"title": "t", "urls": "", "relationUrl": "https://www.gov.cn/x.htm"},
        },
        BASE,
    )
    assert entry.url == "https://www.gov.cn/x.htm" and entry.external


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("<!DOCTYPE html><html><body>系统繁忙</body></html>", "HTML page"),
        ('{"data": {"total": 3, "results": [', "not valid JSON"),
        ('{"success": false, "msg": "参数错误"}', "no data.results"),
        ('{"data": {"total": "many", "results": []}}', "not a number"),
    ],
)
def test_replies_that_are_not_listings_raise(reply, message):
    with pytest.raises(ListingError, match=message):
        parse_listing(reply, BASE)


def test_query_form_matches_the_portal_script():
    form = build_query_form(site_code="jxsnynct", channel_code="bcyb", unitid="368486", page=2)
    assert "&".join(f"{k}={v}" for k, v in form) == (
        "current=2&perPage=15&pageSize=15&searchstart=1&showMode=full&unitid=368486"
        "&webSiteCode=jxsnynct&channelCode=bcyb&sort=sortNum&order=desc"
    )
    array = dict(
        build_query_form(
            site_code="jxsgyhxxht", channel_code="zcwj", unitid=None, page=1, style="array"
        )
    )
    assert (
        array["webSiteCode[]"] == "jxsgyhxxht"
        and array["channelCode[]"] == "zcwj"
        and "unitid" not in array
    )


def test_unitid_is_read_from_the_channel_page():
    assert find_unitid((FIXTURES / "channel_yjxx.html").read_text(encoding="utf-8")) == "391204"
    assert (
        find_unitid('<div id="list" data-unitid="1821717000426962944"></div>')
        == "1821717000426962944"
    )
    assert find_unitid("<a href='/queryList?unitid=368486&x=1'>") == "368486"
    assert find_unitid("<p>共 1 条记录</p>") is None


def test_saved_fixture_is_valid_json():
    json.loads((FIXTURES / "querylist_bcyb_page1.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:void(0)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "mailto:admin@example.invalid",
        "http://[broken/x.html",
    ],
)
def test_an_entry_whose_link_is_not_http_has_no_url(link):
    for source in ({"urls": json.dumps({"pc": link})}, {"relationUrl": link}):
        entry = parse_entry({"id": "4", "source": {"title": "t", **source}}, BASE)
        assert entry.url is None and not entry.external
        assert entry.problems == ["url"]


def test_hostile_record_fields_are_cleaned_not_fatal():
    entry = parse_entry(
        {
            "id": "5\u0000",
            "source": {
                "title": "<p>标题\u0000\u202e</p><script>alert(1)</script>",
                "contentSource": "<b>来源</b>\x1b",
                "metadata": json.dumps({"author": "作者\u2066"}),
                "images": json.dumps(["data:image/png;base64,AAAA", "/img/1.png"]),
                "pubDate": {"not": "a date"},
            },
        },
        BASE,
    )
    assert (entry.platform_id, entry.title, entry.source, entry.author) == (
        "5",
        "标题",
        "来源",
        "作者",
    )
    assert entry.images == [BASE + "/img/1.png"]
    assert parse_entry({"id": "6", "source": ["not", "a", "record"]}, BASE).title == ""


def test_a_deeply_nested_field_is_a_bad_field():
    nested = "[" * 100_000 + "]" * 100_000
    entry = parse_entry({"id": "7", "source": {"title": "t", "metadata": nested}}, BASE)
    assert entry.problems == ["metadata"]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
        ('{"data": {"total": ' + "9" * 5000 + ', "results": []}}', "not valid JSON"),
        ('{"data": {"total": 1e400, "results": []}}', "not a number|out of range"),
        ('{"data": {"total": -1, "results": []}}', "out of range"),
    ],
)
def test_hostile_replies_are_listing_errors(reply, message):
    with pytest.raises(ListingError, match=message):
        parse_listing(reply, BASE)


# --- the platform as real pages show it (../shared/real-pages/sthjt.jiangxi.gov.cn) ---------

REAL_PAGES = Path(__file__).resolve().parents[2] / "shared" / "real-pages"
STHJT_PAGE = REAL_PAGES / "sthjt.jiangxi.gov.cn" / "column_col42150.html"
STHJT = "https://sthjt.jiangxi.gov.cn"


@pytest.fixture
def sthjt_page():
    if not STHJT_PAGE.is_file():
        pytest.skip(f"the real page {STHJT_PAGE} is not there (../shared/real-pages is absent)")
    return parse_channel_page(STHJT_PAGE.read_text(encoding="utf-8"), STHJT)


def test_real_channel_page_gives_its_list_script_parameters(sthjt_page):
    assert sthjt_page.unitid == "380055"
    assert sthjt_page.site_code == "jxssthjt" and sthjt_page.channel_code == "col42150"
    assert sthjt_page.query_style == "array"  # webSiteCode: ['jxssthjt']
    assert sthjt_page.per_page == 15
    assert sthjt_page.total is None and not sthjt_page.problems


def test_real_channel_page_embeds_its_first_50_records(sthjt_page):
    entries = sthjt_page.entries
    assert len(entries) == 50
    first = entries[0]
    assert first.platform_id == "1951206363677671424"
    assert first.title == "《江西省生态环境分类执法监管办法》政策解读"
    assert first.url == STHJT + "/jxssthjt/col/col42150/content/content_1951206363677671424.html"
    assert first.published == "2025-07-29 16:59" and first.source == "生态环境执法局(生态环境厅)"
    assert not first.external and not first.pinned and first.body_html == ""
    assert first.attachments == [
        {
            "url": STHJT + "/doc/ucap/1749973237782081536/document/20250801/WKgZu66N.pdf",
            "name": "关于印发《江西省生态环境分类执法监管办法》的通知1754038819428.pdf",
            "type": "pdf",
        }
    ]
    assert entries[1].images == [STHJT + "/jxssthjt/col42150/1950040349350903808/NAlLquPa.png"]
    # every record has a relationUrl (its related-articles JSON) and a page of its own
    assert all(e.url and e.url.endswith(f"content_{e.platform_id}.html") for e in entries)
    assert not any(e.external or e.pinned or e.problems for e in entries)  # topStatus 0 on all
    assert sum(bool(e.attachments) for e in entries) == 1  # the others say [{}]
    assert entries[-1].platform_id == "1772959248106057728"
    assert entries[-1].published == "2022-12-16 17:03"


def test_real_channel_page_carries_the_channel_tree(sthjt_page):
    tree = {node.code: node for node in sthjt_page.tree}
    assert len(tree) == 13 and sthjt_page.tree[0].code == "col42062"
    assert tree["col42062"].name == "政务公开" and tree["col42062"].article_count == 2
    assert tree["col42149"].name == "文件通知" and tree["col42149"].article_count == 4296
    assert tree["col42143"].name == "权责清单"  # showName "<p>权责清单</p>"
    assert tree["col42150"].article_count == 443  # the parent's list; the page's own says 444
    assert sthjt_page.channel.code == "col42150" and sthjt_page.channel.article_count == 444
    assert tree["col42150"].url == STHJT + "/jxssthjt/col/col42150/index.html"
    assert tree["col42150"].parent_id == tree["col42062"].id == "1765024993942487040"
    assert [c for c, n in tree.items() if not n.shown] == ["col42381", "col84654"]


def test_top_status_is_the_pinned_flag_and_is_top_still_counts():
    for flags, pinned in (({"topStatus": 1}, True), ({"topStatus": 0}, False),
                          ({"isTop": 1}, True), ({"topStatus": "0", "isTop": 0}, False)):  # fmt: skip
        entry = parse_entry({"id": "1", "source": {"title": "t", **flags}}, BASE)
        assert entry.pinned is pinned, flags


def test_a_relation_url_is_the_related_articles_json_not_an_external_article():
    relation = "/jxssthjt/col42150/relation/1951206363677671424-RelationArticle.json"
    entry = parse_entry(
        {"id": "1", "source": {"title": "t", "urls": "", "relationUrl": relation}}, BASE
    )
    assert entry.url is None and not entry.external and not entry.problems
    with_page = parse_entry(
        {"id": "2", "source": {"title": "t", "urls": '{"pc": "/s/c/content/content_2.html"}',
                               "relationUrl": relation}}, BASE)  # fmt: skip
    assert with_page.url == BASE + "/s/c/content/content_2.html" and not with_page.external


def test_article_files_become_attachments_with_absolute_urls():
    files = [
        {"fileName": "附件1.docx", "filePath": "/s/c/1/a.docx", "url": "/doc/ucap/1/a.docx",
         "domainName": "http://elsewhere.gov.cn"},
        {"fileName": "", "filePath": "/s/c/1/名单.xlsx"},
        {},
        {"fileName": "已删除.pdf", "url": "/doc/x.pdf", "delFlag": 1},
        {"fileName": "坏.pdf", "url": "javascript:alert(1)"},
    ]  # fmt: skip
    for raw in (files, json.dumps(files, ensure_ascii=False)):
        entry = parse_entry({"id": "1", "source": {"title": "t", "articleFiles": raw}}, BASE)
        assert entry.attachments == [
            {"url": BASE + "/doc/ucap/1/a.docx", "name": "附件1.docx", "type": "docx"},
            {"url": BASE + "/s/c/1/%E5%90%8D%E5%8D%95.xlsx", "name": "名单.xlsx", "type": "xlsx"},
        ]
        assert entry.problems == ["articleFiles"]


def test_show_title_markup_is_cleaned_and_json_fields_may_be_objects_or_strings():
    metadata = {"author": "张敏", "VcEditor": "省生态环境厅"}
    images = [{"filePath": "/s/c/1/a.png", "domainName": "http://x"}, {}]
    for meta, imgs in ((metadata, images), (json.dumps(metadata), json.dumps(images))):
        entry = parse_entry(
            {"id": "1", "source": {"title": "", "showTitle": "<p>《办法》政策解读</p>",
                                   "metadata": meta, "images": imgs}}, BASE)  # fmt: skip
        assert entry.title == "《办法》政策解读"
        assert entry.author == "张敏" and entry.images == [BASE + "/s/c/1/a.png"]
        assert not entry.problems


def test_embedded_list_tolerates_a_trailing_comma_and_a_plain_list_script():
    html = """<script>var listConfig = { webSiteCode: "jxsnynct", channelCode: "bcyb",
      unitid: "368486", perPage: 15 };
      var listData = {
        articleList: [{"id": "7", "title": "t", "urls": "{\\"pc\\":\\"/jxsnynct/bcyb/content/content_7.html\\"}"},]
      };</script>"""
    page = parse_channel_page(html, BASE)
    assert (page.site_code, page.channel_code, page.unitid) == ("jxsnynct", "bcyb", "368486")
    assert page.query_style == "plain" and page.per_page == 15
    assert [e.url for e in page.entries] == [BASE + "/jxsnynct/bcyb/content/content_7.html"]
    assert parse_channel_page("<html>共 1 条记录</html>", BASE).entries is None
    broken = parse_channel_page("var listData = { articleList: [{]}", BASE)
    assert broken.entries is None and broken.problems == ["articleList"]

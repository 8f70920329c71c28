import json
from pathlib import Path

import pytest

from crawler.extraction.querylist import (
    ListingError,
    build_query_form,
    find_unitid,
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

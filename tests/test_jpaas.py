"""Hanweb jpaas: unit replies read without ever raising, profiles checked field by field, the
sample site crawled end to end into PostgreSQL, its history run after run, and a profile
written by ``govcrawl discover`` from a column page that crawls."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from sqlalchemy import select

from crawler import extract_cmd
from crawler.extraction.article_page import extract_article
from crawler.extraction.jpaas import (
    article_id,
    column_of,
    list_unit,
    parse_unit_reply,
    unit_url,
)
from crawler.models import Article
from crawler.profiles import ProfileError, parse_profile
from sample_portal.jpaas import (
    CST,
    NEWS_ID,
    NOTICE_ID,
    UNIT_PATH,
    JpaasPortalServer,
    column_page,
    generate_jpaas_portal,
    ministry_page,
    profile_text,
    unit_html,
)
from tests.support import assert_counts_add_up, latest_stats, table_counts

COLUMN = "https://fzggw.zj.gov.cn/col/col1229123351/index.html"


def reply(html: object, **fields: object) -> str:
    return json.dumps({"code": "200", "success": True, "data": {"html": html}, **fields})


# --- unit replies: hostile first ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "not JSON"),
        ("<html><body>系统繁忙</body></html>", "not JSON"),
        ('{"data": {"html": "<li>', "not JSON"),  # truncated
        ("[" * 100_000 + "]" * 100_000, "not JSON"),  # nested past the parser's recursion
        ("[]", "not a JSON object"),
        ("null", "not a JSON object"),
        ('"<li><a href=/art_1.html>x</a></li>"', "not a JSON object"),
        ('{"success": false, "message": "系统繁忙"}', "success=false (系统繁忙)"),
        ('{"success": "true", "data": {"html": ""}}', 'success="true"'),
        ('{"code": "500", "success": true, "data": {"html": ""}}', "code '500'"),
        ("{}", "no data object"),
        ('{"success": true, "data": null}', "no data object"),
        ('{"success": true, "data": ["<li>"]}', "no data object"),
        ('{"success": true, "data": {"list": []}}', "no data.html"),
        ('{"success": true, "data": {"html": 5}}', "data.html is a int"),
        ('{"success": true, "data": {"html": ["<li>x</li>"]}}', "data.html is a list"),
        ('{"success": true, "data": {"html": {"a": 1}}}', "data.html is a dict"),
        (reply("<p>系统繁忙，请稍后再试</p>"), "holds no list"),
        (reply("<?xml version='1.0' encoding='utf-8'?><ul><li>x</li></ul>"), "cannot be parsed"),
    ],
)
def test_a_reply_that_is_not_a_unit_list_is_a_problem_never_an_exception(text, problem):
    unit = parse_unit_reply(text, COLUMN)
    assert unit.problem is not None and problem in unit.problem
    assert unit.entries == [] and unit.total is None


def test_a_reply_that_is_not_text_is_a_problem():
    assert parse_unit_reply(b'{"data": {"html": ""}}', COLUMN).problem == "reply is not text"
    assert parse_unit_reply(None, COLUMN).problem == "reply is not text"


@pytest.mark.parametrize(
    "html",
    ["", "   \n", None, '<div class="page-content"><ul></ul></div>', "<ul><li>暂无信息</li></ul>"],
)
def test_an_empty_html_past_the_last_page_is_an_empty_page_not_a_problem(html):
    unit = parse_unit_reply(reply(html), COLUMN)
    assert unit.problem is None and unit.empty and unit.total is None


@pytest.mark.parametrize(
    "count, total",
    [
        ("9" * 5000, None),  # int() of that many digits raises
        ("10" + "0" * 15, None),
        ("-5", None),
        ("1e12", None),
        ("3.5", None),
        ("", None),
        (" 37 ", 37),
        ("999999999999999", 999_999_999_999_999),
    ],
)
def test_a_pager_count_is_a_number_or_unknown(count, total):
    html = (
        '<ul><li><a href="/art/2025/1/2/art_1229123351_7.html">标题</a><span>2025-01-02</span></li>'
        f'</ul><table class="pagination" count="{count}" rows="x" pageno="1"></table>'
    )
    unit = parse_unit_reply(reply(html), COLUMN)
    assert unit.problem is None and unit.total == total and unit.page_size is None
    assert unit.page_no == 1 and len(unit.entries) == 1


def test_links_that_cannot_be_followed_are_unreadable_and_links_off_host_are_external():
    items = [
        '<li><a href="javascript:void(0)" title="该信息已撤回">该信息已撤回</a><span>2025-01-05</span></li>',
        '<li><a href="mailto:x@zj.gov.cn">来信</a></li>',
        '<li><a href="#">置顶</a></li>',
        "<li><a>无链接</a></li>",
        '<li><a href="data:text/html,x">数据</a></li>',
        '<li><a href="http://[x/art_1.html">坏地址</a></li>',
        '<li><a href="https://www.gov.cn/zhengce/content_6.htm" title="转载">转载</a>'
        "<span>2025-01-04</span></li>",
        '<li><a href="/art/2025/1/3/art_1229123351_4638869.html" title="本站">本站</a>'
        "<span>2025-01-03</span></li>",
        "<li>没有链接的说明文字</li>",
    ]
    pager = '<div class="pagination"><a href="javascript:goPage(2)">下一页</a></div><a href="javascript:;">尾页</a>'  # fmt: skip
    unit = parse_unit_reply(reply(f"<ul>{''.join(items)}</ul>{pager}"), COLUMN)
    assert unit.problem is None and unit.unreadable == 6
    external, own = unit.entries
    assert (external.url, external.external, external.platform_id) == (
        "https://www.gov.cn/zhengce/content_6.htm", True, "",
    )  # fmt: skip
    assert (own.url, own.external, own.platform_id, own.published) == (
        "https://fzggw.zj.gov.cn/art/2025/1/3/art_1229123351_4638869.html", False, "4638869",
        "2025-01-03",
    )  # fmt: skip


def test_the_shapes_of_real_unit_lists_give_titles_dates_and_the_pager():
    zhejiang = (  # rlsbt.zj.gov.cn: a cut title shown, the full one in the attribute
        '<div id="当前栏目列表"><div class="page-content"><li><span></span>'
        '<a class="bt_link" href="/col/col1229743684/art/2026/art_0f3e8b2c9d1a4e5f8a7b6c5d4e3f2a1b.html" '
        'title="2025年事业单位公开招聘拟聘用人员公示">2025年事业单位公开...</a>'
        '<span class="bt_time">2026-01-02</span><br></li></div></div>'
        '<table class="pagination" querydata="{}" uniturl="/x" count="2637" rows="10" pageno="3"></table>'
    )
    unit = parse_unit_reply(reply(zhejiang), "https://rlsbt.zj.gov.cn/col/col1229743684/index.html")
    (entry,) = unit.entries
    assert (entry.title, entry.published, entry.platform_id) == (
        "2025年事业单位公开招聘拟聘用人员公示", "2026-01-02", "0f3e8b2c9d1a4e5f8a7b6c5d4e3f2a1b",
    )  # fmt: skip
    assert (unit.total, unit.page_size, unit.page_no) == (2637, 10, 3)

    mofcom = (  # a bracketed date after the link; no pager
        '<ul><li><a href="/zwgk/zcfb/art/2024/art_5c1f.html" title="商务部公告2024年第1号">'
        "商务部公告2024年第1号</a><span>[2024-01-05]</span></li></ul>"
    )
    unit = parse_unit_reply(reply(mofcom), "http://www.mofcom.gov.cn/zwgk/zcfb/index.html")
    assert [(e.url, e.published) for e in unit.entries] == [
        ("http://www.mofcom.gov.cn/zwgk/zcfb/art/2024/art_5c1f.html", "2024-01-05")
    ]
    assert unit.total is None and unit.provenance == ["no-pager"]

    samr = (  # the date in the next list item
        '<ul><li><a href="/xw/zj/art/2025/art_1a2b.html" title="总局召开会议">总局召开会议</a></li>'
        '<li class="nav04Left02_contenttime">2025-03-04</li></ul>'
    )
    (entry,) = parse_unit_reply(reply(samr), "https://www.samr.gov.cn/xw/zj/index.html").entries
    assert (entry.title, entry.published) == ("总局召开会议", "2025-03-04")

    jinhua = (  # the date inside the link's text, no title attribute
        '<li><a href="/col/col1229847292/art/2026/art_9f52b7fd.html">东阳市招标文件预公示\n'
        "        公告类型：招标文件预公示2026-06-17</a></li>"
    )
    (entry,) = parse_unit_reply(reply(jinhua), "http://ggzyjy.jinhua.gov.cn/").entries
    assert (entry.title, entry.published) == (
        "东阳市招标文件预公示公告类型：招标文件预公示",
        "2026-06-17",
    )


def test_a_record_listed_twice_in_one_reply_is_one_entry():
    row = '<li><a href="/art/2025/1/2/art_1_2.html">标题</a> <a href="/art/2025/1/2/art_1_2.html">详情</a></li>'  # fmt: skip
    unit = parse_unit_reply(reply(f"<ul>{row}{row}</ul>"), COLUMN)
    assert [e.title for e in unit.entries] == ["标题"] and unit.unreadable == 0


@pytest.mark.parametrize(
    "url, article, column",
    [
        ("https://fgw.zj.gov.cn/art/2016/11/22/art_1621004_30332664.html", "30332664", "1621004"),
        (
            "https://rlsbt.zj.gov.cn/col/col1229743684/art/2026/art_0f3e8b2c9d1a4e5f8a7b6c5d4e3f2a1b.html",
            "0f3e8b2c9d1a4e5f8a7b6c5d4e3f2a1b", "1229743684",
        ),
        ("https://www.miit.gov.cn/datainfo/cpgg/art/2026/art_ec6e49c6.html", "ec6e49c6", None),
        ("https://www.mofcom.gov.cn/zwgk/zcfb/index.html", None, None),
        ("https://x.gov.cn/col/col12/index.html", None, "12"),
        ("https://x.gov.cn/art/2025/1/1/art_12_34.html?id=9", "34", "12"),
        ("http://[x/art_1.html", None, None),
        ("", None, None),
        (None, None, None),
    ],
)  # fmt: skip
def test_article_ids_and_columns_of_every_url_shape(url, article, column):
    assert article_id(url) == article and column_of(url) == column


def test_the_list_unit_of_a_column_page_is_its_unitbuild_script():
    portal = generate_jpaas_portal()
    notices, news = portal.columns
    page = column_page(portal, news)  # a list unit and the footer's unit
    unit = list_unit(page, "https://www.example.gov.cn/zwgk/gzdt/index.html")
    assert unit is not None
    assert (unit["pageId"], unit["tagId"], unit["webId"], unit["url"]) == (
        NEWS_ID, "分页列表", "3630", UNIT_PATH,
    )  # fmt: skip
    # Zhejiang's page: the unit whose pageId is the column of the page's URL
    assert list_unit(column_page(portal, notices), COLUMN)["pageId"] == NOTICE_ID
    # JSON with double quotes (escaped in the attribute) reads too
    quoted = (
        '<script src="/AuthorizedRead/unitbuild.js" url="/api-gateway/jpaas-publish-server/front/page/build/unit" '
        'querydata="{&quot;webId&quot;:&quot;2758&quot;,&quot;pageId&quot;:&quot;1229743684&quot;,'
        '&quot;tplSetId&quot;:&quot;kUB&quot;,&quot;tagId&quot;:&quot;当前栏目列表&quot;}"></script>'
    )
    assert list_unit(quoted)["tagId"] == "当前栏目列表"


@pytest.mark.parametrize(
    "page",
    [
        "",
        "<html><body>没有脚本</body></html>",
        '<script src="/AuthorizedRead/unitbuild.js" queryData="{broken"></script>',
        '<script src="/AuthorizedRead/unitbuild.js" queryData="[1,2]"></script>',
        "<script src=\"/AuthorizedRead/unitbuild.js\" queryData=\"{'webId':'1','pageId':'2'}\"></script>",
        "<script src=\"/AuthorizedRead/unitbuild.js\" queryData=\"{'webId':'" + "1" * 5000 + "'}\"></script>",
        "<script src=\"/other.js\" queryData=\"{'webId':'1','pageId':'2','tplSetId':'3','tagId':'4'}\"></script>",
    ],
)  # fmt: skip
def test_a_page_without_a_readable_list_unit_has_none(page):
    assert list_unit(page) is None


def test_a_unit_request_sends_param_json_as_the_site_script_does():
    url = unit_url(
        "https://fzggw.zj.gov.cn",
        {"webId": "3630", "pageId": "1229123351", "tplSetId": "X", "tagId": "信息列表"},
        page_no=2,
        page_size=15,
    )
    parts = urlsplit(url)
    assert parts.path == UNIT_PATH
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "webId": "3630", "pageId": "1229123351", "parseType": "bulidstatic",
        "pageType": "column", "tagId": "信息列表", "tplSetId": "X",
        "paramJson": '{"pageNo":2,"pageSize":15}',
    }  # fmt: skip


def test_govcrawl_extract_reads_a_unit_reply_and_a_column_page():
    portal = generate_jpaas_portal()
    notices, news = portal.columns
    unit_reply = reply(unit_html(notices, 1, 10))
    got = extract_cmd.describe(unit_reply, f"https://fzggw.example.gov.cn{UNIT_PATH}?pageId=1")
    assert (got["kind"], got["platform"], got["total"], got["unreadable_records"]) == (
        "jpaas-unit", "jpaas", len(notices.records), 1,
    )  # fmt: skip
    assert got["entries"][0]["url"] == "https://fzggw.example.gov.cn" + notices.records[0].path
    assert got["pager"] == {"rows": 10, "pageno": 1}
    page = extract_cmd.describe(column_page(portal, news), "https://x.gov.cn/zwgk/gzdt/index.html")
    assert (page["kind"], page["pager"]["pageId"], page["pager"]["tagId"]) == (
        "jpaas-column", NEWS_ID, "分页列表",
    )  # fmt: skip
    # an article page that builds a unit of its own is still an article
    article = notices.records[1]
    with_unit = column_page(portal, notices).replace(
        "</body>", '<div id="zoom"><p>正文。</p></div></body>'
    )
    described = extract_cmd.describe(with_unit, "https://x.gov.cn" + article.path)
    assert described["kind"] == "article"
    # a JSON reply of another kind is no jpaas listing
    assert extract_cmd.describe('{"data": {"results": []}}', "https://x.gov.cn/q")["kind"] == (
        "article"
    )


def test_a_ministry_article_page_reads_its_body():
    portal = generate_jpaas_portal()
    article = portal.listed(NEWS_ID)[0]
    page = extract_article(ministry_page(portal, article), "https://x.gov.cn" + article.path)
    assert page.title == article.title
    assert page.provenance["body"] == "container:con-con"
    text = re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", page.body_html))
    assert all(paragraph in text for paragraph in article.paragraphs)


# --- profiles --------------------------------------------------------------------------------


def jpaas_profile(jpaas: object, channels: tuple[str, ...] = (NOTICE_ID,)) -> dict:
    return {
        "name": "zj", "base_url": "https://fzggw.zj.gov.cn", "platform": "jpaas",
        "jpaas": jpaas, "channels": [{"code": code} for code in channels],
    }  # fmt: skip


SITE = {"web_id": "3630", "tpl_set_id": "Xk7pQ2mZr9TbV4cN1sHdA", "tag_id": "信息列表"}


@pytest.mark.parametrize(
    "jpaas, message",
    [
        ({}, "jpaas.web_id is required: the site's webId"),
        ({**SITE, "tag_id": ""}, "jpaas.tag_id must be a non-empty string"),
        ({k: v for k, v in SITE.items() if k != "tag_id"}, "jpaas.tag_id is required"),
        ({**SITE, "web_id": 3630}, "jpaas.web_id must be a non-empty string"),
        ({**SITE, "web_id": "36\n30"}, "jpaas.web_id must be at most 200 printable characters"),
        ({**SITE, "tpl_set_id": "x" * 201}, "jpaas.tpl_set_id must be at most 200"),
        ({**SITE, "page_size": 0}, "jpaas.page_size must be a whole number from 1 to 200"),
        ({**SITE, "page_size": 201}, "jpaas.page_size must be a whole number from 1 to 200"),
        ({**SITE, "page_size": True}, "jpaas.page_size must be a whole number"),
        ({**SITE, "page_size": "15"}, "jpaas.page_size must be a whole number"),
        ({**SITE, "pagesize": 15}, "jpaas.pagesize is not a jpaas option"),
        ({**SITE, "unit_path": "api-gateway/unit"}, "jpaas.unit_path must be a path on the site"),
        ({**SITE, "unit_path": "//evil.cn/unit"}, "jpaas.unit_path must be a path on the site"),
        ({**SITE, "column_path": "/col/{col}/index.html"}, "jpaas.column_path may only use"),
        ({**SITE, "column_path": "/col/{page_id"}, "jpaas.column_path is not a valid path"),
        ({**SITE, "channels": "x"}, "jpaas.channels must be tables"),
        ({**SITE, "channels": {"999": {}}}, "jpaas.channels.999 names no [[channels]] entry"),
        ({**SITE, "channels": {NOTICE_ID: "x"}}, f"jpaas.channels.{NOTICE_ID} must be a table"),
        (
            {**SITE, "channels": {NOTICE_ID: {"tagid": "x"}}},
            f"jpaas.channels.{NOTICE_ID}.tagid is not a channel option",
        ),
        (
            {**SITE, "channels": {NOTICE_ID: {"page_id": ""}}},
            f"jpaas.channels.{NOTICE_ID}.page_id must be a non-empty string",
        ),
        (
            {**SITE, "channels": {NOTICE_ID: {"column": "zwgk/index.html"}}},
            f"jpaas.channels.{NOTICE_ID}.column must be a path on the site",
        ),
        ([1, 2], "jpaas must be a table"),
    ],
)
def test_a_profile_mistake_is_one_line_naming_the_field(jpaas, message):
    with pytest.raises(ProfileError) as error:
        parse_profile(jpaas_profile(jpaas), where="zj.toml")
    text = str(error.value)
    assert message in text and "\n" not in text and text.startswith("zj.toml: "), text


def test_a_channel_may_carry_its_own_unit_parameters():
    profile = parse_profile(
        jpaas_profile(
            {"web_id": "3630", "tpl_set_id": "X", "channels": {
                NOTICE_ID: {"tag_id": "信息列表"},
                "news": {"tag_id": "分页列表", "page_id": NEWS_ID, "column": "/zwgk/gzdt/"},
            }},
            channels=(NOTICE_ID, "news"),
        )
    )  # fmt: skip
    from crawler.platforms.jpaas import JpaasPlatform

    class Spider:  # what a platform reads of its spider
        pass

    spider = Spider()
    spider.profile = profile
    platform = JpaasPlatform(spider)
    notices, news = profile.channels
    assert platform.unit_params(news)["pageId"] == NEWS_ID
    assert platform.unit_params(news)["tagId"] == "分页列表"
    assert platform.column_url(news) == "https://fzggw.zj.gov.cn/zwgk/gzdt/"
    assert platform.column_url(notices) == f"https://fzggw.zj.gov.cn/col/col{NOTICE_ID}/index.html"
    assert platform.channel_of(f"https://fzggw.zj.gov.cn/art/2025/1/2/art_{NOTICE_ID}_7.html") == (
        NOTICE_ID
    )


# --- the sample site, crawled ------------------------------------------------------------------


@pytest.fixture
def jpaas_server() -> Iterator[JpaasPortalServer]:
    with JpaasPortalServer(generate_jpaas_portal()) as server:
        yield server


@pytest.fixture
def jpaas_profile_path(jpaas_server: JpaasPortalServer, tmp_path: Path) -> Path:
    path = tmp_path / "sample-jpaas.toml"
    path.write_text(profile_text(jpaas_server.base_url), encoding="utf-8")
    return path


def unit_pages(server: JpaasPortalServer) -> list[tuple[str, int]]:
    """(pageId, pageNo) of every unit request the server saw, in order."""
    pages = []
    for request in server.requests:
        parts = urlsplit(request.path)
        if parts.path == UNIT_PATH:
            query = parse_qs(parts.query)
            page_no = json.loads(query["paramJson"][0])["pageNo"]
            pages.append((query["pageId"][0], page_no))
    return pages


def stored_articles(db) -> dict[str, Article]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return {row.platform_id: row for row in conn.execute(select(Article))}


def test_the_jpaas_sample_is_crawled_to_its_ground_truth(
    db, crawl, jpaas_server, jpaas_profile_path
):
    # page 2 of 通知公告 answers 500 once: the retry brings it
    jpaas_server.fail_once.add((NOTICE_ID, 2))
    truth = jpaas_server.portal.ground_truth()
    done = crawl(jpaas_profile_path)
    assert done.returncode == 0, done.stderr[-3000:]
    base = jpaas_server.base_url
    rows = stored_articles(db)
    assert set(rows) == {a["id"] for a in truth["articles"]}
    wrong = []
    for want in truth["articles"]:
        got = rows[want["id"]]
        expected = {
            "url": base + want["url"],
            "channels": want["channels"],
            "title": want["title"],
            "published_at": datetime.fromisoformat(want["published_at"]),
            "source": want["source"],
            "body_text": want["body_text"],
            "attachments": [{**a, "url": urljoin(base + "/", a["url"])} for a in want["attachments"]],
        }  # fmt: skip
        wrong += [
            f"{want['id']} {field}: {getattr(got, field)!r} != {value!r}"
            for field, value in expected.items()
            if getattr(got, field) != value
        ]
    assert wrong == []
    assert any(a["charset"] == "gbk" for a in truth["articles"])
    assert any(len(a["channels"]) == 2 for a in truth["articles"])

    stats = latest_stats(db)
    assert stats["govcrawl/listing/unreadable_records"] == 1  # the javascript: record
    assert "govcrawl/listing/bad_reply" not in stats
    assert stats["govcrawl/listing/read/jpaas:pager"] == 4
    # 工作动态 has no pager: its pages go on until data.html comes back empty
    assert stats["govcrawl/listing/read/jpaas:empty"] == 1
    pages = unit_pages(jpaas_server)
    assert pages.count((NOTICE_ID, 2)) == 2  # the 500, then the retry
    assert sorted(set(pages)) == sorted(
        [(NOTICE_ID, n) for n in range(1, 5)] + [(NEWS_ID, n) for n in range(1, 5)]
    )
    unit_requests = [r for r in jpaas_server.requests if r.path.startswith(UNIT_PATH)]
    assert {r.headers.get("Referer") for r in unit_requests} == {
        base + f"/col/col{NOTICE_ID}/index.html", base + "/zwgk/gzdt/index.html",
    }  # fmt: skip
    assert all(r.headers.get("X-Requested-With") == "XMLHttpRequest" for r in unit_requests)


def withdrawn_ids(db) -> set[str]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return set(
            conn.execute(select(Article.platform_id).where(Article.withdrawn_at.is_not(None)))
            .scalars()
            .all()
        )


def run(db, crawl, profile):  # type: ignore[no-untyped-def]
    before = table_counts(db)
    result = crawl(profile, settings={"RETRY_TIMES": "0"})
    assert result.returncode in (0, 3), result.stderr[-3000:]
    stats = latest_stats(db)
    assert_counts_add_up(before, table_counts(db), stats)
    return stats


def single(portal, page_id: str, start: int) -> str:  # type: ignore[no-untyped-def]
    """The id of the first article listed only in this column, from ``start`` on."""
    return next(a.id for a in portal.listed(page_id)[start:] if a.channels == [page_id])


def test_a_jpaas_site_history(db, crawl, jpaas_server, jpaas_profile_path):
    portal = jpaas_server.portal
    stats = run(db, crawl, jpaas_profile_path)
    assert stats["govcrawl/items/new"] == len(portal.ground_truth()["articles"])

    # nothing changed: page 1 of each column, nothing stored
    jpaas_server.requests.clear()
    stats = run(db, crawl, jpaas_profile_path)
    assert stats.get("govcrawl/items/new", 0) == 0 and stats.get("govcrawl/items/updated", 0) == 0
    assert stats["govcrawl/listing/stopped_early"] == 2
    assert sorted(unit_pages(jpaas_server)) == [(NOTICE_ID, 1), (NEWS_ID, 1)]
    assert {urlsplit(r.path).path for r in jpaas_server.requests} == {"/robots.txt", UNIT_PATH}

    # two new notices and one new item of news, a notice edited deep down (a new title), one
    # withdrawn from page 2 (gone from the list, its page 404)
    now = datetime(2025, 12, 19, 9, tzinfo=CST)
    added = [
        portal.add_article(NOTICE_ID, now, "关于开展2026年度重大项目申报工作的通知", ["申报工作有关事项通知如下。"]),
        portal.add_article(NOTICE_ID, now + timedelta(hours=1), "关于公布第二批试点名单的通知", ["现将试点名单予以公布。"]),
        portal.add_article(NEWS_ID, now + timedelta(hours=2), "全省投资工作座谈会召开", ["座谈会研究部署明年投资工作。"]),
    ]  # fmt: skip
    edited = single(portal, NOTICE_ID, 26)
    portal.edit(edited, ["更正后的通知正文。"], title="关于项目申报工作的补充通知（更正）")
    gone = single(portal, NOTICE_ID, 14)
    portal.withdraw(gone)
    stats = run(db, crawl, jpaas_profile_path)
    assert stats["govcrawl/items/new"] == len(added)
    assert stats["govcrawl/items/updated"] == 1
    assert withdrawn_ids(db) == {gone}
    assert stored_articles(db)[edited].body_text == "更正后的通知正文。"
    # the pager's count (one more, one less: not what govcrawl knows) listed 通知公告 to its end
    assert stats["govcrawl/incremental/paging/count_mismatch"] == 1
    assert stats["govcrawl/incremental/confirm/gone"] == 1

    # an old notice pinned at the top (no flag), a news item moved into 通知公告, the withdrawn
    # notice back where it was, page 2 of 工作动态 answering 500
    oldest = portal.listed(NOTICE_ID)[-1].id
    portal.pin(oldest, NOTICE_ID)
    moved = single(portal, NEWS_ID, 1)
    portal.move(moved, NOTICE_ID, 20)
    portal.restore(gone)
    jpaas_server.failing.add((NEWS_ID, 2))
    stats = run(db, crawl, jpaas_profile_path)
    assert withdrawn_ids(db) == set()
    assert stats["govcrawl/items/restored"] == 1
    assert stats["govcrawl/incremental/paging/first_page_moved"] == 2  # the pin; the move
    assert stats["govcrawl/fetch/failed"] == 1  # the 500: 工作动态 concludes nothing this run
    assert (NEWS_ID, 2) in unit_pages(jpaas_server)
    # 通知公告 lists it now; 工作动态 failed, so it keeps what it had
    assert stored_articles(db)[moved].channels == sorted([NOTICE_ID, NEWS_ID])
    assert stored_articles(db)[gone].withdrawn_at is None


def test_discover_writes_a_profile_of_a_jpaas_column_page_that_crawls(db, crawl, tmp_path):
    from crawler.cli import main

    portal = generate_jpaas_portal()
    news = portal.column(NEWS_ID)
    with JpaasPortalServer(portal) as server:
        out = tmp_path / "jpaas.toml"
        assert main(["discover", server.base_url + news.path, "--name", "jpaas-site", "-o", str(out)]) == 0  # fmt: skip
        assert [r.path for r in server.requests] == [news.path]  # one GET
        text = out.read_text(encoding="utf-8")
        assert 'platform = "jpaas"' in text and 'tag_id = "分页列表"' in text
        assert f'[jpaas.channels."{NEWS_ID}"]\ncolumn = "/zwgk/gzdt/index.html"' in text
        out.write_text(text.replace("download_delay = 1.5", "download_delay = 0"), encoding="utf-8")
        done = crawl(out)
        assert done.returncode == 0, done.stderr[-3000:]
    stored = stored_articles(db)
    assert set(stored) == {a.id for a in portal.listed(NEWS_ID)}
    assert all(row.channels == [NEWS_ID] for row in stored.values())

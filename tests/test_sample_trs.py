"""The TRS WCM sample portal: right for the real extractors, deterministic, and served."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from urllib.parse import urljoin

import pytest
from w3lib.encoding import html_to_unicode

from crawler.extraction.article_page import extract_article
from crawler.extraction.body import clean_body
from crawler.extraction.text import parse_datetime
from crawler.extraction.trs import article_id, parse_list_page
from sample_portal.__main__ import main
from sample_portal.trs import (
    TrsPortalServer,
    article_page,
    generate_trs_portal,
    ground_truth,
    list_page,
    profile_text,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BASE = "http://127.0.0.1:8800"
PORTAL = generate_trs_portal()
TRUTH = PORTAL.ground_truth()
# 信息公开 pages repeat the title in their metadata block (标题：<font>…</font>) above the
# article; the extractor takes that as the title's place, so its article area is only the
# body's parent and the attachment list further down is not seen.


def _params():
    for truth in TRUTH["articles"]:
        yield pytest.param(truth, id=truth["id"])


def _decoded(raw: bytes, content_type: str = "text/html") -> str:
    # what the crawler does: the header's charset, else the page's meta tag
    return html_to_unicode(content_type, raw)[1]


@pytest.mark.parametrize("truth", list(_params()))
def test_every_article_page_extracts_to_its_ground_truth(truth):
    article = PORTAL.articles[truth["id"]]
    url = BASE + truth["url"]
    page = extract_article(_decoded(article_page(PORTAL, article).encode(article.charset)), url)
    assert page.title == truth["title"]
    assert parse_datetime(page.published).isoformat() == truth["published_at"]
    assert page.source == truth["source"]
    assert clean_body(page.body_html, url).text == truth["body_text"]
    assert page.attachments == [
        {"url": urljoin(BASE, a["path"]), "name": a["name"], "type": a["type"]}
        for a in truth["attachments"]
    ]
    for key, value in truth["extra"].items():
        assert page.public_info[key] == value


def test_sample_has_the_shapes_real_trs_sites_have():
    articles = PORTAL.articles.values()
    assert {a.template for a in articles} == {"editor", "ueditor", "markers"}
    assert any(a.charset == "gbk" for a in articles)
    assert any(a.outside_files for a in articles) and any(
        a.attachments and a.template == "ueditor" for a in articles
    )
    assert [(c["code"], c["records"], c["pages"]) for c in TRUTH["columns"]] == [
        ("xwzx/gzdt", 41, 3),
        ("zwgk/tzgg", 26, 2),
    ]
    pinned = TRUTH["columns"][0]["entries"]
    assert pinned[0]["published"] < pinned[1]["published"]  # an old entry on top
    shared = [a for a in TRUTH["articles"] if len(a["channels"]) == 2]
    assert len(shared) == 1 and shared[0]["url"].startswith("/xwzx/gzdt/")
    assert all(article_id(BASE + a["url"]) == a["id"] for a in TRUTH["articles"])


def test_generation_is_deterministic():
    assert generate_trs_portal().ground_truth() == TRUTH == ground_truth()
    a = PORTAL.articles[TRUTH["articles"][0]["id"]]
    assert article_page(PORTAL, a) == article_page(generate_trs_portal(), a)


@pytest.mark.parametrize("column", TRUTH["columns"], ids=lambda c: c["code"])
def test_list_pages_parse_to_the_column_entries(column):
    col = PORTAL.column(column["code"])
    first_url = f"{BASE}/{col.code}/index.html"
    first = parse_list_page(list_page(PORTAL, col, 0), first_url)
    assert first.page_count == column["pages"]
    urls = [first_url, *first.other_page_urls(first_url)]
    entries, unreadable = [], 0
    for n, url in enumerate(urls):
        page = parse_list_page(list_page(PORTAL, col, n), url)
        assert page.current == n
        entries += page.entries
        unreadable += page.unreadable
    expected = [(BASE + e["url"], e["id"], e["title"], e["published"]) for e in column["entries"]]
    got = [
        (e.url, e.platform_id, e.title, parse_datetime(e.published).strftime("%Y-%m-%d"))
        for e in entries
    ]
    assert got == expected  # the sidebar of the other column's articles is not listed
    assert unreadable == column["unreadable"]


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.headers.get("Content-Type", ""), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


@pytest.fixture
def server():
    with TrsPortalServer(generate_trs_portal()) as running:
        yield running


def test_server_serves_lists_articles_and_files(server):
    status, _, body = _get(server.base_url + "/zwgk/tzgg/")
    assert status == 200
    page = parse_list_page(body.decode(), server.base_url + "/zwgk/tzgg/")
    assert page.page_count == 2
    status, _, body = _get(page.other_page_urls(server.base_url + "/zwgk/tzgg/")[0])
    assert status == 200 and "createPageHTML(2, 1" in body.decode()
    truth = next(a for a in TRUTH["articles"] if a["attachments"])
    assert _get(server.base_url + truth["url"])[0] == 200
    assert _get(server.base_url + truth["attachments"][0]["path"])[0] == 200
    assert _get(server.base_url + "/zwgk/tzgg/index_2.html")[0] == 404
    wrong_folder = (
        truth["url"].replace("/xwzx/gzdt/", "/zwgk/tzgg/").replace("/zwgk/tzgg/", "/xwzx/gzdt/", 1)
    )
    if wrong_folder != truth["url"]:
        assert _get(server.base_url + wrong_folder)[0] == 404


def test_gbk_page_declares_its_charset_only_in_its_meta_tag(server):
    truth = next(a for a in TRUTH["articles"] if a["charset"] == "gbk")
    status, ctype, raw = _get(server.base_url + truth["url"])
    assert status == 200 and ctype == "text/html"
    assert b"charset=gbk" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    page = extract_article(_decoded(raw, ctype), server.base_url + truth["url"])
    assert page.title == truth["title"]


def test_flaky_page_answers_503_once(server):
    path = TRUTH["articles"][5]["url"]
    server.flaky.add(path)
    assert _get(server.base_url + path)[0] == 503
    assert _get(server.base_url + path)[0] == 200
    assert _get(server.base_url + path)[0] == 200


def test_a_test_can_reorder_a_list(server):
    last = TRUTH["columns"][1]["entries"][-1]
    server.portal.move_to_top(last["id"])
    _, _, body = _get(server.base_url + "/zwgk/tzgg/index.html")
    page = parse_list_page(body.decode(), server.base_url + "/zwgk/tzgg/index.html")
    assert page.entries[0].platform_id == last["id"]
    assert page.entries[1].platform_id == TRUTH["columns"][1]["entries"][0]["id"]


def test_profile_names_the_platform_and_the_column_folders():
    profile = tomllib.loads(profile_text("http://127.0.0.1:8800"))
    assert profile["platform"] == "trs" and profile["base_url"] == "http://127.0.0.1:8800"
    assert [c["code"] for c in profile["channels"]] == ["xwzx/gzdt", "zwgk/tzgg"]


def test_cli_prints_the_trs_ground_truth(tmp_path):
    out = tmp_path / "truth.json"
    assert main(["ground-truth", "--trs", "--output", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(TRUTH))

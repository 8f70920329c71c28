from pathlib import Path

import pytest

from crawler.extraction.article_page import extract_article
from crawler.extraction.body import clean_body
from crawler.extraction.jcms import (
    article_ids,
    dataproxy_form,
    parse_column_page,
    parse_dataproxy,
    parse_public_info,
    parse_record,
)
from sample_portal.text import seed_article

FIXTURES = Path(__file__).parent / "fixtures" / "jcms"
BASE = "https://zjt.jiangxi.gov.cn"


def test_column_page_gives_embedded_records_total_and_pager_params():
    page = parse_column_page((FIXTURES / "column_77926.html").read_text(encoding="utf-8"), BASE)
    assert len(page.entries) == 45 and page.unreadable == 0
    assert page.total == 100
    assert page.params["webid"] == "3" and page.params["unitid"] == "125478"
    assert page.params["webname"] == "江西省住房和城乡建设厅" and page.params["columnid"] == "77926"
    first = page.entries[0]
    assert first.url.startswith(BASE + "/art/2025/11/18/art_77926_")
    assert not first.title.endswith("...")  # the title attribute holds the whole title
    assert first.published == "2025-11-18"


def test_dataproxy_batch_with_mixed_markup():
    batch = parse_dataproxy(
        (FIXTURES / "dataproxy_77927_46_90.xml").read_text(encoding="utf-8"), BASE
    )
    assert batch.total == 61
    assert len(batch.entries) == 17  # records 45…61
    assert all(e.published for e in batch.entries)
    h2_dated = [e for e in batch.entries if "年" in e.published]
    assert h2_dated, "the <h1><a> + <h2>YYYY年M月D日</h2> markup is in this batch"


@pytest.mark.parametrize(
    ("fragment", "title", "published"),
    [
        (
            "<li><a href='/art/2026/9/11/art_77926_1.html' title='关于印发方案的通知'>关于印发...</a><span>2026-09-11</span></li>",
            "关于印发方案的通知",
            "2026-09-11",
        ),
        (
            '<li>   <a   href="/art/2026/9/1/art_77927_2.html"  target="_blank">一则消息</a>  <span class="bt-data-time">2026-09-01</span> </li>',
            "一则消息",
            "2026-09-01",
        ),
        (
            '<h1><a href="/art/2026/9/2/art_1_3.html">标题三</a></h1><h2>2026年9月2日</h2>',
            "标题三",
            "2026年9月2日",
        ),
        (
            "<li><a href=/art/2026/9/3/art_1_4.html>无引号</a> 2026/09/03</li>",
            "无引号",
            "2026/09/03",
        ),
    ],
)
def test_record_markups(fragment, title, published):
    entry = parse_record(fragment, BASE)
    assert (entry.title, entry.published) == (title, published)
    assert entry.platform_id == entry.url.rsplit("_", 1)[1].removesuffix(".html")


def test_a_record_without_a_link_is_unreadable():
    assert parse_record("<li><span>标题</span><span>2026-09-11</span></li>", BASE) is None
    page = parse_column_page(
        "<record><![CDATA[<li>没有链接</li>]]></record><record><![CDATA[<li><a href='/a.html'>有</a></li>]]></record>",
        BASE,
    )
    assert page.unreadable == 1 and len(page.entries) == 1


def test_dataproxy_reply_that_is_not_a_datastore_raises():
    with pytest.raises(ValueError):
        parse_dataproxy("<html><body>系统错误</body></html>", BASE)


def test_article_ids_and_form():
    assert article_ids("/art/2023/10/24/art_77926_4638869.html") == ("77926", "4638869")
    assert article_ids("/col/col77926/index.html") is None
    form = dict(
        dataproxy_form({"webid": "3", "unitid": "125478", "webname": "厅", "path": "/"}, "77926")
    )
    assert form == {"col": "1", "webid": "3", "path": "/", "columnid": "77926", "sourceContentType": "1",
                    "unitid": "125478", "webname": "厅", "permissiontype": "0"}  # fmt: skip


def test_public_information_table_and_content_markers():
    html = (FIXTURES / "article_public_info.html").read_text(encoding="utf-8")
    assert parse_public_info(html) == {
        "index_no": "014500587/2024-00123",
        "topic": "城乡建设、环境保护",
        "publisher": "江西省住房和城乡建设厅",
        "created": parse_public_info(html)["created"],
        "doc_no": "赣建字〔2024〕12号",
        "validity": "有效",
    }
    page = extract_article(html, BASE + "/art/2025/1/1/art_77927_1.html")
    assert page.body_extractor == "content-markers"
    assert "索引号" not in page.body_html


def test_archive_page_keeps_only_the_article():
    html = (FIXTURES / "article_seed.html").read_text(encoding="utf-8")
    page = extract_article(html, BASE + "/art/2023/10/24/art_77926_4638869.html")
    title, paragraphs, _ = seed_article()
    assert page.title == title and page.source == "新华社" and page.published
    body = clean_body(page.body_html, BASE + "/art/2023/10/24/art_77926_4638869.html")
    assert body.text == "\n".join(paragraphs)
    for noise in ("原文链接", "免责声明", "相关信息", "打印", "字体", "分享到", "articlehits"):
        assert noise not in body.html


def test_gb2312_bytes_decode_to_the_right_text():
    raw = (FIXTURES / "article_gb2312.html").read_bytes()
    from scrapy.http import HtmlResponse

    response = HtmlResponse(url=BASE + "/a.html", body=raw, headers={"Content-Type": "text/html"})
    assert response.encoding in ("gb18030", "gb2312", "gbk")
    page = extract_article(response.text, response.url)
    assert page.title == "全省城市更新工作专题培训班举办"
    assert "\ufffd" not in response.text


def test_a_record_takes_its_first_http_link_and_never_another_scheme():
    entry = parse_record(
        '<li><a href="javascript:;">分享</a><a href="/art/2026/9/4/art_1_5.html">标题五</a>'
        "<span>2026-09-04</span></li>",
        BASE,
    )
    assert entry.url == BASE + "/art/2026/9/4/art_1_5.html" and entry.title == "标题五"
    for href in ("javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "mailto:a@b.cn"):
        entry = parse_record(f'<li><a href="{href}">标题</a><span>2026-09-04</span></li>', BASE)
        assert entry.url is None and entry.problems == ["url"]
        page = parse_column_page(
            f"<record><![CDATA[<li><a href='{href}'>标题</a></li>]]></record>", BASE
        )
        assert page.entries == [] and page.unreadable == 1

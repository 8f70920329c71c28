from pathlib import Path

import pytest

from crawler.extraction.article_page import extract_article, is_challenge_page

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-pages"
FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://nync.jiangxi.gov.cn/jxsnynct/bcyb/content/content_1.html"


def test_meta_tags_come_first():
    page = extract_article((FIXTURES / "article_meta.html").read_text(encoding="utf-8"), URL)
    assert page.title and "江西省农业农村厅" not in page.title
    assert page.published and page.published[:4].isdigit() and len(page.published) == 16
    assert page.source
    assert page.column_name in ("病虫预报", "防灾减灾", "预警信息")
    assert page.body_extractor == "zoom"
    assert "分享到" not in page.body_html and "相关信息" not in page.body_html


def test_visible_labels_when_meta_tags_are_missing():
    page = extract_article((FIXTURES / "article_label_date.html").read_text(encoding="utf-8"), URL)
    assert "pubdate" not in page.meta
    assert page.published and "年" in page.published and page.published.endswith("日")


def test_lowercase_meta_and_content_markers():
    html = """<html><head><meta name="articletitle" content="关于印发《方案》的通知">
    <meta name="pubdate" content="2023-10-24 09:12"><meta name="contentsource" content="省农业农村厅">
    </head><body><div class="main"><meta name="ContentStart"><p>正文一</p><p>正文二</p><meta name="ContentEnd">
    <div>打印 关闭</div></div></body></html>"""
    page = extract_article(html, URL)
    assert page.title == "关于印发《方案》的通知"
    assert page.published == "2023-10-24 09:12"
    assert page.source == "省农业农村厅"
    assert page.body_extractor == "content-markers"
    assert "正文二" in page.body_html and "打印" not in page.body_html


def test_labels_in_text():
    html = "<html><body><h1>标题</h1><div>发布时间：2024-05-06 08:30　来源：江西日报　作者：李娜</div><div id='zoom'><p>x</p></div></body></html>"
    page = extract_article(html, URL)
    assert (page.title, page.published, page.source, page.author) == (
        "标题",
        "2024-05-06 08:30",
        "江西日报",
        "李娜",
    )


def test_challenge_page_is_recognised():
    challenge = "<html><head><meta http-equiv='Content-Type' content='text/html'><meta id='x' content='abc' r='m'></head><body><script>$_ts=window['$_ts'];if(!$_ts)$_ts={};</script></body></html>"
    assert is_challenge_page(challenge)
    assert not is_challenge_page((FIXTURES / "article_meta.html").read_text(encoding="utf-8"))


def test_a_document_date_is_never_the_publication_date():
    html = (
        "<html><body><h1>关于印发方案的通知</h1><ul><li>成文日期：2023-08-04</li>"
        "<li>实施日期：2023-09-01</li></ul><div id='zoom'><p>正文。</p></div></body></html>"
    )
    assert extract_article(html, URL).published is None
    page = extract_article(html.replace("</ul>", "<li>日期：2023-08-31</li></ul>"), URL)
    assert (page.published, page.provenance["published"]) == ("2023-08-31", "label:日期")


def test_a_page_carrying_the_challenge_script_with_its_content_is_no_challenge():
    page = REAL / "jyt.gansu.gov.cn" / "column_c110634.html"
    if not page.exists():
        pytest.skip(f"the real pages are not here ({REAL})")
    assert not is_challenge_page(page.read_text(encoding="utf-8"))

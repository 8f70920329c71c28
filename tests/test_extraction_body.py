from pathlib import Path

from crawler.extraction.body import attachments_in, body_is_empty, clean_body, has_article_text
from sample_portal.text import seed_article

FIXTURES = Path(__file__).parent / "fixtures"
PAGE = "https://nync.jiangxi.gov.cn/jxsnynct/yjxx/content/content_1.html"


def test_seed_article_keeps_only_the_article_itself():
    body = clean_body((FIXTURES / "seed_article_body.html").read_text(encoding="utf-8"), PAGE)
    _, paragraphs, trailer = seed_article()
    assert body.text == "\n".join(paragraphs)
    for noise in ("原文链接", "免责声明", "全省城市更新工作专题培训", "11-17", "致中共牡丹江市委"):
        assert noise not in body.text
        assert noise not in body.html
    assert "trailer" in body.trimmed


def test_sanitises_scripts_handlers_and_javascript_urls():
    body = clean_body(
        '<p onclick="steal()">正文<a href="javascript:alert(1)">链接</a><script>x()</script>'
        '<iframe src="//evil"></iframe><img src="/a.png" onerror="x()"></p><style>p{}</style>',
        PAGE,
    )
    for bad in ("script", "onclick", "onerror", "javascript:", "iframe", "<style"):
        assert bad not in body.html
    assert body.text == "正文链接"
    assert body.images == ["https://nync.jiangxi.gov.cn/a.png"]


def test_links_become_absolute_and_attachments_are_listed():
    body = clean_body(
        '<p><a href="/module/download/downfile.jsp?classid=0&amp;filename=9f2c.pdf&amp;showname=方案.pdf">附件：方案.pdf</a></p>'
        '<p><a href="../files/表格.xlsx">申报表</a> <a href="/jxsnynct/other.html">另一篇</a></p>',
        PAGE,
    )
    assert body.attachments == [
        {
            "url": "https://nync.jiangxi.gov.cn/module/download/downfile.jsp?classid=0&filename=9f2c.pdf&showname=%E6%96%B9%E6%A1%88.pdf",
            "name": "附件：方案.pdf",
            "type": "pdf",
        },
        {
            "url": "https://nync.jiangxi.gov.cn/jxsnynct/yjxx/files/%E8%A1%A8%E6%A0%BC.xlsx",
            "name": "申报表",
            "type": "xlsx",
        },
    ]
    assert 'href="https://nync.jiangxi.gov.cn/jxsnynct/other.html"' in body.html


def test_table_rows_become_lines_with_cells_joined():
    body = clean_body(
        "<p>说明如下：</p><table><tr><td><p>地区</p></td><td><p>面积</p><p>（万亩）</p></td></tr>"
        "<tr><td>南昌市</td><td>12.5</td></tr></table><p>以上。</p>",
        PAGE,
    )
    assert body.text == "说明如下：\n地区 | 面积 （万亩）\n南昌市 | 12.5\n以上。"


def test_page_chrome_inside_the_body_is_stripped():
    body = clean_body(
        "<p>\u3000\u3000正文第一段。</p><div class='share'>分享到：微信 微博</div>"
        "<p><a href='javascript:window.print()'>【打印本页】</a> <a>【关闭窗口】</a></p>"
        "<p>【字体：大 中 小】</p><p>浏览次数：1024</p>",
        PAGE,
    )
    assert body.text == "正文第一段。"
    assert body.trimmed.count("chrome") >= 4


def test_sidebar_lists_are_removed_wherever_they_are():
    body = clean_body(
        "<p>正文。</p><ul><li>全省城市更新工作专题培训... 11-17</li><li>好房子产业发展论坛在京举... 11-13</li>"
        "<li>农业农村部举行学习贯彻党... 11-11</li></ul><p>正文二。</p>",
        PAGE,
    )
    assert body.text == "正文。\n正文二。"
    assert body.trimmed == ["sidebar"]


def test_an_ordinary_list_is_kept():
    body = clean_body(
        "<ul><li>一、加强监测</li><li>二、统防统治</li><li>三、技术指导</li></ul>", PAGE
    )
    assert body.text == "一、加强监测\n二、统防统治\n三、技术指导"


def test_empty_bodies():
    assert clean_body("", PAGE).text == ""
    assert clean_body("<p>&nbsp;</p>", PAGE).text == ""
    assert body_is_empty("<p>&nbsp;\u3000</p>")
    assert body_is_empty(None)
    assert not body_is_empty('<p><img src="/a.jpg"></p>')
    assert not body_is_empty("<p>一</p>")


def test_chrome_is_only_text_made_of_chrome_words():
    body = clean_body(
        "<p>【打印本页】 【关闭窗口】</p><p>[打印] | [关闭]</p><p>关于采购打印机的通知</p><p>请于周五前关闭门窗。</p>",
        PAGE,
    )
    assert body.text == "关于采购打印机的通知\n请于周五前关闭门窗。"


def test_a_body_of_nothing_but_chrome_is_empty():
    chrome_only = (
        "<p>【字体：大 中 小】</p><p><a href='javascript:window.print()'>【打印本页】</a>"
        " <a href='javascript:window.close()'>【关闭窗口】</a></p>"
    )
    assert body_is_empty(chrome_only)
    assert not has_article_text(chrome_only, PAGE)
    assert has_article_text("<p>【打印本页】</p><p>正文。</p>", PAGE)


def test_font_switches_of_trs_and_ueditor_pages_are_chrome():
    body = clean_body(
        "<p>正文。</p>"
        '<div class="fontS"> 字号:<span> [大]</span> <span>[中]</span> <span>[小]</span>'
        ' <span onclick="window.print()">[打印]</span></div>'
        '<div class="wrapper_deatil_font"><p class="ft">Aa</p><span>字体：</span><a href="#">小</a>'
        '<div class="detail_line">|</div><a href="#">中</a><div class="detail_line">|</div>'
        '<a href="#">大</a></div><div id="qr_container">扫一扫在手机打开当前页</div>',
        PAGE,
    )
    assert body.text == "正文。"


def test_attachments_anywhere_in_an_area_are_absolute_with_name_and_type():
    import lxml.html

    area = lxml.html.fragment_fromstring(
        '<div><a href="./P020231219320485765840.XLS">情况表.XLS</a>'
        '<a href="/module/download/downfile.jsp?classid=0&amp;filename=a1.pdf&amp;showname=方案.pdf">方案</a>'
        '<a href="../other.html">另一篇</a><a href="javascript:void(0)">x.pdf</a></div>'
    )
    assert attachments_in(area, "https://www.pingtan.gov.cn/zwgk/202312/t20231219_83454.htm") == [
        {
            "url": "https://www.pingtan.gov.cn/zwgk/202312/P020231219320485765840.XLS",
            "name": "情况表.XLS",
            "type": "xls",
        },
        {
            "url": "https://www.pingtan.gov.cn/module/download/downfile.jsp?classid=0&filename=a1.pdf&showname=%E6%96%B9%E6%A1%88.pdf",
            "name": "方案",
            "type": "pdf",
        },
    ]

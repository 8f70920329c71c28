"""Article pages saved from real portals (../shared/real-pages): what govcrawl would store.

Every expected value below was read off the saved page itself.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from crawler.extract_cmd import article_record
from crawler.extraction.article_page import extract_article
from crawler.extraction.body import body_is_empty, clean_body
from crawler.extraction.jcms import parse_public_info
from crawler.extraction.normalise import normalise
from crawler.extraction.text import CHINA_TZ, parse_datetime

REAL_PAGES = Path(__file__).resolve().parents[2] / "shared" / "real-pages"

PINGTAN = "https://www.pingtan.gov.cn/zwgk/ghxx/gzjzqk/202312/t20231219_83454.htm"
PINGTAN_INFO = (
    "https://www.pingtan.gov.cn/zwgk/zfxxgk/ptzhsyqczj/fdzdgknr/202308/t20230831_80122.htm"
)
GOV_CN = "https://www.gov.cn/home/2014-02/18/content_5046260.htm"
CMSE = "http://www.cmse.gov.cn/ztbd/xwfbh/201206/t20120624_43188.html"
CMSE_2021 = "http://www.cmse.gov.cn/xwzx/zhxw/202101/t20210106_47506.html"
HUNB = "https://hunb.nea.gov.cn/xxgk/zcfg/{}/{}.html"


def real_page(name: str) -> str:
    path = REAL_PAGES / name
    if not path.is_file():
        pytest.skip(f"the saved real pages are not here: {path} is missing (../shared/real-pages)")
    return path.read_text(encoding="utf-8")


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CHINA_TZ)


# file, URL, title, published, source, first and last line of the body text
ARTICLES = [
    (
        "fgw.zj.gov.cn/gne_gzggw.html",
        "https://fgw.zj.gov.cn/art/2016/11/22/art_1621004_30332664.html",
        "1-10月德清县固定资产投资结构趋稳趋优",
        at(2016, 11, 22, 9, 53),
        "省发改委",
        "1-10月，全县固定资产投资完成246.79亿元",
        "总体全县投资结构趋稳趋优。（德清县发改局）",
    ),
    (
        "www.shanxi.gov.cn/gne_shanxi.html",
        "http://www.shanxi.gov.cn/yw/sxyw/201909/t20190918_693227.shtml",
        "山西品牌丝路行（南美站）正式启动",
        at(2019, 9, 18, 6, 23),
        "山西日报",
        "图为山西品牌丝路行（南美站）启动仪式。（刘通摄）",
        "南美站活动将先后在巴西、乌拉圭、阿根廷举行。（张巨峰）",
    ),
    (
        "www.cmse.gov.cn/gne_cmse.html",
        CMSE,
        "天宫一号与神舟九号载人交会对接任务第二场新闻发布会",
        at(2012, 6, 24),
        "",  # the page has no 来源: its 信息来源 block is commented out
        "2012年6月24日",
        "上面介绍的是关于这次任务的有关情况。下面，我愿意回答大家的提问。",
    ),
    (
        "www.cmse.gov.cn/gne_visiable_cmse.html",
        CMSE_2021,
        "载人航天工程全线备战空间站建造任务",
        at(2021, 1, 5),
        "中国空间技术研究院、中国运载火箭技术研究院等",
        "元旦佳节，当千家万户团聚喜迎新年时",
        "我们期待中国载人航天传承战斗精神、续写辉煌篇章！",
    ),
    (
        "www.gov.cn/gne_other.html",
        GOV_CN,
        "全国人民代表大会常务委员会关于批准财政部发行特别国债购买外汇及调整2007 年末国债余额限额的决议",
        at(2007, 8, 20, 23, 59, 59),
        "",  # a 国务院公报 page: no 来源 on it
        "全国人民代表大会常务委员会",
        "批准2007年末国债余额限额调整为53365.53亿元。",
    ),
    (
        "www.mee.gov.cn/t20220417_974894.html",
        "http://www.mee.gov.cn/ywdt/hjywnews/202204/t20220417_974894.shtml",
        "生态环境部一周要闻（4.10-4.16）",
        at(2022, 4, 17, 14, 46),
        "生态环境部",
        "1.生态环境部召开部常务会议",
        "本书是生态环境部连续第五年出版的政务新媒体实录图书。>>>更多内容，点击阅读",
    ),
    (
        "www.pingtan.gov.cn/t20231219_83454.html",
        PINGTAN,
        "区公安局2023年第四季度易制毒化学品企事业“双随机”抽查情况",
        at(2023, 12, 19, 8, 51),
        "平潭综合实验区党工委管委会",
        "2023年12月15日，区公安局严格按照“双随机”抽查工作要求",
        "2022年12月18日",
    ),
    (
        "hunb.nea.gov.cn/t20250103_274944.fragment.html",
        HUNB.format("202501", "t20250103_274944"),
        "2025年电力业务许可证问答手册",
        at(2025, 1, 3, 17, 11),
        "国家能源局湖南监管办公室",
        "电力业务许可问答手册(1).pdf",
        "电力业务许可问答手册(1).pdf",
    ),
    (
        "hunb.nea.gov.cn/t20251017_288868.fragment.html",
        HUNB.format("202510", "t20251017_288868"),
        "关于明确湖南省电力辅助服务市场有关事项的通知",
        at(2025, 10, 17, 14, 38),
        "国家能源局湖南监管办公室",
        "关于明确湖南省电力辅助服务市场有关事项的通知.pdf",
        "关于明确湖南省电力辅助服务市场有关事项的通知.pdf",
    ),
    (
        "hunb.nea.gov.cn/t20240911_269225.fragment.html",
        HUNB.format("202409", "t20240911_269225"),
        "国家能源局湖南监管办公室关于印发《湖南电力辅助服务管理实施细则》《湖南电力并网运行管理实施细则》"
        "《湖南中小型电厂并网运行管理实施细则》的通知》",
        at(2024, 9, 11, 10, 5),
        "国家能源局湖南监管办公室",
        "国家能源局湖南监管办公室关于印发《湖南电力辅助服务管理实施细则》",
        None,
    ),
]
# what must never be in a stored body
CHROME = ("字体", "字号", "打印", "关闭", "责任编辑", "扫一扫", "分享到", "[大]", "Aa")


@pytest.mark.parametrize(
    ("name", "url", "title", "published", "source", "first", "last"),
    ARTICLES,
    ids=[a[0] for a in ARTICLES],
)
def test_real_article_pages_extract_what_the_page_shows(
    name, url, title, published, source, first, last
):
    page = extract_article(real_page(name), url)
    body = clean_body(page.body_html, url)
    assert page.title == title
    assert parse_datetime(page.published) == published
    assert page.source == source
    lines = body.text.splitlines()
    assert lines and lines[0].startswith(first)
    if last is not None:
        assert lines[-1].endswith(last)
    for chrome in CHROME:
        assert chrome not in body.text, chrome
    assert set(page.provenance) >= {"title", "published", "body"}


def test_source_far_down_the_page_is_found():
    page = extract_article(real_page("www.pingtan.gov.cn/t20231219_83454.html"), PINGTAN)
    assert page.meta["contentsource"] == ""  # the meta tag is there, empty
    assert page.source == "平潭综合实验区党工委管委会"
    assert page.provenance["source"] == "label:来源"


def test_labels_glued_to_the_next_element_yield_the_source_alone():
    info = extract_article(
        real_page("www.pingtan.gov.cn/t20230831_80122.excerpt.html"), PINGTAN_INFO
    )
    assert info.source == "平潭综合实验区财政金融局"
    cmse = extract_article(real_page("www.cmse.gov.cn/gne_visiable_cmse.html"), CMSE_2021)
    assert cmse.source == "中国空间技术研究院、中国运载火箭技术研究院等"
    assert cmse.provenance["source"] == "label:信息来源"


def test_attachments_outside_the_body_container_are_found():
    page = extract_article(real_page("www.pingtan.gov.cn/t20231219_83454.html"), PINGTAN)
    assert page.attachments == [
        {
            "url": "https://www.pingtan.gov.cn/zwgk/ghxx/gzjzqk/202312/P020231219320485765840.XLS",
            "name": "区公安局2023年第四季度易制毒化学品企事业“双随机”抽查情况表.XLS",
            "type": "xls",
        }
    ]
    assert page.provenance["attachments"] == "article-area"


def test_ueditor_attachments_are_absolute_and_named():
    url = HUNB.format("202501", "t20250103_274944")
    page = extract_article(real_page("hunb.nea.gov.cn/t20250103_274944.fragment.html"), url)
    assert page.attachments == [
        {
            "url": "https://hunb.nea.gov.cn/xxgk/zcfg/202501/P020250103619573868702.pdf",
            "name": "电力业务许可问答手册(1).pdf",
            "type": "pdf",
        }
    ]
    assert page.provenance["body"] == "container:trs-ueditor"
    assert page.provenance["published"] == "container:date"


def test_public_information_list_items_are_read_and_the_publication_date_wins():
    html = real_page("www.pingtan.gov.cn/t20230831_80122.excerpt.html")
    expected = {
        "index_no": "PZ00108-3000-2023-00075",
        "topic": "无",
        "publisher": "平潭综合实验区财政金融局",
        "created": "2023-08-04",
        "doc_no": "岚金管备〔2023〕3号",
        "validity": "有效",
    }
    assert parse_public_info(html) == expected
    page = extract_article(html, PINGTAN_INFO)
    assert page.public_info == expected
    assert page.title == "平潭综合实验区财政金融局变更备案登记表"
    # 成文日期 (2023-08-04) comes first on the page; the publication date is 发布日期
    assert parse_datetime(page.published) == at(2023, 8, 31, 16, 46)
    assert page.provenance["published"] == "label:发布日期"


def test_gov_cn_page_with_a_stray_html_end_tag_keeps_its_body_and_date():
    page = extract_article(real_page("www.gov.cn/gne_other.html"), GOV_CN)
    assert page.provenance["body"] == "container:ucap-content"
    assert page.provenance["published"] == "meta:firstpublishedtime"
    assert "stray-end-tag" in page.repairs
    assert (
        "第十届全国人民代表大会常务委员会第二十八次会议" in clean_body(page.body_html, GOV_CN).text
    )


def test_content_markers_win_over_the_trs_editor_container():
    page = extract_article(real_page("www.cmse.gov.cn/gne_cmse.html"), CMSE)
    assert page.body_extractor == "content-markers"
    assert page.provenance["body"] == "content-markers"
    assert "责任编辑" not in page.body_html


def test_font_switches_of_the_detail_block_are_chrome():
    for name in (
        "hunb.nea.gov.cn/t20250103_274944.fragment.html",
        "hunb.nea.gov.cn/t20251017_288868.fragment.html",
    ):
        body = clean_body(real_page(name), HUNB.format("202501", "t20250103_274944"))
        assert "字体" not in body.text and "Aa" not in body.text and "扫一扫" not in body.text
        assert "国家能源局湖南监管办公室" in body.text  # the rest of the block is kept
    cmse = real_page("www.cmse.gov.cn/gne_cmse.html")
    switch = cmse[
        cmse.index('<div class="fontS') : cmse.index("</div>", cmse.index('<div class="fontS'))
    ]
    body = clean_body(f"<p>正文。</p>{switch}</div>", CMSE)
    assert body.text == "正文。"


def test_every_real_article_normalises_to_a_storable_row():
    for name, url, title, published, *_ in ARTICLES:
        page = extract_article(real_page(name), url)
        row, _ = normalise(article_record(page, url, site="real"), url)
        assert row["title"] == title and row["published_at"] == published, name
        assert row["body_text"] and not body_is_empty(row["body_html"]), name
        assert row["article_key"] == f"real:url:{row['url']}"


def test_the_normaliser_merges_the_files_of_the_body_the_page_and_the_listing():
    page = extract_article(real_page("www.pingtan.gov.cn/t20231219_83454.html"), PINGTAN)
    listed = {"url": "https://www.pingtan.gov.cn/doc/a.pdf", "name": "a.pdf", "type": "pdf"}
    record = {
        "site": "real",
        "url": PINGTAN,
        "title": page.title,
        "body_html": page.body_html + '<p><a href="./P020231219320485765840.XLS">附件</a></p>',
        "attachments": page.attachments,
        "listing_attachments": [listed, {**listed, "url": "javascript:x()"}],
    }
    row, trims = normalise(record, PINGTAN)
    xls = "https://www.pingtan.gov.cn/zwgk/ghxx/gzjzqk/202312/P020231219320485765840.XLS"
    assert row["attachments"] == [{"url": xls, "name": "附件", "type": "xls"}, listed]
    assert trims.count("non_web_link") == 1

"""``govcrawl extract`` on every real TRS, UCAP, Gansu and JCMS page of ../shared/real-pages.

The command a reader runs to check a portal, asserted field by field against what the saved
page shows. Every expected value was read off the page itself: its meta tags, its visible
lines, its links and its pager script.
"""

from __future__ import annotations

import json
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crawler import cli

REAL_PAGES = Path(__file__).resolve().parents[2] / "shared" / "real-pages"

pytestmark = pytest.mark.skipif(
    not REAL_PAGES.is_dir(),
    reason=f"the saved real pages are not here: {REAL_PAGES} is missing (../shared/real-pages)",
)


@pytest.fixture(autouse=True)
def keep_sigpipe():
    """``extract`` restores SIGPIPE's default for its output; give pytest its own back."""
    before = signal.getsignal(signal.SIGPIPE)
    yield
    signal.signal(signal.SIGPIPE, before)


def extract(capsys: pytest.CaptureFixture[str], name: str, url: str) -> dict:
    """What ``govcrawl extract FILE --url URL --format json`` prints for a saved page."""
    path = REAL_PAGES / name
    if not path.is_file():
        pytest.skip(f"the saved real page {path} is missing")
    code = cli.main(["extract", str(path), "--url", url, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


@dataclass
class Article:
    name: str
    url: str
    title: str
    published_at: str
    source: str
    first: str | None  # the body's first line starts with this (None: the page has no body)
    last: str | None  # and its last line ends with this
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (url, name)
    images: list[str] = field(default_factory=list)
    author: str | None = ""  # None: not checked
    extra: dict[str, str] = field(default_factory=dict)
    # text of the page around the body that must not reach it (besides the common chrome)
    outside: tuple[str, ...] = ()


HUNB = "https://hunb.nea.gov.cn/xxgk/zcfg/"
HUNB_2024_TITLE = (
    "国家能源局湖南监管办公室关于印发《湖南电力辅助服务管理实施细则》《湖南电力并网运行管理实施细则》"
    "《湖南中小型电厂并网运行管理实施细则》的通知》"  # the 》 after 通知 is the page's own
)
CMSE_2021_IMAGES = [
    "http://www.cmse.gov.cn/xwzx/zhxw/202101/W0202101066116" + n + ".jpg"
    for n in ("09755073", "18775794", "30462733", "40756186", "50460776", "60277158",
              "68797856", "77178367")
]  # fmt: skip

ARTICLES = [
    Article(
        "fgw.zj.gov.cn/gne_gzggw.html",  # Hanweb JCMS: #zoom with ContentStart/End markers
        "https://fgw.zj.gov.cn/art/2016/11/22/art_1621004_30332664.html",
        "1-10月德清县固定资产投资结构趋稳趋优",
        "2016-11-22T09:53:00+08:00",  # meta PubDate; the page shows 发布日期：2016-11-22
        "省发改委",
        "1-10月，全县固定资产投资完成246.79亿元，完成年度计划82.3%",
        "总体全县投资结构趋稳趋优。（德清县发改局）",
        extra={"column_name": "投资运行"},
        outside=("浏览次数", "信息来源"),
    ),
    Article(
        "www.shanxi.gov.cn/gne_shanxi.html",  # TRS WCM, .TRS_Editor
        "http://www.shanxi.gov.cn/yw/sxyw/201909/t20190918_693227.shtml",
        "山西品牌丝路行（南美站）正式启动",
        "2019-09-18T06:23:00+08:00",
        "山西日报",
        "图为山西品牌丝路行（南美站）启动仪式。（刘通摄）",
        "南美站活动将先后在巴西、乌拉圭、阿根廷举行。（张巨峰）",
        images=["http://www.shanxi.gov.cn/yw/sxyw/201909/W020190918234243033577.jpg"],
        extra={"column_name": "山西要闻"},
        outside=("放大", "缩小", "转到第"),
    ),
    Article(
        "www.cmse.gov.cn/gne_cmse.html",  # TRS WCM inside ContentStart/End markers
        "http://www.cmse.gov.cn/ztbd/xwfbh/201206/t20120624_43188.html",
        "天宫一号与神舟九号载人交会对接任务第二场新闻发布会",
        "2012-06-24T00:00:00+08:00",  # 发布日期: 2012-06-24, no time on the page
        "",  # its 信息来源 block is an empty comment
        "2012年6月24日",
        "上面介绍的是关于这次任务的有关情况。下面，我愿意回答大家的提问。",
        images=["http://www.cmse.gov.cn/ztbd/xwfbh/201206/W020200310838318651557.jpg"],
        outside=("系统管理员",),  # （责任编辑：系统管理员）after ContentEnd
    ),
    Article(
        "www.cmse.gov.cn/gne_visiable_cmse.html",  # TRS WCM, every element annotated
        "http://www.cmse.gov.cn/xwzx/zhxw/202101/t20210106_47506.html",
        "载人航天工程全线备战空间站建造任务",
        "2021-01-05T00:00:00+08:00",
        "中国空间技术研究院、中国运载火箭技术研究院等",
        "元旦佳节，当千家万户团聚喜迎新年时",
        "我们期待中国载人航天传承战斗精神、续写辉煌篇章！",
        images=CMSE_2021_IMAGES,
        outside=("周雁", "信息来源"),  # （责任编辑：周雁）after the TRS_Editor
    ),
    Article(
        "www.gov.cn/gne_other.html",  # gov.cn UCAP: #UCAP-CONTENT, firstpublishedtime
        "https://www.gov.cn/home/2014-02/18/content_5046260.htm",
        # the <title>, where an ideographic space sits between "2007" and "年末"
        "全国人民代表大会常务委员会关于批准财政部发行特别国债购买外汇及调整2007 年末国债余额限额的决议",
        "2007-08-20T23:59:59+08:00",
        "",  # a 国务院公报 page: no 来源 on it
        "全国人民代表大会常务委员会",
        "会议决定：批准发行15500亿元特别国债购买外汇，批准2007年末国债余额限额调整为53365.53亿元。",
        author="马娟",  # <meta name='author' content="马娟">
        outside=("默认", "超大", "相关稿件", "2007年第23号"),
    ),
    Article(
        "www.mee.gov.cn/t20220417_974894.html",  # TRS WCM
        "http://www.mee.gov.cn/ywdt/hjywnews/202204/t20220417_974894.shtml",
        "生态环境部一周要闻（4.10-4.16）",
        "2022-04-17T14:46:00+08:00",
        "生态环境部",
        "1.生态环境部召开部常务会议",
        "本书是生态环境部连续第五年出版的政务新媒体实录图书。>>>更多内容，点击阅读",
        # <meta name="Author" content=""> and, in the search block, <meta name="author"
        # content="王丽平">: the page shows no author, and which one is meant is not clear
        author=None,
        extra={"column_name": "环境要闻"},
        outside=("相关阅读推荐", "您可能对以下文章感兴趣", "来源：生态环境部"),
    ),
    Article(
        "www.pingtan.gov.cn/t20231219_83454.html",  # TRS WCM: 来源 and file below the body
        "https://www.pingtan.gov.cn/zwgk/ghxx/gzjzqk/202312/t20231219_83454.htm",
        "区公安局2023年第四季度易制毒化学品企事业“双随机”抽查情况",
        "2023-12-19T08:51:00+08:00",
        "平潭综合实验区党工委管委会",
        "2023年12月15日，区公安局严格按照“双随机”抽查工作要求",
        "2022年12月18日",  # the signature's date, as printed
        attachments=[
            (
                "https://www.pingtan.gov.cn/zwgk/ghxx/gzjzqk/202312/P020231219320485765840.XLS",
                "区公安局2023年第四季度易制毒化学品企事业“双随机”抽查情况表.XLS",
            )
        ],
        extra={"column_name": "工作进展情况"},
        outside=("附件下载", "浏览量", "微博", "QQ空间", "来源：平潭"),
    ),
    Article(
        "www.pingtan.gov.cn/t20230831_80122.excerpt.html",  # the 信息公开 block, no body
        "https://www.pingtan.gov.cn/zwgk/zfxxgk/ptzhsyqczj/fdzdgknr/202308/t20230831_80122.htm",
        "平潭综合实验区财政金融局变更备案登记表",
        # 发布日期：2023-08-31 and 时间：2023-08-31 16:46 (成文日期 2023-08-04 is not it)
        "2023-08-31T16:46:00+08:00",
        "平潭综合实验区财政金融局",
        None,
        None,
        extra={
            "index_no": "PZ00108-3000-2023-00075",
            "topic": "无",
            "publisher": "平潭综合实验区财政金融局",
            "created": "2023-08-04",
            "doc_no": "岚金管备〔2023〕3号",
            "validity": "有效",
        },
    ),
    Article(
        "hunb.nea.gov.cn/t20250103_274944.fragment.html",  # TRS UEditor detail block
        HUNB + "202501/t20250103_274944.html",
        "2025年电力业务许可证问答手册",
        "2025-01-03T17:11:00+08:00",
        "国家能源局湖南监管办公室",
        "电力业务许可问答手册(1).pdf",
        "电力业务许可问答手册(1).pdf",
        attachments=[(HUNB + "202501/P020250103619573868702.pdf", "电力业务许可问答手册(1).pdf")],
        outside=("附件：", "fileTypeImages"),  # UEditor's file icon before each file link
    ),
    Article(
        "hunb.nea.gov.cn/t20251017_288868.fragment.html",
        HUNB + "202510/t20251017_288868.html",
        "关于明确湖南省电力辅助服务市场有关事项的通知",
        "2025-10-17T14:38:00+08:00",
        "国家能源局湖南监管办公室",
        "关于明确湖南省电力辅助服务市场有关事项的通知.pdf",
        "关于明确湖南省电力辅助服务市场有关事项的通知.pdf",
        attachments=[
            (
                HUNB + "202510/P020251017527121665134.pdf",
                "关于明确湖南省电力辅助服务市场有关事项的通知.pdf",
            )
        ],
        outside=("附件：", "fileTypeImages"),  # UEditor's file icon before each file link
    ),
    Article(
        "hunb.nea.gov.cn/t20240911_269225.fragment.html",
        HUNB + "202409/t20240911_269225.html",
        HUNB_2024_TITLE,
        "2024-09-11T10:05:00+08:00",
        "国家能源局湖南监管办公室",
        HUNB_2024_TITLE + ".pdf",
        # the last line is the link to the policy reading; the second file's link has no text
        "湖南能源监管办关于《湖南电力辅助服务管理实施细则》《湖南电力并网运行管理实施细则》"
        "《湖南中小型电厂并网运行管理实施细则》政策解读",
        attachments=[
            (HUNB + "202409/P020250224359066316002.pdf", HUNB_2024_TITLE + ".pdf"),
            # named by its title attribute: the link's text is a <br>
            (HUNB + "202409/P020240911363521785530.pdf", HUNB_2024_TITLE + ".pdf"),
        ],
        outside=("附件：", "fileTypeImages"),  # UEditor's file icon before each file link
    ),
]

# page chrome that is never body text: 责任编辑 lines, font switches, QR codes, share bars,
# print and close buttons
CHROME = ("责任编辑", "字号", "字体", "Aa", "扫一扫", "分享", "打印", "关闭", "纠错", "[大]", "[中]", "[小]")  # fmt: skip
# a line that is nothing but a font switch: 大 中 小, [大] [中] [小], 小 | 中 | 大
FONT_SWITCH_LINE = re.compile(r"^[\s\[\]【】|｜/大中小超默认标准]+$")


@pytest.mark.parametrize("page", ARTICLES, ids=[a.name for a in ARTICLES])
def test_extract_shows_what_the_article_page_shows(capsys, page: Article) -> None:
    got = extract(capsys, page.name, page.url)
    assert got["kind"] == "article"
    assert got["url"] == page.url
    assert got["title"] == page.title
    assert got["published_at"] == page.published_at
    assert got["source"] == page.source
    if page.author is not None:
        assert got["author"] == page.author
    assert [(a["url"], a["name"]) for a in got["attachments"]] == page.attachments
    assert got["images"] == page.images
    assert got["extra"] == page.extra
    lines = got["body_text"].splitlines()
    if page.first is None:
        assert lines == []
    else:
        assert lines, "no body"
        assert lines[0].startswith(page.first)
        assert lines[-1].endswith(page.last)


@pytest.mark.parametrize("page", ARTICLES, ids=[a.name for a in ARTICLES])
def test_extract_leaves_the_page_chrome_out_of_the_body(capsys, page: Article) -> None:
    got = extract(capsys, page.name, page.url)
    raw = (REAL_PAGES / page.name).read_text(encoding="utf-8")
    assert all(word in raw for word in page.outside)  # each is on the page, around the body
    text, html = got["body_text"], got["body_html"]
    for word in (*CHROME, *page.outside):
        assert word not in text, word
        assert word not in html, word
    assert not [line for line in text.splitlines() if FONT_SWITCH_LINE.match(line)]
    assert "<script" not in html and "javascript:" not in html


GANSU_LIST = "https://jyt.gansu.gov.cn/jyt/c110634/zwgklist.shtml"


def test_extract_reads_the_gansu_list_page(capsys) -> None:
    got = extract(capsys, "jyt.gansu.gov.cn/column_c110634.html", GANSU_LIST)
    assert (got["kind"], got["platform"], got["url"]) == ("trs-list", "trs", GANSU_LIST)
    # createPageHTML('page_div',10, 1,'zwgklist','shtml',200): 10 pages, this is the first,
    # 200 records; the second page is zwgklist_2.shtml
    assert got["total"] == 200
    assert got["pager"] == {
        "page_count": 10,
        "page": 1,
        "next": "https://jyt.gansu.gov.cn/jyt/c110634/zwgklist_2.shtml",
    }
    assert "list:comment" in got["read"]  # the list sits inside <!-- … -->
    assert len(got["entries"]) == 20  # <input id="pageSize" value="20">, 20 <li>
    assert got["unreadable_records"] == 0
    assert got["entries"][0] == {
        "title": "关于开展2024年全域全员全过程使用智慧教育平台专项研究课题结项工作的通知",
        "url": "https://jyt.gansu.gov.cn/jyt/c110634/202511/174240943.shtml",
        "date": "2025-11-17",
    }
    assert got["entries"][1]["title"] == (  # two blanks in the page's title, one kept
        "甘肃省教育厅 甘肃省财政厅关于做好2025-2026学年“银龄讲学计划”实施工作的通知"
    )
    assert got["entries"][-1] == {
        "title": "关于做好甘肃省第十八届哲学社会科学优秀成果奖申报有关工作的通知",
        "url": "https://jyt.gansu.gov.cn/jyt/c110634/202506/174155064.shtml",
        "date": "2025-06-09",
    }
    # the sidebar's links to other columns (/jyt/c110311/zwgklist.shtml …) are not entries
    assert all("/jyt/c110634/" in e["url"] for e in got["entries"])


def test_extract_reads_the_gansu_list_page_as_a_table(capsys) -> None:
    path = REAL_PAGES / "jyt.gansu.gov.cn/column_c110634.html"
    assert cli.main(["extract", str(path), "--url", GANSU_LIST]) == 0
    out = capsys.readouterr().out
    for row in (
        r"kind\s+trs-list",
        r"total\s+200",
        r"entries\s+20",
        r"pager\.page_count\s+10",
        r"pager\.next\s+https://jyt\.gansu\.gov\.cn/jyt/c110634/zwgklist_2\.shtml",
        r"2025-06-09\s+关于做好甘肃省第十八届哲学社会科学优秀成果奖申报有关工作的通知",
    ):
        assert re.search(row, out), row


def test_a_trs_article_with_a_pager_script_is_not_a_list(capsys) -> None:
    # Shanxi's article carries createPageHTML(1,0,"t20190918_693227","shtml") and a link to
    # itself: an article all the same
    got = extract(
        capsys,
        "www.shanxi.gov.cn/gne_shanxi.html",
        "http://www.shanxi.gov.cn/yw/sxyw/201909/t20190918_693227.shtml",
    )
    assert got["kind"] == "article"
    path = REAL_PAGES / "www.shanxi.gov.cn/gne_shanxi.html"
    assert cli.main(["extract", str(path), "--format", "json"]) == 0  # no URL to go by
    assert json.loads(capsys.readouterr().out)["kind"] == "article"


DINGXI_COLUMN = "http://zwgk.dingxi.gov.cn/col/col12377/index.html"


def test_extract_reads_the_dingxi_jcms_datastore(capsys) -> None:
    got = extract(capsys, "zwgk.dingxi.gov.cn/datastore_col12377.xml", DINGXI_COLUMN)
    assert (got["kind"], got["platform"], got["url"]) == ("jcms-column", "jcms", DINGXI_COLUMN)
    assert got["total"] == "unknown"  # no totalRecord: the pager lives in <nextgroup> only
    assert len(got["entries"]) == 45  # 45 <record>s
    assert got["unreadable_records"] == 0
    site = "http://zwgk.dingxi.gov.cn"
    assert got["entries"][0] == {
        "title": "定西市“春节”文明祭祀倡议书",
        "url": site + "/art/2022/1/20/art_12377_1486865.html",
        "date": "2022-01-20",
    }
    # the link's text is cut ("…整改完成情..."); its title attribute is whole
    assert got["entries"][1]["title"] == (
        "定西市工信局关于对省级第二轮环保督察反馈第四项第十三项问题整改完成情况的公示"
    )
    assert got["entries"][-1] == {
        "title": "定西市人民代表大会常务委员会公告（第9号）",
        "url": site + "/art/2021/9/30/art_12377_1452512.html",
        "date": "2021-09-30",
    }
    # <nextgroup>: dataproxy.jsp?page=1&appid=1&appid=1&webid=110&path=/&columnid=12377&
    # unitid=38486&webname=%25E5%25AE%259A…(定西市政府信息公开平台, encoded twice)&permissiontype=0
    assert got["pager"] == {
        "proxy": "/module/web/jpage/dataproxy.jsp",
        "page": "1",
        "appid": "1",
        "webid": "110",
        "path": "/",
        "columnid": "12377",
        "unitid": "38486",
        "webname": "定西市政府信息公开平台",
        "permissiontype": "0",
    }


JIANGXI_COLUMN = "https://sthjt.jiangxi.gov.cn/jxssthjt/col/col42150/index.html"


def test_extract_reads_the_jiangxi_channel_page_in_the_same_shape(capsys) -> None:
    got = extract(capsys, "sthjt.jiangxi.gov.cn/column_col42150.html", JIANGXI_COLUMN)
    assert (got["kind"], got["platform"]) == ("querylist-channel", "querylist")
    assert got["total"] == "unknown"  # the page's listData names no total
    assert len(got["entries"]) == got["embedded_records"] == 50
    first, last = got["entries"][0], got["entries"][-1]
    content = "https://sthjt.jiangxi.gov.cn/jxssthjt/col/col42150/content/content_"
    assert (first["title"], first["url"], first["date"]) == (
        "《江西省生态环境分类执法监管办法》政策解读",
        content + "1951206363677671424.html",
        "2025-07-29 16:59",
    )
    assert (last["title"], last["url"], last["date"]) == (
        "《江西省生态环境厅关于进一步加强危险废物跨省转移管理工作的实施意见》政策解读",
        content + "1772959248106057728.html",
        "2022-12-16 17:03",
    )
    assert got["pager"] == {
        "site_code": "jxssthjt",
        "channel": "col42150",
        "unitid": "380055",
        "query_style": "array",  # webSiteCode: ['jxssthjt']
        "per_page": 15,
    }
    path = REAL_PAGES / "sthjt.jiangxi.gov.cn/column_col42150.html"
    assert cli.main(["extract", str(path), "--url", JIANGXI_COLUMN]) == 0
    assert re.search(r"pager\.unitid\s+380055", capsys.readouterr().out)

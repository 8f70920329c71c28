from datetime import datetime

import pytest

from crawler.extraction.text import CHINA_TZ, clean_text, parse_datetime


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\u3000\u3000关于做好水稻病虫防治的通知\u3000", "关于做好水稻病虫防治的通知"),
        ("关于做好\n      水稻病虫防治的通知", "关于做好水稻病虫防治的通知"),
        ("全省&nbsp;&nbsp;早稻\u2002生产", "全省 早稻 生产"),
        ("2024年&ensp;第3期", "2024年 第3期"),
        ("Hello \n world", "Hello world"),
        ("零宽\u200b字符\ufeff", "零宽字符"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text_folds_blanks_and_joins_wrapped_chinese(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-06 08:30:00", datetime(2024, 5, 6, 8, 30, 0, tzinfo=CHINA_TZ)),
        ("2024-05-06 08:30", datetime(2024, 5, 6, 8, 30, tzinfo=CHINA_TZ)),
        ("2024/5/6", datetime(2024, 5, 6, tzinfo=CHINA_TZ)),
        ("2024年5月6日", datetime(2024, 5, 6, tzinfo=CHINA_TZ)),
        ("发布时间：2024年5月6日 14:05", datetime(2024, 5, 6, 14, 5, tzinfo=CHINA_TZ)),
        (1700000000000, datetime(2023, 11, 15, 6, 13, 20, tzinfo=CHINA_TZ)),
        # gov.cn's <meta name="firstpublishedtime">: a dash between the day and the time
        ("2007-08-20-23:59:59", datetime(2007, 8, 20, 23, 59, 59, tzinfo=CHINA_TZ)),
    ],
)
def test_parse_datetime_formats_are_aware_china_time(raw, expected):
    parsed = parse_datetime(raw)
    assert parsed == expected
    assert parsed.utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize("raw", ["", None, "明天", "2024-02-30", "0000-00-00 00:00:00"])
def test_parse_datetime_refuses_what_is_not_a_date(raw):
    assert parse_datetime(raw) is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("关于\x00做好\x07防汛\x1b工作", "关于做好防汛工作"),
        ("\u202e通知\u202c的\u2066工作\u2069\u200f\u200e", "通知的工作"),
        ("C1\x85\x9f控制", "C1控制"),
        ("孤立\ud800代理项", "孤立代理项"),
        ("行\u2028分隔", "行 分隔"),
    ],
)
def test_clean_text_drops_control_and_bidi_characters(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<p>全省<b>早稻</b>生产</p><p>第二段</p>", "全省早稻生产 第二段"),
        ("标题<script>alert('x')</script>", "标题"),
        ("<style>p{color:red}</style>来源<!-- 注释 -->", "来源"),
        ("未闭合<script>alert(1)", "未闭合"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;标题", "标题"),
        ("Word 导出<o:p></o:p>", "Word 导出"),
        ('<a href="javascript:alert(1)" onclick="x()">链接</a>', "链接"),
        # text that only looks like markup is kept
        ("x<y 且 z>w", "x<y 且 z>w"),
        ("3<5 且 6>4", "3<5 且 6>4"),
        ("<<中华人民共和国农业法>>", "<<中华人民共和国农业法>>"),
    ],
)
def test_clean_text_strips_markup_and_script_content(raw, clean):
    assert clean_text(raw) == clean


def test_clean_text_takes_any_value_as_text():
    assert clean_text(12345) == "12345"

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
    ],
)
def test_parse_datetime_formats_are_aware_china_time(raw, expected):
    parsed = parse_datetime(raw)
    assert parsed == expected
    assert parsed.utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize("raw", ["", None, "明天", "2024-02-30", "0000-00-00 00:00:00"])
def test_parse_datetime_refuses_what_is_not_a_date(raw):
    assert parse_datetime(raw) is None

"""Whitespace and date normalisation for Chinese portal text."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

# China has kept UTC+8 without daylight saving since 1991; a fixed offset needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# Every kind of blank that portals put in titles and bodies, line breaks kept apart.
_BLANKS = "\t\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_WS_RUN = re.compile(f"[{_BLANKS}\n]+")
_CJK_CLASS = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
# a blank run holding a line break, between two Chinese characters: a wrap, not a word break
_WRAP = re.compile(f"(?<=[{_CJK_CLASS}])[{_BLANKS}]*\n[{_BLANKS}\n]*(?=[{_CJK_CLASS}])")


def clean_text(value: str | None) -> str:
    """Unescape entities, fold every blank run to one space and trim.

    A run that contains a line break between two Chinese characters is dropped entirely:
    it is a title or sentence wrapped by the page template, not a word boundary.
    """
    if not value:
        return ""
    text = html.unescape(value) if "&" in value else value
    text = _ZERO_WIDTH.sub("", text)
    if "\n" in text:
        text = _WRAP.sub("", text)
    return _WS_RUN.sub(" ", text).strip()


_DATE_PATTERNS = [
    # 2024-05-06 08:30:00, 2024/5/6 8:30, 2024.05.06
    re.compile(
        r"(?P<y>(?:19|20)\d{2})\s*[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})"
        r"(?:[\sT]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
    ),
    # 2024年5月6日 08:30
    re.compile(
        r"(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
        r"(?:\s*(?P<H>\d{1,2})[:：时](?P<M>\d{2})(?:[:：分](?P<S>\d{2}))?)?"
    ),
]


def parse_datetime(value: str | int | float | None) -> datetime | None:
    """Parse the date formats seen on the portals into an aware Asia/Shanghai datetime.

    Accepts "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD HH:MM", "YYYY-MM-DD", slashes or dots,
    "YYYY年M月D日[ HH:MM]" and epoch milliseconds. Returns None when nothing parses or the
    date is impossible (2024-02-30).
    """
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) or (
        isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 13
    ):
        try:
            return datetime.fromtimestamp(int(value) / 1000, tz=CHINA_TZ)
        except (OverflowError, OSError, ValueError):
            return None
    text = clean_text(str(value))
    for pattern in _DATE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        parts = match.groupdict()
        try:
            return datetime(
                int(parts["y"]),
                int(parts["m"]),
                int(parts["d"]),
                int(parts["H"] or 0),
                int(parts["M"] or 0),
                int(parts["S"] or 0),
                tzinfo=CHINA_TZ,
            )
        except ValueError:
            return None
    return None

"""Whitespace and date normalisation for Chinese portal text."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

# China has kept UTC+8 without daylight saving since 1991; a fixed offset needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

# Characters that are never text: zero-width marks, C0 controls but for the blanks below
# (NUL among them, which PostgreSQL refuses in any text value), DEL and C1 controls, bidi
# embeddings, overrides, isolates and marks (they can make a title display as something it
# does not say), lone surrogates (not encodable as UTF-8) and the two non-characters.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
    "\ud800-\udfff\ufffe\uffff]"
)
# Every kind of blank that portals put in titles and bodies, line breaks kept apart.
_BLANKS = "\t\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_WS_RUN = re.compile(f"[{_BLANKS}\n]+")
_CJK_CLASS = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
# a blank run holding a line break, between two Chinese characters: a wrap, not a word break
_WRAP = re.compile(f"(?<=[{_CJK_CLASS}])[{_BLANKS}]*\n[{_BLANKS}\n]*(?=[{_CJK_CLASS}])")

# Markup left in a text field (titles, sources and authors straight from a portal's JSON). Only
# HTML's own element names and Word's prefixed ones (<o:p>, <st1:chsdate>) count as tags, so
# text such as "a<b" or "<<农业法>>" is kept as written.
_HTML_TAGS = (
    "a|abbr|address|article|aside|audio|b|base|bdi|bdo|big|blockquote|body|br|button|canvas|"
    "caption|center|cite|code|col|colgroup|dd|del|details|dfn|dialog|div|dl|dt|em|embed|"
    "fieldset|figcaption|figure|font|footer|form|frame|frameset|h[1-6]|head|header|hr|html|i|"
    "iframe|img|input|ins|kbd|label|legend|li|link|main|map|mark|marquee|meta|nav|noscript|"
    "object|ol|optgroup|option|output|p|param|picture|pre|q|s|samp|section|select|small|"
    "source|span|strike|strong|sub|summary|sup|svg|table|tbody|td|template|textarea|tfoot|th|"
    "thead|time|title|tr|track|tt|u|ul|var|video|wbr|[a-z][a-z0-9]*:[a-z][a-z0-9-]*"
)
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body br dd div dl dt fieldset figure footer form h1 h2 h3 "
    "h4 h5 h6 header hr html li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
# script and style elements go with their content; an unclosed one runs to the end
_SCRIPT = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)|<!\[CDATA\[|\]\]>", re.S)
_TAG = re.compile(rf"</?({_HTML_TAGS})(?:\s[^<>]*)?/?>", re.I)


def strip_control(value: str) -> str:
    """``value`` without the characters that are never text (see ``_INVISIBLE``), for fields
    that are not folded like text, such as a body's HTML before it is parsed."""
    return _INVISIBLE.sub("", value)


def _strip_markup(text: str) -> str:
    text = _COMMENT.sub("", _SCRIPT.sub("", text))
    return _TAG.sub(lambda m: " " if m.group(1).lower() in _BLOCK_TAGS else "", text)


def clean_text(value: object) -> str:
    """Unescape entities, drop markup and control characters, fold every blank run to one
    space and trim.

    A run that contains a line break between two Chinese characters is dropped entirely:
    it is a title or sentence wrapped by the page template, not a word boundary. Tags are
    removed (block tags leave a blank), script and style elements with their content.
    """
    if not value:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "&" in text:
        text = html.unescape(text)
    text = _INVISIBLE.sub("", text)
    if "<" in text:
        text = _strip_markup(text)
    if "\n" in text:
        text = _WRAP.sub("", text)
    return _WS_RUN.sub(" ", text).strip()


_DATE_PATTERNS = [
    # 2024-05-06 08:30:00, 2024/5/6 8:30, 2024.05.06, gov.cn's 2007-08-20-23:59:59
    re.compile(
        r"(?P<y>(?:19|20)\d{2})\s*[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})"
        r"(?:(?:[\sT]+|-)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
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
    gov.cn's "YYYY-MM-DD-HH:MM:SS",
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

"""Repairs of page markup that an HTML parser would otherwise read wrong."""

from __future__ import annotations

import re

# gov.cn's header include ends with "</html>" (and some templates close <body> early): libxml2
# drops everything after it, the page's whole content. Repaired only when content follows.
_STRAY_END = re.compile(
    r"</(?:html|body)\s*>(?=.*?<(?:div|p|table|span|ul|li|section|article)\b)", re.I | re.S
)
_END_TAG = re.compile(r"</(?:html|body)\s*>", re.I)


def repair_stray_end_tags(html: str) -> tuple[str, bool]:
    """``html`` without ``</html>``/``</body>`` tags that content follows, and whether it had
    any (callers count the repair as ``stray-end-tag``)."""
    if _STRAY_END.search(html):
        return _END_TAG.sub("", html), True
    return html, False

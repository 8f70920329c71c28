"""Fault injection for the sample portals: what flaky, broken and hostile portals do.

``Faults(rate=0.15)`` makes a stable share of the URLs misbehave, each in one of the ways
below, every time it is requested while the faults are on (so Scrapy's retries cannot hide
them); ``faults.active = False`` clears them, as when a portal recovers. Whether a URL is faulty
depends only on the seed, the method, the path and the listing page asked for; the faulty
ones get the kinds in turn, so that every kind is served.

    python -m sample_portal serve --faults 0.15
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

# every kind a request can get
TRANSIENT = ("503", "500", "reset", "slow", "truncated")
LISTING_ONLY = ("bad_json", "html_200")
PAGE_ONLY = ("html_200", "challenge", "bad_charset", "huge")

CHALLENGE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta content="{token}" r="m">
<script type="text/javascript">$_ts=window['$_ts'];if(!$_ts)$_ts={{}};$_ts.nsd=8217;
$_ts.cd="qvcqrrAlDqGmcGAxxsqqDrVmqGGmDsAmcqVmDqGmoGEqcqVmrrQqc1A";</script>
<script type="text/javascript" r="m" charset="utf-8" src="/4QbVtADbnLVIc/d.js"></script>
</head><body></body></html>"""

BUSY_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>系统繁忙</title></head>"
    "<body><div class='error'><h2>系统繁忙，请稍后再试</h2><p>错误代码：E5001</p></div></body></html>"
)


@dataclass
class Faults:
    rate: float = 0.15
    seed: int = 1
    active: bool = True
    slow_seconds: float = 3.0  # longer than the DOWNLOAD_TIMEOUT the tests set
    huge_bytes: int = 3 * 1024 * 1024  # larger than the DOWNLOAD_MAXSIZE the tests set
    off_host: str | None = None  # while active, page 1 of each listing links a page there
    served: dict[str, int] = field(default_factory=dict)  # kind → how many replies got it
    assigned: dict[str, str | None] = field(default_factory=dict)  # request → its fault
    _count: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _hash(self, key: str) -> int:
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).hexdigest()
        return int(digest[:12], 16)

    def pick(self, method: str, path: str, page_key: str = "") -> str | None:
        """The fault this request gets, or None."""
        if not self.active or path == "/robots.txt" or path.startswith("/static/"):
            return None
        key = f"{method} {path} {page_key}"
        with self._lock:
            kind = self.assigned.get(key, "")
            if kind == "":
                kind = None
                if (self._hash(key) % 10_000) / 10_000 < self.rate:
                    # the n-th faulty URL of its sort gets the n-th kind: every kind shows up
                    if method == "POST":
                        sort, kinds = "listing", LISTING_ONLY + TRANSIENT
                    elif path.endswith((".html", ".htm")):
                        sort, kinds = "page", PAGE_ONLY + TRANSIENT
                    else:
                        sort, kinds = "other", TRANSIENT
                    n = self._count.get(sort, 0)
                    self._count[sort] = n + 1
                    kind = kinds[n % len(kinds)]
                self.assigned[key] = kind
            if kind is not None:
                self.served[kind] = self.served.get(kind, 0) + 1
        return kind

"""Downloader middlewares: retries with backoff, and a guard that keeps the crawl on its portal.

Retries: Scrapy's RetryMiddleware re-sends a failed request at once; a portal that answers 503 because
it is overloaded, or resets connections, needs a pause first. This subclass keeps Scrapy's
retry rules (RETRY_TIMES, RETRY_HTTP_CODES, RETRY_EXCEPTIONS, the ``retry/*`` stats) and only
waits before handing the retry back: ``RETRY_BACKOFF_BASE × 2^(n-1)`` seconds before the n-th
retry, at most ``RETRY_BACKOFF_MAX``, times a random 0.5–1.5. The wait is asynchronous: other
requests go on meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from scrapy import Request, signals
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest

from crawler.extraction.urls import same_origin
from crawler.signals import issue_reported

logger = logging.getLogger(__name__)


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("RETRY_BACKOFF_MAX", 30.0)

    async def _after_backoff(self, result: Any, request: Request) -> Any:
        if isinstance(result, Request) and result is not request and self.base > 0:
            tries = result.meta.get("retry_times", 1)
            delay = min(self.cap, self.base * 2 ** (tries - 1)) * random.uniform(0.5, 1.5)
            self.crawler.stats.inc_value("govcrawl/retry/backoff_ms", int(delay * 1000))
            await asyncio.sleep(delay)
        return result

    async def process_response(self, request: Request, response: Any, spider: Any = None) -> Any:  # type: ignore[override]
        return await self._after_backoff(super().process_response(request, response), request)

    async def process_exception(
        self, request: Request, exception: Exception, spider: Any = None
    ) -> Any:  # type: ignore[override]
        return await self._after_backoff(super().process_exception(request, exception), request)


class OriginGuardMiddleware:
    """Only the profile's origin is ever fetched: its host *and* port, http or https.

    Scrapy's OffsiteMiddleware lets through every request with ``dont_filter`` (listing
    requests have it, and a redirect inherits it) and ignores the port. This guard looks at
    every request when it is scheduled — the spider's own and every redirect (3xx, meta
    refresh) — and again when it is downloaded (robots.txt and anything not scheduled). A
    request elsewhere is refused (``IgnoreRequest``), counted (``govcrawl/offsite/refused``)
    and reported: ``offsite_redirect`` with the URL first asked and the target, or ``offsite``.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> OriginGuardMiddleware:
        guard = cls(crawler)
        crawler.signals.connect(guard.request_scheduled, signal=signals.request_scheduled)
        return guard

    @property
    def base_url(self) -> str | None:
        profile = getattr(self.crawler.spider, "profile", None)
        return getattr(profile, "base_url", None)

    def request_scheduled(self, request: Request, spider: Any = None) -> None:
        self._check(request)

    def process_request(self, request: Request, spider: Any = None) -> None:
        self._check(request)

    def _check(self, request: Request) -> None:
        base_url = self.base_url
        if base_url is None or same_origin(request.url, base_url):
            return
        self.stats.inc_value("govcrawl/offsite/refused")
        spider = self.crawler.spider
        redirected_from = request.meta.get("redirect_urls")
        if redirected_from:
            kind, url = "offsite_redirect", redirected_from[0]
            reason = f"redirected to {request.url}, outside {base_url}"
            log = logger.error  # the page that was asked for could not be read
        else:
            kind, url = "offsite", request.url
            reason = f"outside {base_url}"
            log = logger.warning
        self.stats.inc_value(f"govcrawl/issues/{kind}")
        log("%s: %s (%s)", kind, url, reason)
        # an article the listing named keeps its key, so later runs try it again
        entry = request.cb_kwargs.get("entry")
        channel = request.cb_kwargs.get("channel")
        entry_key = getattr(spider, "entry_key", None)
        key = entry_key(entry) if entry is not None and entry_key is not None else None
        self.crawler.signals.send_catch_log(
            issue_reported, kind=kind, url=url, reason=reason, article_key=key,
            channel=getattr(channel, "code", None) if key else None, spider=spider,
        )  # fmt: skip
        raise IgnoreRequest(f"{kind}: {request.url} is outside {base_url}")

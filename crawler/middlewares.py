"""Retries with exponential backoff.

Scrapy's RetryMiddleware re-sends a failed request at once; a portal that answers 503 because
it is overloaded, or resets connections, needs a pause first. This subclass keeps Scrapy's
retry rules (RETRY_TIMES, RETRY_HTTP_CODES, RETRY_EXCEPTIONS, the ``retry/*`` stats) and only
waits before handing the retry back: ``RETRY_BACKOFF_BASE × 2^(n-1)`` seconds before the n-th
retry, at most ``RETRY_BACKOFF_MAX``, times a random 0.5–1.5. The wait is asynchronous: other
requests go on meanwhile.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware


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

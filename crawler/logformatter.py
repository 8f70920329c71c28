"""Log lines without whole items: a dropped article is named by its URL, not its body."""

from __future__ import annotations

from typing import Any

from scrapy.logformatter import LogFormatter


class GovcrawlLogFormatter(LogFormatter):
    def dropped(
        self, item: Any, exception: BaseException, response: Any, spider: Any
    ) -> dict[str, Any]:
        result = dict(super().dropped(item, exception, response, spider))
        result["msg"] = "Dropped: %(exception)s"
        result["args"] = {"exception": exception}
        return result

"""Close-of-run health checks, run by Spidermon when the spider closes.

Spidermon's own monitors check the finish reason, ERROR log lines, unwanted HTTP codes and
downloader exceptions; three of govcrawl's own check what only govcrawl counts: a full crawl
that stored nothing, pages detected as blocked (a JS challenge instead of the article) and the
share of items dropped by validation. Thresholds are settings (see ``crawler/settings.py``).

Every failed check becomes one line in ``govcrawl/alerts`` of the run's stats; the run recorder
(which closes after Spidermon) writes them to ``crawl_runs.alerts`` and marks a run that
otherwise succeeded ``degraded``. When any check fails, the configured notifications go out:
a JSON POST to ``GOVCRAWL_NOTIFY_WEBHOOK`` and/or Spidermon's SMTP e-mail action when
``SPIDERMON_SMTP_HOST`` and ``SPIDERMON_EMAIL_TO`` are set (with Spidermon's other
``SPIDERMON_SMTP_*`` and ``SPIDERMON_EMAIL_*`` settings). Both are off by default.
"""

from __future__ import annotations

import json
import logging
import urllib.request
import warnings
from typing import Any

from spidermon import Monitor, MonitorSuite, monitors
from spidermon.contrib.monitors.mixins.spider import SpiderMonitorMixin
from spidermon.contrib.scrapy.monitors import (
    DownloaderExceptionMonitor,
    ErrorCountMonitor,
    FinishReasonMonitor,
    UnwantedHTTPCodesMonitor,
)
from spidermon.core.actions import Action

logger = logging.getLogger(__name__)

# Spidermon 1.27 logs its report through Spider.log(), which Scrapy 2.14 deprecates: a warning
# per run that is Spidermon's to fix, not the operator's to read
warnings.filterwarnings("ignore", message=r"Spider\.log\(\) is deprecated", category=Warning)


@monitors.name("govcrawl")
class GovcrawlMonitor(Monitor, SpiderMonitorMixin):
    """govcrawl's own counts."""

    longMessage = False  # the message alone, not unittest's "x not less than y : message"

    def setting(self, name: str, default: float) -> float:
        return self.crawler.settings.getfloat(name, default)

    @monitors.name("a full crawl stores articles")
    def test_full_crawl_found_articles(self) -> None:
        if getattr(self.data.spider, "mode", None) != "full" or getattr(
            self.data.spider, "single_url", None
        ):
            return
        items = self.stats.get("item_scraped_count", 0)
        self.assertGreater(items, 0, msg="a full crawl stored no article")

    @monitors.name("no blocked pages")
    def test_blocked_pages(self) -> None:
        blocked = self.stats.get("govcrawl/issues/blocked", 0)
        allowed = int(self.setting("GOVCRAWL_MAX_BLOCKED_PAGES", 0))
        self.assertLessEqual(
            blocked,
            allowed,
            msg=f"{blocked} pages were a JS challenge (blocked), more than {allowed}",
        )

    @monitors.name("few items dropped by validation")
    def test_validation_drops(self) -> None:
        dropped = self.stats.get("govcrawl/items/dropped", 0)
        seen = dropped + self.stats.get("item_scraped_count", 0)
        share = self.setting("GOVCRAWL_MAX_DROPPED_SHARE", 0.05)
        self.assertLessEqual(
            dropped,
            share * seen,
            msg=f"{dropped} of {seen} items failed validation, more than {share:.1%}",
        )


class RecordAlerts(Action):
    """Put one line per failed monitor into the run's stats (``govcrawl/alerts``)."""

    def run_action(self) -> None:
        alerts = []
        for result in self.result.monitors_failed_results:
            reason = (result.reason or result.error or "").strip().splitlines()
            name = result.monitor.name  # "Class name/check name"
            if name.rpartition("/")[2].startswith("test_"):  # Spidermon's: the class says it
                name = name.rpartition("/")[0]
            alerts.append(f"{name}: {reason[-1] if reason else 'failed'}")
        self.data.crawler.stats.set_value("govcrawl/alerts", alerts)
        for alert in alerts:
            logger.warning("monitor failed: %s", alert)


class NotifyWebhook(Action):
    """POST a JSON summary of the run to ``GOVCRAWL_NOTIFY_WEBHOOK``."""

    def __init__(self, url: str | None = None, timeout: float = 10.0) -> None:
        super().__init__()
        self.url = url
        self.timeout = timeout

    @classmethod
    def from_crawler_kwargs(cls, crawler: Any) -> dict[str, Any]:
        return {
            "url": crawler.settings.get("GOVCRAWL_NOTIFY_WEBHOOK") or None,
            "timeout": crawler.settings.getfloat("GOVCRAWL_NOTIFY_TIMEOUT", 10.0),
        }

    def run_action(self) -> None:
        from spidermon.exceptions import SkipAction

        if not self.url:
            raise SkipAction("GOVCRAWL_NOTIFY_WEBHOOK is not set")
        stats = self.data.crawler.stats.get_stats()
        spider = self.data.spider
        payload = {
            "run_id": stats.get("govcrawl/run_id"),
            "site": getattr(getattr(spider, "profile", None), "name", spider.name),
            "finish_reason": stats.get("finish_reason"),
            "alerts": stats.get("govcrawl/alerts", []),
            "items": stats.get("item_scraped_count", 0),
            "errors": stats.get("log_count/ERROR", 0),
        }
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as reply:  # noqa: S310
            reply.read()
        logger.info("notified %s of run %s", self.url, payload["run_id"])


class NotifyEmail(Action):
    """Spidermon's SMTP e-mail action, used only when it is configured."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> Action:
        settings = crawler.settings
        if not (settings.get("SPIDERMON_SMTP_HOST") and settings.getlist("SPIDERMON_EMAIL_TO")):
            return _Skipped("e-mail is not configured (SPIDERMON_SMTP_HOST, SPIDERMON_EMAIL_TO)")
        from spidermon.contrib.actions.email.smtp import SendSmtpEmail

        return SendSmtpEmail.from_crawler(crawler)

    def run_action(self) -> None:  # pragma: no cover - from_crawler returns another action
        raise NotImplementedError


class _Skipped(Action):
    def __init__(self, why: str) -> None:
        super().__init__()
        self.why = why

    def run_action(self) -> None:
        from spidermon.exceptions import SkipAction

        raise SkipAction(self.why)


class CloseSuite(MonitorSuite):
    monitors = [
        FinishReasonMonitor,
        ErrorCountMonitor,
        UnwantedHTTPCodesMonitor,
        DownloaderExceptionMonitor,
        GovcrawlMonitor,
    ]
    monitors_failed_actions = [RecordAlerts, NotifyWebhook, NotifyEmail]

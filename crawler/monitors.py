"""Close-of-run health checks, run by Spidermon when the spider closes.

Spidermon's own monitors check the finish reason, ERROR log lines, unwanted HTTP codes and
downloader exceptions; four of govcrawl's own check what only govcrawl counts: a full crawl
that stored nothing, pages detected as blocked (a JS challenge instead of the article), the
share of items dropped by validation and the share of listed articles whose page was gone
before they could be stored. Thresholds are settings (see ``crawler/settings.py``).

A failed check says what happened in a sentence a person reads without the code at hand: the
numbers, the limit and the setting that changes it, and for ERROR lines what they were about,
from the run's crawl issues (``2 errors (limit 0, setting SPIDERMON_MAX_ERRORS): channel tzgg
replied with an HTML page, channel gsgg with broken JSON``). Every failed check becomes one
such line in ``govcrawl/alerts`` of the run's stats; the run recorder (which closes after
Spidermon) writes them to ``crawl_runs.alerts`` and marks a run that otherwise succeeded
``degraded``, and ``govcrawl crawl`` prints them. When any check fails, the configured
notifications go out: a JSON POST to ``GOVCRAWL_NOTIFY_WEBHOOK`` and/or Spidermon's SMTP e-mail
action when ``SPIDERMON_SMTP_HOST`` and ``SPIDERMON_EMAIL_TO`` are set (with Spidermon's other
``SPIDERMON_SMTP_*`` and ``SPIDERMON_EMAIL_*`` settings). Both are off by default.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
import warnings
from collections import Counter
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
from spidermon.utils.settings import getdictorlist

logger = logging.getLogger(__name__)

# Spidermon 1.27 logs its report through Spider.log(), which Scrapy 2.14 deprecates: a warning
# per run that is Spidermon's to fix, not the operator's to read
warnings.filterwarnings("ignore", message=r"Spider\.log\(\) is deprecated", category=Warning)

# What one crawl issue of each kind is (crawl_issues.kind), singular and plural
ISSUE_NAMES: dict[str, tuple[str, str]] = {
    "bad_listing": ("bad listing reply", "bad listing replies"),
    "fetch_failed": ("failed fetch", "failed fetches"),
    "blocked": (
        "page blocked by a JavaScript challenge",
        "pages blocked by a JavaScript challenge",
    ),
    "no_body": ("page without an article body", "pages without an article body"),
    "not_html": ("reply that is not a page", "replies that are not a page"),
    "undecodable": ("page in an unreadable charset", "pages in an unreadable charset"),
    "no_unitid": ("channel without a unitid", "channels without a unitid"),
    "offsite_redirect": ("redirect off the site", "redirects off the site"),
    "store_rejected": ("row PostgreSQL refused", "rows PostgreSQL refused"),
    "offsite": ("link off the site, not followed", "links off the site, not followed"),
    "gone": ("page gone (404)", "pages gone (404)"),
}
# the kinds logged as ERROR lines: one line each; the rest are warnings
ERROR_KINDS = (
    "bad_listing", "fetch_failed", "blocked", "no_body", "not_html", "undecodable",
    "no_unitid", "offsite_redirect", "store_rejected",
)  # fmt: skip
SHOWN = 5  # causes an alert names at most

# what a bad listing reply was, in a few words (the reasons of crawler/extraction/querylist.py
# and the platforms)
LISTING_REPLIES = (
    ("reply is an HTML page", "with an HTML page"),
    ("reply is not valid JSON", "with broken JSON"),
    ("reply is JSON nested too deeply", "with JSON nested too deeply"),
    ("JSON has no data.results", "with JSON that holds no records list"),
    ("data.total is", "with an unreadable total"),
    ("reply is not text", "with something that is not text"),
    ("reply is not a page", "with something that is not a page"),
)
DROP_REASONS = {"non_web_url": "not an http(s) URL"}  # govcrawl/items/dropped/<reason>
FINISH_REASONS = {
    "shutdown": "stopped by Ctrl-C or SIGTERM",
    "cancelled": "cancelled",
    "memusage_exceeded": "over MEMUSAGE_LIMIT_MB",
    "closespider_timeout": "CLOSESPIDER_TIMEOUT reached",
    "closespider_itemcount": "CLOSESPIDER_ITEMCOUNT reached",
    "closespider_pagecount": "CLOSESPIDER_PAGECOUNT reached",
    "closespider_errorcount": "CLOSESPIDER_ERRORCOUNT reached",
}
NO_REPLY = {  # what became of a request without a reply, by the exception's class name
    "TimeoutError": "timed out",
    "TCPTimedOutError": "timed out",
    "DownloadTimeoutError": "timed out",
    "ConnectionRefusedError": "refused",
    "DownloadConnectionRefusedError": "refused",
    "ConnectionLost": "cut off",
    "ConnectionDone": "cut off",
    "ResponseNeverReceived": "cut off",
    "ResponseDataLossError": "cut off",
    "DNSLookupError": "to an unknown host",
    "CannotResolveHostError": "to an unknown host",
}


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 error``, ``2 errors``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def issue_name(kind: str, n: int) -> str:
    """What ``n`` crawl issues of a kind are: ``bad listing replies``."""
    one, many = ISSUE_NAMES.get(kind, (f"{kind} issue", f"{kind} issues"))
    return one if n == 1 else many


def listing_reply(reason: str) -> str:
    """``with broken JSON``: what a listing reply was, from its issue's reason."""
    for start, words in LISTING_REPLIES:
        if reason.startswith(start):
            return words
    return f"badly ({reason})"


def error_causes(stats: dict[str, Any], issues: list[dict[str, Any]]) -> list[str]:
    """What a run's ERROR lines were about, most telling first: the bad listing replies of
    each channel, failed fetches by their reason, then the other kinds of issue by count."""
    causes: list[str] = []
    said = Counter[str]()
    replies = Counter[tuple[str, str]]()  # (channel, what it replied with)
    for issue in issues:
        if issue["kind"] == "bad_listing":
            where = re.search(r"\b(?:channel|column)=(\S+)", issue["url"] or "")
            subject = f"channel {where[1]}" if where else f"listing {issue['url']}"
            replies[subject, listing_reply(issue["reason"] or "")] += 1
    for rank, ((subject, what), n) in enumerate(sorted(replies.items())):  # the same each run
        times = f" ({n} times)" if n > 1 else ""
        verb = "" if rank and what.startswith("with ") else "replied "  # said once is enough
        causes.append(f"{subject} {verb}{what}{times}")
        said["bad_listing"] += n
    failed = Counter(issue["reason"] or "?" for issue in issues if issue["kind"] == "fetch_failed")
    for reason, n in sorted(failed.items(), key=lambda rn: (-rn[1], rn[0])):
        name = reason.partition(":")[0]
        if reason.startswith("HTTP "):
            how = f"answered {reason}"
        else:
            how = NO_REPLY.get(name) or f"failed ({reason})"
        causes.append(f"{counted(n, 'request')} {how}")
        said["fetch_failed"] += n
    for issue in issues:
        if issue["kind"] == "no_unitid":
            code = re.search(r"channel '([^']+)'", issue["reason"] or "")
            causes.append(f"channel {code[1] if code else issue['url']} has no unitid")
            said["no_unitid"] += 1
    explained = 0
    for kind in ERROR_KINDS:
        n = int(stats.get(f"govcrawl/issues/{kind}", 0))
        explained += n
        rest = n - said[kind]
        if rest > 0:
            causes.append(f"{rest} {'more ' if said[kind] else ''}{issue_name(kind, rest)}")
    robots = sum(int(n) for k, n in stats.items() if k.startswith("robotstxt/exception_count/"))
    if robots:  # Scrapy's robots.txt middleware logs its failure as an ERROR line
        causes.append("robots.txt could not be fetched")
        explained += robots
    # Scrapy logs an ERROR line when it gives up retrying a request (RETRY_GIVE_UP_LOG_LEVEL),
    # besides the line of the failure itself
    errors = int(stats.get("log_count/ERROR", 0))
    given_up = min(int(stats.get("retry/max_reached", 0)), max(errors - explained, 0))
    if given_up:
        causes.append(f"{counted(given_up, 'request')} given up after RETRY_TIMES retries")
    other = errors - explained - given_up
    if other > 0:
        causes.append(f"{counted(other, 'other error')} (see the log)")
    return causes


def run_issues(crawler: Any, kinds: tuple[str, ...], limit: int = 1000) -> list[dict[str, Any]]:
    """This run's crawl issues of these kinds, in order: those the run recorder wrote already
    and those it still holds."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from crawler.models import CrawlIssue
    from crawler.runs import CrawlRunRecorder

    recorder = crawler.get_extension(CrawlRunRecorder)
    if recorder is None:
        return []
    written: list[dict[str, Any]] = []
    if recorder.run_id is not None:
        columns = (CrawlIssue.kind, CrawlIssue.url, CrawlIssue.reason, CrawlIssue.article_key)
        try:
            with recorder.engine.connect() as conn:
                written = [
                    dict(row._mapping)
                    for row in conn.execute(
                        select(*columns)
                        .where(CrawlIssue.run_id == recorder.run_id, CrawlIssue.kind.in_(kinds))
                        .order_by(CrawlIssue.id)
                        .limit(limit)
                    )
                ]
        except SQLAlchemyError as exc:
            logger.warning("could not read the run's issues: %s", str(exc).splitlines()[0])
    pending = [issue for issue in recorder.issues if issue["kind"] in kinds]
    return (written + pending)[:limit]


def reported_before(crawler: Any, kind: str, keys: set[str]) -> set[str]:
    """Of these articles, those an earlier run of the site reported as issues of ``kind``."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from crawler.models import CrawlIssue
    from crawler.runs import CrawlRunRecorder

    recorder = crawler.get_extension(CrawlRunRecorder)
    if recorder is None or recorder.run_id is None or not keys:
        return set()
    try:
        with recorder.engine.connect() as conn:
            return set(
                conn.execute(
                    select(CrawlIssue.article_key)
                    .distinct()
                    .where(
                        CrawlIssue.site == crawler.spider.profile.name,
                        CrawlIssue.kind == kind,
                        CrawlIssue.run_id < recorder.run_id,
                        CrawlIssue.article_key.in_(sorted(keys)),
                    )
                ).scalars()
            )
    except SQLAlchemyError as exc:
        logger.warning("could not read earlier runs' issues: %s", str(exc).splitlines()[0])
        return set()


class Sentences:
    """A check of this suite fails with one sentence (no ``x not less than y : …``)."""

    longMessage = False

    def fail_with(self, failed: bool, sentence: str) -> None:
        self.assertFalse(failed, msg=sentence)  # type: ignore[attr-defined]


@monitors.name("finish reason")
class FinishReason(Sentences, FinishReasonMonitor):
    """The run ended the way it should: its finish reason is one of
    ``SPIDERMON_EXPECTED_FINISH_REASONS`` (default: finished)."""

    @monitors.name("the run finished")
    def test_should_finish_with_expected_reason(self) -> None:
        expected = self.crawler.settings.getlist("SPIDERMON_EXPECTED_FINISH_REASONS", ["finished"])
        reason = self.stats.get("finish_reason")
        why = f" ({FINISH_REASONS[reason]})" if reason in FINISH_REASONS else ""
        wanted = " or ".join(f'"{r}"' for r in expected)
        self.fail_with(
            reason not in expected,
            f'the run ended "{reason}"{why}, not {wanted} '
            "(setting SPIDERMON_EXPECTED_FINISH_REASONS)",
        )


@monitors.name("errors")
class ErrorCount(Sentences, ErrorCountMonitor):
    """ERROR log lines: at most ``SPIDERMON_MAX_ERRORS`` (default 0). The alert names what they
    were about, from the run's crawl issues."""

    @monitors.name("no more ERROR lines than allowed")
    def test_stat_monitor(self) -> None:
        errors = int(self.stats.get("log_count/ERROR", 0))
        limit = self.crawler.settings.getint("SPIDERMON_MAX_ERRORS")
        if errors <= limit:
            return
        causes = error_causes(self.stats, run_issues(self.crawler, ERROR_KINDS, limit=200))
        if len(causes) > SHOWN:
            causes = causes[: SHOWN - 1] + [
                f"and more (see govcrawl run {self.stats.get('govcrawl/run_id', '?')})"
            ]
        self.fail_with(
            True,
            f"{counted(errors, 'error')} (limit {limit}, setting SPIDERMON_MAX_ERRORS): "
            + ", ".join(causes),
        )


@monitors.name("unwanted HTTP codes")
class UnwantedHTTPCodes(Sentences, UnwantedHTTPCodesMonitor):
    """Replies with an unwanted status (``SPIDERMON_UNWANTED_HTTP_CODES``): at most
    ``SPIDERMON_UNWANTED_HTTP_CODES_MAX_COUNT`` of each (or the count, or ``max_count`` /
    ``max_percentage`` of all requests, given per code when the codes are a dict)."""

    @monitors.name("few replies with an unwanted status")
    def test_check_unwanted_http_codes(self) -> None:
        codes = getdictorlist(
            self.crawler, "SPIDERMON_UNWANTED_HTTP_CODES", self.DEFAULT_UNWANTED_HTTP_CODES
        )
        setting = "SPIDERMON_UNWANTED_HTTP_CODES"
        if not isinstance(codes, dict):
            default = self.DEFAULT_UNWANTED_HTTP_CODES_MAX_COUNT
            max_count = self.crawler.settings.getint(
                "SPIDERMON_UNWANTED_HTTP_CODES_MAX_COUNT", default
            )
            codes = dict.fromkeys(codes, max_count)
            setting = "SPIDERMON_UNWANTED_HTTP_CODES_MAX_COUNT"
        requests = int(self.stats.get("downloader/request_count", 0))
        over = []
        for code, allowed in sorted(codes.items(), key=lambda kv: int(kv[0])):
            count = int(self.stats.get(f"downloader/response_status_count/{int(code)}", 0))
            limit = self._limit(allowed, requests)
            if count > limit:
                over.append((int(code), count, limit))
        limits = {limit for _, _, limit in over}
        shared = (
            f"limit {limits.pop()}"
            if len(limits) == 1
            else "limits " + ", ".join(f"{limit} for {code}" for code, _, limit in over)
        )
        said = " and ".join(
            f"{counted(count, 'reply', 'replies')} {'was' if count == 1 else 'were'} HTTP {code}"
            for code, count, _ in over
        )
        self.fail_with(bool(over), f"{said} ({shared}, setting {setting})")

    def _limit(self, allowed: Any, requests: int) -> int:
        """A code's limit, as Spidermon reads it: a count, or the smaller of ``max_count``
        and ``max_percentage`` of the requests."""
        if not isinstance(allowed, dict):
            return int(allowed)
        count, share = allowed.get("max_count"), allowed.get("max_percentage")
        if not count and not share:
            return self.DEFAULT_UNWANTED_HTTP_CODES_MAX_COUNT
        return min(count or requests, int(share * requests) if share else requests)


@monitors.name("requests without a reply")
class DownloaderExceptions(Sentences, DownloaderExceptionMonitor):
    """Requests that got no reply at all (timeouts, refused or cut connections): at most
    ``SPIDERMON_MAX_DOWNLOADER_EXCEPTIONS``."""

    @monitors.name("few requests without a reply")
    def test_stat_monitor(self) -> None:
        failed = int(self.stats.get("downloader/exception_count", 0))
        limit = self.crawler.settings.getint("SPIDERMON_MAX_DOWNLOADER_EXCEPTIONS")
        if failed <= limit:
            return
        prefix = "downloader/exception_type_count/"
        how = Counter[str]()
        for key, n in self.stats.items():
            if key.startswith(prefix):
                name = key[len(prefix) :].rpartition(".")[2]
                how[NO_REPLY.get(name, name)] += int(n)
        self.fail_with(
            True,
            f"{counted(failed, 'request')} got no reply (limit {limit}, setting "
            f"SPIDERMON_MAX_DOWNLOADER_EXCEPTIONS): "
            + ", ".join(f"{n} {what}" for what, n in how.most_common()),
        )


@monitors.name("govcrawl")
class GovcrawlMonitor(Sentences, Monitor, SpiderMonitorMixin):
    """govcrawl's own counts."""

    def setting(self, name: str, default: float) -> float:
        return self.crawler.settings.getfloat(name, default)

    @monitors.name("a full crawl stores articles")
    def test_full_crawl_found_articles(self) -> None:
        """A full crawl (``--mode full``) stores at least one article."""
        if getattr(self.data.spider, "mode", None) != "full" or getattr(
            self.data.spider, "single_url", None
        ):
            return
        items = self.stats.get("item_scraped_count", 0)
        self.fail_with(items <= 0, "a full crawl stored no article (at least 1 expected)")

    @monitors.name("no blocked pages")
    def test_blocked_pages(self) -> None:
        """Pages that were a JavaScript challenge: at most ``GOVCRAWL_MAX_BLOCKED_PAGES``."""
        blocked = int(self.stats.get("govcrawl/issues/blocked", 0))
        allowed = int(self.setting("GOVCRAWL_MAX_BLOCKED_PAGES", 0))
        self.fail_with(
            blocked > allowed,
            f"{counted(blocked, 'page')} {'was' if blocked == 1 else 'were'} a JavaScript "
            f"challenge instead of the article (limit {allowed}, setting "
            "GOVCRAWL_MAX_BLOCKED_PAGES)",
        )

    @monitors.name("few items dropped by validation")
    def test_validation_drops(self) -> None:
        """Items dropped by validation: at most ``GOVCRAWL_MAX_DROPPED_SHARE`` of the items.
        A record an earlier run dropped too (fetched again when its channel is listed to its
        end) was reported then: it does not count again."""
        dropped = int(self.stats.get("govcrawl/items/dropped", 0))
        if not dropped:
            return
        keys = [i["article_key"] for i in run_issues(self.crawler, ("invalid",), limit=100_000)]
        before = reported_before(self.crawler, "invalid", {k for k in keys if k})
        again = sum(1 for key in keys if key in before)
        new = dropped - again
        seen = new + int(self.stats.get("item_scraped_count", 0))
        share = self.setting("GOVCRAWL_MAX_DROPPED_SHARE", 0.05)
        prefix = "govcrawl/items/dropped/"
        why = ", ".join(
            f"{n} {DROP_REASONS.get(key[len(prefix) :], key[len(prefix) :].replace('_', ' ', 1))}"
            for key, n in sorted(self.stats.items())
            if key.startswith(prefix)
        )
        besides = f", besides {again} that earlier runs reported" if again else ""
        self.fail_with(
            new > share * seen,
            f"{new} of {counted(seen, 'item')} failed validation{besides} "
            f"({new / max(seen, 1):.1%}; limit {share:.1%}, setting GOVCRAWL_MAX_DROPPED_SHARE)"
            + (f": {why}" if why else ""),
        )

    @monitors.name("few listed pages gone")
    def test_gone_pages(self) -> None:
        """Listed articles whose page answered 404/410 (or "page not found") before govcrawl
        could store them: at most ``GOVCRAWL_MAX_GONE_SHARE`` of the article pages fetched.
        One is the portal's doing (it lists an article it deleted) and is no error; many say
        its pages moved. One an earlier run reported gone does not count again."""
        keys = [i["article_key"] for i in run_issues(self.crawler, ("gone",), limit=100_000)]
        if not keys:
            return
        before = reported_before(self.crawler, "gone", {k for k in keys if k})
        new = sum(1 for key in keys if key not in before)
        read = sum(
            int(n) for k, n in self.stats.items() if k.startswith("govcrawl/body/extractor/")
        )
        seen = new + read
        share = self.setting("GOVCRAWL_MAX_GONE_SHARE", 0.05)
        self.fail_with(
            new > share * seen,
            f"{new} of {seen} article pages fetched were gone (404) before govcrawl stored them "
            f"({new / max(seen, 1):.1%}; limit {share:.1%}, setting GOVCRAWL_MAX_GONE_SHARE): "
            "have the portal's page addresses changed?",
        )


class RecordAlerts(Action):
    """Put one sentence per failed monitor into the run's stats (``govcrawl/alerts``)."""

    def run_action(self) -> None:
        alerts = []
        for result in self.result.monitors_failed_results:
            # a failed check's reason is its sentence; a check that broke has a traceback
            reason = (result.reason or result.error or "").strip().splitlines()
            alerts.append(reason[-1] if reason else f"{result.monitor.name} failed")
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
    monitors = [FinishReason, ErrorCount, UnwantedHTTPCodes, DownloaderExceptions, GovcrawlMonitor]
    monitors_failed_actions = [RecordAlerts, NotifyWebhook, NotifyEmail]

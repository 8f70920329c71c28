"""CrawlRunRecorder: one ``crawl_runs`` row per run, its final stats, and its issues.

Opened when the spider opens (status ``running``), closed with ``succeeded``, ``degraded``
(finished, but a monitor of ``crawler/monitors.py`` failed: see ``alerts``) or ``failed``, and
the whole Scrapy stats dict; every ``issue_reported`` signal becomes a ``crawl_issues``
row so a person can see, after the run, which URLs did not become articles and why.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlalchemy import insert, select, update

from crawler.database import engine_from_settings, process_alive
from crawler.extraction.text import CHINA_TZ
from crawler.models import CrawlIssue, CrawlRun
from crawler.signals import issue_reported

logger = logging.getLogger(__name__)

SUCCESS_REASONS = {"finished"}
# runs that went to their end: degraded ones too (a monitor found something to look at)
FINISHED = ("succeeded", "degraded")


def run_log_path(home: str | Path, site: str) -> Path:
    """Where a new run of ``site`` writes its log: ``GOVCRAWL_HOME/logs/<site>/<time>.log``.

    ``site`` must be a plain site name: the retention policy deletes old logs in this folder,
    so a name such as ``../x`` or ``/etc`` must never become it (ValueError)."""
    from crawler.profiles import is_site_name

    if not is_site_name(site):
        raise ValueError(f"not a site name, refusing it as a log folder: {site!r}")
    folder = Path(home) / "logs" / site
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{datetime.now(CHINA_TZ):%Y%m%d-%H%M%S-%f}.log"


def new_run_log(home: str | Path, site: str, keep_runs: int, keep_days: float) -> Path:
    """The log file of a run about to start, after applying the retention policy."""
    path = run_log_path(home, site)
    prune_logs(path.parent, keep_runs, keep_days)
    return path


def prune_logs(folder: str | Path, keep_runs: int, keep_days: float) -> list[Path]:
    """The retention policy of run logs, applied to one site's folder before each run: keep
    the newest ``keep_runs`` files and, of those, only the ones younger than ``keep_days``
    days (0 disables either limit). Only regular files are touched. Returns what it deleted."""
    files = sorted(
        (p for p in Path(folder).glob("*.log*") if p.is_file() and not p.is_symlink()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    cutoff = time.time() - keep_days * 86400
    doomed = [
        path
        for rank, path in enumerate(files)
        if (keep_runs and rank >= keep_runs) or (keep_days and path.stat().st_mtime < cutoff)
    ]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def run_status(reason: str, stats: dict[str, Any]) -> str:
    """``succeeded`` or ``failed`` — the one definition of "the run went well": a run fails
    when it did not finish, when a batch could not be stored, or when it reached nothing at all
    (no listing page, no article) and either reported problems (the portal was down) or got no
    reply at all."""
    if reason not in SUCCESS_REASONS or stats.get("govcrawl/store/failed_batches"):
        return "failed"
    reached = stats.get("govcrawl/listing/pages", 0) or stats.get("item_scraped_count", 0)
    problems = sum(v for k, v in stats.items() if k.startswith("govcrawl/issues/"))
    if not reached and (problems or not stats.get("downloader/response_count")):
        return "failed"  # it fetched nothing it was asked for
    return "succeeded"


def jsonable_stats(stats: dict[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        if isinstance(value, (int, float, str, bool)) or value is None:
            return value
        return str(value)

    return {key: convert(value) for key, value in sorted(stats.items())}


def close_vanished_runs(conn: Any, site: str, hostname: str) -> None:
    """Mark ``failed`` the runs of ``site`` on this host still ``running`` whose process is
    gone (killed with SIGKILL, or the machine lost power): nothing else would ever close them."""
    stale = conn.execute(
        select(CrawlRun.id, CrawlRun.pid).where(
            CrawlRun.site == site,
            CrawlRun.status == "running",
            CrawlRun.hostname == hostname,
            CrawlRun.pid.is_not(None),
        )
    ).all()
    for run_id, pid in stale:
        if pid != os.getpid() and not process_alive(pid):
            conn.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id)
                .values(status="failed", finish_reason=f"process {pid} vanished",
                        finished_at=datetime.now().astimezone())
            )  # fmt: skip
            logger.warning("crawl run %d: its process %d is gone; marked failed", run_id, pid)


class CrawlRunRecorder:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.run_id: int | None = None
        self.issues: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlRunRecorder:
        if "pipelines.store.StorePipeline" not in (
            crawler.settings.getdict("ITEM_PIPELINES") or {}
        ):
            raise NotConfigured("nothing is stored: no run record")
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.issue_reported, signal=issue_reported)
        return ext

    @cached_property
    def engine(self) -> Any:
        return engine_from_settings(self.crawler.settings)

    def spider_opened(self, spider: Any) -> None:
        profile = getattr(spider, "profile", None)
        args = {
            k: v
            for k, v in vars(spider).items()
            if k in ("site_arg", "only_channels", "max_pages", "single_url", "mode")
        }
        args = {k: sorted(v) if isinstance(v, set) else v for k, v in args.items() if v is not None}
        values = {
            "site": profile.name if profile else spider.name,
            "spider": spider.name,
            "args": args,
            "status": "running",
            "log_path": self.crawler.settings.get("LOG_FILE"),
            "pid": os.getpid(),
            "hostname": socket.gethostname(),
        }
        # the scheduler records a run (queued) before it starts the crawl and passes its id
        given = self.crawler.settings.getint("GOVCRAWL_RUN_ID", 0)
        with self.engine.begin() as conn:
            close_vanished_runs(conn, values["site"], values["hostname"])
            if given:
                self.run_id = conn.execute(
                    update(CrawlRun)
                    .where(CrawlRun.id == given)
                    .values(**values, started_at=datetime.now().astimezone())
                    .returning(CrawlRun.id)
                ).scalar_one()
            else:
                self.run_id = conn.execute(
                    insert(CrawlRun).values(**values).returning(CrawlRun.id)
                ).scalar_one()
        self.crawler.stats.set_value("govcrawl/run_id", self.run_id)
        logger.info(
            "crawl run %d started for site %s", self.run_id, profile.name if profile else "?"
        )

    def issue_reported(
        self,
        kind: str,
        url: str | None,
        reason: str,
        article_key: str | None = None,
        channel: str | None = None,
        spider: Any = None,
    ) -> None:
        self.issues.append(
            {"kind": kind, "url": url, "reason": reason, "article_key": article_key,
             "channel": channel}
        )  # fmt: skip
        if len(self.issues) >= 500:
            self._write_issues()

    def _write_issues(self) -> None:
        if self.engine is None or self.run_id is None or not self.issues:
            return
        site = self.crawler.spider.profile.name
        rows = [{**issue, "run_id": self.run_id, "site": site} for issue in self.issues]
        self.issues = []
        with self.engine.begin() as conn:
            conn.execute(insert(CrawlIssue), rows)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.engine is None or self.run_id is None:
            return
        stats = self.crawler.stats.get_stats()
        alerts = list(stats.get("govcrawl/alerts") or [])
        status = run_status(reason, stats)
        if status == "succeeded" and alerts:
            status = "degraded"
        try:
            self._write_issues()
            with self.engine.begin() as conn:
                conn.execute(
                    update(CrawlRun)
                    .where(CrawlRun.id == self.run_id)
                    .values(
                        status=status,
                        alerts=alerts,
                        finish_reason=reason,
                        finished_at=datetime.now().astimezone(),
                        stats=json.loads(json.dumps(jsonable_stats(stats))),
                    )
                )
        except Exception:
            logger.exception("could not write the record of crawl run %d", self.run_id)
            raise
        logger.info("crawl run %d %s (%s)", self.run_id, status, reason)


def run_over(record: dict[str, Any]) -> str | None:
    """None while the run goes on; "" when it ended; why to stop following when its process
    is gone without ending it (killed: the next run of the site on this host marks it
    failed, see crawler.runs.close_vanished_runs)."""
    if record["finished_at"] is not None or record["status"] not in ("queued", "running"):
        return ""
    pid, host = record["pid"], record["hostname"]
    if (
        record["status"] == "running"
        and pid
        and host == socket.gethostname()
        and not process_alive(pid)
    ):
        return (f"run {record['id']} is still marked running, but its process {pid} is gone "
                "(killed?); stopped following")  # fmt: skip
    return None

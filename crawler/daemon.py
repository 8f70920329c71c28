"""The scheduler daemon behind ``scheduler.py``: jobs from profiles, crawls as child processes.

The scheduler owns timing only. Each job is data (an id, a trigger, a site and its profile
path) kept in PostgreSQL (APScheduler's SQLAlchemyJobStore, table ``apscheduler_jobs``), so a
restart keeps next-run times and a run missed while the daemon was down is made up once
(coalesced) if it is less than GOVCRAWL_MISFIRE_GRACE seconds late. A crawl is ``govcrawl
crawl <profile>`` in a child process; the daemon records the run (queued → running →
succeeded | degraded | failed | timed-out | interrupted, or skipped) with its exit code and log file.
A site never crawls twice at once: max_instances=1 within a daemon, and a PostgreSQL advisory
lock per site across daemons and hosts sharing the database.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from crawler.extraction.text import CHINA_TZ
from crawler.models import CrawlRun
from crawler.profiles import ProfileError, SiteProfile
from crawler.runs import new_run_log

ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("govcrawl.scheduler")


def trigger_for(profile: SiteProfile) -> CronTrigger | IntervalTrigger:
    """The trigger of a site's job (the profile checked its schedule when it loaded)."""
    trigger = profile.schedule.trigger()
    if trigger is None:
        raise ProfileError(
            f"profile {profile.name!r} has no [schedule] cron, interval_minutes or interval_seconds"
        )
    return trigger


class SiteRunner:
    """Runs one crawl of one site: lock, run record, child process, time limit."""

    def __init__(self, engine: Engine, home: str | Path, timeout: float, kill_grace: float) -> None:
        self.engine = engine
        self.home = Path(home)
        self.timeout = timeout
        self.kill_grace = kill_grace
        from crawler import settings as defaults

        self.log_keep_runs = defaults.GOVCRAWL_LOG_KEEP_RUNS
        self.log_keep_days = defaults.GOVCRAWL_LOG_KEEP_DAYS
        self.stopping = threading.Event()
        self.children: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def log_path(self, site: str) -> Path:
        return new_run_log(self.home, site, self.log_keep_runs, self.log_keep_days)

    def _record(self, **values: Any) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                insert(CrawlRun).values(**values).returning(CrawlRun.id)
            ).scalar_one()

    def run(self, site: str, profile_path: str, trigger: str = "scheduler") -> str:
        """Crawl ``site`` now unless another process is crawling it; return the run's status."""
        from crawler.locks import lock_holder, site_lock

        if self.stopping.is_set():
            return "skipped"  # the daemon is stopping: start nothing new
        with site_lock(self.engine, site) as locked:
            if locked:
                return self.run_locked(site, profile_path, trigger)
            reason = (
                f"skipped: another crawl of this site is running: {lock_holder(self.engine, site)}"
            )
            self._record(site=site, spider="portal", status="skipped", trigger=trigger,
                         finish_reason=reason, finished_at=func.now(), hostname=socket.gethostname())  # fmt: skip
            logger.warning("crawl %s: %s", site, reason)
            return "skipped"

    def run_locked(
        self,
        site: str,
        profile_path: str,
        trigger: str,
        on_recorded: Callable[[int], None] | None = None,
    ) -> str:
        """Crawl ``site`` in a child process; the caller holds the site's lock. ``on_recorded``
        hears the run id as soon as the run is recorded (the web's "run now" answers with it)."""
        log_file = self.log_path(site)
        run_id = self._record(site=site, spider="portal", status="queued", trigger=trigger,
                              log_path=str(log_file), hostname=socket.gethostname())  # fmt: skip
        if on_recorded is not None:
            on_recorded(run_id)
        cmd = [sys.executable, "-m", "crawler.cli", "crawl", profile_path,
               "--log-file", str(log_file), "-s", f"GOVCRAWL_RUN_ID={run_id}"]  # fmt: skip
        logger.info("crawl %s: run %d starting, log %s", site, run_id, log_file)
        started = time.monotonic()
        child = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        with self._lock:
            self.children.add(child)
        outcome = None
        try:
            code = child.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            logger.error("crawl %s: still running after %.0f s; stopping it", site, self.timeout)
            outcome = "timed-out"
            code = self._stop(child)
        finally:
            with self._lock:
                self.children.discard(child)
        if self.stopping.is_set() and outcome is None and code not in (0, 3):  # 3: degraded
            outcome = "interrupted"
        return self._finish(run_id, site, code, outcome, time.monotonic() - started)

    def _stop(self, child: subprocess.Popen[bytes]) -> int:
        """SIGTERM (Scrapy closes the spider cleanly), then SIGKILL after the grace period."""
        child.send_signal(signal.SIGTERM)
        try:
            return child.wait(timeout=self.kill_grace)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait()

    def _finish(self, run_id: int, site: str, code: int, outcome: str | None, took: float) -> str:
        with self.engine.begin() as conn:
            status = conn.execute(select(CrawlRun.status).where(CrawlRun.id == run_id)).scalar_one()
            values: dict[str, Any] = {"exit_code": code}
            if outcome is not None:
                values.update(status=outcome, finish_reason=f"{outcome} (exit code {code})")
            elif status in ("queued", "running"):  # the crawl died before it could say
                values.update(
                    status="failed", finish_reason=f"crawl process exited with code {code}"
                )
            conn.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id)
                .values(**values, finished_at=func.coalesce(CrawlRun.finished_at, func.now()))
            )
            final = values.get("status", status)
        level = {"succeeded": logging.INFO, "degraded": logging.WARNING}.get(final, logging.ERROR)
        logger.log(
            level, "crawl %s: run %d %s, exit code %s, %.1f s", site, run_id, final, code, took
        )
        return final

    def stop_all(self) -> None:
        self.stopping.set()
        with self._lock:
            children = list(self.children)
        for child in children:
            child.send_signal(signal.SIGTERM)


RUNNER: SiteRunner | None = None


def run_scheduled(site: str, profile_path: str) -> str:
    """The job function (referenced by name in the job store)."""
    assert RUNNER is not None, "the daemon sets RUNNER before it starts"
    return RUNNER.run(site, profile_path)


def build_scheduler(engine: Engine, max_sites: int, misfire_grace: int) -> BackgroundScheduler:
    return BackgroundScheduler(
        timezone=CHINA_TZ,
        jobstores={"default": SQLAlchemyJobStore(engine=engine), "memory": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_sites), "health": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": misfire_grace},
    )


def reconcile_jobs(
    scheduler: BackgroundScheduler, profiles: list[SiteProfile], prune: bool
) -> None:
    """Make the stored jobs match the profiles, keeping next-run times of unchanged jobs."""
    wanted = {f"crawl:{p.name}": p for p in profiles}
    for job_id, profile in wanted.items():
        try:
            trigger = trigger_for(profile)
        except ProfileError as exc:  # checked at load; one site's trigger never stops the rest
            logger.error("site %s disabled: %s", profile.name, exc)
            continue
        args = [profile.name, str(profile.path)]
        job = scheduler.get_job(job_id)
        if job is None:
            try:
                scheduler.add_job(
                    run_scheduled, trigger, args=args, id=job_id, name=f"crawl {profile.name}"
                )
            except ConflictingIdError:  # another daemon on this database added it just now
                logger.info("job %s: added by another daemon meanwhile; keeping it", job_id)
        elif str(job.trigger) != str(trigger) or list(job.args) != args:
            scheduler.modify_job(job_id, args=args)
            scheduler.reschedule_job(job_id, trigger=trigger)
            logger.info("job %s: schedule changed to %s", job_id, trigger)
    if prune:
        for job in scheduler.get_jobs(jobstore="default"):
            if job.id.startswith("crawl:") and job.id not in wanted:
                logger.info("job %s: no valid profile any more; removed", job.id)
                job.remove()


def serve(
    engine: Engine,
    profiles: list[SiteProfile],
    *,
    home: str | Path,
    timeout: float,
    kill_grace: float,
    max_sites: int,
    misfire_grace: int,
    health_seconds: int,
    prune: bool,
    disabled: Sequence[str] = (),
) -> int:
    """Run the daemon until SIGTERM or SIGINT; ``disabled`` names the sites whose profile
    could not be used (reported at start and in every health line)."""
    global RUNNER
    RUNNER = SiteRunner(engine, home, timeout, kill_grace)
    scheduler = build_scheduler(engine, max_sites, misfire_grace)
    stop = threading.Event()

    def health() -> None:
        if stop.is_set():
            return
        jobs = [j for j in scheduler.get_jobs() if j.id.startswith("crawl:") and j.next_run_time]
        upcoming = min(jobs, key=lambda j: j.next_run_time) if jobs else None
        with RUNNER._lock:
            running = len(RUNNER.children)
        logger.info(
            "alive: %d site jobs, %d crawl(s) running; next %s at %s%s", len(jobs), running,
            upcoming.id if upcoming else "-", upcoming.next_run_time if upcoming else "-",
            f"; disabled by a bad profile: {', '.join(disabled)}" if disabled else "",
        )  # fmt: skip

    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        # only set a flag here: logging or taking locks inside a signal handler can deadlock
        received.append(signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler.start(paused=True)
    reconcile_jobs(scheduler, profiles, prune)
    scheduler.add_job(
        health,
        IntervalTrigger(seconds=health_seconds),
        id="health",
        jobstore="memory",
        executor="health",
    )
    scheduler.resume()
    logger.info(
        "scheduler started with %d site(s): %s", len(profiles), ", ".join(p.name for p in profiles)
    )
    health()
    stop.wait()
    logger.info(
        "signal %s: no new runs; stopping %d running crawl(s)", received[0], len(RUNNER.children)
    )
    scheduler.pause()
    RUNNER.stop_all()
    scheduler.shutdown(wait=True)  # the running jobs record their crawls as interrupted
    logger.info("scheduler stopped")
    return 0

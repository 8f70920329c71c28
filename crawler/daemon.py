"""The scheduler daemon behind ``govcrawl schedule`` (and ``scheduler.py``): jobs from profiles,
crawls as child processes, one leader among the daemons that share a database.

The scheduler owns timing only. Each job is data (an id, a trigger, a site and its profile
path) kept in PostgreSQL (APScheduler's SQLAlchemyJobStore, table ``apscheduler_jobs``), so a
restart keeps next-run times and a run missed while no daemon was up is made up once
(coalesced) if it is less than GOVCRAWL_MISFIRE_GRACE seconds late. A crawl is ``govcrawl
crawl <profile>`` in a child process; the daemon records the run (queued → running →
succeeded | degraded | failed | timed-out | interrupted, or skipped) with its exit code and log file.
A site never crawls twice at once: max_instances=1 within a daemon, and a PostgreSQL advisory
lock per site across daemons and hosts sharing the database.

Several daemons may run on one database, on one host or several. APScheduler 3 cannot share a
job store between schedulers, so only the daemon holding the leader lock
(``pg_try_advisory_lock(7306, 1)`` on a connection of its own) starts its scheduler; the others
wait and try the lock every GOVCRAWL_LEADER_POLL seconds. PostgreSQL frees the lock when the
leader's connection ends (the daemon killed, its host gone, the connection cut), and a follower
takes over within two poll intervals plus the connection's teardown: one to find the lock free,
one more before it schedules. The leader checks its lock as often, so in that second interval a
leader that lost its connection finds out and stops starting crawls: two schedulers never run
at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
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
from sqlalchemy import create_engine, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Executable

from crawler.database import scrub
from crawler.extraction.text import CHINA_TZ
from crawler.jobs import QueueRunner, Reaper, job_counts
from crawler.locks import close_abandoned_runs
from crawler.metrics import Metrics, follow_scheduler, start_metrics_server
from crawler.models import CrawlRun
from crawler.profiles import ProfileError, SiteProfile
from crawler.runs import new_run_log

ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("govcrawl.scheduler")

# The leader lock, pg_try_advisory_lock(7306, 1): a two-key advisory lock whose first key is
# not the per-site locks' (7305, hashtext(site)); the migrations' one-key lock never meets either.
LEADER_LOCK = (7306, 1)
# its row in pg_locks (two-key advisory locks have objsubid 2)
LEADER_LOCK_ROW = (
    f"l.locktype = 'advisory' AND l.classid = {LEADER_LOCK[0]} AND l.objid = {LEADER_LOCK[1]} "
    "AND l.objsubid = 2 AND l.granted"
)
# how a daemon's lock connection names itself in pg_stat_activity, so followers can name it
APPLICATION_NAME = "govcrawl scheduler "
# A leader whose host goes silent (a network split, a power cut) must lose the lock, and must
# notice it before a follower starts scheduling. The server drops its session after ~25 s
# without an answer (these keepalives); the leader gives up on an unanswered check after 10 s
# (tcp_user_timeout), sooner. Over a Unix socket neither applies, nor is needed.
SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
CLIENT_TIMEOUTS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 10,
                   "keepalives_interval": 5, "keepalives_count": 3, "tcp_user_timeout": 10_000}  # fmt: skip

PR_SET_PDEATHSIG = 1  # linux/prctl.h
_prctl = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


def trigger_for(profile: SiteProfile) -> CronTrigger | IntervalTrigger:
    """The trigger of a site's job (the profile checked its schedule when it loaded)."""
    trigger = profile.schedule.trigger()
    if trigger is None:
        raise ProfileError(
            f"profile {profile.name!r} has no [schedule] cron, interval_minutes or interval_seconds"
        )
    return trigger


def describe(exc: BaseException, url: str) -> str:
    """A database error in one line, without the secrets of ``url``."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return scrub(f"{cause.__class__.__name__}: {first}", url)


def _dies_with_parent() -> Callable[[], None] | None:
    """Popen's ``preexec_fn`` on Linux: the crawl gets SIGKILL when the daemon dies. The site's
    lock lives on the daemon's connection, so a crawl left running by a killed daemon would
    overlap the next leader's run of the same site."""
    if _prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:  # in the child, between fork and exec: two system calls, no locks
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the daemon died before the line above
            os._exit(1)

    return arm


class WarmChild:
    """A crawl forked from the fork server, with the part of ``subprocess.Popen``'s interface
    SiteRunner uses."""

    def __init__(self, process: Any) -> None:
        self.process = process
        self.pid = process.pid

    def wait(self, timeout: float | None = None) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired("crawl", timeout or 0)
        return int(self.process.exitcode)

    def send_signal(self, signum: int) -> None:
        if self.process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class WarmForks:
    """Crawls forked from a fork server that imported Scrapy and govcrawl once
    (``multiprocessing``'s forkserver, preloaded with crawler/warm.py). A crawl is still a
    process of its own; it only skips the interpreter's start and the imports."""

    def __init__(self) -> None:
        import multiprocessing

        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["crawler.warm", "crawler.crawl_child"])
        self._lock = threading.Lock()

    def start(self, argv: list[str]) -> WarmChild:
        from crawler.crawl_child import start

        process = self.context.Process(
            target=start, args=(argv, os.getpid()), name="govcrawl crawl"
        )
        with self._lock:  # Process.start keeps module-level bookkeeping
            process.start()
        return WarmChild(process)

    def close(self) -> None:
        from multiprocessing import forkserver

        with contextlib.suppress(Exception):
            forkserver._forkserver._stop()  # type: ignore[attr-defined]


class SiteRunner:
    """Runs one crawl of one site: lock, run record, child process, time limit."""

    def __init__(
        self,
        engine: Engine,
        home: str | Path,
        timeout: float,
        kill_grace: float,
        database_url: str | None = None,
        warm: bool = False,
    ) -> None:
        self.engine = engine
        self.home = Path(home)
        self.database_url = database_url
        # crawls forked from a fork server that imported everything once (crawler/warm.py)
        self.forks = WarmForks() if warm else None
        self.timeout = timeout
        self.kill_grace = kill_grace
        from crawler import settings as defaults

        self.log_keep_runs = defaults.GOVCRAWL_LOG_KEEP_RUNS
        self.log_keep_days = defaults.GOVCRAWL_LOG_KEEP_DAYS
        # a database given on the command line reaches the crawls as the environment's
        self.child_env = {**os.environ, "DATABASE_URL": database_url} if database_url else None
        self.stopping = threading.Event()
        self.children: set[subprocess.Popen[bytes] | WarmChild] = set()
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
                close_abandoned_runs(self.engine, holding=site)  # runs the dead left open
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
        argv = ["crawl", profile_path, "--log-file", str(log_file),
                "-s", f"GOVCRAWL_RUN_ID={run_id}"]  # fmt: skip
        logger.info("crawl %s: run %d starting, log %s", site, run_id, log_file)
        started = time.monotonic()
        child: subprocess.Popen[bytes] | WarmChild
        if self.forks is not None:
            # no exec: the database URL given on the command line cannot show in `ps`
            given = ["--database-url", self.database_url] if self.database_url else []
            child = self.forks.start(given + argv)
        else:
            child = subprocess.Popen(
                [sys.executable, "-m", "crawler.cli", *argv],
                cwd=ROOT,
                env=self.child_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_dies_with_parent(),
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

    def _stop(self, child: subprocess.Popen[bytes] | WarmChild) -> int:
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

    def running(self) -> int:
        """How many crawls this runner has running now."""
        with self._lock:
            return len(self.children)

    def stop_all(self) -> None:
        self.stopping.set()
        with self._lock:
            children = list(self.children)
        for child in children:
            child.send_signal(signal.SIGTERM)

    def close(self) -> None:
        """Stop the fork server, if any (its children are waited for by then)."""
        if self.forks is not None:
            self.forks.close()


RUNNER: SiteRunner | QueueRunner | None = None


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


class Leadership:
    """The leader lock, taken and held on a connection of its own (pooled connections come and
    go; this one must live exactly as long as the leadership)."""

    def __init__(self, engine: Engine) -> None:
        self.me = f"{os.getpid()}@{socket.gethostname()}"
        self.url = engine.url.render_as_string(hide_password=False)  # only to scrub messages
        self.engine = create_engine(engine.url, poolclass=NullPool, connect_args=CLIENT_TIMEOUTS)
        self.conn: Connection | None = None

    def _connection(self) -> Connection:
        if self.conn is None:
            conn = self.engine.connect()
            named = {"application_name": (APPLICATION_NAME + self.me)[:63], **SERVER_KEEPALIVES}
            for name, value in named.items():
                conn.execute(select(func.set_config(name, value, False)))
            conn.commit()
            self.conn = conn
        return self.conn

    def _first(self, statement: Executable) -> Row[Any] | None:
        """One statement's first row; on a database error the connection (and with it the
        lock) is dropped and the error raised."""
        try:
            conn = self._connection()
            row = conn.execute(statement).first()
            conn.commit()
            return row
        except SQLAlchemyError:
            self.release(broken=True)
            raise

    def try_take(self) -> bool:
        """Take the lock if no daemon holds it (a session lock: a commit does not free it)."""
        row = self._first(select(func.pg_try_advisory_lock(*LEADER_LOCK)))
        return bool(row and row[0])

    def lost(self) -> str | None:
        """Why this daemon no longer holds the lock, or None while it does."""
        try:
            row = self._first(text(
                f"SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE {LEADER_LOCK_ROW} "
                "AND l.pid = pg_backend_pid())"
            ))  # fmt: skip
        except SQLAlchemyError as exc:
            return f"the scheduler lock's connection failed ({describe(exc, self.url)})"
        return None if row and row[0] else "the scheduler lock is no longer held"

    def holder(self) -> str:
        """Who holds the lock: ``pid@host`` of a daemon, else the PostgreSQL session."""
        row = self._first(text(
            "SELECT a.pid, a.application_name, a.client_addr FROM pg_locks l "
            f"JOIN pg_stat_activity a ON a.pid = l.pid WHERE {LEADER_LOCK_ROW}"
        ))  # fmt: skip
        if row is None:
            return "nobody (the lock was freed just now)"
        if (row.application_name or "").startswith(APPLICATION_NAME):
            return row.application_name[len(APPLICATION_NAME) :]
        where = f" from {row.client_addr}" if row.client_addr else ""
        return f"PostgreSQL session {row.pid} ({row.application_name or 'unnamed'}{where})"

    def release(self, broken: bool = False) -> None:
        """Let go of the lock: closing its connection frees it. Never raises."""
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            if broken:
                conn.invalidate()  # no rollback on a dead connection: it would only log errors
            conn.close()
        except SQLAlchemyError:
            pass


class SchedulerDaemon:
    """One daemon: a follower until it holds the leader lock, then the scheduler until it is
    stopped (SIGTERM, SIGINT) or loses the lock, then a follower again."""

    def __init__(
        self,
        engine: Engine,
        profiles: list[SiteProfile],
        *,
        home: str | Path,
        timeout: float,
        kill_grace: float,
        max_sites: int,
        misfire_grace: int,
        health_seconds: float,
        leader_poll: float,
        prune: bool,
        disabled: Sequence[str] = (),
        database_url: str | None = None,
        metrics: Metrics | None = None,
        workers: bool = False,
        stalled_after: float = 30.0,
    ) -> None:
        self.engine = engine
        self.workers = workers  # defer crawl jobs to `govcrawl worker`s instead of crawling
        self.stalled_after = stalled_after
        self.metrics = metrics  # the daemon's own gauges on the metrics endpoint, when served
        self.profiles = profiles
        self.home = home
        self.timeout = timeout
        self.kill_grace = kill_grace
        self.max_sites = max_sites
        self.misfire_grace = misfire_grace
        self.health_seconds = health_seconds
        self.leader_poll = leader_poll
        self.prune = prune
        self.disabled = disabled
        self.database_url = database_url
        self.leadership = Leadership(engine)
        self.stop = threading.Event()
        self.received: list[int] = []

    def on_signal(self, signum: int, frame: object) -> None:
        # only set a flag here: logging or taking locks inside a signal handler can deadlock
        self.received.append(signum)
        self.stop.set()

    def run(self) -> int:
        """Follow or lead until a signal; 0."""
        pause = 0.0
        waiting_for: str | None = None
        said_alive = time.monotonic()
        try:
            while not self.stop.wait(pause):
                pause = self.leader_poll
                try:
                    leading = self.leadership.try_take()
                    holder = "" if leading else self.leadership.holder()
                except SQLAlchemyError as exc:
                    leading, holder = False, f"the database ({describe(exc, self.leadership.url)})"
                if leading:
                    waiting_for = None
                    if self.lead():
                        break
                    # the connection this daemon lost may be the sick one: a healthy daemon
                    # gets the first chance to lead
                    pause = 2 * self.leader_poll
                elif holder != waiting_for:
                    logger.info("follower, waiting for %s; checking every %g s", holder,
                                self.leader_poll)  # fmt: skip
                    waiting_for, said_alive = holder, time.monotonic()
                elif time.monotonic() - said_alive >= self.health_seconds:
                    logger.info("alive: follower, waiting for %s", holder)
                    said_alive = time.monotonic()
            else:  # no break: the signal came while following
                logger.info("signal %s: stopping (a follower runs no crawls)", self.received[0])
        finally:
            self.leadership.release()
        logger.info("scheduler stopped")
        return 0

    def lead(self) -> bool:
        """Schedule the sites; True when a signal stopped it, False when the lock was lost."""
        global RUNNER
        logger.info("leader: %s took the scheduler lock; scheduling in %g s", self.leadership.me,
                    self.leader_poll)  # fmt: skip
        # a leader that lost its connection checks its lock within one poll: by the end of this
        # wait it has stopped scheduling, and the job store is never shared
        if self.stop.wait(self.leader_poll):
            logger.info("signal %s: stopping before any crawl started", self.received[0])
            return True
        runner: SiteRunner | QueueRunner
        if self.workers:
            url = self.database_url or self.engine.url.render_as_string(hide_password=False)
            runner = RUNNER = QueueRunner(self.engine, url)
        else:
            runner = RUNNER = SiteRunner(
                self.engine, self.home, self.timeout, self.kill_grace, self.database_url
            )
        scheduler = build_scheduler(self.engine, self.max_sites, self.misfire_grace)
        if self.metrics is not None and not self.workers:  # with workers: tidy() counts jobs
            follow_scheduler(scheduler, self.metrics, slots=self.max_sites)
            self.metrics.set_leader(True)
        lost: str | None = "an unexpected error"
        try:
            lost = self.leadership.lost() or self._schedule(scheduler, runner)
        except SQLAlchemyError as exc:
            lost = f"the database failed ({describe(exc, self.leadership.url)})"
        finally:
            running = runner.running()
            if lost is None:
                logger.info("signal %s: no new runs; stopping %d running crawl(s)",
                            self.received[0], running)  # fmt: skip
            else:
                logger.error("leader no more: %s; no new runs; stopping %d running crawl(s)",
                             lost, running)  # fmt: skip
            if scheduler.running:
                scheduler.pause()
            runner.stop_all()
            if scheduler.running:  # the running jobs record their crawls as interrupted
                scheduler.shutdown(wait=True)
            self.leadership.release()
            if isinstance(runner, QueueRunner):
                runner.close()
            if self.metrics is not None:
                self.metrics.set_leader(False)
        return lost is None

    def _schedule(
        self, scheduler: BackgroundScheduler, runner: SiteRunner | QueueRunner
    ) -> str | None:
        """Run the scheduler until a signal (None) or until the lock is lost (why)."""
        scheduler.start(paused=True)
        reconcile_jobs(scheduler, self.profiles, self.prune)
        scheduler.add_job(
            self.health,
            IntervalTrigger(seconds=self.health_seconds),
            args=[scheduler, runner],
            id="health",
            name="health",
            jobstore="memory",
            executor="health",
        )
        scheduler.resume()
        logger.info("scheduler started with %d site(s): %s; %s", len(self.profiles),
                    ", ".join(p.name for p in self.profiles),
                    "crawls deferred to the workers" if self.workers else "crawling here")  # fmt: skip
        self.health(scheduler, runner)
        while not self.stop.wait(self.leader_poll):
            lost = self.leadership.lost()
            if lost is not None:
                return lost
            self.tidy(runner)
        return None

    def tidy(self, runner: SiteRunner | QueueRunner) -> None:
        """Each poll, the leader cleans up after processes that died: the jobs of silent
        workers are failed (freeing their sites' job locks) and runs left open are closed.
        A failure here is logged and tried again next poll; it never stops the scheduling."""
        try:
            if isinstance(runner, QueueRunner):
                Reaper(runner.app, self.stalled_after).reap()
                if self.metrics is not None:
                    counts = job_counts(self.engine)
                    self.metrics.set_in_flight(counts.get("doing", 0))
                    self.metrics.set_queue_depth(counts.get("todo", 0))
            close_abandoned_runs(self.engine)
        except Exception as exc:  # noqa: BLE001 - a database hiccup: next poll tries again
            logger.warning("tidying after dead processes failed: %s; trying again in %g s",
                           describe(exc, self.leadership.url), self.leader_poll)  # fmt: skip

    def health(self, scheduler: BackgroundScheduler, runner: SiteRunner | QueueRunner) -> None:
        if self.stop.is_set():
            return
        jobs = [j for j in scheduler.get_jobs() if j.id.startswith("crawl:") and j.next_run_time]
        upcoming = min(jobs, key=lambda j: j.next_run_time) if jobs else None
        logger.info(
            "alive: leader, %d site jobs, %d crawl(s) running; next %s at %s%s", len(jobs),
            runner.running(), upcoming.id if upcoming else "-",
            upcoming.next_run_time if upcoming else "-",
            f"; disabled by a bad profile: {', '.join(self.disabled)}" if self.disabled else "",
        )  # fmt: skip


def serve(
    engine: Engine,
    profiles: list[SiteProfile],
    *,
    home: str | Path,
    timeout: float,
    kill_grace: float,
    max_sites: int,
    misfire_grace: int,
    health_seconds: float,
    leader_poll: float,
    prune: bool,
    disabled: Sequence[str] = (),
    database_url: str | None = None,
    metrics_port: int = 0,
    metrics_host: str = "127.0.0.1",
    metrics_timeout: float = 5.0,
    workers: bool = False,
    stalled_after: float = 30.0,
) -> int:
    """Run the daemon until SIGTERM or SIGINT; ``disabled`` names the sites whose profile
    could not be used (reported at start and in every health line)."""
    server = None
    if metrics_port:
        try:
            server = start_metrics_server(
                engine, metrics_port, metrics_host, profiles=profiles, timeout=metrics_timeout
            )
        except OSError as exc:
            logger.error("metrics: cannot listen on %s:%d: %s", metrics_host, metrics_port,
                         exc.strerror or exc)  # fmt: skip
            return 2
        logger.info("metrics on %s", server.url)
    daemon = SchedulerDaemon(
        engine, profiles, home=home, timeout=timeout, kill_grace=kill_grace,
        max_sites=max_sites, misfire_grace=misfire_grace, health_seconds=health_seconds,
        leader_poll=leader_poll, prune=prune, disabled=disabled, database_url=database_url,
        metrics=server.metrics if server is not None else None, workers=workers,
        stalled_after=stalled_after,
    )  # fmt: skip
    signal.signal(signal.SIGTERM, daemon.on_signal)
    signal.signal(signal.SIGINT, daemon.on_signal)
    try:
        return daemon.run()
    finally:
        if server is not None:
            server.stop()

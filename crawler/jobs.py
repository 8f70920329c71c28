"""Crawl runs as jobs of a procrastinate queue, for many workers on many hosts.

With ``GOVCRAWL_WORKERS=1`` the scheduler daemon (crawler/daemon.py) decides only *when*: at a
site's time it defers a ``govcrawl:crawl_site`` job into the queue, which lives in the project's
own PostgreSQL (migration 0010 applies procrastinate's schema; no broker is added). ``govcrawl
worker`` processes, on any number of hosts, take the jobs and crawl, each crawl still its own
process (crawler/daemon.py's SiteRunner: site lock, run record, time limit).

What the queue guarantees, with procrastinate's own mechanisms:
- ``lock=site``: one job of a site runs at a time across every worker;
- ``queueing_lock=site``: at most one job of a site waits; a site whose previous job still
  waits is not queued twice (the scheduler records the run as ``skipped``, saying so);
- heartbeats: a worker writes one every GOVCRAWL_WORKER_HEARTBEAT s. A worker killed or cut
  off stops writing; after GOVCRAWL_WORKER_STALLED s the leader (``Reaper``) fails its jobs,
  which frees the site's job lock. A killed worker's crawls die with it (a warm crawl watches
  its worker through a pidfd, crawler/crawl_child.py; a cold one is armed with
  PR_SET_PDEATHSIG) and its site locks, held on its own connections, are freed by PostgreSQL,
  so the leader closes the runs they left open (crawler.locks.close_abandoned_runs): nothing
  keeps crawling, nothing is stored twice.
"""

from __future__ import annotations

import logging
import socket

from procrastinate import App, JobContext, PsycopgConnector
from procrastinate import sql as procrastinate_sql
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status
from sqlalchemy import func, insert, text
from sqlalchemy.engine import Engine, make_url

from crawler.database import normalise_url
from crawler.models import CrawlRun

logger = logging.getLogger("govcrawl.jobs")

QUEUE = "crawls"
TASK = "govcrawl:crawl_site"


def crawl_site(
    context: JobContext, site: str, profile_path: str, trigger: str = "scheduler"
) -> str:
    """One run of ``site``, by the worker's SiteRunner; its status (the run record says more).
    The job succeeds whatever the crawl's outcome: a failed crawl is a fact about the portal,
    recorded in ``crawl_runs``, not a reason to run it again before its time."""
    runner = context.additional_context["runner"]
    status: str = runner.run(site, profile_path, trigger)
    return status


def libpq_url(database_url: str) -> str:
    """The database URL as psycopg 3 takes it (no SQLAlchemy driver name)."""
    url = make_url(normalise_url(database_url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def make_app(database_url: str, name: str = "govcrawl") -> App:
    """The procrastinate app on the project's database, with the crawl task."""
    connector = PsycopgConnector(
        conninfo=libpq_url(database_url),
        kwargs={"application_name": f"{name} {_me()}"[:63]},
        min_size=1,
        max_size=4,
    )
    app = App(connector=connector)
    # registered on each app (a Blueprint's tasks are renamed when an app adds them, so a
    # second app of the same process would name them twice)
    app.task(name=TASK, queue=QUEUE, pass_context=True)(crawl_site)
    return app


def _me() -> str:
    import os

    return f"{os.getpid()}@{socket.gethostname()}"


class QueueRunner:
    """The scheduler's runner when workers crawl: ``run`` defers a job instead of crawling.
    It has SiteRunner's interface, so the scheduler does not care which one it has."""

    def __init__(self, engine: Engine, database_url: str) -> None:
        self.engine = engine
        self.app = make_app(database_url, name="govcrawl scheduler").open()

    def run(self, site: str, profile_path: str, trigger: str = "scheduler") -> str:
        """Defer one run of ``site``; ``deferred``, or ``skipped`` when one already waits."""
        try:
            job = self.app.configure_task(TASK, allow_unknown=False, lock=site, queueing_lock=site)
            job_id = job.defer(site=site, profile_path=profile_path, trigger=trigger)
        except AlreadyEnqueued:
            waiting = self._waiting_job(site)
            reason = (
                f"skipped: a run of this site is still waiting for a worker (job {waiting}); "
                "are the workers up, and enough of them?"
            )
            with self.engine.begin() as conn:
                conn.execute(insert(CrawlRun).values(
                    site=site, spider="portal", status="skipped", trigger=trigger,
                    finish_reason=reason, finished_at=func.now(), hostname=socket.gethostname(),
                ))  # fmt: skip
            logger.warning("crawl %s: %s", site, reason)
            return "skipped"
        logger.info("crawl %s: job %d deferred to the workers", site, job_id)
        return "deferred"

    def _waiting_job(self, site: str) -> str:
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT id FROM procrastinate_jobs WHERE queueing_lock = :site "
                     "AND status = 'todo' ORDER BY id LIMIT 1"), {"site": site},
            ).first()  # fmt: skip
        return str(row[0]) if row else "?"

    def running(self) -> int:
        """Jobs being crawled now, by all workers."""
        return job_counts(self.engine).get("doing", 0)

    def stop_all(self) -> None:
        """Nothing to stop: the workers' crawls outlive the scheduler that deferred them."""

    def close(self) -> None:
        self.app.close()


def job_counts(engine: Engine) -> dict[str, int]:
    """Crawl jobs by procrastinate status (todo: waiting, doing: being crawled)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status::text, count(*) FROM procrastinate_jobs "
                 "WHERE queue_name = :q AND status IN ('todo', 'doing') GROUP BY status"),
            {"q": QUEUE},
        ).all()  # fmt: skip
    return {status: count for status, count in rows}


class Reaper:
    """The leader's clean-up after dead workers, each poll:

    1. jobs of workers silent for ``stalled_after`` seconds are failed (procrastinate's own
       stalled-job query and finish function), which lets the site's next job run;
    Runs left open by the dead are closed by crawler.locks.close_abandoned_runs.
    """

    def __init__(self, app: App, stalled_after: float) -> None:
        self.app = app
        self.stalled_after = stalled_after

    def reap(self) -> list[int]:
        """Fail the stalled jobs; the ids of those failed."""
        connector = self.app.connector.get_sync_connector()
        stalled = connector.execute_query_all(
            query=procrastinate_sql.queries["select_stalled_jobs_by_heartbeat"],
            queue=QUEUE,
            task_name=None,
            seconds_since_heartbeat=self.stalled_after,
        )
        failed = []
        for job in stalled:
            connector.execute_query(
                query=procrastinate_sql.queries["finish_job"],
                job_id=job["id"],
                status=Status.FAILED.value,
                delete_job=False,
            )
            failed.append(job["id"])
            site = (job.get("args") or {}).get("site", "?")
            logger.error(
                "crawl %s: job %d failed: its worker sent no heartbeat for %g s (killed, or "
                "its host lost)", site, job["id"], self.stalled_after,
            )  # fmt: skip
        return failed


def worker_name() -> str:
    return f"govcrawl worker {_me()}"

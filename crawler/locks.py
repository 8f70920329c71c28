"""One crawl of a site at a time: a PostgreSQL advisory lock per site.

``pg_try_advisory_lock(7305, hashtext(site))`` is taken on a connection of its own and held
for the whole crawl, by ``govcrawl crawl`` and by the scheduler alike, so two crawls of one
site never overlap, whichever process, daemon or host starts them. PostgreSQL drops the lock
by itself when the holder's connection ends, so a killed crawl never leaves its site locked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from crawler.models import CrawlRun

logger = logging.getLogger(__name__)

# first key of the per-site advisory locks: pg_try_advisory_lock(7305, hashtext(site))
LOCK_SPACE = 7305


@contextmanager
def site_lock(engine: Engine, site: str) -> Iterator[bool]:
    """Hold the lock of ``site`` for the ``with`` block; yields False (holding nothing) when
    another session holds it."""
    key = (LOCK_SPACE, func.hashtext(site))
    with engine.connect() as conn:
        got = bool(conn.execute(select(func.pg_try_advisory_lock(*key))).scalar())
        conn.commit()  # a session-level lock outlives the transaction that took it
        try:
            yield got
        finally:
            if got:
                try:
                    conn.execute(select(func.pg_advisory_unlock(*key)))
                    conn.commit()
                except DBAPIError:  # the connection is gone, and the lock with it
                    logger.warning("site %s: the lock's connection was lost", site)


def lock_holder(engine: Engine, site: str) -> str:
    """Who crawls ``site`` now, for a message: its newest queued or running run."""
    with engine.connect() as conn:
        run = conn.execute(
            select(CrawlRun.id, CrawlRun.status, CrawlRun.pid, CrawlRun.hostname, CrawlRun.trigger)
            .where(CrawlRun.site == site, CrawlRun.status.in_(("queued", "running")))
            .order_by(CrawlRun.id.desc())
            .limit(1)
        ).first()
    if run is None:
        return "another process (its run is not recorded yet)"
    if run.status == "queued":
        by = {"scheduler": "the scheduler", "web": "the web app"}.get(run.trigger, run.trigger)
        return f"run {run.id} (queued by {by} on host {run.hostname or '?'})"
    return f"run {run.id} (pid {run.pid or '?'} on host {run.hostname or '?'})"


def busy_message(engine: Engine, site: str) -> str:
    return f"site {site} is being crawled by {lock_holder(engine, site)}; try again when it ends"


def close_abandoned_runs(engine: Engine, holding: str | None = None) -> list[tuple[int, str, str]]:
    """Close ``failed`` every run left ``queued`` or ``running`` whose site's lock nobody holds,
    or, with ``holding``, every open run of that site, whose lock the caller holds;
    ``(run id, site, host)`` of each.

    Whoever has a run open holds its site's lock: the scheduler or worker from before it records
    the run until after it records the end, ``govcrawl crawl`` likewise. So an open run of an
    unlocked site belongs to a process that died (a worker killed with SIGKILL, a host lost).
    One statement decides and writes: a run that ends meanwhile is written before its lock is
    freed, and PostgreSQL re-checks the status of a row updated since the statement began."""
    held = (
        "SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
        f"AND l.classid = {LOCK_SPACE} AND l.objid = hashtext(r.site)::oid AND l.objsubid = 2"
    )
    with engine.begin() as conn:
        closed = conn.execute(
            text(
                "UPDATE crawl_runs r SET status = 'failed', finished_at = now(), "
                "finish_reason = CASE WHEN r.status = 'queued' "
                "THEN 'its scheduler or worker died before the crawl started' "
                "ELSE 'its crawl (process ' || coalesce(r.pid::text, '?') || ' on host ' "
                "|| coalesce(r.hostname, '?') || ') ended without a word: it died, or the "
                "process running it did (killed, or its host lost)' END "
                "WHERE r.status IN ('queued', 'running') AND "
                + ("r.site = :site " if holding else f"NOT EXISTS ({held}) ")
                + "RETURNING r.id, r.site, coalesce(r.hostname, '?')"
            ),
            {"site": holding} if holding else {},
        ).all()
    for run_id, site, host in closed:
        logger.warning("crawl %s: run %d (host %s) was left open by a process that died; failed",
                       site, run_id, host)  # fmt: skip
    return [tuple(row) for row in closed]  # type: ignore[misc]

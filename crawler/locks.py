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

from sqlalchemy import func, select
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

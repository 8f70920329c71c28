""" "Run now": a crawl started from the web, exactly as the scheduler starts one.

The site's advisory lock (crawler/locks.py) is taken in a thread of the web process and held
while ``govcrawl crawl <profile>`` runs as a child process (crawler/daemon.py's SiteRunner:
the run is recorded ``queued`` with its log file, the crawl turns it ``running`` and then
finished, the exit code is added). A site that is being crawled is refused, naming the holder.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from crawler.daemon import SiteRunner
from crawler.locks import busy_message, site_lock

logger = logging.getLogger("govcrawl.web")

TRIGGER = "web"


class SiteBusy(RuntimeError):
    """Another crawl of the site holds its lock; the message names it."""


class RunLauncher:
    def __init__(self, engine: Engine, home: str | Path, timeout: float, kill_grace: float) -> None:
        self.engine = engine
        self.home = home
        self.timeout = timeout
        self.kill_grace = kill_grace
        self._lock = threading.Lock()
        self._running: dict[threading.Thread, SiteRunner] = {}

    def start(self, site: str, profile_path: str) -> int:
        """Start a crawl of ``site`` now; its run id. SiteBusy when the site is being crawled."""
        started: queue.Queue[int | BaseException] = queue.Queue()
        runner = SiteRunner(self.engine, self.home, self.timeout, self.kill_grace)
        thread = threading.Thread(
            target=self._crawl,
            args=(runner, site, profile_path, started),
            name=f"run-now-{site}",
            daemon=True,
        )
        with self._lock:
            self._running[thread] = runner
        thread.start()
        outcome = started.get(timeout=60)
        if isinstance(outcome, SiteBusy):
            raise outcome
        if isinstance(outcome, BaseException):
            raise RuntimeError(f"could not start a crawl of {site}: {outcome}") from outcome
        return outcome

    def _crawl(
        self, runner: SiteRunner, site: str, profile_path: str, started: queue.Queue[Any]
    ) -> None:
        try:
            with site_lock(self.engine, site) as locked:
                if not locked:
                    started.put(SiteBusy(busy_message(self.engine, site)))
                    return
                status = runner.run_locked(site, profile_path, TRIGGER, on_recorded=started.put)
                logger.info("run now of %s: %s", site, status)
        except BaseException as exc:  # the request waiting for the run id must hear of it
            logger.exception("run now of %s failed", site)
            started.put(exc)
        finally:
            with self._lock:
                self._running.pop(threading.current_thread(), None)

    def stop_all(self, wait: float) -> None:
        """SIGTERM to every crawl started here (the web app is stopping); wait for their runs
        to be recorded, at most ``wait`` seconds each."""
        with self._lock:
            running = dict(self._running)
        for runner in running.values():
            runner.stop_all()
        for thread in running:
            thread.join(wait)

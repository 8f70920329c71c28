"""``govcrawl worker [--concurrency N]``: run the crawl jobs the scheduler defers.

The scheduler daemon defers jobs when GOVCRAWL_WORKERS=1 (crawler/jobs.py). Start any number of
workers, on any hosts that reach the database and have the profiles at the same paths; each
takes up to N jobs at once and crawls each in its own process, under the site's lock, with the
time limit GOVCRAWL_CRAWL_TIMEOUT. SIGTERM or Ctrl-C: no new job is taken, running crawls are
stopped (recorded ``interrupted``) and the worker leaves; a site's next run is taken up by the
next scheduled job. Exit codes: 0 when stopped by a signal, 2 when the database cannot be
reached or the metrics port is taken.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

logger = logging.getLogger("govcrawl.worker")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``worker [--concurrency N]`` to the ``govcrawl`` subcommands."""
    from crawler.cli import _count

    parser = subparsers.add_parser(
        "worker", help="run the crawl jobs the scheduler defers (GOVCRAWL_WORKERS=1)",
        description="Take crawl jobs from the queue in the database and run each in its own "
        "process. Any number of workers may run, on any hosts.",
    )  # fmt: skip
    parser.add_argument(
        "--concurrency", type=_count(1, 64), default=None, metavar="N",
        help="crawls at once (default: GOVCRAWL_WORKER_CONCURRENCY, 2)",
    )  # fmt: skip
    parser.set_defaults(func=cmd_worker)
    return parser


def cmd_worker(args: argparse.Namespace) -> int:
    from crawler import settings as defaults
    from crawler.daemon import SiteRunner
    from crawler.database import DatabaseError, open_database
    from crawler.jobs import make_app
    from crawler.metrics import start_metrics_server

    logging.basicConfig(level=logging.INFO, format=defaults.LOG_FORMAT)
    database_url = getattr(args, "database_url", None)
    try:
        engine = open_database(database_url or defaults.DATABASE_URL, defaults.GOVCRAWL_HOME)
    except DatabaseError as exc:
        print(f"govcrawl: {exc}", file=sys.stderr)
        return 2
    concurrency = args.concurrency or defaults.GOVCRAWL_WORKER_CONCURRENCY
    runner = SiteRunner(
        engine, defaults.GOVCRAWL_HOME, defaults.GOVCRAWL_CRAWL_TIMEOUT,
        defaults.GOVCRAWL_KILL_GRACE, database_url, warm=defaults.GOVCRAWL_WORKER_WARM,
    )  # fmt: skip
    server = None
    if defaults.GOVCRAWL_METRICS_PORT:
        try:
            server = start_metrics_server(
                engine, defaults.GOVCRAWL_METRICS_PORT, defaults.GOVCRAWL_METRICS_HOST,
                timeout=defaults.GOVCRAWL_METRICS_TIMEOUT,
            )  # fmt: skip
        except OSError as exc:
            print(f"govcrawl: metrics: cannot listen on {defaults.GOVCRAWL_METRICS_HOST}:"
                  f"{defaults.GOVCRAWL_METRICS_PORT}: {exc.strerror or exc}", file=sys.stderr)  # fmt: skip
            return 2
        logger.info("metrics on %s", server.url)
    app = make_app(engine.url.render_as_string(hide_password=False), name="govcrawl worker")
    try:
        asyncio.run(
            work(app, runner, concurrency, defaults.GOVCRAWL_WORKER_HEARTBEAT,
                 defaults.GOVCRAWL_WORKER_STALLED, server.metrics if server else None)
        )  # fmt: skip
    finally:
        runner.close()
        if server is not None:
            server.stop()
    logger.info("worker stopped")
    return 0


async def work(
    app: Any,
    runner: Any,
    concurrency: int,
    heartbeat: float,
    stalled_after: float,
    metrics: Any = None,
) -> None:
    """Run the procrastinate worker until SIGTERM or SIGINT, then stop the running crawls."""
    from crawler.jobs import QUEUE, worker_name

    loop = asyncio.get_running_loop()
    if metrics is not None:  # read at each scrape
        metrics.jobs_in_flight.set_function(runner.running)
    # the crawl task is synchronous (it waits for its crawl process): one thread per slot
    loop.set_default_executor(ThreadPoolExecutor(concurrency, thread_name_prefix="crawl"))
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                name=worker_name(),
                concurrency=concurrency,
                additional_context={"runner": runner},
                install_signal_handlers=False,
                update_heartbeat_interval=heartbeat,
                stalled_worker_timeout=stalled_after,
                delete_jobs="successful",  # the run record keeps what happened
            )
        )
        logger.info("worker %s: up to %d crawl(s) at once, heartbeat every %g s",
                    worker_name(), concurrency, heartbeat)  # fmt: skip
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({worker, stopping}, return_when="FIRST_COMPLETED")
        if stop.is_set():
            logger.info("signal: taking no new job; stopping %d running crawl(s)",
                        runner.running())  # fmt: skip
            runner.stop_all()
            worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        stopping.cancel()

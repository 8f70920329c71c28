"""``govcrawl schedule``: the scheduler daemon, the schedule, or a crawl of every site now.

govcrawl schedule                    # the daemon, in the foreground (Ctrl-C or SIGTERM stops it)
govcrawl schedule --list             # each site's schedule and next run time
govcrawl schedule --once             # crawl every site now, one after another
govcrawl schedule --once --site nync

``python scheduler.py`` (the entry point the design card names) takes the same options and runs
the same function, ``schedule``; only the name before its error lines differs. Exit codes: 0;
1 when a ``--once`` crawl failed or a profile was disabled (a degraded run did finish: 0); 2
when no profile can be used or the database cannot be reached. The knobs are settings
(``GOVCRAWL_CRAWL_TIMEOUT`` …, see crawler/settings.py), the daemon is crawler/daemon.py.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger("govcrawl.scheduler")

# heavy modules (APScheduler, the settings) are imported when the command runs: cli.py imports
# this module to build its parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``govcrawl schedule`` and of ``scheduler.py``."""
    parser.add_argument(
        "--list", action="store_true", help="print each site's schedule and next run time"
    )
    parser.add_argument(
        "--once", action="store_true", help="crawl now and exit (non-zero if a crawl failed)"
    )
    parser.add_argument(
        "--site", action="append", help="only this site (name or profile path); repeatable"
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``schedule [--list|--once] [--site S]`` to the ``govcrawl`` subcommands."""
    schedule_parser = subparsers.add_parser(
        "schedule", help="the scheduler daemon; --list its schedule, --once crawl every site now",
        description="Without options, run the scheduler daemon in the foreground: each site is "
        "crawled on its profile's [schedule], each crawl in its own process. Several daemons "
        "may share a database: one leads, the others take over when it dies.",
    )  # fmt: skip
    add_arguments(schedule_parser)
    schedule_parser.set_defaults(func=cmd_schedule)
    return schedule_parser


def cmd_schedule(args: argparse.Namespace) -> int:
    return schedule(
        list_only=args.list,
        once=args.once,
        sites=args.site or (),
        database_url=getattr(args, "database_url", None),
        prog="govcrawl",
    )


def _site_of(error: Any) -> str:
    """How a bad profile is named in listings: its file's stem (its name may be the mistake)."""
    return error.path.stem if error.path else "?"


def schedule(
    *,
    list_only: bool = False,
    once: bool = False,
    sites: Sequence[str] = (),
    database_url: str | None = None,
    prog: str = "govcrawl",
) -> int:
    """``--list``, ``--once`` or the daemon; the exit code. ``database_url`` overrides the
    DATABASE_URL setting; ``prog`` starts each error line."""
    from datetime import datetime

    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    from crawler import settings as defaults  # a knob out of range stops here: one line, exit 2
    from crawler.daemon import SiteRunner, serve, trigger_for
    from crawler.database import DatabaseError, open_database
    from crawler.extraction.text import CHINA_TZ
    from crawler.profiles import ProfileError, list_profiles
    from crawler.runs import FINISHED

    logging.basicConfig(level=logging.INFO, format=defaults.LOG_FORMAT)
    found = list_profiles(defaults.GOVCRAWL_PROFILES_DIR, only=sites)
    # a bad profile disables its own site, loudly; the other sites go on
    disabled = [(_site_of(error), str(error)) for error in found.errors]
    triggers: dict[str, CronTrigger | IntervalTrigger] = {}
    unscheduled: dict[str, str] = {}  # no [schedule]: crawled on demand (or by --once) only
    for profile in found.profiles:
        try:
            triggers[profile.name] = trigger_for(profile)
        except ProfileError as exc:
            unscheduled[profile.name] = str(exc)

    if list_only:
        now = datetime.now(CHINA_TZ)
        for name, trigger in triggers.items():
            jitter, trigger.jitter = trigger.jitter, None
            next_time = trigger.get_next_fire_time(None, now)
            spread = f" (± {jitter} s jitter)" if jitter else ""
            print(f"crawl:{name:<14} {trigger}  next: {next_time:%Y-%m-%d %H:%M %Z}{spread}")
        for name, reason in unscheduled.items():
            print(f"crawl:{name:<14} not scheduled: {reason}")
        for site, reason in disabled:
            print(f"crawl:{site:<14} disabled: {reason}")
        return 0

    if not found.profiles and disabled:  # nothing to run
        for _, reason in disabled:
            print(f"{prog}: {reason}", file=sys.stderr)
        return 2
    for _, reason in disabled:
        logger.error("site disabled: %s", reason)
    if once:
        profiles = list(found.profiles)
    else:
        profiles = [p for p in found.profiles if p.name in triggers]
        for name, reason in unscheduled.items():
            logger.warning("site %s not scheduled: %s", name, reason)

    try:
        engine = open_database(database_url or defaults.DATABASE_URL, defaults.GOVCRAWL_HOME)
    except DatabaseError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    timeout, kill_grace = defaults.GOVCRAWL_CRAWL_TIMEOUT, defaults.GOVCRAWL_KILL_GRACE

    if once:
        runner = SiteRunner(engine, defaults.GOVCRAWL_HOME, timeout, kill_grace, database_url)
        failed = [
            p.name
            for p in profiles
            if runner.run(p.name, str(p.path), trigger="once") not in FINISHED
        ]
        failed += [f"{site} (disabled)" for site, _ in disabled]
        if failed:
            print(f"{prog}: failed: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0

    return serve(
        engine,
        profiles,
        home=defaults.GOVCRAWL_HOME,
        timeout=timeout,
        kill_grace=kill_grace,
        max_sites=defaults.GOVCRAWL_MAX_SITES,
        misfire_grace=defaults.GOVCRAWL_MISFIRE_GRACE,
        health_seconds=defaults.GOVCRAWL_HEALTH_SECONDS,
        leader_poll=defaults.GOVCRAWL_LEADER_POLL,
        prune=not sites,
        disabled=[site for site, _ in disabled],
        database_url=database_url,
        metrics_port=defaults.GOVCRAWL_METRICS_PORT,
        metrics_host=defaults.GOVCRAWL_METRICS_HOST,
        metrics_timeout=defaults.GOVCRAWL_METRICS_TIMEOUT,
        workers=defaults.GOVCRAWL_WORKERS,
        stalled_after=defaults.GOVCRAWL_WORKER_STALLED,
    )

"""govcrawl scheduler: starts each site's crawl on its profile's schedule, in its own process.

    python scheduler.py                 # the daemon (foreground; Ctrl-C or SIGTERM stops it)
    python scheduler.py --list          # each site's schedule and next run time
    python scheduler.py --once          # crawl every site now, one after another; exit 1 if one failed
                                        # (degraded runs finished: exit 0)
    python scheduler.py --once --site nync

Environment: DATABASE_URL (job store, run records, per-site locks; default the embedded
server), GOVCRAWL_HOME (logs in GOVCRAWL_HOME/logs/<site>/), GOVCRAWL_CRAWL_TIMEOUT (s, 14400),
GOVCRAWL_KILL_GRACE (s, 30), GOVCRAWL_MAX_SITES (sites crawling at once, 2),
GOVCRAWL_MISFIRE_GRACE (s, 3600), GOVCRAWL_HEALTH_SECONDS (300). See crawler/daemon.py.

A bad profile disables its own site: one ERROR line names the file and the field, --list shows
the site as disabled with the reason, and the other sites are scheduled as usual (exit 2 only
when no profile can be used at all; --once exits 1 when a profile was disabled).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler import settings as defaults
from crawler.daemon import SiteRunner, serve, trigger_for
from crawler.database import DatabaseError, open_database
from crawler.extraction.text import CHINA_TZ
from crawler.profiles import ProfileError, list_profiles
from crawler.runs import FINISHED

__all__ = ["main", "trigger_for"]
logger = logging.getLogger("govcrawl.scheduler")


# name: (default, lowest, highest); a value outside is one line and exit 2, never a daemon
# that cannot start a thread or wakes up in a loop
ENVIRONMENT = {
    "GOVCRAWL_CRAWL_TIMEOUT": (4 * 3600, 1, 7 * 86400),
    "GOVCRAWL_KILL_GRACE": (30, 0, 3600),
    "GOVCRAWL_MAX_SITES": (2, 1, 64),
    "GOVCRAWL_MISFIRE_GRACE": (3600, 1, 7 * 86400),
    "GOVCRAWL_HEALTH_SECONDS": (300, 1, 86400),
}


def _env(name: str) -> float:
    default, low, high = ENVIRONMENT[name]
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be a number from {low} to {high}, got {raw!r}")
    return value


def _site_of(error: ProfileError) -> str:
    """How a bad profile is named in listings: its file's stem (its name may be the mistake)."""
    return error.path.stem if error.path else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--list", action="store_true", help="print each site's schedule and next run time"
    )
    parser.add_argument(
        "--once", action="store_true", help="crawl now and exit (non-zero if a crawl failed)"
    )
    parser.add_argument(
        "--site", action="append", help="only this site (name or profile path); repeatable"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s"
    )

    try:
        for name in ENVIRONMENT:
            _env(name)
    except ValueError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 2

    found = list_profiles(defaults.GOVCRAWL_PROFILES_DIR, only=args.site or ())
    # a bad profile disables its own site, loudly; the other sites go on
    disabled = [(_site_of(error), str(error)) for error in found.errors]
    triggers: dict[str, CronTrigger | IntervalTrigger] = {}
    unscheduled: dict[str, str] = {}  # no [schedule]: crawled on demand (or by --once) only
    for profile in found.profiles:
        try:
            triggers[profile.name] = trigger_for(profile)
        except ProfileError as exc:
            unscheduled[profile.name] = str(exc)

    if args.list:
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
            print(f"scheduler: {reason}", file=sys.stderr)
        return 2
    for _, reason in disabled:
        logger.error("site disabled: %s", reason)
    if args.once:
        profiles = list(found.profiles)
    else:
        profiles = [p for p in found.profiles if p.name in triggers]
        for name, reason in unscheduled.items():
            logger.warning("site %s not scheduled: %s", name, reason)

    try:
        engine = open_database(defaults.DATABASE_URL, defaults.GOVCRAWL_HOME)
    except DatabaseError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 2
    timeout, kill_grace = _env("GOVCRAWL_CRAWL_TIMEOUT"), _env("GOVCRAWL_KILL_GRACE")

    if args.once:
        runner = SiteRunner(engine, defaults.GOVCRAWL_HOME, timeout, kill_grace)
        failed = [
            p.name
            for p in profiles
            if runner.run(p.name, str(p.path), trigger="once") not in FINISHED
        ]
        failed += [f"{site} (disabled)" for site, _ in disabled]
        if failed:
            print(f"scheduler: failed: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0

    return serve(
        engine,
        profiles,
        home=defaults.GOVCRAWL_HOME,
        timeout=timeout,
        kill_grace=kill_grace,
        max_sites=int(_env("GOVCRAWL_MAX_SITES")),
        misfire_grace=int(_env("GOVCRAWL_MISFIRE_GRACE")),
        health_seconds=int(_env("GOVCRAWL_HEALTH_SECONDS")),
        prune=not args.site,
        disabled=[site for site, _ in disabled],
    )


if __name__ == "__main__":
    sys.exit(main())

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
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime

from crawler import settings as defaults
from crawler.daemon import SiteRunner, serve, trigger_for
from crawler.database import DatabaseError, open_database
from crawler.extraction.text import CHINA_TZ
from crawler.profiles import ProfileError, list_profiles, load_profile
from crawler.runs import FINISHED

__all__ = ["main", "trigger_for"]


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


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
        if args.site:
            profiles = [load_profile(s, defaults.GOVCRAWL_PROFILES_DIR) for s in args.site]
        else:
            profiles = list_profiles(defaults.GOVCRAWL_PROFILES_DIR)
        triggers = {p.name: trigger_for(p) for p in profiles} if not args.once else {}
    except ProfileError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 2

    if args.list:
        now = datetime.now(CHINA_TZ)
        for profile in profiles:
            trigger = triggers[profile.name]
            jitter, trigger.jitter = trigger.jitter, None
            next_time = trigger.get_next_fire_time(None, now)
            spread = f" (± {jitter} s jitter)" if jitter else ""
            print(
                f"crawl:{profile.name:<14} {trigger}  next: {next_time:%Y-%m-%d %H:%M %Z}{spread}"
            )
        return 0

    try:
        engine = open_database(defaults.DATABASE_URL, defaults.GOVCRAWL_HOME)
    except DatabaseError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 2
    timeout = _env("GOVCRAWL_CRAWL_TIMEOUT", 4 * 3600)
    kill_grace = _env("GOVCRAWL_KILL_GRACE", 30)

    if args.once:
        runner = SiteRunner(engine, defaults.GOVCRAWL_HOME, timeout, kill_grace)
        failed = [
            p.name
            for p in profiles
            if runner.run(p.name, str(p.path), trigger="once") not in FINISHED
        ]
        if failed:
            print(f"scheduler: failed: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0

    return serve(
        engine,
        profiles,
        home=defaults.GOVCRAWL_HOME,
        timeout=timeout,
        kill_grace=kill_grace,
        max_sites=int(_env("GOVCRAWL_MAX_SITES", 2)),
        misfire_grace=int(_env("GOVCRAWL_MISFIRE_GRACE", 3600)),
        health_seconds=int(_env("GOVCRAWL_HEALTH_SECONDS", 300)),
        prune=not args.site,
    )


if __name__ == "__main__":
    sys.exit(main())

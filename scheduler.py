"""govcrawl scheduler: starts each site's crawl on its profile's schedule, in its own process.

    python scheduler.py                 # the daemon (foreground; Ctrl-C or SIGTERM stops it)
    python scheduler.py --list          # each site's schedule and next run time
    python scheduler.py --once          # crawl every site now, one after another; exit 1 if one failed
                                        # (degraded runs finished: exit 0)
    python scheduler.py --once --site nync

The same command is `govcrawl schedule [--list|--once] [--site S]` (crawler/schedule_cmd.py);
both run one function.

Environment: DATABASE_URL (job store, run records, leader and per-site locks; default the
embedded server), GOVCRAWL_HOME (logs in GOVCRAWL_HOME/logs/<site>/), GOVCRAWL_CRAWL_TIMEOUT (s,
14400), GOVCRAWL_KILL_GRACE (s, 30), GOVCRAWL_MAX_SITES (sites crawling at once, 2),
GOVCRAWL_MISFIRE_GRACE (s, 3600), GOVCRAWL_HEALTH_SECONDS (300), GOVCRAWL_LEADER_POLL (s, 5).
They are read, and their ranges checked, in crawler/settings.py: a bad value is one line and
exit 2. See crawler/daemon.py.

Several daemons may share one database: one leads and schedules, the others wait and take over
within two GOVCRAWL_LEADER_POLL intervals when it dies or loses its connection.

A bad profile disables its own site: one ERROR line names the file and the field, --list shows
the site as disabled with the reason, and the other sites are scheduled as usual (exit 2 only
when no profile can be used at all; --once exits 1 when a profile was disabled).
"""

from __future__ import annotations

import argparse
import sys

from crawler.daemon import trigger_for
from crawler.schedule_cmd import add_arguments, schedule

__all__ = ["main", "trigger_for"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return schedule(list_only=args.list, once=args.once, sites=args.site or (), prog="scheduler")


if __name__ == "__main__":
    sys.exit(main())

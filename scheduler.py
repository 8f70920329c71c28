"""govcrawl scheduler: starts each site's crawl on its profile's schedule, in its own process.

    python scheduler.py                 # the daemon (foreground; Ctrl-C or SIGTERM stops it)
    python scheduler.py --list          # each job and its next run time
    python scheduler.py --once          # crawl every site now, one after another; exit 1 if one failed
    python scheduler.py --once --site nync

The scheduler owns timing only: a crawl is ``govcrawl crawl <profile>`` in a child process with a time limit, so a crash or a leak in one run cannot take the daemon down.
Jobs never overlap within this process (max_instances=1) and a missed run is coalesced
into one (misfire grace: GOVCRAWL_MISFIRE_GRACE seconds, default 3600).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler import settings as defaults
from crawler.extraction.text import CHINA_TZ
from crawler.profiles import ProfileError, SiteProfile, list_profiles, load_profile

ROOT = Path(__file__).resolve().parent
logger = logging.getLogger("govcrawl.scheduler")

CRAWL_TIMEOUT = float(os.environ.get("GOVCRAWL_CRAWL_TIMEOUT", 4 * 3600))
KILL_GRACE = float(os.environ.get("GOVCRAWL_KILL_GRACE", 30))
MISFIRE_GRACE = int(os.environ.get("GOVCRAWL_MISFIRE_GRACE", 3600))
HEALTH_SECONDS = int(os.environ.get("GOVCRAWL_HEALTH_SECONDS", 300))
CRON_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# crawls in progress, so that stopping the daemon stops them too
RUNNING: set[subprocess.Popen[bytes]] = set()


def trigger_for(profile: SiteProfile) -> CronTrigger | IntervalTrigger:
    schedule = profile.schedule
    jitter = schedule.jitter_seconds or None
    if schedule.cron:
        fields = schedule.cron.split()
        if len(fields) != 5:
            raise ProfileError(
                f"profile {profile.name!r}: cron needs 5 fields, got {schedule.cron!r}"
            )
        minute, hour, day, month, day_of_week = fields
        # crontab counts weekdays from Sunday = 0 (or 7); APScheduler 3 from Monday = 0
        day_of_week = re.sub(r"\d+", lambda m: CRON_DAYS[int(m.group()) % 7], day_of_week)
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
            jitter=jitter, timezone=CHINA_TZ,
        )  # fmt: skip
    if schedule.interval_minutes:
        return IntervalTrigger(minutes=schedule.interval_minutes, jitter=jitter, timezone=CHINA_TZ)
    raise ProfileError(f"profile {profile.name!r} has no [schedule] cron or interval_minutes")


def log_path(site: str) -> Path:
    folder = Path(defaults.GOVCRAWL_HOME) / "logs" / site
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{datetime.now(CHINA_TZ):%Y%m%d-%H%M%S}.log"


def run_crawl(site: str, profile_path: str, timeout: float = CRAWL_TIMEOUT) -> int:
    """One crawl of one site in a child process; returns its exit code (-9/-15 if killed)."""
    log_file = log_path(site)
    # `govcrawl crawl` exits 1 when the run record says failed, which `scrapy crawl` does not
    cmd = [sys.executable, "-m", "crawler.cli", "crawl", profile_path, "--log-file", str(log_file)]
    logger.info("crawl %s: starting, log %s", site, log_file)
    started = time.monotonic()
    child = subprocess.Popen(
        cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
    )
    RUNNING.add(child)
    try:
        code = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        logger.error("crawl %s: still running after %.0f s; stopping it", site, timeout)
        child.send_signal(signal.SIGTERM)
        try:
            code = child.wait(timeout=KILL_GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
    except BaseException:  # the scheduler is stopping: take the child down with it
        child.terminate()
        try:
            child.wait(timeout=KILL_GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
        raise
    finally:
        RUNNING.discard(child)
    level = logging.INFO if code == 0 else logging.ERROR
    logger.log(level, "crawl %s: exit code %s after %.1f s", site, code, time.monotonic() - started)
    return code


def build_scheduler(profiles: list[SiteProfile]) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        timezone=CHINA_TZ,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE},
    )
    for profile in profiles:
        scheduler.add_job(
            run_crawl,
            trigger_for(profile),
            args=[profile.name, str(profile.path)],
            id=f"crawl:{profile.name}",
            name=f"crawl {profile.name}",
            replace_existing=True,
        )

    def health() -> None:
        jobs = [j for j in scheduler.get_jobs() if j.id.startswith("crawl:")]
        upcoming = min(jobs, key=lambda j: j.next_run_time) if jobs else None
        logger.info(
            "alive: %d site jobs; next %s at %s", len(jobs),
            upcoming.id if upcoming else "-", upcoming.next_run_time if upcoming else "-",
        )  # fmt: skip

    scheduler.add_job(
        health, IntervalTrigger(seconds=HEALTH_SECONDS), id="health", name="health line"
    )
    return scheduler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--list", action="store_true", help="print each job and its next run time")
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
        if not args.once:
            for profile in profiles:
                trigger_for(profile)
    except ProfileError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 2

    if args.once:
        failed = [p.name for p in profiles if run_crawl(p.name, str(p.path)) != 0]
        if failed:
            print(f"scheduler: failed: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0

    if args.list:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = build_scheduler(profiles)
    if args.list:
        for job in scheduler.get_jobs():
            if job.id.startswith("crawl:"):
                next_time = job.trigger.get_next_fire_time(None, datetime.now(CHINA_TZ))
                jitter = f" (± {job.trigger.jitter} s jitter)" if job.trigger.jitter else ""
                print(f"{job.id:<20} {job.trigger}  next: {next_time:%Y-%m-%d %H:%M %Z}{jitter}")
        return 0

    def stop(signum: int, frame: object) -> None:
        logger.info(
            "signal %d: stopping the scheduler and %d running crawl(s)", signum, len(RUNNING)
        )
        for child in list(RUNNING):
            child.terminate()  # Scrapy closes the spider cleanly on SIGTERM
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    logger.info(
        "scheduler started with %d site(s): %s", len(profiles), ", ".join(p.name for p in profiles)
    )
    try:
        scheduler.start()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Crawl runs as jobs of the procrastinate queue: scheduler daemons defer, workers crawl.

Real processes (``govcrawl schedule`` with GOVCRAWL_WORKERS=1, ``govcrawl worker``), sample
portals over HTTP on 127.0.0.1, a real PostgreSQL. Workers and the leader are killed with
SIGKILL; the runs are then read back from ``crawl_runs`` and checked for overlaps, gaps and
completeness.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from crawler.jobs import QueueRunner, job_counts
from crawler.models import Article, ArticleVersion, CrawlRun
from sample_portal.generator import SamplePortal, generate_portal
from sample_portal.profile import write_profile
from sample_portal.server import SamplePortalServer
from tests.test_daemon import ROOT, daemon, stop
from tests.test_scheduler_ha import running
from tests.test_watches import free_port

HEARTBEAT, STALLED, POLL = 0.5, 3.0, 1.0
FAST = {  # the knobs of these workers and schedulers: seconds, not the production minutes
    "GOVCRAWL_WORKERS": "1",
    "GOVCRAWL_WORKER_HEARTBEAT": str(HEARTBEAT),
    "GOVCRAWL_WORKER_STALLED": str(STALLED),
    "GOVCRAWL_LEADER_POLL": str(POLL),
    "GOVCRAWL_KILL_GRACE": "5",
}
FINISHED = ("succeeded", "degraded")


def small_portal(seed: int) -> SamplePortal:
    return generate_portal(seed=seed, per_channel=(6, 4, 3), specials=False)


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[dict[str, tuple[SamplePortal, Path]]]:
    """Twelve small sample portals, each on its own port, each a profile crawled every 10 s;
    s00 is slow (one request at a time, 1 s apart: a no-change run takes seconds) so a worker
    can be killed mid-crawl."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    with ExitStack() as stack:
        found = {}
        for i in range(12):
            name = f"s{i:02d}"
            server = stack.enter_context(SamplePortalServer(small_portal(i)))
            profile = write_profile(server.portal, server.base_url, folder / f"{name}.toml", name)
            body = profile.read_text(encoding="utf-8").replace(
                "[schedule]\ninterval_minutes = 60", "[schedule]\ninterval_seconds = 10"
            )
            if i == 0:
                body = body.replace("concurrent_requests = 8", "concurrent_requests = 1")
                body = body.replace("download_delay = 0", "download_delay = 1")
            profile.write_text(body, encoding="utf-8")
            found[name] = (server.portal, profile)
        yield found


def worker(home: Path, database_url: str, name: str, **env: str) -> subprocess.Popen[str]:
    """``govcrawl worker`` as a process, its log in ``home/<name>.log``."""
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / f"{name}.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "worker", "--concurrency", "1"],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url,
                "GOVCRAWL_HOME": str(home),
                **FAST,
                **env,
            },  # fmt: skip
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    return int(stat.rsplit(")", 1)[1].split()[1])


def runs(db) -> list:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return conn.execute(
            select(CrawlRun.id, CrawlRun.site, CrawlRun.status, CrawlRun.started_at,
                   CrawlRun.finished_at, CrawlRun.finish_reason, CrawlRun.pid)
            .order_by(CrawlRun.id)
        ).all()  # fmt: skip


def wait_until(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_a_site_waiting_for_a_worker_is_not_queued_twice_and_a_worker_crawls_it(
    db, database_url, sample_profile, tmp_path
):
    QueueRunner(db, database_url).close()  # as a daemon that led before, in this process
    queue = QueueRunner(db, database_url)
    try:
        assert queue.run("sample", str(sample_profile)) == "deferred"
        assert queue.run("sample", str(sample_profile)) == "skipped"  # no worker yet
    finally:
        queue.close()
    with db.connect() as conn:  # the crawl queue, whichever app deferred it (a regression)
        assert conn.execute(text("SELECT queue_name FROM procrastinate_jobs")).scalar() == "crawls"
    (skipped,) = runs(db)
    assert skipped.status == "skipped"
    assert "still waiting for a worker (job " in skipped.finish_reason
    assert job_counts(db) == {"todo": 1}

    port = free_port()
    proc = worker(tmp_path / "home", database_url, "w1", GOVCRAWL_WORKER_WARM="0",  # cold
                  GOVCRAWL_METRICS_PORT=str(port))  # fmt: skip
    try:
        crawled = wait_until(
            lambda: [r for r in runs(db) if r.status in FINISHED], 120, "the worker's crawl"
        )
        wait_until(lambda: job_counts(db) == {}, 30, "the job done and deleted")
        # the worker's metrics: the run records, and its own crawls in flight (none now)
        scrape = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        series = scrape.decode()
        assert "govcrawl_up 1.0" in series and "govcrawl_jobs_in_flight 0.0" in series
        assert 'govcrawl_runs_total{site="sample",status="' in series
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    log = proc.log_path.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assert proc.returncode == 0, log
    assert [r.site for r in crawled] == ["sample"], log
    with db.connect() as conn:
        assert conn.execute(select(text("count(*)")).select_from(Article)).scalar() > 0


@pytest.mark.slow
def test_three_workers_crawl_twelve_sites_every_cycle_and_survive_a_killed_worker_and_leader(
    db, database_url, sites, tmp_path
):
    home = tmp_path / "home"
    env = {"GOVCRAWL_PROFILES_DIR": str(next(iter(sites.values()))[1].parent), **FAST}
    schedulers = [daemon(database_url=database_url, home=home / f"d{i}", **env) for i in (1, 2)]
    workers = [worker(home / f"w{i}", database_url, f"w{i}") for i in (1, 2, 3)]
    procs = [*schedulers, *workers]
    try:
        # every site crawled twice: the first crawl, then a no-change one
        wait_until(lambda: all(n >= 2 for n in finished_per_site(db, sites).values()), 150,
                   "two finished runs of every site")  # fmt: skip

        # a worker killed with SIGKILL in the middle of the slow site's crawl
        crawl = wait_until(lambda: fresh_run(db, "s00"), 60, "a crawl of s00 just started")
        victim = next(w for w in workers if w.pid == parent_of(parent_of(crawl.pid)))
        victim.send_signal(signal.SIGKILL)
        killed_at = datetime.now().astimezone()
        victim.wait(timeout=10)
        # its crawl died with it, and the run is closed within the leader's next polls
        wait_until(lambda: not running(crawl.pid), 10, "the killed worker's crawl to die")
        closed = wait_until(lambda: closed_run(db, crawl.id), 3 * POLL + 5, "the run closed")
        assert closed.status == "failed" and "died" in closed.finish_reason, closed
        # its job is failed once the worker's heartbeat is STALLED s old, and s00 runs again
        wait_until(lambda: failed_jobs(db) == 1, STALLED + 2 * POLL + 10, "the job failed")
        wait_until(lambda: finished_after(db, "s00", killed_at), 60, "s00 crawled again")

        # the leader killed: the other scheduler takes over and every site goes on
        leader = next(d for d in schedulers if "INFO: leader: " in log_of(d))
        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=10)
        leader_killed = datetime.now().astimezone()
        wait_until(lambda: all(finished_after(db, s, leader_killed) for s in sites), 60,
                   "every site crawled after the leader's death")  # fmt: skip
        ended = datetime.now().astimezone()
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop(proc)
    logs = "\n".join(log_of(p)[-3000:] for p in procs)

    every = runs(db)
    assert all(r.finished_at for r in every), logs  # no run left open
    by_site = defaultdict(list)
    for r in every:
        if r.status != "skipped":
            by_site[r.site].append(r)
    assert sorted(by_site) == sorted(sites)
    for site, site_runs in by_site.items():
        ordered = sorted(site_runs, key=lambda r: r.started_at)
        for earlier, later in zip(ordered, ordered[1:], strict=False):  # never two at once
            assert earlier.finished_at <= later.started_at, (site, earlier, later)
        # every cycle, after the first crawl: no gap between the starts of finished runs
        # longer than two intervals (a killed run's) plus the recovery's bounds
        done = [r.started_at for r in ordered if r.status in FINISHED]
        gaps = [b - a for a, b in zip(done, [*done[1:], ended], strict=False)]
        assert max(gaps) <= timedelta(seconds=2 * 10 + STALLED + 2 * POLL), (site, gaps, logs)
    with db.connect() as conn:
        stored = dict(conn.execute(text(
            "SELECT site, count(*) FROM articles GROUP BY site")).all())  # fmt: skip
        versions = conn.execute(select(text("count(*)")).select_from(ArticleVersion)).scalar()
    for site, (portal, _) in sites.items():  # complete, and nothing stored twice
        assert stored[site] == len(portal.ground_truth()["articles"]), site
    assert versions == 0  # unchanged portals: no run wrote an article twice


def log_of(proc: subprocess.Popen[str]) -> str:
    return proc.log_path.read_text(encoding="utf-8")  # type: ignore[attr-defined]


def finished_per_site(db, sites) -> dict[str, int]:  # type: ignore[no-untyped-def]
    counts = {site: 0 for site in sites}
    for r in runs(db):
        if r.status in FINISHED:
            counts[r.site] += 1
    return counts


def fresh_run(db, site: str):  # type: ignore[no-untyped-def]
    """A run of ``site`` that started less than a second ago: seconds of crawling ahead."""
    with db.connect() as conn:
        now = conn.execute(text("SELECT now()")).scalar()
    found = [r for r in runs(db) if r.site == site and r.status == "running" and r.pid
             and now - r.started_at < timedelta(seconds=1)]  # fmt: skip
    return found[-1] if found else None


def closed_run(db, run_id: int):  # type: ignore[no-untyped-def]
    found = [r for r in runs(db) if r.id == run_id and r.finished_at]
    return found[0] if found else None


def finished_after(db, site: str, moment: datetime) -> bool:  # type: ignore[no-untyped-def]
    return any(r.site == site and r.status in FINISHED and r.started_at > moment for r in runs(db))


def failed_jobs(db) -> int:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'")
        ).scalar()

"""Several scheduler daemons on one database: one leads, the others wait and take over.

Real daemon processes, the sample portal, a real PostgreSQL; the leader is killed with SIGKILL
or has its lock's connection cut with pg_terminate_backend.
"""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from crawler.models import CrawlRun
from tests.test_daemon import daemon, profile_with, stop, wait_for

POLL = 1.0  # GOVCRAWL_LEADER_POLL of these daemons
# a follower finds the lock free within one poll, and schedules one poll later; the rest is
# the killed connection's teardown and a busy machine's slack
SCHEDULING_BOUND = 2 * POLL + 2.0
LEADER_LOCK_ROW = (
    "locktype = 'advisory' AND classid = 7306 AND objid = 1 AND objsubid = 2 AND granted"
)


def start(home: Path, profile: Path, database_url: str) -> subprocess.Popen[str]:
    return daemon(
        "--site", str(profile), database_url=database_url, home=home,
        GOVCRAWL_LEADER_POLL=str(POLL), GOVCRAWL_KILL_GRACE="5",
    )  # fmt: skip


def log(proc: subprocess.Popen[str]) -> str:
    return proc.log_path.read_text(encoding="utf-8")  # type: ignore[attr-defined]


def wait_for_line(proc: subprocess.Popen[str], words: str, timeout: float = 60) -> str:
    """The first line of the daemon's log that contains ``words``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in log(proc).splitlines() if words in line]
        if found:
            return found[0]
        assert proc.poll() is None, f"the daemon exited:\n{log(proc)}"
        time.sleep(0.1)
    raise AssertionError(f"no {words!r} within {timeout} s:\n{log(proc)}")


def logged_at(line: str) -> datetime:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")


def who_leads(*procs: subprocess.Popen[str]) -> subprocess.Popen[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        leaders = [p for p in procs if "INFO: leader: " in log(p)]
        if leaders:
            time.sleep(3 * POLL)  # time for a second leader to show up, were there one
            assert [p for p in procs if "INFO: leader: " in log(p)] == leaders
            return leaders[0]
        time.sleep(0.1)
    raise AssertionError("no daemon became the leader:\n" + "\n".join(log(p) for p in procs))


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie nobody reaped yet is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def crawl_ranges(db) -> list:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return conn.execute(
            select(CrawlRun.id, CrawlRun.status, CrawlRun.started_at, CrawlRun.finished_at)
            .where(CrawlRun.status != "skipped")
            .order_by(CrawlRun.started_at)
        ).all()


def assert_no_overlap(db) -> None:  # type: ignore[no-untyped-def]
    runs = crawl_ranges(db)
    assert all(r.finished_at for r in runs), runs  # every run, the killed ones too, is closed
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier.finished_at <= later.started_at, (earlier, later)


def test_a_follower_leaves_the_job_store_alone_until_it_holds_the_leader_lock(
    db, database_url, sample_profile, tmp_path
):
    profile = profile_with(sample_profile, "interval_seconds = 1")
    # as another daemon's lock connection would; closing it ends the session and frees the lock
    holder = create_engine(database_url, poolclass=NullPool).connect()
    holder.execute(text("SET application_name = 'the test'"))
    assert holder.execute(text("SELECT pg_try_advisory_lock(7306, 1)")).scalar()
    holder.commit()
    proc = start(tmp_path, profile, database_url)
    try:
        line = wait_for_line(proc, "follower, waiting for ")
        assert "PostgreSQL session" in line and "(the test" in line, line
        time.sleep(3 * POLL)
        with db.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('apscheduler_jobs')")).scalar() is None
            assert conn.execute(text("SELECT count(*) FROM crawl_runs")).scalar() == 0
        holder.close()
        freed = datetime.now()
        took = logged_at(wait_for_line(proc, "INFO: leader: "))
        scheduling = logged_at(wait_for_line(proc, "scheduler started with 1 site(s): sample"))
        wait_for(db, "(SELECT count(*) FROM apscheduler_jobs WHERE id = 'crawl:sample') = 1")
    finally:
        holder.close()
        out = stop(proc)
    assert proc.returncode == 0, out
    assert (took - freed).total_seconds() <= POLL + 1, out
    assert (scheduling - freed).total_seconds() <= SCHEDULING_BOUND, out
    assert f"leader: {proc.pid}@" in out and "scheduler stopped" in out


def test_when_the_leader_is_killed_a_follower_takes_over_and_no_site_run_overlaps(
    db, database_url, sample_profile, tmp_path
):
    profile = profile_with(sample_profile, "interval_seconds = 1", slow=True)
    a = start(tmp_path / "a", profile, database_url)
    b = start(tmp_path / "b", profile, database_url)
    try:
        leader = who_leads(a, b)
        follower = b if leader is a else a
        line = wait_for_line(follower, "follower, waiting for ")
        assert f"waiting for {leader.pid}@" in line, line
        wait_for(db, "EXISTS (SELECT 1 FROM crawl_runs WHERE status = 'running')")
        with db.connect() as conn:
            killed_run, crawl_pid = conn.execute(
                text("SELECT id, pid FROM crawl_runs WHERE status = 'running'")
            ).one()
        leader.send_signal(signal.SIGKILL)
        killed = datetime.now()
        leader.wait(10)
        scheduling = logged_at(wait_for_line(follower, "scheduler started with 1 site(s)"))
        took = logged_at(wait_for_line(follower, "INFO: leader: "))
        wait_for(  # the site goes on being crawled, by the new leader
            db,
            f"EXISTS (SELECT 1 FROM crawl_runs WHERE id > {killed_run} AND "
            f"log_path LIKE '{follower.log_path.parent}/%' AND exit_code IS NOT NULL)",  # type: ignore[attr-defined]
            60,
        )
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                stop(proc)
    print(f"\ntakeover: lock taken after {(took - killed).total_seconds():.2f} s, "
          f"scheduling after {(scheduling - killed).total_seconds():.2f} s")  # fmt: skip
    assert (scheduling - killed).total_seconds() <= SCHEDULING_BOUND, log(follower)
    assert not running(crawl_pid)  # it died with its daemon, which held its site's lock
    with db.connect() as conn:
        status, reason = conn.execute(
            select(CrawlRun.status, CrawlRun.finish_reason).where(CrawlRun.id == killed_run)
        ).one()
    assert status == "failed" and reason.startswith(f"its crawl (process {crawl_pid} on host "), (
        status,
        reason,
    )
    assert_no_overlap(db)


def test_a_leader_whose_lock_connection_is_cut_stops_scheduling_and_waits(
    db, database_url, sample_profile, tmp_path
):
    profile = profile_with(sample_profile, "interval_seconds = 1", slow=True)
    a = start(tmp_path / "a", profile, database_url)
    b = start(tmp_path / "b", profile, database_url)
    leader, other = a, b  # until known
    try:
        leader = who_leads(a, b)
        other = b if leader is a else a
        wait_for(db, "EXISTS (SELECT 1 FROM crawl_runs WHERE status = 'running')")
        with db.connect() as conn:
            cut_run = conn.execute(text("SELECT id FROM crawl_runs WHERE status = 'running'"))
            cut_run = cut_run.scalar_one()
            assert conn.execute(
                text(f"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE {LEADER_LOCK_ROW}")
            ).scalar_one()
        lost = wait_for_line(leader, "ERROR: leader no more: ", 10)
        assert "the scheduler lock's connection failed" in lost, lost
        wait_for_line(other, "INFO: leader: ")
        waiting = wait_for_line(leader, "follower, waiting for ")
        assert logged_at(waiting) >= logged_at(lost) and f"for {other.pid}@" in waiting, waiting
        wait_for(
            db,
            f"EXISTS (SELECT 1 FROM crawl_runs WHERE id > {cut_run} AND "
            f"log_path LIKE '{other.log_path.parent}/%' AND exit_code IS NOT NULL)",  # type: ignore[attr-defined]
            60,
        )
    finally:  # the old leader first: were the new one stopped first, it would lead again
        outs = {proc.pid: stop(proc) for proc in (leader, other)}
    assert a.returncode == 0 and b.returncode == 0, outs
    after_loss = outs[leader.pid].split(lost, 1)[1]
    assert " starting, log " not in after_loss, after_loss  # no crawl started once it knew
    assert after_loss.count("INFO: leader: ") == 0, after_loss
    with db.connect() as conn:
        status = conn.execute(select(CrawlRun.status).where(CrawlRun.id == cut_run)).scalar_one()
    assert status == "interrupted"  # stopped as on SIGTERM, and recorded so
    assert_no_overlap(db)

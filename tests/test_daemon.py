"""The scheduler daemon with real processes, real time (short intervals) and a real PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.pool import NullPool

from crawler.models import CrawlRun

ROOT = Path(__file__).resolve().parent.parent


def daemon(*args: str, database_url: str, home: Path, **env: str) -> subprocess.Popen[str]:
    """The daemon as a process, its log in ``home/daemon.log`` (a pipe nobody reads would fill)."""
    home.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GOVCRAWL_HOME": str(home),
        "GOVCRAWL_HEALTH_SECONDS": "1",
        "GOVCRAWL_LEADER_POLL": "0.5",  # a lone daemon leads after one poll: keep it short
        **env,
    }
    log = open(home / "daemon.log", "w", encoding="utf-8")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "scheduler.py", *args],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    proc.log_path = home / "daemon.log"  # type: ignore[attr-defined]
    log.close()
    return proc


def stop(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=timeout)
    return proc.log_path.read_text(encoding="utf-8")  # type: ignore[attr-defined]


def wait_for(db, condition: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.connect() as conn:
            if conn.execute(text(f"SELECT {condition}")).scalar():
                return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {condition}")


def profile_with(profile: Path, schedule: str, slow: bool = False) -> Path:
    body = profile.read_text(encoding="utf-8").replace(
        "[schedule]\ninterval_minutes = 60", f"[schedule]\n{schedule}"
    )
    if slow:  # one request at a time, 50 ms apart: a crawl of a few seconds
        body = body.replace("concurrent_requests = 8", "concurrent_requests = 1").replace(
            "download_delay = 0", "download_delay = 0.05"
        )
    profile.write_text(body, encoding="utf-8")
    return profile


def test_a_job_fires_on_schedule_and_a_failing_site_does_not_stop_later_runs(
    db, database_url, sample_profile, tmp_path
):
    good = profile_with(sample_profile, "interval_seconds = 2")
    down = tmp_path / "down.toml"
    down.write_text(
        'name = "down"\nbase_url = "http://127.0.0.1:9"\nplatform = "querylist"\nsite_code = "x"\n'
        "[politeness]\ndownload_delay = 0\nautothrottle = false\n[schedule]\ninterval_seconds = 2\n"
        '[[channels]]\ncode = "a"\nunitid = "1"\n',
        encoding="utf-8",
    )
    proc = daemon(
        "--site", str(good), "--site", str(down), database_url=database_url, home=tmp_path
    )
    try:
        wait_for(
            db,
            "(SELECT count(*) FROM crawl_runs WHERE site = 'down' AND status = 'failed') >= 2",
            90,
        )
        wait_for(
            db,
            "(SELECT count(*) FROM crawl_runs WHERE site = 'sample' AND status IN ('succeeded', 'degraded')) >= 2",
            90,
        )
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
    assert "alive:" in out and "scheduler stopped" in out
    with db.connect() as conn:
        runs = conn.execute(
            select(CrawlRun.site, CrawlRun.trigger, CrawlRun.exit_code, CrawlRun.log_path).where(
                CrawlRun.status.in_(["succeeded", "degraded", "failed"])
            )
        ).all()
    assert all(r.trigger == "scheduler" and r.log_path and Path(r.log_path).exists() for r in runs)
    assert {r.exit_code for r in runs if r.site == "down"} == {1}


def test_a_restart_keeps_the_schedule(db, database_url, sample_profile, tmp_path):
    profile = profile_with(sample_profile, "interval_minutes = 60")
    first = daemon("--site", str(profile), database_url=database_url, home=tmp_path)
    try:
        wait_for(db, "to_regclass('apscheduler_jobs') IS NOT NULL")
        wait_for(db, "(SELECT count(*) FROM apscheduler_jobs) = 1")
    finally:
        stop(first)
    with db.connect() as conn:
        before = conn.execute(text("SELECT id, next_run_time FROM apscheduler_jobs")).one()
    time.sleep(1.5)
    second = daemon("--site", str(profile), database_url=database_url, home=tmp_path)
    try:
        time.sleep(3)
    finally:
        out = stop(second)
    with db.connect() as conn:
        after = conn.execute(text("SELECT id, next_run_time FROM apscheduler_jobs")).one()
    assert before == after, out  # not pushed back by the restart
    assert before.id == "crawl:sample"


def test_a_locked_site_is_skipped_and_its_next_run_closes_the_runs_dead_hosts_left_open(
    db, database_url, sample_profile, tmp_path
):
    profile = profile_with(sample_profile, "interval_seconds = 1")
    # the site's lock, as a crawl started by hand holds it; closing the connection frees it
    holder = create_engine(database_url, poolclass=NullPool).connect()
    assert holder.execute(text("SELECT pg_try_advisory_lock(7305, hashtext('sample'))")).scalar()
    holder.commit()
    with db.begin() as conn:  # left open by the daemon of a host that died
        for status in ("queued", "running"):
            conn.execute(insert(CrawlRun).values(site="sample", spider="portal", status=status,
                                                 hostname="gone-host", pid=4242))  # fmt: skip
    proc = daemon("--site", str(profile), database_url=database_url, home=tmp_path)
    try:
        wait_for(db, "(SELECT count(*) FROM crawl_runs WHERE status = 'skipped') >= 2", 60)
        holder.close()  # the lock goes with the session
        wait_for(db, "EXISTS (SELECT 1 FROM crawl_runs WHERE exit_code IS NOT NULL)", 90)
    finally:
        holder.close()
        out = stop(proc)
    assert proc.returncode == 0, out
    with db.connect() as conn:
        runs = conn.execute(select(CrawlRun).order_by(CrawlRun.id)).all()
    skipped = [r for r in runs if r.status == "skipped"]
    assert all(  # the holder named is the newest open run of the site (here a stale one)
        r.finish_reason.startswith("skipped: another crawl of this site is running: run ")
        and r.finished_at
        and r.trigger == "scheduler"
        for r in skipped
    ), [r.finish_reason for r in skipped]
    crawled = [r for r in runs if r.exit_code is not None]
    assert crawled and crawled[0].id > skipped[-1].id  # crawled only once the lock was free
    # the lock in hand, the runs the gone host left open were closed
    assert [(r.status, r.finish_reason) for r in runs[:2]] == [
        ("failed", "its scheduler or worker died before the crawl started"),
        ("failed", "its crawl (process 4242 on host gone-host) ended without a word: it died, "
                   "or the process running it did (killed, or its host lost)"),
    ]  # fmt: skip
    assert all(r.finished_at for r in runs[:2])


@pytest.fixture
def hanging_server():
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stopping.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stopping.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hung_crawl_is_killed_and_marked_timed_out(db, database_url, hanging_server, tmp_path):
    hung = tmp_path / "hung.toml"
    hung.write_text(
        f'name = "hung"\nbase_url = "{hanging_server}"\nplatform = "querylist"\nsite_code = "x"\n'
        '[politeness]\ndownload_delay = 0\nautothrottle = false\n[[channels]]\ncode = "a"\nunitid = "1"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "DATABASE_URL": database_url, "GOVCRAWL_HOME": str(tmp_path),
           "GOVCRAWL_CRAWL_TIMEOUT": "6", "GOVCRAWL_KILL_GRACE": "2"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "scheduler.py", "--once", "--site", str(hung)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    with db.connect() as conn:
        run = conn.execute(select(CrawlRun)).one()
    assert run.status == "timed-out" and run.exit_code is not None and run.finished_at
    assert "still running after 6 s" in result.stderr


def test_sigterm_mid_run_leaves_no_orphan_and_an_interrupted_record(
    db, database_url, sample_profile, tmp_path
):
    profile = profile_with(sample_profile, "interval_seconds = 1", slow=True)
    proc = daemon("--site", str(profile), database_url=database_url, home=tmp_path)
    try:
        wait_for(db, "EXISTS (SELECT 1 FROM crawl_runs WHERE status = 'running')", 60)
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
    with db.connect() as conn:
        runs = conn.execute(select(CrawlRun.status, CrawlRun.pid)).all()
    assert [r.status for r in runs] == ["interrupted"], out
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(runs[0].pid, 0)  # the crawl process is gone


def test_two_daemons_starting_together_both_keep_the_one_job(db, sample_profile, monkeypatch):
    # the race: both daemons look for the job before either has stored it
    from crawler.daemon import build_scheduler, reconcile_jobs
    from crawler.profiles import load_profile

    profile = load_profile(str(profile_with(sample_profile, "interval_seconds = 60")), None)
    first = build_scheduler(db, max_sites=1, misfire_grace=60)
    second = build_scheduler(db, max_sites=1, misfire_grace=60)
    first.start(paused=True)
    second.start(paused=True)
    try:
        reconcile_jobs(first, [profile], prune=True)
        monkeypatch.setattr(second, "get_job", lambda job_id, jobstore=None: None)
        reconcile_jobs(second, [profile], prune=True)  # used to raise ConflictingIdError
        monkeypatch.undo()
        assert [job.id for job in second.get_jobs(jobstore="default")] == ["crawl:sample"]
    finally:
        first.shutdown(wait=False)
        second.shutdown(wait=False)


def test_a_bad_profile_disables_its_site_alone_and_the_daemon_still_stops_promptly(
    db, database_url, sample_profile, tmp_path
):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    good = profile_with(sample_profile, "interval_seconds = 2").read_text(encoding="utf-8")
    (profiles / "sample.toml").write_text(good, encoding="utf-8")
    for stem, schedule in [("spin", "interval_minutes = -5"), ("never", 'cron = "99 * * * *"')]:
        body = good.replace('name = "sample"', f'name = "{stem}"').replace(
            "interval_seconds = 2", schedule
        )
        (profiles / f"{stem}.toml").write_text(body, encoding="utf-8")
    proc = daemon(
        database_url=database_url, home=tmp_path / "home", GOVCRAWL_PROFILES_DIR=str(profiles)
    )
    try:  # the good site's job fires and its crawl runs to an end
        wait_for(
            db,
            "(SELECT count(*) FROM crawl_runs WHERE site = 'sample' AND exit_code IS NOT NULL) >= 1",
            90,
        )
    finally:
        asked = time.monotonic()
        out = stop(proc)
    assert time.monotonic() - asked < 20, out
    assert proc.returncode == 0, out
    errors = [line for line in out.splitlines() if "ERROR: site disabled:" in line]
    assert len(errors) == 2, out
    assert any("spin.toml" in e and "interval_minutes" in e for e in errors), errors
    assert any("never.toml" in e and "cron" in e for e in errors), errors
    assert "disabled by a bad profile: never, spin" in out
    with db.connect() as conn:
        sites = set(conn.execute(select(CrawlRun.site)).scalars())
        jobs = set(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
    assert sites == {"sample"} and jobs == {"crawl:sample"}


def test_the_leader_serves_its_metrics(db, database_url, sample_profile, tmp_path):
    from urllib.request import urlopen

    from prometheus_client.parser import text_string_to_metric_families

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    profile = profile_with(sample_profile, "interval_minutes = 60")
    proc = daemon("--site", str(profile), database_url=database_url, home=tmp_path,
                  GOVCRAWL_METRICS_PORT=str(port))  # fmt: skip
    try:
        wait_for(db, "to_regclass('apscheduler_jobs') IS NOT NULL")
        deadline, values = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
                values = {
                    s.name: s.value
                    for family in text_string_to_metric_families(reply.read().decode())
                    for s in family.samples
                    if not s.labels
                }
            if values.get("govcrawl_scheduler_leader") == 1.0:
                break
            time.sleep(0.3)
    finally:
        out = stop(proc)
    assert values["govcrawl_scheduler_leader"] == 1.0, out
    assert values["govcrawl_up"] == 1.0 and values["govcrawl_jobs_in_flight"] == 0.0

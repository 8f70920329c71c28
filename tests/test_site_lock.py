"""One crawl of a site at a time, whoever starts it: `govcrawl crawl`, the scheduler, a demo."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
from sqlalchemy import func, insert, select

from crawler import cli
from crawler.daemon import SiteRunner
from crawler.locks import lock_holder, site_lock
from crawler.models import CrawlRun


@pytest.fixture(autouse=True)
def keep_sigpipe():
    before = signal.getsignal(signal.SIGPIPE)
    yield
    signal.signal(signal.SIGPIPE, before)


def running_run(db, site: str = "sample", pid: int = 4242, host: str = "crawler-2") -> int:
    with db.begin() as conn:
        return conn.execute(
            insert(CrawlRun)
            .values(site=site, spider="portal", status="running", pid=pid, hostname=host)
            .returning(CrawlRun.id)
        ).scalar_one()


def runs_of(db, site: str = "sample") -> int:
    with db.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(CrawlRun).where(CrawlRun.site == site)
        ).scalar_one()


def test_the_lock_is_held_by_one_session_at_a_time(db):
    with site_lock(db, "sample") as first:
        assert first
        with site_lock(db, "sample") as second, site_lock(db, "other") as other:
            assert not second and other
    with site_lock(db, "sample") as again:
        assert again


def test_the_holder_is_described_by_its_running_run(db):
    assert lock_holder(db, "sample") == "another process (its run is not recorded yet)"
    run_id = running_run(db)
    assert lock_holder(db, "sample") == f"run {run_id} (pid 4242 on host crawler-2)"


def test_crawl_of_a_busy_site_says_who_crawls_it_and_crawls_nothing(
    db, database_url, sample_server, sample_profile, capsys, tmp_path
):
    run_id = running_run(db)
    with site_lock(db, "sample"):
        code = cli.main(["--database-url", database_url, "crawl", str(sample_profile),
                         "-s", f"GOVCRAWL_HOME={tmp_path}"])  # fmt: skip
    assert code == cli.EXIT_SITE_BUSY == 4
    assert capsys.readouterr().err == (
        f"govcrawl: site sample is being crawled by run {run_id} (pid 4242 on host crawler-2); "
        "try again when it ends\n"
    )
    assert sample_server.requests == []
    assert runs_of(db) == 1 and not (tmp_path / "logs").exists()


def test_demo_of_a_busy_site_crawls_nothing(db, database_url, capsys, tmp_path):
    with site_lock(db, "sample"):
        code = cli.main(["--database-url", database_url, "demo", "-s", f"GOVCRAWL_HOME={tmp_path}"])
    assert code == cli.EXIT_SITE_BUSY
    assert "site sample is being crawled by another process" in capsys.readouterr().err
    assert runs_of(db) == 0


def test_the_scheduler_skips_a_site_a_cli_crawl_holds(db, sample_profile, tmp_path):
    run_id = running_run(db, pid=77, host="cli-host")
    runner = SiteRunner(db, tmp_path, timeout=30, kill_grace=1)
    with site_lock(db, "sample"):
        assert runner.run("sample", str(sample_profile)) == "skipped"
    with db.connect() as conn:
        reason = conn.execute(
            select(CrawlRun.finish_reason).where(CrawlRun.status == "skipped")
        ).scalar_one()
    assert f"run {run_id} (pid 77 on host cli-host)" in reason


def test_a_killed_crawl_leaves_its_site_unlocked(db, database_url):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from sqlalchemy import create_engine\n"
         "from crawler.locks import site_lock\n"
         "with site_lock(create_engine(sys.argv[1]), 'sample') as got:\n"
         "    print(got, flush=True); time.sleep(60)\n", database_url],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "True"
        with site_lock(db, "sample") as got:
            assert not got
    finally:
        holder.kill()
        holder.wait()
    for _ in range(50):  # the server notices the closed connection at once, or nearly
        with site_lock(db, "sample") as got:
            if got:
                break
    assert got


def test_the_scheduler_crawl_runs_under_the_lock_its_scheduler_holds(db, database_url, tmp_path):
    """The daemon's child `govcrawl crawl … -s GOVCRAWL_RUN_ID=N` does not wait on the lock the
    daemon holds for it; a made-up run id does not let a crawl past the lock."""
    with db.begin() as conn:
        queued = conn.execute(
            insert(CrawlRun)
            .values(site="sample", spider="portal", status="queued", hostname=socket.gethostname())
            .returning(CrawlRun.id)
        ).scalar_one()
    from scrapy.settings import Settings

    with site_lock(db, "sample"):
        with cli._crawl_lock(db, Settings({"GOVCRAWL_RUN_ID": str(queued)}), "sample") as got:
            assert got
        with cli._crawl_lock(db, Settings({"GOVCRAWL_RUN_ID": str(queued + 1)}), "sample") as got:
            assert not got

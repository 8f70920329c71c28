"""The govcrawl command, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((ROOT / "sample_portal" / "ground_truth.json").read_text(encoding="utf-8"))


def govcrawl(
    *args: str, database_url: str | None, home: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOVCRAWL_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_serves_the_sample_portal_and_crawls_it(db, database_url, tmp_path):
    result = govcrawl("demo", database_url=database_url, home=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    n = len(TRUTH["articles"])
    assert f"{n} new, 0 updated" in result.stdout
    assert f"{n} articles of site 'sample'" in result.stdout
    # the two broken channels, in words; and no progress when the output is not a terminal
    assert (
        "\n  alert: 2 errors (limit 0, setting SPIDERMON_MAX_ERRORS): channel gsgg replied with "
        "broken JSON, channel tzgg with an HTML page\n"
    ) in result.stdout
    assert "\x1b" not in result.stdout + result.stderr and "━" not in result.stderr


def test_demo_on_the_embedded_default_needs_no_server(tmp_path):
    result = govcrawl("demo", database_url=None, home=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        f"{len(TRUTH['articles'])} articles of site 'sample' in postgresql+psycopg2://"
        in result.stdout
    )
    assert (tmp_path / "pgdata" / "PG_VERSION").exists()


def test_unknown_site_is_one_clear_line(database_url, tmp_path):
    result = govcrawl("crawl", "nosuchsite", database_url=database_url, home=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.startswith("govcrawl: no profile 'nosuchsite'")
        and "Traceback" not in result.stderr
    )


def test_unknown_channel_is_one_clear_line(database_url, tmp_path):
    result = govcrawl(
        "crawl", "nync", "-c", "bcyb,nosuch", database_url=database_url, home=tmp_path
    )
    assert result.returncode == 2
    assert "has no channel 'nosuch'" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_database_is_one_clear_line_without_the_password(tmp_path):
    url = "postgresql://crawler:s3cret@127.0.0.1:9/nowhere"
    result = govcrawl("migrate", database_url=url, home=tmp_path)
    assert result.returncode == 2
    assert (
        "cannot connect to postgresql+psycopg2://crawler:***@127.0.0.1:9/nowhere" in result.stderr
    )
    assert "s3cret" not in result.stderr + result.stdout


def test_profiles_lists_the_shipped_sites(database_url, tmp_path):
    result = govcrawl("profiles", database_url=database_url, home=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("nync") and "bcyb(病虫预报)" in result.stdout


def test_crawl_with_no_database_stops_before_any_request(sample_server, sample_profile, tmp_path):
    result = govcrawl(
        "crawl", str(sample_profile), database_url="postgresql://u:pw@127.0.0.1:9/x", home=tmp_path
    )
    assert result.returncode == 2
    assert (
        result.stderr.startswith("govcrawl: cannot connect to") and "Traceback" not in result.stderr
    )
    assert sample_server.requests == []


def test_sql_runs_one_statement_on_the_database(db, database_url, tmp_path):
    result = govcrawl(
        "sql", "SELECT count(*) AS runs FROM crawl_runs", database_url=database_url, home=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["runs", "------", "0", "(1", "row)"]
    bad = govcrawl("sql", "SELECT nosuch FROM crawl_runs", database_url=database_url, home=tmp_path)
    assert bad.returncode != 0 and 'column "nosuch" does not exist' in bad.stderr


def test_first_commands_at_once_share_one_new_embedded_server(tmp_path):
    home = tmp_path / "fresh"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["GOVCRAWL_HOME"] = str(home)
    starts = [
        subprocess.Popen([sys.executable, "-m", "crawler.cli", "migrate"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    results = [(p.wait(timeout=180), *p.communicate()) for p in starts]
    for code, out, err in results:
        assert code == 0 and "is at the latest schema" in out, err[-2000:]
    assert not (home / "pgdata" / "postmaster.pid").exists()  # the last one out stopped it


def test_a_killed_process_does_not_leave_the_embedded_server_running(tmp_path):
    """The server of a SIGKILLed user is reused by the next command, which stops it."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["GOVCRAWL_HOME"] = str(home)
    user = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from crawler.database import open_database\n"
         "open_database(None, sys.argv[1]); print('up', flush=True); time.sleep(120)\n", str(home)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    postmaster = home / "pgdata" / "postmaster.pid"
    try:
        assert user.stdout.readline().strip() == "up"
        user.kill()
        user.wait()
        server_pid = int(postmaster.read_text().split()[0])
        os.kill(server_pid, 0)  # still running: nothing stopped it
        result = govcrawl("migrate", database_url=None, home=home)
        assert result.returncode == 0, result.stderr
        assert not postmaster.exists()  # the next command joined it, then stopped it
    finally:
        user.kill()
        if postmaster.exists():
            os.kill(int(postmaster.read_text().split()[0]), 15)


def test_logs_follow_stops_when_the_run_process_is_gone(db, database_url, tmp_path):
    import socket

    from sqlalchemy import insert

    from crawler.models import CrawlRun

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    log = tmp_path / "killed.log"
    log.write_text("INFO: crawl run started\n", encoding="utf-8")
    with db.begin() as conn:
        run_id = conn.execute(
            insert(CrawlRun)
            .values(site="sample", spider="portal", status="running", pid=gone.pid,
                    hostname=socket.gethostname(), log_path=str(log))
            .returning(CrawlRun.id)
        ).scalar_one()  # fmt: skip
    result = govcrawl("logs", str(run_id), "-f", database_url=database_url, home=tmp_path,
                      timeout=30)  # fmt: skip
    assert result.returncode == 1 and result.stdout == "INFO: crawl run started\n"
    assert result.stderr == (
        f"govcrawl: run {run_id} is still marked running, but its process {gone.pid} is gone "
        "(killed?); stopped following\n"
    )

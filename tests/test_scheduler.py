"""scheduler.py as a user runs it: real processes, a real database, the sample portal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.models import CrawlRun

ROOT = Path(__file__).resolve().parent.parent


def scheduler(
    *args: str, database_url: str, home: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "GOVCRAWL_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "scheduler.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_list_shows_every_site_with_its_next_run(database_url, tmp_path):
    result = scheduler("--list", database_url=database_url, home=tmp_path)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("crawl:nync "))
    assert (
        "hour='*/6'" in line
        and "minute='15'" in line
        and "next: 20" in line
        and "Asia/Shanghai" in line
    )


def test_once_crawls_now_writes_a_log_file_and_a_run_record(
    db, sample_profile, database_url, tmp_path
):
    result = scheduler(
        "--once", "--site", str(sample_profile), database_url=database_url, home=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    logs = list((tmp_path / "logs" / "sample").glob("*.log"))
    assert len(logs) == 1 and "Spider closed (finished)" in logs[0].read_text(encoding="utf-8")
    with db.connect() as conn:
        run = conn.execute(select(CrawlRun)).one()
    assert run.status == "degraded" and run.log_path == str(logs[0])  # the broken channels


def test_once_exits_non_zero_when_a_crawl_fails(db, database_url, tmp_path):
    broken = tmp_path / "down.toml"
    broken.write_text(
        'name = "down"\nbase_url = "http://127.0.0.1:9"\nplatform = "querylist"\nsite_code = "x"\n'
        '[politeness]\ndownload_delay = 0\nautothrottle = false\n[[channels]]\ncode = "a"\nunitid = "1"\n',
        encoding="utf-8",
    )
    result = scheduler("--once", "--site", str(broken), database_url=database_url, home=tmp_path)
    assert result.returncode == 1
    assert "failed: down" in result.stderr
    with db.connect() as conn:
        assert conn.execute(select(CrawlRun.status)).scalar_one() == "failed"


def test_a_bad_profile_is_one_clear_line(database_url, tmp_path):
    result = scheduler("--once", "--site", "nosuchsite", database_url=database_url, home=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.startswith("scheduler: no profile 'nosuchsite'")
        and "Traceback" not in result.stderr
    )


def test_crontab_weekdays_count_from_sunday():
    from crawler.profiles import load_profile
    from scheduler import trigger_for

    archive = load_profile("nync-archive", ROOT / "profiles")  # cron "40 3 * * 0": Sundays
    from datetime import datetime

    from crawler.extraction.text import CHINA_TZ

    archive_trigger = trigger_for(archive)
    archive_trigger.jitter = None
    fire = archive_trigger.get_next_fire_time(None, datetime(2026, 11, 24, tzinfo=CHINA_TZ))
    assert fire.strftime("%A %H:%M") == "Sunday 03:40"


def test_list_shows_each_bad_profile_as_disabled_and_the_good_ones_as_scheduled(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    good = (ROOT / "profiles" / "nync.toml").read_text(encoding="utf-8")
    (profiles / "nync.toml").write_text(good, encoding="utf-8")
    bad = {
        "spin": ('cron = "15 */6 * * *"', "interval_minutes = -5"),
        "minute": ('cron = "15 */6 * * *"', 'cron = "99 * * * *"'),
        "number": ('cron = "15 */6 * * *"', "cron = 5"),
        "weekday": ('cron = "15 */6 * * *"', 'cron = "0 0 * * 8"'),
        "path": ('name = "nync"', 'name = "../../x"'),
    }
    for stem, (old, new) in bad.items():
        text = good.replace(old, new).replace('name = "nync"', f'name = "{stem}"')
        (profiles / f"{stem}.toml").write_text(text, encoding="utf-8")
    env = {**os.environ, "GOVCRAWL_PROFILES_DIR": str(profiles), "GOVCRAWL_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "scheduler.py", "--list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("crawl:nync ") and "next: 20" in line for line in lines), lines
    for stem, field in [("spin", "interval_minutes"), ("minute", "cron"), ("number", "cron"),
                        ("weekday", "cron"), ("path", "name")]:  # fmt: skip
        line = next(line for line in lines if line.startswith(f"crawl:{stem} "))
        assert "disabled:" in line and f"{stem}.toml" in line and field in line, line
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("GOVCRAWL_MAX_SITES", "0"), ("GOVCRAWL_HEALTH_SECONDS", "-5"),
     ("GOVCRAWL_CRAWL_TIMEOUT", "inf"), ("GOVCRAWL_KILL_GRACE", "soon")],
)  # fmt: skip
def test_a_bad_environment_value_is_one_line_and_exit_2(monkeypatch, capsys, name, value):
    import scheduler as daemon_main

    monkeypatch.setenv(name, value)
    assert daemon_main.main(["--list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"scheduler: {name} must be a number") and err.count("\n") == 1

"""The scheduler as a user runs it, as `python scheduler.py` and as `govcrawl schedule`: real
processes, a real database, the sample portal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.models import CrawlRun

ROOT = Path(__file__).resolve().parent.parent

# the two command lines of the scheduler, and the name each puts before its error lines
COMMANDS = {
    "scheduler.py": ([sys.executable, "scheduler.py"], "scheduler"),
    "govcrawl schedule": ([sys.executable, "-m", "crawler.cli", "schedule"], "govcrawl"),
}


@pytest.fixture(params=list(COMMANDS))
def command(request: pytest.FixtureRequest) -> str:
    return request.param


def scheduler(
    *args: str,
    database_url: str | None,
    home: Path,
    timeout: float = 240,
    command: str = "scheduler.py",
    **env: str,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "GOVCRAWL_HOME": str(home), **env}
    full_env.pop("DATABASE_URL", None)
    if database_url:
        full_env["DATABASE_URL"] = database_url
    return subprocess.run(
        [*COMMANDS[command][0], *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_list_shows_every_site_with_its_next_run(database_url, tmp_path, command):
    result = scheduler("--list", database_url=database_url, home=tmp_path, command=command)
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


def test_once_exits_non_zero_when_a_crawl_fails(db, database_url, tmp_path, command):
    broken = tmp_path / "down.toml"
    broken.write_text(
        'name = "down"\nbase_url = "http://127.0.0.1:9"\nplatform = "querylist"\nsite_code = "x"\n'
        '[politeness]\ndownload_delay = 0\nautothrottle = false\n[[channels]]\ncode = "a"\nunitid = "1"\n',
        encoding="utf-8",
    )
    result = scheduler(
        "--once", "--site", str(broken), database_url=database_url, home=tmp_path, command=command
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"{COMMANDS[command][1]}: failed: down"
    with db.connect() as conn:
        assert conn.execute(select(CrawlRun.status)).scalar_one() == "failed"


def test_a_bad_profile_is_one_clear_line(database_url, tmp_path, command):
    result = scheduler(
        "--once", "--site", "nosuchsite", database_url=database_url, home=tmp_path, command=command
    )
    assert result.returncode == 2
    assert (
        result.stderr.startswith(f"{COMMANDS[command][1]}: no profile 'nosuchsite'")
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
    ("name", "value", "expected"),
    [("GOVCRAWL_MAX_SITES", "0", "a whole number from 1 to 64"),
     ("GOVCRAWL_HEALTH_SECONDS", "-5", "a number from 1 to 86400"),
     ("GOVCRAWL_CRAWL_TIMEOUT", "inf", "a number from 1 to 604800"),
     ("GOVCRAWL_KILL_GRACE", "soon", "a number from 0 to 3600"),
     ("GOVCRAWL_MISFIRE_GRACE", "nan", "a whole number from 1 to 604800"),
     ("GOVCRAWL_LEADER_POLL", "0", "a number from 0.1 to 600")],
)  # fmt: skip
def test_a_bad_environment_value_is_one_line_and_exit_2(tmp_path, command, name, value, expected):
    result = scheduler("--list", database_url=None, home=tmp_path, command=command, **{name: value})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"govcrawl: {name}={value!r} must be {expected}"]
    assert result.stdout == ""


def test_a_blank_environment_value_means_the_default(tmp_path, command):
    result = scheduler(
        "--list", database_url=None, home=tmp_path, command=command, GOVCRAWL_MAX_SITES=" "
    )
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("crawl:nync ") for line in result.stdout.splitlines())


def test_govcrawl_schedule_lists_what_scheduler_py_lists(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    good = (ROOT / "profiles" / "nync.toml").read_text(encoding="utf-8")
    (profiles / "nync.toml").write_text(good, encoding="utf-8")
    bad = good.replace('cron = "15 */6 * * *"', "interval_minutes = -5")
    (profiles / "spin.toml").write_text(bad.replace('name = "nync"', 'name = "spin"'), "utf-8")
    env = {"GOVCRAWL_PROFILES_DIR": str(profiles)}
    old = scheduler("--list", database_url=None, home=tmp_path, **env)
    new = scheduler("--list", database_url=None, home=tmp_path, command="govcrawl schedule", **env)
    assert (old.returncode, new.returncode) == (0, 0), new.stderr

    def unclocked(out: str) -> list[str]:  # the two runs may straddle a minute
        return [re.sub(r"next: [\d-]+ [\d:]+", "next: …", line) for line in out.splitlines()]

    assert unclocked(new.stdout) == unclocked(old.stdout)
    assert [line.split()[0] for line in new.stdout.splitlines()] == ["crawl:nync", "crawl:spin"]


def test_govcrawl_schedule_once_hands_its_database_url_to_the_crawls(
    db, database_url, sample_profile, tmp_path
):
    # no DATABASE_URL in the environment: only --database-url names the test database
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--database-url", database_url, "schedule",
         "--once", "--site", str(sample_profile)],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": "", "GOVCRAWL_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with db.connect() as conn:
        run = conn.execute(select(CrawlRun)).one()
    # the crawl itself reached that database: it recorded its process and its own end
    assert run.status == "degraded" and run.pid is not None and run.exit_code == 3, run
    assert not (tmp_path / "pgdata").exists()  # no embedded server was started instead

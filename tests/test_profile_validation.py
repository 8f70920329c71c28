"""Careless and hostile profiles: every field is type- and range-checked when a profile loads,
one line names the file and the field, and a bad profile disables its site alone."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

import pytest

from crawler.extraction.text import CHINA_TZ
from crawler.profiles import Incremental, ProfileError, list_profiles, load_profile
from crawler.runs import new_run_log, run_log_path

GOOD = """\
name = "site"
base_url = "https://x.cn"
platform = "querylist"
site_code = "s"

[querylist]
per_page = 15

[politeness]
download_delay = 1.0
concurrent_requests = 1
autothrottle = true

[schedule]
cron = "15 */6 * * *"
jitter_seconds = 300

[[channels]]
code = "bcyb"
name = "病虫预报"
unitid = "368486"
"""


def profile_text(**changes: str | None) -> str:
    """GOOD with the first ``key = …`` line of each key replaced (None: removed) or added."""
    lines, todo = [], dict(changes)
    for line in GOOD.splitlines():
        key = line.split("=")[0].strip()
        if key in todo:
            value = todo.pop(key)
            if value is not None:
                lines.append(f"{key} = {value}")
        else:
            lines.append(line)
    added = [f"{key} = {value}" for key, value in todo.items() if value is not None]
    return "\n".join(lines[:1] + added + lines[1:]) + "\n"


def write(folder: Path, text: str, stem: str = "site") -> Path:
    path = folder / f"{stem}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    return load_profile(str(write(tmp_path, text)), tmp_path)


def test_the_base_profile_of_these_tests_is_valid(tmp_path):
    profile = load_text(tmp_path, GOOD)
    assert profile.name == "site" and profile.schedule.cron == "15 */6 * * *"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        # the name is a file name (logs/<name>/) and crawl_runs.site: a plain identifier only
        ({"name": '"/some/dir"'}, "name"),
        ({"name": '"../../x"'}, "name"),
        ({"name": '"a b"'}, "name"),
        ({"name": '"Nync"'}, "name"),
        ({"name": '"' + "x" * 65 + '"'}, "name"),
        ({"name": "5"}, "name"),
        # schedule
        ({"cron": '"99 * * * *"'}, "schedule.cron"),
        ({"cron": "5"}, "schedule.cron"),
        ({"cron": '"0 0 * * 8"'}, "schedule.cron"),
        ({"cron": '"* * * *"'}, "schedule.cron"),
        ({"cron": '"0 0 31 2 *"'}, "schedule.cron"),  # never fires
        ({"cron": '"0 0 1 * 1"'}, "schedule.cron"),  # crontab: 1st OR Monday; APScheduler: AND
        ({"cron": '"0 0 last * *"'}, "schedule.cron"),  # APScheduler syntax, not crontab
        ({"cron": '"0 0 * * 5-2"'}, "schedule.cron"),
        ({"cron": '"*/0 * * * *"'}, "schedule.cron"),
        ({"cron": None, "jitter_seconds": "300\ninterval_minutes = -5"}, "interval_minutes"),
        ({"cron": None, "jitter_seconds": "300\ninterval_minutes = 0"}, "interval_minutes"),
        ({"cron": None, "jitter_seconds": "300\ninterval_minutes = 1.5"}, "interval_minutes"),
        ({"cron": None, "jitter_seconds": '300\ninterval_minutes = "60"'}, "interval_minutes"),
        ({"cron": None, "jitter_seconds": "300\ninterval_minutes = true"}, "interval_minutes"),
        (
            {"cron": None, "jitter_seconds": "300\ninterval_minutes = 99999999999"},
            "interval_minutes",
        ),
        ({"cron": None, "jitter_seconds": "300\ninterval_seconds = -1"}, "interval_seconds"),
        ({"jitter_seconds": "300\ninterval_minutes = 60"}, "schedule"),  # cron and an interval
        ({"jitter_seconds": "-1"}, "jitter_seconds"),
        ({"jitter_seconds": "1e9"}, "jitter_seconds"),
        # politeness
        ({"download_delay": "inf"}, "download_delay"),
        ({"download_delay": "nan"}, "download_delay"),
        ({"download_delay": '"fast"'}, "download_delay"),
        ({"download_delay": "-1"}, "download_delay"),
        ({"download_delay": "601"}, "download_delay"),
        ({"concurrent_requests": "0"}, "concurrent_requests"),
        ({"concurrent_requests": "65"}, "concurrent_requests"),
        ({"concurrent_requests": "1.5"}, "concurrent_requests"),
        ({"concurrent_requests": "true"}, "concurrent_requests"),
        ({"autothrottle": '"false"'}, "autothrottle"),  # bool("false") is True
        ({"autothrottle": "0"}, "autothrottle"),
        # listing pages
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "-15"}, "per_page"),
        ({"per_page": "201"}, "per_page"),
        ({"per_page": '"15"'}, "per_page"),
        ({"per_page": "nan"}, "per_page"),
        # strings and tables
        ({"title": "5"}, "title"),
        ({"site_code": "[1]"}, "site_code"),
        ({"code": "368486"}, "code"),
        ({"code": '"a,b"'}, "code"),
        ({"unitid": "368486"}, "unitid"),
        ({"base_url": '"https://x.cn:99999"'}, "base_url"),
    ],
)
def test_a_careless_field_is_one_error_naming_the_file_and_field(tmp_path, changes, field):
    text = profile_text(**changes)
    with pytest.raises(ProfileError) as info:
        load_text(tmp_path, text)
    message = str(info.value)
    assert "site.toml" in message and field in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ("[jcms]\nper_page = 0", "jcms.per_page"),
        ("[jcms]\nbatch = 0", "jcms.batch"),
        ("[jcms]\nbatch = 500", "jcms.batch"),
        ("[jcms]\nwebid = 1", "jcms.webid"),
        ("[incremental]\nmax_interval_days = 0.5", "max_interval_days"),
        ("[incremental]\nmax_interval_days = 4000", "max_interval_days"),
        ("[incremental]\nmax_interval_days = inf", "max_interval_days"),
        ('[incremental]\nmax_interval_days = "90"', "max_interval_days"),
        ("[incremental]\nrecheck_budget = -1", "recheck_budget"),
        ("[incremental]\nrecheck_budget = 10001", "recheck_budget"),
        ("[incremental]\nrecheck_budget = 1.5", "recheck_budget"),
        ("obey_robots = 1", "obey_robots"),
    ],
)
def test_careless_fields_of_the_other_tables(tmp_path, table, field):
    if table.startswith("obey_robots"):
        text = GOOD.replace("autothrottle = true", "autothrottle = true\n" + table)
    else:
        text = GOOD.replace("[[channels]]", table + "\n\n[[channels]]")
    if table.startswith("[jcms]"):
        text = text.replace('platform = "querylist"', 'platform = "jcms"').replace(
            'code = "bcyb"', 'code = "77926"'
        )
    with pytest.raises(ProfileError) as info:
        load_text(tmp_path, text)
    assert "site.toml" in str(info.value) and field in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        'name = "x"\nchannels = "bcyb"\n',
        'name = "x"\npoliteness = 5\n',
        'name = "x"\nschedule = "hourly"\n',
        'name = "x"\n[[channels]]\ncode = "a"\n[[schedule]]\ncron = "* * * * *"\n',
    ],
)
def test_a_table_of_the_wrong_shape_is_an_error_not_a_traceback(tmp_path, text):
    text = text.replace(
        'name = "x"\n',
        'name = "x"\nbase_url = "https://x.cn"\nplatform = "querylist"\nsite_code = "s"\n',
    )
    with pytest.raises(ProfileError, match="site.toml"):
        load_text(tmp_path, text)


def next_fires(cron: str, tmp_path: Path, n: int = 8) -> list[str]:
    profile = load_text(tmp_path, profile_text(cron=f'"{cron}"', jitter_seconds=None))
    trigger = profile.schedule.trigger()
    fire, days = datetime(2026, 11, 23, tzinfo=CHINA_TZ), []  # a Monday
    for _ in range(n):
        fire = trigger.get_next_fire_time(fire, fire)
        days.append(fire.strftime("%a"))
        fire = fire.replace(second=1)
    return days


@pytest.mark.parametrize(
    ("cron", "days"),
    [
        ("0 3 * * 0", {"Sun"}),
        ("0 3 * * 7", {"Sun"}),
        ("0 3 * * 1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
        ("0 3 * * 5-7", {"Fri", "Sat", "Sun"}),
        ("0 3 * * 0-2", {"Sun", "Mon", "Tue"}),
        ("0 3 * * */2", {"Sun", "Tue", "Thu", "Sat"}),  # crontab steps count from Sunday
        ("0 3 * * 1-7/3", {"Mon", "Thu", "Sun"}),
        ("0 3 * * sat,SUN", {"Sat", "Sun"}),
        ("0 3 * * mon-wed", {"Mon", "Tue", "Wed"}),
        ("0 3 * * *", {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}),
    ],
)
def test_cron_weekdays_follow_crontab(tmp_path, cron, days):
    assert set(next_fires(cron, tmp_path, 14)) == days


def test_a_name_is_up_to_64_lowercase_letters_digits_dashes_and_underscores(tmp_path):
    name = "nync-archive_2" + "x" * 50
    assert load_text(tmp_path, profile_text(name=f'"{name}"')).name == name


def test_an_interval_schedule_is_a_positive_whole_number(tmp_path):
    text = profile_text(cron=None, jitter_seconds="0\ninterval_seconds = 2")
    assert load_text(tmp_path, text).schedule.interval_seconds == 2


def test_incremental_defaults_and_values(tmp_path):
    assert load_text(tmp_path, GOOD).incremental == Incremental(
        max_interval_days=90, recheck_budget=30
    )
    text = GOOD.replace(
        "[[channels]]", "[incremental]\nmax_interval_days = 14\nrecheck_budget = 0\n\n[[channels]]"
    )
    incremental = load_text(tmp_path, text).incremental
    assert incremental.max_interval_days == 14.0 and isinstance(
        incremental.max_interval_days, float
    )
    assert incremental.recheck_budget == 0


def test_recheck_days_is_accepted_with_a_deprecation_warning(tmp_path, caplog):
    text = GOOD.replace("[[channels]]", "[incremental]\nrecheck_days = 7\n\n[[channels]]")
    with caplog.at_level(logging.WARNING, logger="govcrawl.profiles"):
        profile = load_text(tmp_path, text)
    assert not hasattr(profile, "recheck_days")
    assert any("recheck_days" in r.message and "site.toml" in r.message for r in caplog.records), (
        caplog.text
    )


def test_an_unknown_field_is_a_warning_naming_it(tmp_path, caplog):
    text = GOOD.replace("autothrottle = true", "autothrottle = true\ndownload_dealy = 3")
    with caplog.at_level(logging.WARNING, logger="govcrawl.profiles"):
        load_text(tmp_path, text)
    assert any("politeness.download_dealy" in r.message for r in caplog.records), caplog.text


def test_list_profiles_keeps_the_good_ones_and_names_the_bad(tmp_path):
    write(tmp_path, GOOD, "site")
    write(
        tmp_path,
        profile_text(name='"other"', cron=None, jitter_seconds="0\ninterval_minutes = -5"),
        "other",
    )
    write(tmp_path, 'name = "broken\n', "broken")
    found = list_profiles(tmp_path)
    assert [p.name for p in found] == ["site"] == [p.name for p in found.profiles]
    assert sorted(Path(e.path).name for e in found.errors) == ["broken.toml", "other.toml"]
    assert any("interval_minutes" in str(e) for e in found.errors)


def test_two_files_with_one_name_are_both_disabled(tmp_path):
    write(tmp_path, GOOD, "a")
    write(tmp_path, GOOD, "b")
    write(tmp_path, profile_text(name='"c"'), "c")
    found = list_profiles(tmp_path)
    assert [p.name for p in found] == ["c"]
    assert len(found.errors) == 2 and all("'site'" in str(e) for e in found.errors)


def test_a_log_path_never_leaves_the_logs_folder(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "precious.log").write_text("x")
    os.utime(foreign / "precious.log", (0, 0))  # old enough for any retention policy
    home = tmp_path / "home"
    for site in (str(foreign), "../foreign", "..", "a/b", "", "x" * 65):
        with pytest.raises(ValueError):
            new_run_log(home, site, keep_runs=1, keep_days=1)
        with pytest.raises(ValueError):
            run_log_path(home, site)
    assert (foreign / "precious.log").exists()
    assert not (home / "logs").exists() or not any((home / "logs").iterdir())
    assert run_log_path(home, "nync-archive").parent == home / "logs" / "nync-archive"

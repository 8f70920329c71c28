"""govcrawl runs / run / logs / sites / show against a database filled by a real crawl."""

from __future__ import annotations

import csv
import io
import json

from tests.test_cli import TRUTH, govcrawl


def crawl_with_log(sample_profile, database_url, tmp_path):
    log = tmp_path / "crawl.log"
    result = govcrawl(
        "crawl",
        str(sample_profile),
        "--log-file",
        str(log),
        database_url=database_url,
        home=tmp_path,
    )
    assert result.returncode == 3, result.stderr[-2000:]  # degraded: two broken channels
    return log


def test_runs_lists_the_run_with_its_counts(db, sample_profile, database_url, tmp_path):
    crawl_with_log(sample_profile, database_url, tmp_path)
    table = govcrawl("runs", database_url=database_url, home=tmp_path)
    assert table.returncode == 0
    header, row = table.stdout.splitlines()[:2]
    assert header.split()[:5] == ["id", "site", "status", "trigger", "started"]
    assert row.split()[:3] == ["1", "sample", "degraded"]
    runs = json.loads(
        govcrawl("runs", "--format", "json", database_url=database_url, home=tmp_path).stdout
    )
    assert (
        runs[0]["new"] == len(TRUTH["articles"])
        and runs[0]["pages"] == 20
        and runs[0]["status"] == "degraded"
        and runs[0]["alerts"] == 1
    )
    rows = list(
        csv.DictReader(
            io.StringIO(
                govcrawl("runs", "--format", "csv", database_url=database_url, home=tmp_path).stdout
            )
        )
    )
    assert rows[0]["site"] == "sample"


def test_run_shows_every_stat_and_issue(db, sample_profile, database_url, tmp_path):
    crawl_with_log(sample_profile, database_url, tmp_path)
    record = json.loads(
        govcrawl("run", "1", "--format", "json", database_url=database_url, home=tmp_path).stdout
    )[0]
    assert record["stats"]["govcrawl/items/new"] == len(TRUTH["articles"])
    assert sorted(i["kind"] for i in record["issues"]) == [
        "bad_listing",
        "bad_listing",
        "invalid",
        "invalid",
    ]
    table = govcrawl("run", "1", database_url=database_url, home=tmp_path).stdout
    assert "govcrawl/items/dropped/missing_title" in table and "missing published_at" in table


def test_logs_prints_the_run_log(db, sample_profile, database_url, tmp_path):
    log = crawl_with_log(sample_profile, database_url, tmp_path)
    result = govcrawl("logs", "1", "--follow", database_url=database_url, home=tmp_path)
    assert result.returncode == 0
    assert (
        result.stdout == log.read_text(encoding="utf-8")
        and "Spider closed (finished)" in result.stdout
    )


def test_sites_and_show(db, sample_profile, database_url, tmp_path):
    crawl_with_log(sample_profile, database_url, tmp_path)
    sites = json.loads(
        govcrawl("sites", "--format", "json", database_url=database_url, home=tmp_path).stdout
    )
    assert sites == [
        {**sites[0], "site": "sample", "articles": len(TRUTH["articles"]), "withdrawn": 0}
    ]
    assert sites[0]["last_success"] and sites[0]["newest"].startswith("2025-11-20")
    shown = json.loads(
        govcrawl("show", "2", "--format", "json", database_url=database_url, home=tmp_path).stdout
    )[0]
    by_url = json.loads(
        govcrawl(
            "show", shown["url"], "--format", "json", database_url=database_url, home=tmp_path
        ).stdout
    )[0]
    assert by_url["id"] == 2 and by_url["title"] == shown["title"]
    table = govcrawl("show", "2", database_url=database_url, home=tmp_path).stdout
    assert shown["title"] in table and shown["body_text"].splitlines()[0] in table


def test_bad_input_is_one_line_and_a_non_zero_exit(db, database_url, tmp_path):
    for args, message in [
        (("runs",), "no runs in this database yet"),
        (("sites",), "no articles in this database yet"),
        (("run", "42"), "no run 42"),
        (("show", "https://nowhere.example/x.html"), "no article"),
        (("logs", "7"), "no run 7"),
    ]:
        result = govcrawl(*args, database_url=database_url, home=tmp_path)
        assert result.returncode == 2, args
        assert message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    bad = govcrawl("run", "abc", database_url=database_url, home=tmp_path)
    assert bad.returncode == 2 and "invalid int value" in bad.stderr


def test_every_crawl_has_its_own_log_file(db, sample_profile, database_url, tmp_path):
    for _ in range(2):
        result = govcrawl("crawl", str(sample_profile), "-c", "bcyb",
                          database_url=database_url, home=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
    logs = sorted((tmp_path / "logs" / "sample").glob("*.log"))
    assert len(logs) == 2 and f"log: {logs[-1]}" in result.stderr
    second = govcrawl("logs", "2", database_url=database_url, home=tmp_path)
    assert second.stdout == logs[-1].read_text(encoding="utf-8")
    assert "crawl run 2 succeeded" in second.stdout
    logs[0].unlink()
    gone = govcrawl("logs", "1", database_url=database_url, home=tmp_path)
    assert gone.returncode == 2 and "retention policy" in gone.stderr


def test_log_retention_keeps_the_newest_and_drops_the_old(tmp_path):
    import os
    import time

    from crawler.runs import prune_logs

    now = time.time()
    for age_days in range(10):
        path = tmp_path / f"{age_days:02d}.log"
        path.write_text("x")
        os.utime(path, (now - age_days * 86400 - 60, now - age_days * 86400 - 60))
    deleted = prune_logs(tmp_path, keep_runs=5, keep_days=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00.log", "01.log", "02.log"]
    assert len(deleted) == 7
    assert prune_logs(tmp_path, keep_runs=0, keep_days=0) == []

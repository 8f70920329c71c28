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

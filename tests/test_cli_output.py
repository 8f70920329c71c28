"""What `govcrawl crawl` and `govcrawl demo` tell a person: live progress on a terminal (and
nothing of it when the output is piped), the run's summary, and alerts as sentences — and that
a page which is gone for good is reported once, not as an error on every run."""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import socket
import struct
import subprocess
import sys
import termios
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from scrapy.settings import Settings
from sqlalchemy import select

from crawler import cli
from crawler.models import Article, CrawlIssue, CrawlRun
from sample_portal.profile import write_profile
from tests.support import latest_stats

ROOT = Path(__file__).resolve().parent.parent
WORKING = "bcyb,fzjz,yjxx"  # the sample portal's channels that answer properly
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def environment(database_url: str, home: Path) -> dict[str, str]:
    return {**os.environ, "GOVCRAWL_HOME": str(home), "DATABASE_URL": database_url,
            "TERM": "xterm-256color", "COLUMNS": "150"}  # fmt: skip


def govcrawl(
    *args: str, database_url: str, home: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=ROOT,
        env=environment(database_url, home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def on_a_terminal(
    *args: str, database_url: str, home: Path, timeout: float = 240
) -> tuple[int, list[str], str]:
    """Run govcrawl with its stderr on a pseudo-terminal of 150 columns, as a person does: its
    exit code, every frame the terminal was sent (escape codes removed), and its stdout."""
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 150, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", *args], cwd=ROOT,
        env=environment(database_url, home), stdout=subprocess.PIPE, stderr=terminal, text=True,
    )  # fmt: skip
    os.close(terminal)
    sent = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        sent += chunk
    os.close(main)
    stdout = process.stdout.read() if process.stdout else ""
    code = process.wait(timeout=30)
    frames = [ESCAPE.sub("", frame) for frame in sent.decode("utf-8", "replace").split("\x1b[1A")]
    return code, frames, stdout


def last_line(frames: list[str], label: str) -> str:
    """The last drawing of a progress line."""
    lines = [line for frame in frames for line in re.split(r"[\r\n]+", frame)]
    return " ".join(next(line for line in reversed(lines) if line.startswith(label)).split())


def runs(db) -> list[CrawlRun]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return conn.execute(select(CrawlRun).order_by(CrawlRun.id)).all()


def summary(result: subprocess.CompletedProcess[str]) -> str:
    """The summary line of a `govcrawl crawl`."""
    return next(line for line in result.stdout.splitlines() if line.startswith("sample: run"))


# --- a page gone for good ----------------------------------------------------------------------
@pytest.mark.parametrize("in_listing", [True, False], ids=["body-in-listing", "body-on-page"])
@pytest.mark.parametrize("listed", [True, False], ids=["still-listed", "dropped-from-listing"])
def test_an_article_whose_page_is_gone_is_withdrawn_once_and_degrades_no_run(
    db, database_url, portal, sample_server, sample_profile, tmp_path, listed, in_listing
):
    # every page is due for a re-check on run 2: that is how a listed article's 404 is found
    sample_profile.write_text(
        sample_profile.read_text() + "\n[incremental]\nrecheck_budget = 1000\n", encoding="utf-8"
    )
    later = datetime.now(timezone.utc) + timedelta(days=100)

    def crawl(day: int | None = None) -> subprocess.CompletedProcess[str]:
        clock = ["-s", f"GOVCRAWL_NOW={(later + timedelta(days=day)).isoformat()}"] if day else []
        result = govcrawl("crawl", str(sample_profile), "-c", WORKING, "-s", "RETRY_TIMES=0",
                          *clock, database_url=database_url, home=tmp_path)  # fmt: skip
        assert result.returncode in (0, 3), result.stderr[-3000:]
        return result

    crawl()
    gone = next(
        a
        for a in portal.listing("bcyb")[3:]
        if a.in_json == in_listing and a.channels == ["bcyb"] and not a.drop_reason
    )
    if not listed:
        portal.channel("bcyb").records.remove(gone)
    gone.home = "gone"  # its page answers 404 from now on
    found, third, fourth = crawl(1), crawl(2), crawl(3)

    assert "1 withdrawn, 0 restored" in summary(found)
    for later_run in (third, fourth):
        assert "0 withdrawn, 0 restored" in summary(later_run)
        assert later_run.returncode == 0, summary(later_run)
    assert [r.status for r in runs(db)] == ["succeeded"] * 4
    with db.connect() as conn:
        withdrawn = conn.execute(
            select(Article.platform_id).where(Article.withdrawn_at.is_not(None))
        ).scalars()
        assert list(withdrawn) == [gone.id]
        failed = conn.execute(select(CrawlIssue.url).where(CrawlIssue.kind == "fetch_failed"))
        assert failed.all() == []


def test_a_listed_article_whose_page_never_existed_is_reported_gone_not_as_an_error(
    db, database_url, portal, sample_server, sample_profile, tmp_path
):
    gone = next(a for a in portal.listing("bcyb")[3:] if not a.in_json and not a.drop_reason)
    gone.home = "gone"  # listed, its body not in the listing, its page 404 from the start
    page = f"/content/content_{gone.id}.html"
    for _ in range(3):
        result = govcrawl("crawl", str(sample_profile), "-c", WORKING,
                          database_url=database_url, home=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert [r.status for r in runs(db)] == ["succeeded"] * 3
    with db.connect() as conn:
        issues = conn.execute(select(CrawlIssue.run_id, CrawlIssue.kind, CrawlIssue.reason)).all()
        stored = conn.execute(select(Article.id).where(Article.platform_id == gone.id)).all()
    assert stored == []
    kinds = {kind for _, kind, _ in issues if kind != "invalid"}
    assert kinds == {"gone"}, issues
    assert ("gone", "HTTP 404") in {(kind, reason) for _, kind, reason in issues}
    # reported once: the later runs do not ask its page again (until the report is 30 days old)
    assert [kind for _, kind, _ in issues].count("gone") == 1
    assert sum(r.path.endswith(page) for r in sample_server.requests) == 1


def test_many_pages_gone_before_they_were_stored_is_an_alert(
    db, database_url, portal, sample_server, sample_profile, tmp_path
):
    moved = [a for a in portal.listing("bcyb") if not a.in_json and not a.drop_reason]
    for article in moved:  # every page the listing does not carry answers 404: they moved
        article.home = "gone"
    result = govcrawl("crawl", str(sample_profile), "-c", "bcyb",
                      database_url=database_url, home=tmp_path)  # fmt: skip
    assert result.returncode == 3, result.stdout
    n = len(moved)
    assert alerts(db) == [
        f"{n} of {n} article pages fetched were gone (404) before govcrawl stored them (100.0%; "
        "limit 5.0%, setting GOVCRAWL_MAX_GONE_SHARE): have the portal's page addresses changed?"
    ]


def test_a_record_already_reported_invalid_does_not_degrade_the_runs_that_fetch_it_again(
    db, database_url, sample_server, sample_profile, tmp_path
):
    first = govcrawl("crawl", str(sample_profile), "-c", "bcyb",
                     database_url=database_url, home=tmp_path)  # fmt: skip
    assert first.returncode == 0 and "1 dropped as invalid" in summary(first), first.stdout
    # 31 days on, the channel is listed to its end again and its undated record fetched again
    month = (datetime.now(timezone.utc) + timedelta(days=31)).isoformat()
    again = govcrawl("crawl", str(sample_profile), "-c", "bcyb", "-s", f"GOVCRAWL_NOW={month}",
                     database_url=database_url, home=tmp_path)  # fmt: skip
    assert "1 dropped as invalid" in summary(again), again.stdout
    assert again.returncode == 0 and "alert" not in again.stdout, again.stdout
    assert [r.status for r in runs(db)] == ["succeeded", "succeeded"]


# --- progress on a terminal ------------------------------------------------------------------
def test_crawl_shows_live_progress_on_a_terminal_with_the_runs_real_counts(
    db, database_url, sample_server, sample_profile, tmp_path
):
    # a little slower than the sample portal can go, so that frames show the crawl under way
    code, frames, stdout = on_a_terminal(
        "crawl", str(sample_profile), "-s", "DOWNLOAD_DELAY=0.05",
        database_url=database_url, home=tmp_path,
    )  # fmt: skip
    assert code == 3, stdout  # degraded: the two broken channels
    stats = latest_stats(db)
    pages, new = stats["govcrawl/listing/pages"], stats["govcrawl/items/new"]
    announced = sum(v for k, v in stats.items() if k.startswith("govcrawl/listing/total/"))
    assert announced == 268  # bcyb, fzjz, yjxx (the broken channels never say)
    assert last_line(frames, "listing") == (
        f"listing {'━' * 20} 100% {pages} pages, {announced} of {announced} entries"
    )
    assert last_line(frames, "articles") == (
        f"articles 268 fetched: {new} new, 0 updated, 0 unchanged, 2 invalid, 1 in two channels"
    )
    assert last_line(frames, "failures") == "failures 2 bad listing replies"
    # while it ran: part of the listing done, and the time it would take for the rest
    under_way = [
        f for f in frames if re.search(r"\b[1-9][0-9]?% \d+ pages?, .* about 0:\d\d:\d\d left", f)
    ]
    assert under_way, frames[-5:]
    # the summary is on stdout, the progress never is; no Scrapy stats dump on the terminal
    assert stdout.startswith("\nsample: run 1 degraded (finished)") and "━" not in stdout
    assert "Dumping Scrapy stats" not in "".join(frames)


def test_demo_on_a_terminal_shows_progress_and_keeps_its_log_in_a_file(db, database_url, tmp_path):
    code, frames, stdout = on_a_terminal("demo", database_url=database_url, home=tmp_path)
    assert code == 0, stdout
    shown = "".join(frames)
    log = re.search(r"crawling sample; log: (\S+\.log)", shown)
    assert log and Path(log[1]).parent == tmp_path / "logs" / "sample"
    assert "[crawler.runs] INFO: crawl run 1 started" in Path(log[1]).read_text(encoding="utf-8")
    assert "[crawler.runs]" not in shown  # the log is in the file, not on the terminal
    assert last_line(frames, "failures") == "failures 2 bad listing replies"
    assert last_line(frames, "articles").startswith("articles 268 fetched: 265 new, 0 updated")
    assert "265 new, 0 updated" in stdout and "articles of site 'sample'" in stdout


def test_piped_output_has_no_progress(db, database_url, sample_server, sample_profile, tmp_path):
    result = govcrawl("crawl", str(sample_profile), "-c", "bcyb",
                      database_url=database_url, home=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.startswith("crawling sample; log: ") and result.stderr.count("\n") == 1
    assert "\x1b" not in result.stdout + result.stderr
    assert "GOVCRAWL_PROGRESS" not in str(latest_stats(db))


class Terminal:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("options", "settings", "shown"),
    [
        ({}, {}, True),
        ({"quiet": True}, {}, False),
        ({"log_file": Path("-")}, {}, False),  # the log goes to the terminal
        ({}, {"GOVCRAWL_RUN_ID": "12"}, False),  # the scheduler's crawl
        ({"quiet": True}, {"GOVCRAWL_PROGRESS": "1"}, True),  # -s decides when given
        ({}, {"GOVCRAWL_PROGRESS": "0"}, False),
    ],
)
def test_progress_is_shown_on_a_terminal_only_when_nothing_says_otherwise(options, settings, shown):
    crawl_settings = Settings({"GOVCRAWL_PROGRESS": False})
    crawl_settings.setdict(settings, priority="cmdline")
    args = argparse.Namespace(**options)
    assert cli.wants_progress(args, crawl_settings, Terminal(tty=True)) is shown
    piped = cli.wants_progress(args, crawl_settings, Terminal(tty=False))
    assert piped is (shown and "GOVCRAWL_PROGRESS" in settings)


# --- alerts are sentences -------------------------------------------------------------------
def alerts(db) -> list[str]:  # type: ignore[no-untyped-def]
    return runs(db)[-1].alerts


def test_the_error_alert_names_what_the_errors_were(
    db, database_url, sample_server, sample_profile, tmp_path
):
    result = govcrawl("crawl", str(sample_profile), database_url=database_url, home=tmp_path)
    sentence = (
        "2 errors (limit 0, setting SPIDERMON_MAX_ERRORS): channel gsgg replied with broken "
        "JSON, channel tzgg with an HTML page"
    )
    assert alerts(db) == [sentence]  # the run record keeps the same words
    assert result.returncode == 3 and f"\n  alert: {sentence}\n" in result.stdout


def test_an_alert_says_the_limit_and_the_setting_that_changes_it(
    db, database_url, sample_server, sample_profile, tmp_path
):
    sample_server.failing_pages.add(("bcyb", 2))
    result = govcrawl(
        "crawl", str(sample_profile), "-c", "bcyb", "-s", "RETRY_TIMES=0",
        "-s", "SPIDERMON_UNWANTED_HTTP_CODES_MAX_COUNT=0",
        database_url=database_url, home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 3, result.stdout
    assert alerts(db) == [
        "2 errors (limit 0, setting SPIDERMON_MAX_ERRORS): 1 request answered HTTP 500, "
        "1 request given up after RETRY_TIMES retries",
        "1 reply was HTTP 500 (limit 0, setting SPIDERMON_UNWANTED_HTTP_CODES_MAX_COUNT)",
    ]


def test_a_run_stopped_early_says_why(db, database_url, sample_server, sample_profile, tmp_path):
    result = govcrawl("crawl", str(sample_profile), "-c", "bcyb", "-s", "CLOSESPIDER_ITEMCOUNT=5",
                      database_url=database_url, home=tmp_path)  # fmt: skip
    assert result.returncode == 1, result.stdout
    assert alerts(db) == [
        'the run ended "closespider_itemcount" (CLOSESPIDER_ITEMCOUNT reached), not "finished" '
        "(setting SPIDERMON_EXPECTED_FINISH_REASONS)"
    ]


def test_requests_without_a_reply_are_named_by_what_happened(db, database_url, portal, tmp_path):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    profile = write_profile(portal, f"http://127.0.0.1:{port}", tmp_path / "sample.toml")
    govcrawl("crawl", str(profile), "-c", "bcyb", "-s", "RETRY_TIMES=0",
             "-s", "SPIDERMON_MAX_DOWNLOADER_EXCEPTIONS=0",
             database_url=database_url, home=tmp_path)  # fmt: skip
    assert sorted(alerts(db)) == [
        "2 requests got no reply (limit 0, setting SPIDERMON_MAX_DOWNLOADER_EXCEPTIONS): 2 refused",
        "4 errors (limit 0, setting SPIDERMON_MAX_ERRORS): 1 request refused, robots.txt could "
        "not be fetched, 2 requests given up after RETRY_TIMES retries",
    ]

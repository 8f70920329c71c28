"""The Prometheus endpoint: scraped over HTTP and parsed, compared with the run records.

Counts come from real crawls of the sample portal and from run rows inserted for the edge
cases; the alert rules and the scrape configuration go through promtool when it is installed
(Debian's ``prometheus`` package has it).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.engine import Engine

from crawler.metrics import (
    MetricsApp,
    MetricsServer,
    build_registry,
    follow_scheduler,
    schedule_interval,
    start_metrics_server,
)
from crawler.models import Article, CrawlRun
from crawler.profiles import Schedule, SiteProfile, load_profile
from tests.test_db_faults import proxied

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "docker" / "alerts.yml"
PROMETHEUS = ROOT / "docker" / "prometheus.yml"
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


# --- helpers -------------------------------------------------------------------------------------
def scrape(url: str, timeout: float = 20) -> dict[str, Metric]:
    """The endpoint's families by name; the reply must be a 200."""
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        assert reply.status == 200
        body = reply.read().decode("utf-8")
    return {family.name: family for family in text_string_to_metric_families(body)}


def series(families: dict[str, Metric], name: str) -> dict[tuple[str, ...], float]:
    """The samples called ``name``: label values → value; the site first, a bucket's bound
    last, the other labels by name between (the exposition itself sorts them)."""

    def order(label: str) -> tuple[int, str]:
        return ({"site": 0, "le": 2}.get(label, 1), label)

    return {
        tuple(sample.labels[k] for k in sorted(sample.labels, key=order)): sample.value
        for family in families.values()
        for sample in family.samples
        if sample.name == name
    }


def record(db: Engine, site: str, status: str, minute: int, **values: Any) -> int:
    """A run row of ``site`` started ``minute`` minutes after T0, finished 2 minutes later
    unless it is still queued or running."""
    started = T0 + timedelta(minutes=minute)
    finished = None if status in ("queued", "running") else started + timedelta(minutes=2)
    row = {"site": site, "spider": "portal", "status": status, "trigger": "scheduler",
           "started_at": started, "finished_at": finished, **values}  # fmt: skip
    with db.begin() as conn:
        return conn.execute(insert(CrawlRun).values(**row).returning(CrawlRun.id)).scalar_one()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SilentServer:
    """A TCP server that accepts connections and never says a word: a database that hangs."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def sample_site(sample_profile: Path) -> SiteProfile:
    return load_profile(str(sample_profile), sample_profile.parent)


@pytest.fixture
def endpoint(db: Engine, sample_site: SiteProfile) -> Iterator[MetricsServer]:
    with start_metrics_server(db, 0, profiles=[sample_site]) as server:
        yield server


# --- the run records -------------------------------------------------------------------------------
def test_a_scrape_after_real_crawls_matches_the_run_records(db, sample_profile, crawl, endpoint):
    results = [
        crawl(sample_profile, "channels=bcyb,fzjz"),  # the clean channels: succeeded
        crawl(sample_profile, "channels=gsgg", "mode=full"),  # broken JSON, nothing: failed
        *(crawl(sample_profile) for _ in range(3)),  # the broken channels too: degraded
    ]
    with db.connect() as conn:
        runs = conn.execute(select(CrawlRun).order_by(CrawlRun.id)).all()
        articles = conn.execute(select(Article.id)).all()
    assert [r.status for r in runs] == [
        "succeeded", "failed", "degraded", "degraded", "degraded"
    ], [r.stderr[-2000:] for r in results]  # fmt: skip

    families = scrape(endpoint.url)

    assert series(families, "govcrawl_up") == {(): 1.0}
    assert series(families, "govcrawl_runs_total") == {
        ("sample", "degraded", "cli"): 3.0,
        ("sample", "failed", "cli"): 1.0,
        ("sample", "succeeded", "cli"): 1.0,
    }
    assert series(families, "govcrawl_runs_in_progress") == {
        ("sample", "queued"): 0.0,
        ("sample", "running"): 0.0,
    }

    def total(key: str) -> float:
        return float(sum(r.stats.get(key, 0) for r in runs))

    items = series(families, "govcrawl_items_total")
    assert items == {
        ("sample", "new"): total("govcrawl/items/new"),
        ("sample", "updated"): total("govcrawl/items/updated"),
        ("sample", "withdrawn"): total("govcrawl/items/withdrawn"),
    }
    assert items["sample", "new"] == len(articles) == 265  # each article new exactly once
    errors = series(families, "govcrawl_errors_total")
    assert errors == {("sample",): total("log_count/ERROR")} and errors["sample",] >= 4
    assert series(families, "govcrawl_blocked_pages_total") == {("sample",): 0.0}

    last_ok = max(r.finished_at for r in runs if r.status in ("succeeded", "degraded"))
    last_success = series(families, "govcrawl_last_success_timestamp_seconds")
    assert last_success == {("sample",): pytest.approx(last_ok.timestamp(), abs=1e-6)}
    first_run = series(families, "govcrawl_first_run_timestamp_seconds")
    assert first_run == {("sample",): pytest.approx(runs[0].started_at.timestamp(), abs=1e-6)}
    assert series(families, "govcrawl_last_run_status") == {
        ("sample", status): float(status == "degraded")
        for status in ("succeeded", "degraded", "failed", "timed-out", "interrupted")
    }
    assert series(families, "govcrawl_degraded_streak") == {("sample",): 3.0}

    took = [(r.finished_at - r.started_at).total_seconds() for r in runs]
    assert series(families, "govcrawl_run_duration_seconds_count") == {("sample",): 5.0}
    assert series(families, "govcrawl_run_duration_seconds_sum")[("sample",)] == pytest.approx(
        sum(took), abs=1e-5
    )
    buckets = series(families, "govcrawl_run_duration_seconds_bucket")
    assert buckets["sample", "+Inf"] == 5.0
    assert buckets["sample", "60.0"] == sum(1 for t in took if t <= 60)
    assert series(families, "govcrawl_site_interval_seconds") == {("sample",): 3600.0}
    # the daemon's own gauges, before it leads
    assert series(families, "govcrawl_scheduler_leader") == {(): 0.0}
    assert series(families, "govcrawl_jobs_in_flight") == {(): 0.0}
    assert series(families, "govcrawl_queue_depth") == {(): 0.0}


def test_the_degraded_streak_counts_degraded_verdicts_since_the_last_other_one(db, endpoint):
    # a: succeeded, then degraded ×3 with a skipped run between and an interrupted one after
    # (neither counts nor breaks the streak), and one running now (not finished: not counted)
    for minute, status in enumerate(
        ["succeeded", "degraded", "skipped", "degraded", "degraded", "interrupted", "running"]
    ):
        record(db, "a", status, minute)
    for minute, status in enumerate(["degraded", "degraded"]):  # b: never anything else
        record(db, "b", status, minute)
    for minute, status in enumerate(["degraded", "degraded", "degraded", "failed"]):  # c
        record(db, "c", status, minute)
    record(db, "d", "skipped", 0)  # d: never crawled

    families = scrape(endpoint.url)
    assert series(families, "govcrawl_degraded_streak") == {
        ("a",): 3.0,
        ("b",): 2.0,
        ("c",): 0.0,
    }
    latest = {k: v for k, v in series(families, "govcrawl_last_run_status").items() if v}
    assert latest == {("a", "interrupted"): 1.0, ("b", "degraded"): 1.0, ("c", "failed"): 1.0}
    assert series(families, "govcrawl_runs_in_progress")["a", "running"] == 1.0
    assert ("a", "running", "scheduler") not in series(families, "govcrawl_runs_total")
    # the skipped runs have no duration: a has 5 crawls, d none
    assert series(families, "govcrawl_run_duration_seconds_count") == {
        ("a",): 5.0,
        ("b",): 2.0,
        ("c",): 4.0,
    }
    # degraded runs count as successes for the last success (they finished), skipped do not
    assert series(families, "govcrawl_last_success_timestamp_seconds") == {
        ("a",): (T0 + timedelta(minutes=6)).timestamp(),
        ("b",): (T0 + timedelta(minutes=3)).timestamp(),
        ("c",): (T0 + timedelta(minutes=4)).timestamp(),
    }

    record(db, "a", "succeeded", 10)  # one good run ends the streak
    assert series(scrape(endpoint.url), "govcrawl_degraded_streak")["a",] == 0.0


def test_counters_read_the_stats_of_finished_runs_and_survive_odd_values(db, endpoint):
    stats = {"govcrawl/items/new": 7, "govcrawl/issues/blocked": 2, "log_count/ERROR": 1}
    record(db, "s", "degraded", 0, stats=stats)
    record(db, "s", "succeeded", 1, stats={"govcrawl/items/new": 3, "govcrawl/items/updated": 4})
    # not numbers: left out, the scrape still answers
    record(db, "s", "failed", 2, stats={"govcrawl/items/new": "many", "log_count/ERROR": None})
    record(db, "s", "failed", 3, stats=[1, 2])  # not even an object
    record(db, "s", "running", 4, stats={"govcrawl/items/new": 1000})  # unfinished: not yet

    families = scrape(endpoint.url)
    assert series(families, "govcrawl_up") == {(): 1.0}
    assert series(families, "govcrawl_runs_total") == {
        ("s", "degraded", "scheduler"): 1.0,
        ("s", "failed", "scheduler"): 2.0,
        ("s", "succeeded", "scheduler"): 1.0,
    }
    assert series(families, "govcrawl_items_total") == {
        ("s", "new"): 10.0,
        ("s", "updated"): 4.0,
        ("s", "withdrawn"): 0.0,
    }
    assert series(families, "govcrawl_blocked_pages_total") == {("s",): 2.0}
    assert series(families, "govcrawl_errors_total") == {("s",): 1.0}
    assert series(families, "govcrawl_run_duration_seconds_bucket")["s", "120.0"] == 4.0
    assert series(families, "govcrawl_run_duration_seconds_bucket")["s", "60.0"] == 0.0


def test_label_values_are_escaped_for_a_hostile_site_name(db, endpoint):
    hostile = 'ev"il\\site\n} govcrawl_up 0\n# TYPE x counter,status="succeeded"'
    record(db, hostile, "degraded", 0)
    record(db, "網站", "succeeded", 1)

    with urllib.request.urlopen(endpoint.url, timeout=20) as reply:
        body = reply.read().decode("utf-8")
    assert not re.search(r"^govcrawl_up 0", body, re.M)
    assert not re.search(r"^# TYPE x", body, re.M)
    families = {f.name: f for f in text_string_to_metric_families(body)}
    assert series(families, "govcrawl_up") == {(): 1.0}
    assert series(families, "govcrawl_runs_total") == {
        (hostile, "degraded", "scheduler"): 1.0,
        ("網站", "succeeded", "scheduler"): 1.0,
    }
    assert series(families, "govcrawl_degraded_streak") == {(hostile,): 1.0, ("網站",): 0.0}


def test_each_scrape_is_three_statements_however_many_runs(db, endpoint):
    sites = [f"site{i:02d}" for i in range(20)]
    # the size of a real run's stats (about 120 keys)
    stats = {f"govcrawl/some/stat_{i}": i for i in range(120)} | {"govcrawl/items/new": 1}
    rows = [
        {
            "site": sites[i % 20],
            "spider": "portal",
            "trigger": "scheduler",
            "stats": stats,
            "status": ("succeeded", "degraded", "failed", "skipped")[i // 20 % 4],
            "started_at": T0 + timedelta(minutes=i),
            "finished_at": T0 + timedelta(minutes=i, seconds=90),
        }
        for i in range(5000)
    ]
    with db.begin() as conn:
        conn.execute(insert(CrawlRun), rows)
        conn.execute(text("ANALYZE crawl_runs"))
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        families = scrape(endpoint.url)
        took = time.perf_counter() - started
    finally:
        event.remove(db, "before_cursor_execute", count)
    # the statement timeout, the one aggregate pass, the streaks of the 20 sites (each run of a
    # site has the status after its previous one's: the newest is degraded, the one before not)
    assert len(statements) == 3, statements
    assert sum(series(families, "govcrawl_runs_total").values()) == 5000
    assert sum(series(families, "govcrawl_items_total").values()) == 5000
    assert set(series(families, "govcrawl_degraded_streak").values()) == {1.0}
    read = series(families, "govcrawl_metrics_read_seconds")[()]
    print(f"\nscrape of 5,000 runs of 20 sites: {took * 1000:.0f} ms ({read * 1000:.0f} ms read)")
    assert took < 5, took  # far above what it takes (see the README), far below a scrape timeout


# --- the database away -----------------------------------------------------------------------------
def test_a_scrape_with_the_database_refusing_answers_govcrawl_up_0(sample_site, caplog):
    engine = create_engine(f"postgresql+psycopg2://govcrawl:s3cretpw@127.0.0.1:{closed_port()}/x")
    caplog.set_level(logging.INFO, logger="govcrawl.metrics")
    with start_metrics_server(engine, 0, profiles=[sample_site], timeout=3) as server:
        server.metrics.set_in_flight(2)
        started = time.monotonic()
        families = scrape(server.url)
        assert time.monotonic() - started < 3
        scrape(server.url)
    assert series(families, "govcrawl_up") == {(): 0.0}
    assert "govcrawl_runs" not in families
    assert series(families, "govcrawl_jobs_in_flight") == {(): 2.0}
    assert series(families, "govcrawl_site_interval_seconds") == {("sample",): 3600.0}
    assert series(families, "process_resident_memory_bytes")[()] > 0  # the daemon's own
    lines = [r.getMessage() for r in caplog.records if r.name == "govcrawl.metrics"]
    assert len(lines) == 1, lines  # once, not once a scrape
    assert "cannot read the run records" in lines[0] and "OperationalError" in lines[0]
    assert "s3cretpw" not in lines[0] and "***" in lines[0]


def test_a_database_that_hangs_costs_a_scrape_the_timeout_once(sample_site):
    silent = SilentServer()
    engine = create_engine(f"postgresql+psycopg2://u@127.0.0.1:{silent.port}/x")
    try:
        with start_metrics_server(engine, 0, profiles=[sample_site], timeout=1.5) as server:
            started = time.monotonic()
            first = scrape(server.url)
            waited = time.monotonic() - started
            started = time.monotonic()
            second = scrape(server.url)  # the read still hangs: not waited for again
            again = time.monotonic() - started
    finally:
        silent.close()
    assert series(first, "govcrawl_up") == series(second, "govcrawl_up") == {(): 0.0}
    assert 1.4 <= waited < 4, waited
    assert again < 0.5, again
    assert len(silent.held) == 1  # one connection attempt, not one a scrape


def test_the_endpoint_recovers_when_the_database_comes_back(database_url, db, caplog):
    proxy, through = proxied(database_url)
    engine = create_engine(through, pool_pre_ping=True)
    record(db, "s", "succeeded", 0)
    caplog.set_level(logging.INFO, logger="govcrawl.metrics")
    try:
        with start_metrics_server(engine, 0, timeout=3) as server:
            assert series(scrape(server.url), "govcrawl_up") == {(): 1.0}
            proxy.cut(3)
            down = scrape(server.url)
            time.sleep(3.2)
            back = scrape(server.url)
    finally:
        proxy.close()
        engine.dispose()
    assert series(down, "govcrawl_up") == {(): 0.0}
    assert series(back, "govcrawl_up") == {(): 1.0}
    assert series(back, "govcrawl_runs_total") == {("s", "succeeded", "scheduler"): 1.0}
    lines = [r.getMessage() for r in caplog.records if r.name == "govcrawl.metrics"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("metrics: cannot read the run records in postgresql")
    assert lines[1].startswith("metrics: the run records in postgresql")
    assert lines[1].endswith("can be read again")


# --- in-process gauges -------------------------------------------------------------------------------
def test_jobs_in_flight_and_queue_depth_follow_a_real_scheduler(db):
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    release = {site: threading.Event() for site in ("a", "b", "c")}
    with start_metrics_server(db, 0) as server:

        def gauges() -> tuple[float, float, float]:
            families = scrape(server.url)
            return tuple(  # type: ignore[return-value]
                series(families, name)[()]
                for name in (
                    "govcrawl_scheduler_leader",
                    "govcrawl_jobs_in_flight",
                    "govcrawl_queue_depth",
                )
            )

        def wait_for(expected: tuple[float, float, float]) -> None:
            deadline = time.monotonic() + 10
            while (got := gauges()) != expected:
                assert time.monotonic() < deadline, got
                time.sleep(0.05)

        follow_scheduler(scheduler, server.metrics, slots=1)
        server.metrics.set_leader(True)
        scheduler.start()
        try:
            for site, gate in release.items():  # one slot: a runs, b and c wait
                scheduler.add_job(gate.wait, args=[30], id=f"crawl:{site}")
            scheduler.add_job(lambda: None, id="health")  # not a crawl: not counted
            wait_for((1.0, 1.0, 2.0))
            release["a"].set()
            wait_for((1.0, 1.0, 1.0))
            # the daemon stops leading: its scheduler shuts down with b running and c waiting
            scheduler.shutdown(wait=False)
            server.metrics.set_leader(False)
            assert gauges() == (0.0, 0.0, 0.0)
            release["b"].set()
            release["c"].set()
            time.sleep(0.2)  # b and c end after the shutdown: no count goes below zero
            assert gauges() == (0.0, 0.0, 0.0)
        finally:
            for gate in release.values():
                gate.set()
            if scheduler.running:
                scheduler.shutdown(wait=True)


# --- the ASGI app --------------------------------------------------------------------------------------
def test_the_asgi_app_serves_the_registry_without_blocking_other_requests(db, sample_site):
    silent = SilentServer()
    hanging = create_engine(f"postgresql+psycopg2://u@127.0.0.1:{silent.port}/x")
    record(db, "s", "degraded", 0)

    async def run() -> tuple[str, str, float, float]:
        app = FastAPI()
        app.add_route("/metrics", MetricsApp(build_registry(db, [sample_site])[0]))
        app.add_route("/slow/metrics", MetricsApp(build_registry(hanging, timeout=1.5)[0]))
        app.add_api_route("/ping", lambda: PlainTextResponse("pong"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            good = await client.get("/metrics")
            assert good.status_code == 200 and good.headers["content-type"].startswith("text/")
            started = time.monotonic()
            slow = asyncio.create_task(client.get("/slow/metrics"))
            await asyncio.sleep(0.2)
            ping = await client.get("/ping")
            pinged = time.monotonic() - started
            assert ping.text == "pong"
            down = await slow
            return good.text, down.text, pinged, time.monotonic() - started

    try:
        good, down, pinged, waited = asyncio.run(run())
    finally:
        silent.close()
    families = {f.name: f for f in text_string_to_metric_families(good)}
    assert series(families, "govcrawl_runs_total") == {("s", "degraded", "scheduler"): 1.0}
    assert series(families, "govcrawl_degraded_streak") == {("s",): 1.0}
    assert series(families, "govcrawl_site_interval_seconds") == {("sample",): 3600.0}
    down_families = {f.name: f for f in text_string_to_metric_families(down)}
    assert series(down_families, "govcrawl_up") == {(): 0.0}
    assert pinged < 1.0 <= waited, (pinged, waited)  # the ping did not wait for the database


# --- schedules -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("schedule", "seconds"),
    [
        (Schedule(interval_minutes=60), 3600),
        (Schedule(interval_seconds=90, jitter_seconds=5), 100),
        (Schedule(cron="15 */6 * * *", jitter_seconds=300), 6 * 3600 + 600),
        (Schedule(cron="40 3 * * sun", jitter_seconds=600), 7 * 86400 + 1200),
        (Schedule(cron="0 9 * * 1-5"), 3 * 86400),  # Friday to Monday
        (Schedule(cron="*/10 9-17 * * *"), 15 * 3600 + 600),  # 17:50 to 9:00
        # two gaps at least: of any two months in a row, one has 31 days
        (Schedule(cron="0 3 1 * *"), 31 * 86400),
        (Schedule(), None),  # on demand only
    ],
)
def test_the_site_interval_is_the_longest_gap_of_its_schedule(schedule, seconds):
    assert schedule_interval(schedule) == seconds


# --- the Prometheus files ---------------------------------------------------------------------------------
def test_the_alert_rules_use_only_metrics_the_endpoint_serves(db, endpoint):
    record(db, "s", "degraded", 0)
    served = {sample.name for f in scrape(endpoint.url).values() for sample in f.samples}
    rules = ALERTS.read_text(encoding="utf-8")
    used = set(re.findall(r"\bgovcrawl_[a-z_]+", rules))
    assert used and used <= served, used - served
    # the jobs the rules name are the jobs prometheus.yml scrapes
    jobs = {job for m in re.findall(r'job=~?"([^"]+)"', rules) for job in m.split("|")}
    scraped = set(re.findall(r"job_name:\s*(\S+)", PROMETHEUS.read_text(encoding="utf-8")))
    assert jobs == {"govcrawl-scheduler", "govcrawl-workers"} and jobs <= scraped
    names = re.findall(r"^\s*- alert:\s*(\w+)$", rules, re.M)
    assert {"GovcrawlSiteNotCrawled", "GovcrawlSiteDegraded", "GovcrawlSchedulerDown"} <= set(names)


PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus)"
)


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_promtool_accepts_the_scrape_configuration_and_the_rules(tmp_path):
    for path in (PROMETHEUS, ALERTS):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "govcrawl-web-token").write_text("x" * 32, encoding="utf-8")
    checked = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout


# Synthetic series, one sample a minute for 200 minutes, as two endpoints (the scheduler and
# the web app) report them: time() starts at 0, so a last success of 0 is that old.
SCHEDULER_DOWN = (
    '{summary: "govcrawl: no scheduler daemon has led for 5 minutes", description: "No crawl '
    "is started while no daemon leads. Check the daemons (`docker compose -f docker/compose.yaml "
    "ps`, `systemctl status govcrawl-scheduler`) and their logs: a follower says which daemon it "
    'waits for."}'
)
RULE_TESTS = """
rule_files:
  - {alerts}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # late: succeeded at 0, every hour; its alert fires 2 h + 5 min (for:) after
      - series: 'govcrawl_last_success_timestamp_seconds{{job="govcrawl-scheduler",site="late"}}'
        values: '0x200'
      - series: 'govcrawl_last_success_timestamp_seconds{{job="govcrawl-web",site="late"}}'
        values: '0x200'
      - series: 'govcrawl_site_interval_seconds{{job="govcrawl-scheduler",site="late"}}'
        values: '3600x200'
      - series: 'govcrawl_site_interval_seconds{{job="govcrawl-web",site="late"}}'
        values: '3600x200'
      # fresh: succeeds every minute
      - series: 'govcrawl_last_success_timestamp_seconds{{job="govcrawl-scheduler",site="fresh"}}'
        values: '0+60x200'
      - series: 'govcrawl_site_interval_seconds{{job="govcrawl-scheduler",site="fresh"}}'
        values: '3600x200'
      # never: its first run at 0 never succeeded
      - series: 'govcrawl_first_run_timestamp_seconds{{job="govcrawl-scheduler",site="never"}}'
        values: '0x200'
      - series: 'govcrawl_site_interval_seconds{{job="govcrawl-scheduler",site="never"}}'
        values: '3600x200'
      # gone: its profile was removed (no interval): not alerted
      - series: 'govcrawl_last_success_timestamp_seconds{{job="govcrawl-scheduler",site="gone"}}'
        values: '0x200'
      # streaks
      - series: 'govcrawl_degraded_streak{{job="govcrawl-scheduler",site="late"}}'
        values: '2x10 3x190'
      - series: 'govcrawl_degraded_streak{{job="govcrawl-web",site="late"}}'
        values: '2x10 3x190'
      - series: 'govcrawl_degraded_streak{{job="govcrawl-scheduler",site="fresh"}}'
        values: '2x200'
      # the compose daemon leads until 10 min, then dies (its series goes stale); the worker
      # never takes over
      - series: 'govcrawl_scheduler_leader{{job="govcrawl-scheduler",instance="scheduler:9464"}}'
        values: '1x10 stale'
      - series: 'up{{job="govcrawl-scheduler",instance="scheduler:9464"}}'
        values: '1x10 0x190'
      - series: 'govcrawl_scheduler_leader{{job="govcrawl-workers",instance="crawler-2:9464"}}'
        values: '0x200'
      - series: 'up{{job="govcrawl-workers",instance="crawler-2:9464"}}'
        values: '1x200'
      - series: 'govcrawl_up{{job="govcrawl-web",instance="web:8080"}}'
        values: '1x10 0x190'
    alert_rule_test:
      - eval_time: 115m
        alertname: GovcrawlSiteNotCrawled
        exp_alerts: []
      - eval_time: 130m
        alertname: GovcrawlSiteNotCrawled
        exp_alerts:
          - exp_labels: {{severity: warning, site: late}}
            exp_annotations:
              summary: "govcrawl: no successful run of late for 2h 10m 0s"
              description: "Site late has had no succeeded or degraded run for 2h 10m 0s, more than twice its schedule's interval. See `govcrawl runs --site late` and the scheduler's log."
          - exp_labels: {{severity: warning, site: never}}
            exp_annotations:
              summary: "govcrawl: no successful run of never for 2h 10m 0s"
              description: "Site never has had no succeeded or degraded run for 2h 10m 0s, more than twice its schedule's interval. See `govcrawl runs --site never` and the scheduler's log."
      - eval_time: 5m
        alertname: GovcrawlSiteDegraded
        exp_alerts: []
      - eval_time: 12m
        alertname: GovcrawlSiteDegraded
        exp_alerts:
          - exp_labels: {{severity: warning, site: late}}
            exp_annotations:
              summary: "govcrawl: late degraded 3 runs in a row"
              description: "The last 3 runs of late finished with alerts. See `govcrawl runs --site late` and the alerts of each run."
      - eval_time: 14m
        alertname: GovcrawlSchedulerDown
        exp_alerts: []
      - eval_time: 20m
        alertname: GovcrawlSchedulerDown
        exp_alerts:
          - exp_labels: {{severity: critical}}
            exp_annotations: {scheduler_down}
      - eval_time: 20m
        alertname: GovcrawlDaemonDown
        exp_alerts:
          - exp_labels: {{severity: warning, job: govcrawl-scheduler, instance: "scheduler:9464"}}
            exp_annotations:
              summary: "govcrawl: daemon scheduler:9464 has not answered for 5 minutes"
              description: "The metrics endpoint of the daemon on scheduler:9464 (govcrawl-scheduler) does not answer: the daemon is down or its host unreachable."
      - eval_time: 20m
        alertname: GovcrawlRunRecordsUnreadable
        exp_alerts:
          - exp_labels: {{severity: critical, job: govcrawl-web, instance: "web:8080"}}
            exp_annotations:
              summary: "govcrawl: web:8080 cannot read the run records"
              description: "The database behind govcrawl-web is unreachable or did not answer within the metrics read timeout; its log has one line with the reason."
  # a takeover: the worker leads a minute after the scheduler daemon died
  - interval: 1m
    input_series:
      - series: 'govcrawl_scheduler_leader{{job="govcrawl-scheduler",instance="scheduler:9464"}}'
        values: '1x10 stale'
      - series: 'govcrawl_scheduler_leader{{job="govcrawl-workers",instance="crawler-2:9464"}}'
        values: '0x11 1x50'
    alert_rule_test:
      - eval_time: 30m
        alertname: GovcrawlSchedulerDown
        exp_alerts: []
  # nothing answers at all: no leader either
  - interval: 1m
    input_series:
      - series: 'govcrawl_up{{job="govcrawl-web",instance="web:8080"}}'
        values: '1x30'
    alert_rule_test:
      - eval_time: 10m
        alertname: GovcrawlSchedulerDown
        exp_alerts:
          - exp_labels: {{severity: critical}}
            exp_annotations: {scheduler_down}
"""


@needs_promtool
def test_the_alert_rules_fire_when_they_should_and_only_then(tmp_path):
    tests = tmp_path / "alerts_test.yml"
    tests.write_text(
        RULE_TESTS.format(alerts=ALERTS, scheduler_down=SCHEDULER_DOWN), encoding="utf-8"
    )
    result = promtool("test", "rules", str(tests), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

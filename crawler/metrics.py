"""Prometheus metrics: what the run records say, read at each scrape, and what one daemon knows.

The run records (``crawl_runs``) are the one source of the crawl metrics: the collector reads
them when Prometheus scrapes, in one read-only snapshot of at most two aggregate statements, so
a restart of a daemon or of the web app loses no count, and every endpoint on one database
reports the same series (aggregate them with ``max by``, never ``sum``). What no record holds —
whether this daemon leads, its crawl jobs in flight, the jobs waiting for a free slot — are
gauges the daemon sets (:class:`Metrics`, :func:`follow_scheduler`).

A scrape never fails because of the database: when the records cannot be read within
``timeout`` seconds (down, refusing, hanging), the answer is ``govcrawl_up 0`` with the daemon's
gauges and the schedule intervals, and a read that hangs is never started twice.

    server = start_metrics_server(engine, 9464, profiles=profiles)   # http://127.0.0.1:9464/
    follow_scheduler(scheduler, server.metrics, slots=max_sites)
    app.add_route("/metrics", MetricsApp(build_registry(engine, profiles)[0]))   # ASGI
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Gauge, ProcessCollector, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString
from sqlalchemy import (
    BigInteger,
    Float,
    Text,
    and_,
    case,
    cast,
    column,
    func,
    literal,
    select,
    true,
    values,
)
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.engine import Engine

from crawler.database import redact, scrub
from crawler.extraction.text import CHINA_TZ
from crawler.models import CrawlRun
from crawler.profiles import Schedule, SiteProfile

logger = logging.getLogger("govcrawl.metrics")

# seconds a scrape waits for the run records before it answers govcrawl_up 0
DEFAULT_TIMEOUT = 5.0
# a run in one of these has no final stats yet: it is not counted, only shown in progress
IN_PROGRESS = ("queued", "running")
# runs that went to their end (the same definition as crawler.runs.FINISHED and `sites`)
SUCCESS = ("succeeded", "degraded")
# a "skipped" run crawled nothing (the site was busy): no duration, no last status, no streak
CRAWLED = ("succeeded", "degraded", "failed", "timed-out", "interrupted")
# what breaks a streak of degraded runs: a crawl that says something about the site's health
# (an interrupted run, stopped with the daemon, says nothing either way)
VERDICTS = ("succeeded", "degraded", "failed", "timed-out")
# run duration buckets, seconds: a sample-portal run takes about 1 s, a first crawl of a real
# portal hours, and GOVCRAWL_CRAWL_TIMEOUT is 4 h by default
DURATION_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800)
# the counters read from each run's Scrapy stats: (metric, label, stats key)
STATS = (
    ("items", "new", "govcrawl/items/new"),
    ("items", "updated", "govcrawl/items/updated"),
    ("items", "withdrawn", "govcrawl/items/withdrawn"),
    ("errors", "", "log_count/ERROR"),
    ("blocked", "", "govcrawl/issues/blocked"),
)

ProfileSource = Iterable[SiteProfile] | Callable[[], Iterable[SiteProfile]]


# --- schedules ---------------------------------------------------------------------------------
@lru_cache(maxsize=512)
def schedule_interval(schedule: Schedule) -> float | None:
    """The longest time, in seconds, between two scheduled starts of a site: an interval as
    given, a cron's longest gap over the next 8 days (weekly patterns included; at least two
    gaps, for monthly ones), plus twice the jitter. None for a site crawled on demand only."""
    jitter = 2 * schedule.jitter_seconds
    if schedule.interval_minutes or schedule.interval_seconds:
        return (schedule.interval_minutes or 0) * 60 + (schedule.interval_seconds or 0) + jitter
    trigger = schedule.trigger()
    if trigger is None:
        return None
    trigger.jitter = None
    first = previous = trigger.get_next_fire_time(None, datetime.now(CHINA_TZ))
    longest, gaps = 0.0, 0
    # 20,000 steps: a cron firing every minute, for 8 days and more (17 µs a step, cached)
    for _ in range(20_000):
        if previous is None or (gaps >= 2 and previous - first > timedelta(days=8)):
            break
        following = trigger.get_next_fire_time(previous, previous + timedelta(microseconds=1))
        if following is not None:
            longest = max(longest, (following - previous).total_seconds())
            gaps += 1
        previous = following
    return longest + jitter if gaps else None


def _profiles(source: ProfileSource) -> list[SiteProfile]:
    return list(source() if callable(source) else source)


# --- the run records -----------------------------------------------------------------------------
@dataclass
class SiteRuns:
    """What the run records of one site add up to."""

    runs: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, trigger) → runs
    in_progress: dict[str, int] = field(default_factory=lambda: dict.fromkeys(IN_PROGRESS, 0))
    counts: dict[tuple[str, str], float] = field(default_factory=dict)  # (metric, label) → sum
    buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))
    durations: int = 0
    duration_sum: float = 0.0
    last_success: float | None = None
    first_run: float | None = None
    last_crawl: tuple[int, str] | None = None  # (id, status) of the newest crawl
    last_verdict: tuple[int, str] | None = None  # (id, status) of the newest verdict
    newest_other: int = 0  # id of the newest verdict that was not "degraded"
    degraded_streak: int = 0

    def add(self, row: Any) -> None:
        """Fold in one group of the site's runs: one status, one trigger, one duration bucket."""
        if row.first_started is not None:
            first = float(row.first_started)
            self.first_run = first if self.first_run is None else min(self.first_run, first)
        if row.status in IN_PROGRESS:
            self.in_progress[row.status] += row.runs
            return
        key = (row.status, row.trigger)
        self.runs[key] = self.runs.get(key, 0) + row.runs
        for i, (metric, label, _) in enumerate(STATS):
            key = (metric, label)
            self.counts[key] = self.counts.get(key, 0.0) + float(getattr(row, f"stat_{i}"))
        if row.status in SUCCESS and row.last_finished is not None:
            self.last_success = max(self.last_success or 0.0, float(row.last_finished))
        newest = (row.newest, row.status)
        if row.status in CRAWLED:
            if row.bounds_above is not None:  # a run that has a duration
                self.durations += row.runs
                self.duration_sum += float(row.duration_sum)
                # its `le` buckets are the top ``bounds_above`` ones
                last = len(DURATION_BUCKETS)
                for i in range(last - row.bounds_above, last):
                    self.buckets[i] += row.runs
            self.last_crawl = max(self.last_crawl or newest, newest)
        if row.status in VERDICTS:
            self.last_verdict = max(self.last_verdict or newest, newest)
            if row.status != "degraded":
                self.newest_other = max(self.newest_other, row.newest)


def _totals_statement() -> Any:
    """One pass over the run records, grouped by site, status, trigger and duration bucket.

    Each run's stats are decompressed once (``jsonb_to_record``), not once a key: on 100,000
    runs that is a quarter of the time."""
    duration = func.date_part("epoch", CrawlRun.finished_at - CrawlRun.started_at)
    # how many bucket bounds are >= the duration (width_bucket counts thresholds <= its operand,
    # so negate both): a run's `le` buckets are the top ones, however many that is
    descending = array([-float(b) for b in reversed(DURATION_BUCKETS)], type_=Float)
    bounds_above = func.width_bucket(-duration, descending)
    as_object = case(
        (func.jsonb_typeof(CrawlRun.stats) == "object", CrawlRun.stats),
        else_=cast(literal("{}"), JSONB),
    )
    stats = (
        func.jsonb_to_record(as_object)
        .table_valued(*(column(key, JSONB) for _, _, key in STATS), name="run_stats")
        .render_derived(with_types=True)
    )

    def total(value: Any) -> Any:  # a number, or nothing (never an error)
        number = case((func.jsonb_typeof(value) == "number", cast(cast(value, Text), Float)))
        return func.coalesce(func.sum(number), 0)

    return (
        select(
            CrawlRun.site,
            CrawlRun.status,
            CrawlRun.trigger,
            bounds_above.label("bounds_above"),
            func.count().label("runs"),
            func.max(CrawlRun.id).label("newest"),
            func.extract("epoch", func.min(CrawlRun.started_at)).label("first_started"),
            func.extract("epoch", func.max(CrawlRun.finished_at)).label("last_finished"),
            func.coalesce(func.sum(duration), 0).label("duration_sum"),
            *(total(stats.c[key]).label(f"stat_{i}") for i, (_, _, key) in enumerate(STATS)),
        )
        .select_from(CrawlRun)
        .join(stats, true())
        .group_by(CrawlRun.site, CrawlRun.status, CrawlRun.trigger, bounds_above)
    )


def _streaks_statement(after: dict[str, int]) -> Any:
    """The degraded runs of each site newer than the run id given for it."""
    bounds = values(column("site", Text), column("after", BigInteger), name="after_verdict").data(
        list(after.items())
    )
    return (
        select(CrawlRun.site, func.count())
        .join(bounds, and_(CrawlRun.site == bounds.c.site, CrawlRun.id > bounds.c.after))
        .where(CrawlRun.status == "degraded")
        .group_by(CrawlRun.site)
    )


def read_runs(engine: Engine, timeout: float = DEFAULT_TIMEOUT) -> dict[str, SiteRuns]:
    """Every site's totals, from one read-only snapshot of ``crawl_runs``: one aggregate pass,
    then one statement over the degraded runs of the sites whose newest verdict is degraded
    (the ones newer than the site's newest other verdict: its streak)."""
    sites: dict[str, SiteRuns] = {}
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            milliseconds = str(int(timeout * 1000))
            conn.execute(select(func.set_config("statement_timeout", milliseconds, True)))
            for row in conn.execute(_totals_statement()):
                sites.setdefault(row.site, SiteRuns()).add(row)
            streaking = {
                name: site.newest_other
                for name, site in sites.items()
                if site.last_verdict is not None and site.last_verdict[1] == "degraded"
            }
            if streaking:
                for name, streak in conn.execute(_streaks_statement(streaking)):
                    sites[name].degraded_streak = streak
    return sites


def run_families(sites: dict[str, SiteRuns]) -> Iterator[Metric]:
    """The metric families of the run records."""
    runs = CounterMetricFamily(
        "govcrawl_runs",
        "Finished runs (every status but queued and running), by site, status and trigger.",
        labels=["site", "status", "trigger"],
    )
    in_progress = GaugeMetricFamily(
        "govcrawl_runs_in_progress",
        "Runs recorded as queued or running now, by site.",
        labels=["site", "status"],
    )
    duration = HistogramMetricFamily(
        "govcrawl_run_duration_seconds",
        "Time from start to finish of the runs that crawled (all but skipped), by site.",
        labels=["site"],
    )
    counters = {
        "items": CounterMetricFamily(
            "govcrawl_items",
            "Articles stored new, updated or marked withdrawn, from each finished run's stats.",
            labels=["site", "kind"],
        ),
        "errors": CounterMetricFamily(
            "govcrawl_errors",
            "ERROR log lines of the finished runs (stats log_count/ERROR).",
            labels=["site"],
        ),
        "blocked": CounterMetricFamily(
            "govcrawl_blocked_pages",
            "Pages that were a JS challenge instead of the page (stats govcrawl/issues/blocked).",
            labels=["site"],
        ),
    }
    last_success = GaugeMetricFamily(
        "govcrawl_last_success_timestamp_seconds",
        "When the newest succeeded or degraded run of the site finished (Unix time).",
        labels=["site"],
    )
    first_run = GaugeMetricFamily(
        "govcrawl_first_run_timestamp_seconds",
        "When the site's first recorded run started (Unix time): the clock of a site that never "
        "succeeded.",
        labels=["site"],
    )
    last_status = GaugeMetricFamily(
        "govcrawl_last_run_status",
        "1 for the status of the site's newest finished crawl (skipped runs left out), else 0.",
        labels=["site", "status"],
    )
    streak = GaugeMetricFamily(
        "govcrawl_degraded_streak",
        "Degraded runs in a row up to the newest verdict (skipped and interrupted runs neither "
        "count nor break it).",
        labels=["site"],
    )
    for name, site in sorted(sites.items()):
        for (status, trigger), count in sorted(site.runs.items()):
            runs.add_metric([name, status, trigger], count)
        for status, count in site.in_progress.items():
            in_progress.add_metric([name, status], count)
        if site.runs:
            for (metric, label), total in site.counts.items():
                counters[metric].add_metric([name, label] if label else [name], total)
        if site.durations:
            cumulative = [
                (floatToGoString(b), n) for b, n in zip(DURATION_BUCKETS, site.buckets, strict=True)
            ]
            duration.add_metric([name], [*cumulative, ("+Inf", site.durations)], site.duration_sum)
        if site.last_success is not None:
            last_success.add_metric([name], site.last_success)
        if site.first_run is not None:
            first_run.add_metric([name], site.first_run)
        if site.last_crawl is not None:
            for status in CRAWLED:
                last_status.add_metric([name, status], float(status == site.last_crawl[1]))
        if site.last_verdict is not None:
            streak.add_metric([name], site.degraded_streak)
    yield from (runs, in_progress, duration, *counters.values())
    yield from (last_success, first_run, last_status, streak)


class RunRecordCollector:
    """A Prometheus collector over ``crawl_runs``: reads the records at each scrape.

    The read runs in a thread of its own, so a scrape waits at most ``timeout`` seconds; a
    read still hanging is waited for again, never started a second time. ``profiles`` gives
    each site's schedule interval (a list, or a callable read at each scrape)."""

    def __init__(
        self, engine: Engine, profiles: ProfileSource = (), timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.engine = engine
        self.profiles = profiles
        self.timeout = timeout
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="govcrawl-metrics")
        self._lock = threading.Lock()
        self._pending: tuple[Future[dict[str, SiteRuns]], float] | None = None
        self._was_up: bool | None = None

    def _read(self) -> tuple[dict[str, SiteRuns] | None, float]:
        with self._lock:
            if self._pending is None or self._pending[0].done():
                self._pending = (
                    self._reader.submit(read_runs, self.engine, self.timeout),
                    time.monotonic(),
                )
            future, started = self._pending
        # a read that has hung past the timeout already is not waited for again
        wait = max(0.0, started + self.timeout - time.monotonic())
        try:
            sites = future.result(timeout=wait)
            error = None
        except FutureTimeout:
            sites, error = None, f"no answer within {self.timeout:g} s"
        except Exception as exc:  # any failure of the database is govcrawl_up 0, not a 500
            url = self.engine.url.render_as_string(hide_password=False)
            first = (str(exc).strip().splitlines() or [""])[0]
            sites, error = None, f"{type(exc).__name__}: {scrub(first, url)}"
        self._log_change(error)
        return sites, time.monotonic() - started

    def _log_change(self, error: str | None) -> None:
        """One line when the records become unreadable and one when they are back, not one a
        scrape."""
        up = error is None
        if up != self._was_up:
            where = redact(self.engine.url.render_as_string(hide_password=False))
            if not up:
                logger.warning("metrics: cannot read the run records in %s: %s", where, error)
            elif self._was_up is not None:
                logger.info("metrics: the run records in %s can be read again", where)
        self._was_up = up

    def describe(self) -> Iterator[Metric]:
        """The families' names, without reading the database (for the registry's checks)."""
        yield from run_families({})
        yield from self._own_families(None, 0.0)

    def collect(self) -> Iterator[Metric]:
        sites, took = self._read()
        yield from self._own_families(sites is not None, took)
        if sites is not None:
            yield from run_families(sites)

    def _own_families(self, up: bool | None, took: float) -> Iterator[Metric]:
        up_family = GaugeMetricFamily(
            "govcrawl_up", "1 when this scrape could read the run records, else 0."
        )
        read = GaugeMetricFamily(
            "govcrawl_metrics_read_seconds", "How long this scrape's read of the run records took."
        )
        interval = GaugeMetricFamily(
            "govcrawl_site_interval_seconds",
            "The longest time between two scheduled starts of the site (its profile's cron or "
            "interval, jitter included).",
            labels=["site"],
        )
        if up is not None:
            up_family.add_metric([], float(up))
            read.add_metric([], took)
            for profile in sorted(_profiles(self.profiles), key=lambda p: p.name):
                try:
                    seconds = schedule_interval(profile.schedule)
                except ValueError:  # checked when the profile loaded: never a failed scrape
                    seconds = None
                if seconds is not None:
                    interval.add_metric([profile.name], seconds)
        yield from (up_family, read, interval)

    def close(self) -> None:
        self._reader.shutdown(wait=False)


# --- what one daemon knows ----------------------------------------------------------------------
class Metrics:
    """The gauges a scheduler daemon sets: nothing in the database says them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.leader = Gauge(
            "govcrawl_scheduler_leader",
            "1 while this daemon holds the leader lock and schedules the crawls, else 0.",
            registry=registry,
        )
        self.jobs_in_flight = Gauge(
            "govcrawl_jobs_in_flight",
            "Crawl jobs of this daemon running now (each holds one of its GOVCRAWL_MAX_SITES "
            "slots).",
            registry=registry,
        )
        self.queue_depth = Gauge(
            "govcrawl_queue_depth",
            "Crawl jobs of this daemon that are due but wait for a free slot.",
            registry=registry,
        )

    def set_leader(self, leading: bool) -> None:
        self.leader.set(1 if leading else 0)

    def set_in_flight(self, jobs: int) -> None:
        self.jobs_in_flight.set(jobs)

    def set_queue_depth(self, jobs: int) -> None:
        self.queue_depth.set(jobs)


def follow_scheduler(scheduler: Any, metrics: Metrics, slots: int, prefix: str = "crawl:") -> None:
    """Keep ``metrics``' jobs in flight and queue depth from an APScheduler 3 scheduler's own
    events: a job is outstanding from its submission to its end (executed, failed or missed).
    The executor runs ``slots`` jobs at once, first come first served, so the first ``slots``
    outstanding jobs are in flight and the others wait. Only jobs whose id starts with
    ``prefix`` count (the daemon's health job does not). Both gauges go back to 0 when the
    scheduler shuts down: a daemon that stops leading builds a new scheduler when it leads again,
    and follows that one."""
    from apscheduler.events import (
        EVENT_JOB_ERROR,
        EVENT_JOB_EXECUTED,
        EVENT_JOB_MISSED,
        EVENT_JOB_SUBMITTED,
        EVENT_SCHEDULER_SHUTDOWN,
    )

    lock = threading.Lock()
    # run times submitted minus run times ended, per job: the end of a quick job can be
    # dispatched before its submission, so a count may be -1 for a moment
    pending: dict[str, int] = {}

    def on_event(event: Any) -> None:
        with lock:
            if event.code == EVENT_SCHEDULER_SHUTDOWN:
                pending.clear()
            elif str(event.job_id).startswith(prefix):
                change = len(event.scheduled_run_times) if event.code == EVENT_JOB_SUBMITTED else -1
                pending[event.job_id] = pending.get(event.job_id, 0) + change
                if pending[event.job_id] == 0:
                    del pending[event.job_id]
            else:
                return
            outstanding = sum(1 for count in pending.values() if count > 0)
            metrics.set_in_flight(min(outstanding, slots))
            metrics.set_queue_depth(max(0, outstanding - slots))

    scheduler.add_listener(
        on_event,
        EVENT_JOB_SUBMITTED
        | EVENT_JOB_EXECUTED
        | EVENT_JOB_ERROR
        | EVENT_JOB_MISSED
        | EVENT_SCHEDULER_SHUTDOWN,
    )


# --- serving -------------------------------------------------------------------------------------
def build_registry(
    engine: Engine, profiles: ProfileSource = (), *, timeout: float = DEFAULT_TIMEOUT
) -> tuple[CollectorRegistry, RunRecordCollector]:
    """A registry of its own (not prometheus_client's global one) holding the run-record
    collector: what the web app serves."""
    registry = CollectorRegistry()
    collector = RunRecordCollector(engine, profiles, timeout)
    registry.register(collector)
    return registry, collector


@dataclass
class MetricsServer:
    """A running metrics endpoint: ``stop()`` closes its socket and its threads."""

    registry: CollectorRegistry
    metrics: Metrics
    collector: RunRecordCollector
    server: WSGIServer
    thread: threading.Thread

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.collector.close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_metrics_server(
    engine: Engine,
    port: int,
    host: str = "127.0.0.1",
    profiles: ProfileSource = (),
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> MetricsServer:
    """Serve the run records and a daemon's own gauges (``.metrics``) on ``http://host:port/``
    (any path; port 0: a free one), from a thread. OSError when the port is taken."""
    registry, collector = build_registry(engine, profiles, timeout=timeout)
    metrics = Metrics(registry)
    ProcessCollector(registry=registry)  # the daemon's CPU, memory and open files
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(registry, metrics, collector, server, thread)


class MetricsApp:
    """A registry as an ASGI app, for ``app.add_route("/metrics", MetricsApp(registry))``.

    prometheus_client's own ``make_asgi_app`` reads the registry on the event loop: a database
    that hangs would stop every other request for the read's timeout. Here it is read in a
    worker thread."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        accept = ",".join(
            value.decode("latin-1") for name, value in scope["headers"] if name.lower() == b"accept"
        )
        encoder, content_type = choose_encoder(accept)
        body = await asyncio.to_thread(encoder, self.registry)
        headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

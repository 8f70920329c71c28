"""Scrapy settings for govcrawl.

Settings are the one place a user tunes the crawl. Environment variables are read here and
nowhere else; every component reads its knobs from ``crawler.settings``.
"""

import os
import sys
from pathlib import Path


def _env_number(
    name: str, default: str, kind: type = int, low: float = 0, high: float = float("inf")
) -> "int | float":
    """A number from the environment (unset or blank: ``default``); a bad one stops the program
    with one line (exit 2), not a traceback from deep inside an import."""
    raw = os.environ.get(name, "").strip() or default
    try:
        value = kind(raw)
        if not low <= value <= high or value == float("inf"):  # also NaN and infinity
            raise ValueError
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        span = f"from {low:g} to {high:g}" if high != float("inf") else f"of at least {low:g}"
        print(f"govcrawl: {name}={raw!r} must be {what} {span}", file=sys.stderr)
        raise SystemExit(2) from None
    return value


BOT_NAME = "govcrawl"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# --- where things live -------------------------------------------------------------------
# DATABASE_URL selects the database; empty means the embedded PostgreSQL under GOVCRAWL_HOME.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
GOVCRAWL_HOME = os.environ.get("GOVCRAWL_HOME", str(PROJECT_ROOT / ".govcrawl"))
GOVCRAWL_PROFILES_DIR = os.environ.get("GOVCRAWL_PROFILES_DIR", str(PROJECT_ROOT / "profiles"))
# Modules of more platforms (crawler/platforms/), comma-separated: each registers its own.
GOVCRAWL_PLATFORM_MODULES = [
    m.strip() for m in os.environ.get("GOVCRAWL_PLATFORM_MODULES", "").split(",") if m.strip()
]
# Apply Alembic migrations when a crawl opens (set False to require an explicit `govcrawl migrate`).
GOVCRAWL_MIGRATE_ON_START = os.environ.get("GOVCRAWL_MIGRATE_ON_START", "1") not in ("0", "false")

# --- politeness (a profile's [politeness] table overrides these per site) ---------------
ROBOTSTXT_OBEY = True
USER_AGENT = "govcrawl/0.1 (+https://example.invalid/govcrawl; public-information archiving)"
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # each delay is DOWNLOAD_DELAY × (0.5 … 1.5)
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
# transient failures (RETRY_HTTP_CODES: 500, 502, 503, 504, 522, 524, 408, 429; timeouts,
# resets) are retried after 1, 2, 4 … s (× 0.5–1.5, at most RETRY_BACKOFF_MAX): see middlewares.py
RETRY_BACKOFF_BASE = 1.0
RETRY_BACKOFF_MAX = 30.0
DOWNLOADER_MIDDLEWARES = {
    # first of all: every request, redirects included, must be on the profile's host and port
    # (Scrapy's OffsiteMiddleware, 50, stays as a second guard but passes dont_filter requests)
    "crawler.middlewares.OriginGuardMiddleware": 40,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    # portals are public: no HTTP auth is ever sent (nor leaked on a redirect)
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
}
COOKIES_ENABLED = True
# Nothing may reach into a running crawl, and what a crawl does not use is not loaded:
# - RemoteControl: an HTTP server in the crawl process that runs the Python code it is sent
#   (token in a job file); TelnetConsole: the same over telnet;
# - MemoryDebugger: debugging aid (gc and live-reference dumps), not for unattended runs;
# - SpiderState: persists spider.state under JOBDIR; govcrawl keeps its state in PostgreSQL;
# - FeedExporter: items go to PostgreSQL through the pipelines, never to feed files.
# Kept: CoreStats, LogStats, LogCount (the monitors read them), MemoryUsage (memusage/max in
# the run record), CloseSpider (-s CLOSESPIDER_* limits), AutoThrottle (profiles turn it on).
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False
MEMDEBUG_ENABLED = False

# With the default of 100, Scrapy starts that many tasks per response even when a page
# yields one item; 10 measured ~1.7x faster on 2 cores (see ../shared/perf-notes.md, bench/).
CONCURRENT_ITEMS = 10

# --- pipeline ------------------------------------------------------------------------------
ITEM_PIPELINES = {
    "pipelines.normalise.NormalisePipeline": 100,
    "pipelines.validate.ValidatePipeline": 200,
    "pipelines.dedup.DedupPipeline": 300,
    # attachments fetched, stored once by content, read to text (GOVCRAWL_ATTACHMENTS=0: off)
    "pipelines.attachments.AttachmentsPipeline": 350,
    "pipelines.store.StorePipeline": 400,
}
EXTENSIONS = {
    "scrapy.extensions.remote_control.RemoteControl": None,
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.memdebug.MemoryDebugger": None,
    "scrapy.extensions.spiderstate.SpiderState": None,
    "scrapy.extensions.feedexport.FeedExporter": None,
    # on close, in this order: the state keeper adds its counts, Spidermon's monitors check
    # the stats, the run recorder writes stats, alerts and status to crawl_runs
    "crawler.incremental.extension.IncrementalKeeper": 50,
    "spidermon.contrib.scrapy.extensions.Spidermon": 60,
    # keyword watches: new matches of saved searches, sent once (crawler/watches.py); before
    # the recorder, so its govcrawl/watches/* counts are in the run record
    "crawler.watches.WatchDelivery": 90,
    "crawler.runs.CrawlRunRecorder": 100,
}

# --- monitors (crawler/monitors.py): a failed check marks a finished run "degraded" ----------
SPIDERMON_ENABLED = True
SPIDERMON_SPIDER_CLOSE_MONITORS = ("crawler.monitors.CloseSuite",)
SPIDERMON_EXPECTED_FINISH_REASONS = ["finished"]
SPIDERMON_MAX_ERRORS = 0  # ERROR log lines
SPIDERMON_UNWANTED_HTTP_CODES = [403, 429, 500, 502, 503, 504]
SPIDERMON_UNWANTED_HTTP_CODES_MAX_COUNT = 10  # responses with one of those codes, per code
SPIDERMON_MAX_DOWNLOADER_EXCEPTIONS = 10  # timeouts, refused or reset connections
GOVCRAWL_MAX_BLOCKED_PAGES = 0  # pages that were a JS challenge instead of the article
GOVCRAWL_MAX_DROPPED_SHARE = 0.05  # items dropped by validation, as a share of all items
# listed articles whose page was gone (404) before they were stored, as a share of the article
# pages fetched: each is reported once as "gone", not as an error; many at once is an alert
GOVCRAWL_MAX_GONE_SHARE = 0.05
# notifications when a check fails; both off unless set
GOVCRAWL_NOTIFY_WEBHOOK = os.environ.get("GOVCRAWL_NOTIFY_WEBHOOK", "")  # JSON POST
# e-mail through Spidermon's SendSmtpEmail: also SPIDERMON_SMTP_USER/PASSWORD/PORT, _EMAIL_SENDER
SPIDERMON_SMTP_HOST = os.environ.get("SPIDERMON_SMTP_HOST", "")
SPIDERMON_EMAIL_TO = [a for a in os.environ.get("SPIDERMON_EMAIL_TO", "").split(",") if a]
# --- keyword watches (crawler/watches.py, `govcrawl watch`) ---------------------------------
# Webhooks are POSTed with the notification's timeout, GOVCRAWL_NOTIFY_TIMEOUT (default 10 s);
# e-mails go through this SMTP server (no host: e-mail hits wait, with the error, until set).
GOVCRAWL_SMTP_HOST = os.environ.get("GOVCRAWL_SMTP_HOST", "")
GOVCRAWL_SMTP_PORT = _env_number("GOVCRAWL_SMTP_PORT", "25", int, 1)
GOVCRAWL_SMTP_USER = os.environ.get("GOVCRAWL_SMTP_USER", "")
GOVCRAWL_SMTP_PASSWORD = os.environ.get("GOVCRAWL_SMTP_PASSWORD", "")
GOVCRAWL_SMTP_STARTTLS = os.environ.get("GOVCRAWL_SMTP_STARTTLS", "0") not in ("0", "false", "")
GOVCRAWL_SMTP_SENDER = os.environ.get("GOVCRAWL_SMTP_SENDER", "govcrawl@localhost")
GOVCRAWL_SMTP_TIMEOUT = 30.0
# Articles per webhook POST or e-mail at most: a run that finds more sends several.
GOVCRAWL_WATCH_BATCH = 200
# Live progress on stderr (crawler/progress.py): `govcrawl crawl` and `demo` turn it on when
# stderr is a terminal.
GOVCRAWL_PROGRESS = False
# Rows per upsert batch, and the longest time an item waits in the buffer.
GOVCRAWL_STORE_BATCH_SIZE = 500
GOVCRAWL_STORE_FLUSH_SECONDS = 5.0
# An article whose body is this alike to an earlier one's (Jaccard index of character 3-grams,
# 0.5–1; crawler/neardup.py) is linked to the earliest as its near-duplicate.
GOVCRAWL_NEARDUP_THRESHOLD = _env_number("GOVCRAWL_NEARDUP_THRESHOLD", "0.7", float, 0.5, 1.0)
# --- the raw archive (crawler/archive.py, `govcrawl reparse`) -------------------------------
# Every reply that produced an article is kept as WARC (one gzip member per record) in
# GOVCRAWL_ARCHIVE_DIR/<site>/ (default GOVCRAWL_HOME/archive), a file per run, a new one past
# GOVCRAWL_ARCHIVE_MAX_BYTES. When a crawl starts, the site's files older than
# GOVCRAWL_ARCHIVE_KEEP_DAYS that no article points at any more are deleted (0: keep all).
GOVCRAWL_ARCHIVE = os.environ.get("GOVCRAWL_ARCHIVE", "1").strip() not in ("0", "false", "")
GOVCRAWL_ARCHIVE_DIR = os.environ.get("GOVCRAWL_ARCHIVE_DIR", "")
GOVCRAWL_ARCHIVE_MAX_BYTES = _env_number("GOVCRAWL_ARCHIVE_MAX_BYTES", str(2**30), int, 1)
GOVCRAWL_ARCHIVE_KEEP_DAYS = _env_number("GOVCRAWL_ARCHIVE_KEEP_DAYS", "30", float)
SPIDER_MIDDLEWARES = {"crawler.archive.WarcArchive": 950}
# --- attachments (pipelines/attachments.py) ---------------------------------------------------
# Fetch the files articles link to (on the profile's host only), store each content once under
# FILES_STORE (a folder, or any store Scrapy's FilesPipeline takes: s3://, gs://, ftp://) and
# make their text searchable. A file over GOVCRAWL_ATTACHMENT_MAX_BYTES is not fetched.
GOVCRAWL_ATTACHMENTS = os.environ.get("GOVCRAWL_ATTACHMENTS", "1") not in ("0", "false", "")
GOVCRAWL_ATTACHMENT_MAX_BYTES = _env_number(
    "GOVCRAWL_ATTACHMENT_MAX_BYTES", str(50 * 1024 * 1024), int, 1
)
FILES_STORE = os.environ.get("FILES_STORE") or str(Path(GOVCRAWL_HOME) / "files")

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.environ.get("GOVCRAWL_LOG_LEVEL", "INFO")
LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"
LOG_FORMATTER = "crawler.logformatter.GovcrawlLogFormatter"
# Every run started by `govcrawl crawl` or the scheduler logs to its own file,
# GOVCRAWL_HOME/logs/<site>/<start time>.log. Before a run starts, its site's folder keeps the
# newest GOVCRAWL_LOG_KEEP_RUNS files, none older than GOVCRAWL_LOG_KEEP_DAYS (0: no limit).
GOVCRAWL_LOG_KEEP_RUNS = _env_number("GOVCRAWL_LOG_KEEP_RUNS", "200", int)
GOVCRAWL_LOG_KEEP_DAYS = _env_number("GOVCRAWL_LOG_KEEP_DAYS", "90", float)

# --- the scheduler (scheduler.py, `govcrawl schedule`; crawler/daemon.py) -------------------
# A crawl still running after GOVCRAWL_CRAWL_TIMEOUT s gets SIGTERM, then SIGKILL after
# GOVCRAWL_KILL_GRACE s; GOVCRAWL_MAX_SITES different sites crawl at once; a run missed while no
# daemon was up is made up once if less than GOVCRAWL_MISFIRE_GRACE s late; an "alive:" line
# every GOVCRAWL_HEALTH_SECONDS. Of several daemons on one database one leads (schedules); the
# others try the leader lock every GOVCRAWL_LEADER_POLL s, and the leader checks it as often.
# A value out of range is one line and exit 2, never a daemon that cannot start a thread or
# wakes up in a loop.
GOVCRAWL_CRAWL_TIMEOUT = _env_number("GOVCRAWL_CRAWL_TIMEOUT", "14400", float, 1, 7 * 86400)
GOVCRAWL_KILL_GRACE = _env_number("GOVCRAWL_KILL_GRACE", "30", float, 0, 3600)
GOVCRAWL_MAX_SITES = _env_number("GOVCRAWL_MAX_SITES", "2", int, 1, 64)
GOVCRAWL_MISFIRE_GRACE = _env_number("GOVCRAWL_MISFIRE_GRACE", "3600", int, 1, 7 * 86400)
GOVCRAWL_HEALTH_SECONDS = _env_number("GOVCRAWL_HEALTH_SECONDS", "300", float, 1, 86400)
GOVCRAWL_LEADER_POLL = _env_number("GOVCRAWL_LEADER_POLL", "5", float, 0.1, 600)

# Workers (crawler/jobs.py). With GOVCRAWL_WORKERS=1 the scheduler only defers crawl jobs to a
# procrastinate queue in the database and ``govcrawl worker`` processes, on any hosts, run them
# (GOVCRAWL_WORKER_CONCURRENCY crawls at once each); with 0 (the default) the scheduler crawls
# itself, as on one machine. A worker writes a heartbeat every GOVCRAWL_WORKER_HEARTBEAT s; one
# silent for GOVCRAWL_WORKER_STALLED s is dead: the leader fails its jobs and closes their runs.
# GOVCRAWL_WORKER_WARM=1 forks each crawl from a warm process that has imported everything once;
# 0 starts a fresh interpreter per crawl.
GOVCRAWL_WORKERS = os.environ.get("GOVCRAWL_WORKERS", "0").strip() not in ("0", "false", "")
GOVCRAWL_WORKER_CONCURRENCY = _env_number("GOVCRAWL_WORKER_CONCURRENCY", "2", int, 1, 64)
GOVCRAWL_WORKER_HEARTBEAT = _env_number("GOVCRAWL_WORKER_HEARTBEAT", "10", float, 0.1, 600)
GOVCRAWL_WORKER_STALLED = _env_number("GOVCRAWL_WORKER_STALLED", "30", float, 0.5, 86400)
GOVCRAWL_WORKER_WARM = os.environ.get("GOVCRAWL_WORKER_WARM", "1").strip() not in ("0", "false", "")
# --- metrics (crawler/metrics.py) ------------------------------------------------------------
# Each scheduler daemon serves Prometheus metrics on GOVCRAWL_METRICS_PORT (0: off), on
# GOVCRAWL_METRICS_HOST (127.0.0.1; 0.0.0.0 in a container). A scrape waits at most
# GOVCRAWL_METRICS_TIMEOUT s for the run records, then answers govcrawl_up 0.
GOVCRAWL_METRICS_PORT = _env_number("GOVCRAWL_METRICS_PORT", "0", int, 0, 65535)
GOVCRAWL_METRICS_HOST = os.environ.get("GOVCRAWL_METRICS_HOST", "127.0.0.1")
GOVCRAWL_METRICS_TIMEOUT = _env_number("GOVCRAWL_METRICS_TIMEOUT", "5", float, 0.1, 60)

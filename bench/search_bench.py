"""Benchmark: `govcrawl search` latency on 100,000 articles.

    python bench/search_bench.py [--articles 100000] [--queries 40] [--keep]

Generates articles with a long-tailed Chinese vocabulary (a Zipf-weighted lexicon of one- to
four-character words over ~3,000 characters, mixed with the sample portal's domain sentences;
bodies 200–4,000 characters), stores them through the real store (`pipelines.store.write_batch`,
which computes the bigram search vector), ANALYZEs, then times `crawler.search.search` — what
`govcrawl search` runs — for queries of 2, 4 and 8 characters cut from random stored bodies, with
and without filters (site + channel + date range), after one warm-up pass. Prints p50/p95 per
class, the plans of the rarest and slowest query of each class (the GIN index must appear), the
index size, and the peak memory of `govcrawl export` for a few thousand vs all articles.
Uses DATABASE_URL, else an embedded PostgreSQL under bench/out/search-home/.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SITES = {"bench-a": ["tzgg", "bcyb", "gzdt"], "bench-b": ["zcwj", "xwdt", "tzgg"]}


def lexicon(rng: random.Random) -> tuple[list[str], list[float]]:
    """~30,000 words of 1–4 characters over ~3,000 characters, with cumulative Zipf weights."""
    from sample_portal import text as sample_text

    seen: dict[str, None] = {}
    for value in vars(sample_text).values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                for ch in item:
                    if "\u4e00" <= ch <= "\u9fff":
                        seen[ch] = None
    chars = list(seen) + [chr(c) for c in range(0x4E00, 0x4E00 + 3000) if chr(c) not in seen]
    char_weights = list(accumulate(1 / (i + 1) ** 0.9 for i in range(len(chars))))
    words: dict[str, None] = {}
    while len(words) < 30_000:
        n = rng.choices((1, 2, 3, 4), (5, 60, 15, 20))[0]
        words["".join(rng.choices(chars, cum_weights=char_weights, k=n))] = None
    ordered = list(words)
    return ordered, list(accumulate(1 / (i + 1) for i in range(len(ordered))))


def articles(count: int, seed: int = 11):  # type: ignore[no-untyped-def]
    from crawler.extraction.text import CHINA_TZ
    from sample_portal import text as sample_text
    from tests.support import article_row

    rng = random.Random(seed)
    words, weights = lexicon(rng)
    start = datetime(2019, 1, 1, tzinfo=CHINA_TZ)
    span = (datetime(2025, 11, 20, tzinfo=CHINA_TZ) - start).total_seconds()
    for i in range(count):
        length = min(max(int(rng.lognormvariate(6.7, 0.6)), 200), 4000)
        parts: list[str] = []
        size = 0
        while size < length:
            if rng.random() < 0.35:
                piece = sample_text.sentence(rng)
            else:
                piece = "".join(
                    rng.choices(words, cum_weights=weights, k=rng.randint(6, 18))
                ) + rng.choice("，，，。；：")
            parts.append(piece)
            size += len(piece)
            if rng.random() < 0.15:
                parts.append("\n")
        body = "".join(parts)
        site = rng.choice(list(SITES))
        yield article_row(
            f"{i}",
            channels=rng.sample(SITES[site], rng.choice((1, 1, 1, 2))),
            body=body,
            title=sample_text.title(rng, rng.randint(2019, 2025)),
            site=site,
            article_key=f"{site}:id:{i}",
            url=f"https://bench.example/{site}/{i}.html",
            published_at=start + timedelta(seconds=rng.random() * span),
        )


def load(engine, count: int) -> float:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from pipelines.store import write_batch

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM articles WHERE site LIKE 'bench-%'"))
    started = time.perf_counter()
    batch: list[dict] = []
    for row in articles(count):
        batch.append(row)
        if len(batch) == 500:
            write_batch(engine, batch)
            batch = []
            done = int(row["platform_id"]) + 1
            if done % 10_000 == 0:
                print(
                    f"  stored {done:,} articles, {time.perf_counter() - started:.0f} s", flush=True
                )
    if batch:
        write_batch(engine, batch)
    took = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE articles"))
    return took


def queries(engine, n: int, length: int, rng: random.Random, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """``n`` substrings of ``length`` characters cut from random stored bodies, no punctuation."""
    from sqlalchemy import text

    from crawler.search import runs

    out: list[str] = []
    with engine.connect() as conn:
        while len(out) < n:
            body = conn.execute(
                text(
                    "SELECT body_text FROM articles WHERE site LIKE 'bench-%' "
                    "ORDER BY id OFFSET :k LIMIT 1"
                ),
                {"k": rng.randrange(count)},
            ).scalar_one()
            candidates = [r for r in runs(body) if len(r) >= length]
            if candidates:
                run = rng.choice(candidates)
                at = rng.randrange(len(run) - length + 1)
                out.append(run[at : at + length])
    return out


def export_rss(url: str, args: list[str]) -> tuple[int, float, int, int]:
    """Run ``govcrawl export`` to a file; its row count, seconds, peak RSS (KB) and bytes."""
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
        env = {**os.environ, "DATABASE_URL": url}
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "export", *args, "-o", out.name],
            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        message = child.stderr.read() if child.stderr else ""
        if status != 0:
            raise SystemExit(f"export failed: {message}")
        rows = int(message.split("exported ")[1].split()[0])
        return rows, seconds, usage.ru_maxrss, os.path.getsize(out.name)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40, help="queries per class")
    parser.add_argument(
        "--keep", action="store_true", help="reuse the articles of an earlier run (no load)"
    )
    args = parser.parse_args()

    from sqlalchemy import create_engine, func, select, text

    from crawler.database import migrate, resolve_database_url
    from crawler.models import Article
    from crawler.search import Filters, search, statement

    home = ROOT / "bench" / "out"
    home.mkdir(parents=True, exist_ok=True)
    # its own embedded database: 100,000 articles would skew the crawl benchmark's store figure
    url = resolve_database_url(os.environ.get("DATABASE_URL"), home / "search-home")
    engine = create_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        have = conn.execute(
            select(func.count()).select_from(Article).where(Article.site.like("bench-%"))
        ).scalar_one()
    if not (args.keep and have == args.articles):
        print(f"storing {args.articles:,} generated articles through write_batch …", flush=True)
        took = load(engine, args.articles)
        print(f"stored in {took:.0f} s ({args.articles / took:,.0f} articles/s)")
    with engine.connect() as conn:
        sizes = conn.execute(
            text(
                "SELECT pg_size_pretty(pg_relation_size('ix_articles_search_vector')), "
                "pg_size_pretty(pg_total_relation_size('articles')), "
                "(SELECT avg(length(body_text))::int FROM articles WHERE site LIKE 'bench-%')"
            )
        ).one()
    print(
        f"{args.articles:,} articles, average body {sizes[2]} characters; search index "
        f"{sizes[0]}, table with indexes and TOAST {sizes[1]}"
    )

    rng = random.Random(5)
    filtered = Filters(site="bench-a", channel="tzgg", since="2024-01-01", until="2025-06-30")
    print("\nfilters: site=bench-a channel=tzgg 2024-01-01..2025-06-30; limit 20, newest first")
    print(f"{'query':<14}{'filters':<9}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'hits p50':>10}")
    plans = {}
    worst_p50 = 0.0
    for length in (2, 4, 8):
        terms = queries(engine, args.queries, length, rng, args.articles)
        for label, filters in (("none", Filters()), ("yes", filtered)):
            for term in terms:  # warm-up: the same pass, untimed
                search(engine, term, filters)
            times, hits = [], []
            for term in terms:
                started = time.perf_counter()
                found = search(engine, term, filters)
                times.append((time.perf_counter() - started) * 1000)
                hits.append(len(found))
            slowest = terms[times.index(max(times))]
            rarest = terms[hits.index(min(hits))]
            p50 = statistics.median(times)
            worst_p50 = max(worst_p50, p50)
            print(
                f"{length} characters  {label:<9}{p50:8.1f}{percentile(times, 0.95):8.1f}"
                f"{max(times):8.1f}{statistics.median(hits):10.0f}"
            )
            plans[(length, label)] = (rarest, slowest, filters)
    print(f"\nworst p50 {worst_p50:.1f} ms (goal < 50 ms)")

    def explain(term: str, filters: Filters) -> list[str]:
        compiled = (
            statement(term, filters)
            .limit(20)
            .compile(engine, compile_kwargs={"literal_binds": True})
        )
        with engine.connect() as conn:
            return conn.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {compiled}")).scalars().all()

    print("\nplans (the rarest and the slowest query of each class):")
    shown = False
    for (length, label), (rarest, slowest, filters) in plans.items():
        for kind, term in (("rarest", rarest), ("slowest", slowest)):
            plan = explain(term, filters)
            scans = [line.strip().split(" (actual")[0].lstrip("-> ") for line in plan
                     if "Scan" in line and "->" in line]  # fmt: skip
            took = next(line.split(":")[1].strip() for line in plan if "Execution Time" in line)
            print(
                f"  {length} chars, filters {label:<4} {kind:<8} {term!r}: {took}; {'; '.join(scans)}"
            )
            if kind == "rarest" and not shown and "ix_articles_search_vector" in "\n".join(plan):
                example = plan
                shown = True
    if shown:
        print("\nEXPLAIN ANALYZE of a rare query, where the GIN index does the work:")
        print("\n".join("  " + line for line in example))
    print("\nexport (a separate `govcrawl export` process each; its peak memory):")
    for label, args in (
        ("one channel of one site until 2020", ["--site", "bench-a", "--channel", "tzgg",
                                                "--until", "2020-12"]),
        ("every article", []),
    ):  # fmt: skip
        rows, seconds, peak_kb, size = export_rss(url, args)
        print(f"  {label:<36} {rows:>7,} articles {size / 1e6:7.0f} MB in {seconds:5.1f} s, "
              f"peak RSS {peak_kb / 1024:5.0f} MB")  # fmt: skip
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: `govcrawl web` latency on the 100,000-article database of bench/search_bench.py.

    python bench/web_bench.py [--rounds 3] [--queries 30] [--requests 30]

Uses the articles `bench/search_bench.py` stores (bench/out/search-home, or DATABASE_URL; they
are generated and stored first when missing). Serves the web app with uvicorn in a child
process on 127.0.0.1, then times, with one keep-alive HTTP client, after a warm-up pass:
- the search page (`/search?q=…`, HTML) and its JSON (`/api/search?q=…`) for 2- and
  4-character queries cut from stored bodies, against `crawler.search.search` called directly
  on the same queries (the engine alone: what the web adds is the ratio);
- the sites page (`/`) and `/api/sites`, against `crawler.query.sites` called directly.
Prints p50/p95 per round and the median over the rounds. No figure here is a test: timings
depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(port: int) -> None:
    """The child: the web app on DATABASE_URL, as `govcrawl web` serves it."""
    import uvicorn

    from crawler.database import open_database
    from crawler.web.app import create_app

    engine = open_database(os.environ["DATABASE_URL"], ROOT / "bench" / "out")
    app = create_app(engine, profiles_dir=ROOT / "bench" / "out" / "no-profiles")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def timed(call: Callable[[], object], times: int = 1) -> list[float]:
    out = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=30, help="search queries per class")
    parser.add_argument("--requests", type=int, default=30, help="sites page requests per round")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the child's mode
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    import httpx
    from sqlalchemy import create_engine, func, select

    from bench.search_bench import load, queries
    from crawler import query
    from crawler.database import migrate, resolve_database_url
    from crawler.models import Article
    from crawler.search import Filters, search

    home = ROOT / "bench" / "out"
    home.mkdir(parents=True, exist_ok=True)
    url = resolve_database_url(os.environ.get("DATABASE_URL"), home / "search-home")
    engine = create_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        have = conn.execute(
            select(func.count()).select_from(Article).where(Article.site.like("bench-%"))
        ).scalar_one()
    if have != args.articles:
        print(f"storing {args.articles:,} generated articles (bench/search_bench.py) …", flush=True)
        load(engine, args.articles)
    print(
        f"{args.articles:,} articles; {os.cpu_count()} cores shared by PostgreSQL, the server "
        "and the client"
    )

    port = 18000 + os.getpid() % 1000
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/api/sites").raise_for_status()
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or child.poll() is not None:
                        raise SystemExit("the web app did not start") from None
                    time.sleep(0.2)
            rng = random.Random(5)
            terms = {n: queries(engine, args.queries, n, rng, args.articles) for n in (2, 4)}
            rows: dict[str, list[tuple[float, float]]] = {}

            def measure(label: str, calls: list[Callable[[], object]]) -> None:
                for call in calls:  # warm-up, untimed
                    call()
                times = [t for call in calls for t in timed(call)]
                rows.setdefault(label, []).append(
                    (statistics.median(times), percentile(times, 0.95))
                )

            def page(path: str, **params: str) -> Callable[[], object]:
                def get() -> object:
                    reply = client.get(path, params=params)
                    reply.raise_for_status()
                    return reply

                return get

            for number in range(1, args.rounds + 1):
                for n, words in terms.items():
                    measure(
                        f"search {n} chars: engine",
                        [(lambda w=w: search(engine, w, Filters())) for w in words],
                    )
                    measure(f"search {n} chars: /search", [page("/search", q=w) for w in words])
                    measure(
                        f"search {n} chars: /api/search", [page("/api/search", q=w) for w in words]
                    )
                repeat = range(args.requests)
                measure("sites: query.sites", [lambda: query.sites(engine) for _ in repeat])
                measure("sites: /", [page("/") for _ in repeat])
                measure("sites: /api/sites", [page("/api/sites") for _ in repeat])
                print(f"round {number} done", flush=True)
    finally:
        child.terminate()
        child.wait(10)
        engine.dispose()

    print(
        f"\n{'':<28}"
        + "".join(f"{'round ' + str(i + 1):>16}" for i in range(args.rounds))
        + f"{'median p50':>12}{'ratio':>8}"
    )
    print(f"{'':<28}" + f"{'p50 / p95 ms':>16}" * args.rounds)
    baseline = 0.0
    for label, found in rows.items():
        p50 = statistics.median(p for p, _ in found)
        if label.endswith(("engine", "query.sites")):
            baseline = p50
        cells = "".join(f"{p:>8.1f} /{q:>6.1f}" for p, q in found)
        print(f"{label:<28}{cells}{p50:>12.1f}{p50 / baseline:>8.2f}")
    print("\nratio: the median p50 over that of the engine (or query.sites) alone, same queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())

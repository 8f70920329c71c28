"""Benchmark: near-duplicate linking (crawler/neardup.py) on 100,000 articles.

    python bench/neardup_bench.py [--articles 100000] [--lookups 200] [--keep] [--compare]
                                  [--backfill]

Stores the articles of bench/search_bench.py (a Zipf-weighted lexicon over ~3,000 characters
mixed with the sample portal's domain sentences, bodies 200–4,000 characters) through the real
store (``pipelines.store.write_batch``), every 20th one a planted near-duplicate of an earlier
article (a header line, a credit line with its 原文链接, other spacing, or one sentence
changed). Prints the load rate and the share of it spent on fingerprints and links, then
times single-article lookups on the full table (each one a batch of one, what a crawl that
finds one new article does), with the plan of the candidate query, and compares them with a
scan that computes the similarity to every stored body. ``--compare`` measures the
alternatives on the sample portal's articles first: this MinHash, datasketch's MinHash (when
installed) and a 64-bit SimHash, for speed and accuracy. ``--backfill`` times migration
0011's backfill of the stored rows. Uses DATABASE_URL, else an embedded PostgreSQL under
bench/out/neardup-home/.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PLANT_EVERY = 20


# --- the variations, and the corpus -------------------------------------------------------------
def variations(rng: random.Random) -> dict[str, Callable[[str], str]]:
    from sample_portal import text as zh

    def sentence(body: str) -> str:
        parts = [p for p in body.split("。") if p]
        if len(parts) > 1:
            parts[rng.randrange(len(parts))] = zh.sentence(rng).rstrip("。")
        return "。".join(parts) + "。"

    return {
        "header": lambda body: f"（{rng.choice(zh.SOURCES)}讯）记者{rng.choice(zh.AUTHORS)}报道：\n{body}",
        "credit": lambda body: f"{body}\n本文转自农业农村部网站，原文链接：http://www.moa.gov.cn/xw/{rng.randint(10**6, 10**7)}.htm",
        "spacing": lambda body: body.replace("，", ", ").replace("。", "。\n  "),
        "sentence": sentence,
    }  # fmt: skip


def corpus(count: int) -> Iterator[tuple[dict[str, Any], str | None]]:
    """(row, the key of the article it is a planted near-duplicate of, or None)."""
    from bench.search_bench import articles
    from tests.support import article_row

    rng = random.Random(3)
    ways = variations(rng)
    recent: list[dict[str, Any]] = []
    for row in articles(count):
        i = int(row["platform_id"])
        if i % PLANT_EVERY == PLANT_EVERY - 1 and recent:
            original = rng.choice(recent)
            name = rng.choice(sorted(ways))
            body = ways[name](original["body_text"])
            planted = article_row(
                row["platform_id"], body=body, title=original["title"], site=row["site"],
                channels=row["channels"], article_key=row["article_key"], url=row["url"],
                published_at=original["published_at"] + timedelta(days=rng.randint(1, 30)),
            )  # fmt: skip
            yield planted, original["article_key"]
            continue
        recent.append(row)
        if len(recent) > 5000:
            recent.pop(rng.randrange(len(recent)))
        yield row, None


# --- the alternatives, on the sample portal ----------------------------------------------------
def simhash(shingle_set: Any) -> int:
    """64-bit SimHash of a shingle set (each shingle weighing 1), over the same 64-bit mix."""
    import numpy as np

    from crawler import neardup

    with np.errstate(over="ignore"):
        hashes = neardup._mix(shingle_set)
    bits = (hashes[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    votes = bits.sum(axis=0) * 2 > len(shingle_set)
    return int(sum(1 << i for i, v in enumerate(votes) if v))


def compare() -> None:
    import numpy as np

    from crawler import neardup
    from sample_portal.generator import generate_portal

    rng = random.Random(7)
    ways = variations(rng)
    seen: set[str] = set()
    bodies = []
    for article in sorted(generate_portal().articles.values(), key=lambda a: a.id):
        if article.body_text and article.body_text not in seen and not article.drop_reason:
            seen.add(article.body_text)
            bodies.append(article.body_text)
    chrome = ("江西省农业农村厅 主办\n当前位置：首页 > 信息公开", "来源：江西省农业农村厅 责任编辑：张伟\n【打印本页】【关闭窗口】")  # fmt: skip
    positives = [(b, way(b)) for b in bodies for way in ways.values()]
    negatives = [(f"{chrome[0]}\n{a}\n{chrome[1]}", f"{chrome[0]}\n{b}\n{chrome[1]}")
                 for a, b in itertools.combinations(bodies[:150], 2)]  # fmt: skip
    texts = sorted({t for pair in positives + negatives for t in pair})
    shingled = {t: neardup.shingles(t) for t in texts}
    print(f"sample portal: {len(bodies)} distinct bodies, {len(positives)} variation pairs, "
          f"{len(negatives)} pairs of different articles with the same chrome")  # fmt: skip

    def timed(fn: Callable[[Any], Any], inputs: list[Any]) -> float:
        started = time.perf_counter()
        for x in inputs:
            fn(x)
        return (time.perf_counter() - started) / len(inputs) * 1000

    t_shingle = timed(neardup.shingles, texts)
    t_minhash = timed(lambda t: neardup.band_values(neardup.signature(shingled[t])), texts)
    t_simhash = timed(lambda t: simhash(shingled[t]), texts)
    sig = {t: neardup.signature(shingled[t]) for t in texts}
    prints = {t: neardup.Fingerprint(neardup.band_values(sig[t])) for t in texts}
    sim = {t: simhash(shingled[t]) for t in texts}

    def exact(a: str, b: str) -> float:
        return neardup.jaccard(shingled[a], shingled[b])

    def estimate_error(a: str, b: str) -> float:
        return abs(float((sig[a] == sig[b]).mean()) - exact(a, b))

    threshold = neardup.DEFAULT_THRESHOLD
    pos_alike = [(a, b) for a, b in positives if exact(a, b) >= threshold]
    found = sum(1 for a, b in pos_alike if neardup.are_candidates(prints[a], prints[b]))
    neg_candidates = sum(1 for a, b in negatives if neardup.are_candidates(prints[a], prints[b]))
    neg_max = max(exact(a, b) for a, b in negatives)
    print(f"\nshingling (NFKC, 3-grams): {t_shingle:.3f} ms an article")
    print(f"MinHash {neardup.PERMUTATIONS} + {neardup.BANDS} bands (numpy): {t_minhash:.3f} ms; "
          f"estimate error mean {statistics.mean(estimate_error(a, b) for a, b in positives + negatives):.3f}; "  # noqa: E501
          f"LSH finds {found}/{len(pos_alike)} variations at J >= {threshold}, "
          f"{neg_candidates}/{len(negatives)} different pairs are candidates "
          f"(sharing {neardup.MIN_SHARED_BANDS} band values) "
          f"(then refused by the exact similarity, max {neg_max:.2f})")  # fmt: skip
    try:
        from datasketch import MinHash
    except ImportError:
        print("datasketch MinHash: not installed (pip install datasketch to compare)")
    else:
        grams = {t: [s.tobytes() for s in shingled[t]] for t in texts}

        def ds(t: str) -> Any:
            m = MinHash(num_perm=neardup.PERMUTATIONS, seed=1)
            m.update_batch(grams[t])
            return m

        t_ds = timed(ds, texts)
        dsig = {t: ds(t) for t in texts}
        err = statistics.mean(abs(dsig[a].jaccard(dsig[b]) - exact(a, b))
                              for a, b in positives + negatives)  # fmt: skip
        print(f"datasketch MinHash {neardup.PERMUTATIONS}: {t_ds:.3f} ms; estimate error "
              f"mean {err:.3f}")  # fmt: skip

    def hamming(a: str, b: str) -> int:
        return bin(sim[a] ^ sim[b]).count("1")

    pos_h = sorted(hamming(a, b) for a, b in pos_alike)
    neg_h = sorted(hamming(a, b) for a, b in negatives)
    best = min(range(65), key=lambda k: sum(h > k for h in pos_h) + sum(h <= k for h in neg_h))
    missed = sum(h > best for h in pos_h)
    false = sum(h <= best for h in neg_h)
    print(f"SimHash 64: {t_simhash:.3f} ms; alike pairs differ in {pos_h[len(pos_h) // 2]} bits "
          f"(median, max {pos_h[-1]}), different pairs in {neg_h[len(neg_h) // 2]} "
          f"(median, min {neg_h[0]}); the best cut, <= {best} bits, misses {missed}/{len(pos_h)} "
          f"and links {false}/{len(neg_h)} wrongly")  # fmt: skip
    _ = np


# --- the database ------------------------------------------------------------------------------
class Clock:
    """Accumulated seconds of the wrapped functions of pipelines.store."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, module: Any, name: str) -> None:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - started

        setattr(module, name, timed)


def load(engine: Any, count: int, clock: Clock) -> tuple[float, dict[str, str]]:
    from sqlalchemy import text

    from pipelines.store import write_batch

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE articles RESTART IDENTITY CASCADE"))
    planted: dict[str, str] = {}
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for n, (row, original) in enumerate(corpus(count), 1):
        batch.append(row)
        if original:
            planted[row["article_key"]] = original
        if len(batch) == 500:
            write_batch(engine, batch)
            batch = []
        if n % 20_000 == 0:
            print(f"  stored {n:,} articles, {time.perf_counter() - started:.0f} s", flush=True)
    if batch:
        write_batch(engine, batch)
    took = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE articles"))
    return took, planted


def check_links(engine: Any, planted: dict[str, str]) -> None:
    from sqlalchemy import text

    from crawler.neardup import DEFAULT_THRESHOLD, similarity

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.article_key, a.body_text, t.article_key AS target, t.body_text AS tb, "
                "a.similarity, a.duplicate_of FROM articles a "
                "LEFT JOIN articles t ON t.id = a.near_duplicate_of"
            )
        ).all()
    by_key = {r.article_key: r for r in rows}
    linked = [r for r in rows if r.target]
    exact = sum(1 for k in planted if by_key[k].duplicate_of)
    alike = [k for k in planted if not by_key[k].duplicate_of and similarity(
        by_key[k].body_text, by_key[planted[k]].body_text) >= DEFAULT_THRESHOLD]  # fmt: skip
    found = sum(1 for k in alike if by_key[k].target)
    unplanted = [r for r in linked if r.article_key not in planted]
    wrong = [r for r in linked if abs(similarity(r.body_text, r.tb) - r.similarity) > 1e-4]
    print(f"planted {len(planted):,} near-duplicates: {exact} became exact reposts (the store "
          f"trims a line-leading 原文链接), {len(alike):,} are alike to their original "
          f"(J >= {DEFAULT_THRESHOLD}), {found:,} of those are linked "
          f"({found / max(len(alike), 1):.2%}); {len(unplanted)} other links; "
          f"{len(wrong)} links whose stored similarity is not the exact one")  # fmt: skip


def lookups(engine: Any, count: int, n: int) -> None:
    from sqlalchemy import text

    from crawler import neardup
    from pipelines.store import write_batch
    from tests.support import article_row

    rng = random.Random(9)
    ways = variations(rng)
    with engine.begin() as conn:  # the lookups of an earlier run
        conn.execute(text("DELETE FROM articles WHERE site = 'bench-look'"))
    with engine.connect() as conn:
        picks = conn.execute(
            text("SELECT title, body_text, published_at, site FROM articles "
                 "ORDER BY random() LIMIT :n").bindparams(n=n)
        ).all()  # fmt: skip
    fresh = list(itertools.islice((row for row, _ in corpus(count + n)), count, count + n))
    rows = []
    for i, (pick, other) in enumerate(zip(picks, fresh, strict=False)):
        if i % 2:
            body = ways[rng.choice(sorted(ways))](pick.body_text)
            rows.append(article_row(f"look{i}", body=body, title=pick.title, site="bench-look",
                                    article_key=f"bench-look:id:{i}",
                                    published_at=pick.published_at + timedelta(days=1)))  # fmt: skip
        else:
            rows.append({**other, "article_key": f"bench-look:id:{i}", "site": "bench-look"})
    times, linked = [], 0
    for row in rows:
        started = time.perf_counter()
        linked += write_batch(engine, [row]).near_duplicates
        times.append((time.perf_counter() - started) * 1000)
    candidates = []
    with engine.connect() as conn:
        for row in rows[:50]:
            bands = neardup.fingerprint(row["body_text"]).bands
            candidates.append(conn.execute(
                text("SELECT count(*) FROM (SELECT article_id FROM article_bands "
                     "WHERE band = ANY(:b) GROUP BY article_id HAVING count(*) >= :k) c"),
                {"b": bands or [], "k": neardup.MIN_SHARED_BANDS},
            ).scalar_one() - 1)  # fmt: skip
        plan = conn.execute(
            text("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + str(neardup._READ)),
            {"keys": [rows[1]["article_key"]], "cap": neardup.MAX_CANDIDATES,
             "shared": neardup.MIN_SHARED_BANDS},
        ).scalars().all()  # fmt: skip
    times.sort()
    print(f"\n{len(rows)} lookups on {count:,} stored articles (write_batch of one article: "
          f"upsert, repost link, near-duplicate lookup and link): p50 {times[len(times) // 2]:.1f} "
          f"ms, p95 {times[int(len(times) * 0.95)]:.1f} ms, max {times[-1]:.1f} ms; "
          f"{linked} of {len(rows) // 2} planted variations linked; candidates (rows sharing "
          f"{neardup.MIN_SHARED_BANDS} band values) a lookup: "
          f"mean {statistics.mean(candidates):.1f}, max {max(candidates)}")  # fmt: skip
    print("plan of the candidate query (one article):")
    for line in plan:
        if any(w in line for w in ("Index", "Scan", "Join", "Loop", "Limit")):
            print("  " + line)
    started = time.perf_counter()
    with engine.connect() as conn:
        target = neardup.shingles(rows[1]["body_text"])
        result = conn.execution_options(stream_results=True).execute(
            text("SELECT body_text FROM articles")
        )
        best = max(neardup.jaccard(target, neardup.shingles(b)) for (b,) in result)
    print(f"a scan instead (the exact similarity to every stored body): "
          f"{(time.perf_counter() - started) * 1000:,.0f} ms for one article (best {best:.2f})")  # fmt: skip


def backfill(engine: Any, count: int) -> None:
    import importlib.util

    from sqlalchemy import text

    spec = importlib.util.spec_from_file_location(
        "m0011", ROOT / "migrations" / "versions" / "0011_neardup.py"
    )
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    read = text("SELECT id, near_duplicate_of, similarity FROM articles "
                "WHERE near_duplicate_of IS NOT NULL")  # fmt: skip
    with engine.begin() as conn:
        before = set(conn.execute(read).all())
        conn.execute(text("UPDATE articles SET minhash_bands = NULL, near_duplicate_of = NULL, "
                          "similarity = NULL"))  # fmt: skip
        conn.execute(text("TRUNCATE article_bands"))
    started = time.perf_counter()
    with engine.begin() as conn:
        migration.backfill(conn)
    took = time.perf_counter() - started
    with engine.connect() as conn:
        after = set(conn.execute(read).all())
    print(f"\nmigration 0011's backfill of {count:,} articles: {took:.0f} s "
          f"({count / took:,.0f} articles/s); {len(after):,} links, {len(before):,} written by "
          f"the store before, {len(after & before):,} of them identical")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="reuse the articles of a run")
    parser.add_argument("--compare", action="store_true", help="compare the algorithms first")
    parser.add_argument("--backfill", action="store_true", help="time migration 0011's backfill")
    args = parser.parse_args()
    if args.compare:
        compare()

    from sqlalchemy import create_engine, func, select

    import pipelines.store
    from crawler.database import migrate, resolve_database_url
    from crawler.models import Article

    home = ROOT / "bench" / "out"
    home.mkdir(parents=True, exist_ok=True)
    engine = create_engine(resolve_database_url(os.environ.get("DATABASE_URL"), home / "neardup-home"))  # fmt: skip
    migrate(engine)
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(Article)).scalar_one()
    planted: dict[str, str] = {}
    if not (args.keep and have >= args.articles):
        clock = Clock()
        for name in ("fingerprint", "link_stored", "lexemes"):
            clock.wrap(pipelines.store, name)
        print(f"\nstoring {args.articles:,} articles through write_batch, every {PLANT_EVERY}th a "
              f"near-duplicate …", flush=True)  # fmt: skip
        took, planted = load(engine, args.articles, clock)
        shares = ", ".join(f"{name} {spent:.0f} s ({spent / took:.0%})"
                           for name, spent in clock.spent.items())  # fmt: skip
        print(f"stored in {took:.0f} s ({args.articles / took:,.0f} articles/s); of which {shares}")
        check_links(engine, planted)
    with engine.connect() as conn:
        print(conn.exec_driver_sql(
            "SELECT pg_size_pretty(pg_total_relation_size('article_bands')) || ' article_bands "
            "with its indexes, ' || pg_size_pretty(pg_total_relation_size('articles')) || "
            "' articles with its indexes'"
        ).scalar_one())  # fmt: skip
    lookups(engine, args.articles, args.lookups)
    if args.backfill:
        backfill(engine, args.articles)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

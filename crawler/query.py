"""Read-side queries behind ``govcrawl runs / run / logs / sites / show``, and their output.

Every query is a parameterised SQLAlchemy statement; times are shown in Beijing time (the
portals' own); output is a table on a terminal (CJK-wide
characters counted as two columns) or JSON, JSONL or CSV for pipes.
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine

from crawler.extraction.text import CHINA_TZ
from crawler.models import Article, ArticleVersion, CrawlIssue, CrawlRun

FORMATS = ("table", "json", "jsonl", "csv")
MAX_ID = 2**63 - 1  # ids are bigint: a larger number is no id, not an error of PostgreSQL


class QueryError(LookupError):
    """Nothing to show: an unknown id, an empty database. The message says which."""


# --- output ------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(CHINA_TZ).isoformat()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return round(value.total_seconds(), 1)
    return value


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        return (
            f"{seconds // 60}m{seconds % 60:02d}s"
            if seconds >= 60
            else f"{value.total_seconds():.1f}s"
        )
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """One row for CSV: lists and dicts as JSON, times as ISO 8601."""
    return {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else _plain(v)
        for k, v in row.items()
    }


def write(rows: Sequence[dict[str, Any]], fmt: str = "table", out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        json.dump(
            [{k: _plain(v) for k, v in r.items()} for r in rows], out, ensure_ascii=False, indent=1
        )
        out.write("\n")
    elif fmt == "jsonl":
        for r in rows:
            out.write(json.dumps({k: _plain(v) for k, v in r.items()}, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
    else:
        if not rows:
            return
        headers = list(rows[0])
        cells = [[_cell(r[h]) for h in headers] for r in rows]
        widths = [max(_width(h), *(_width(c[i]) for c in cells)) for i, h in enumerate(headers)]

        def line(values: Iterable[str]) -> str:
            return "  ".join(
                v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=True)
            ).rstrip()

        out.write(line(headers) + "\n")
        for c in cells:
            out.write(line(c) + "\n")


# --- queries -------------------------------------------------------------------------------------
def run_rows(
    engine: Engine,
    site: str | None = None,
    status: str | None = None,
    trigger: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Crawl runs, newest first, filtered by site, status and trigger (none when none match)."""
    stats = CrawlRun.stats
    stmt = (
        select(
            CrawlRun.id,
            CrawlRun.site,
            CrawlRun.status,
            CrawlRun.trigger,
            CrawlRun.started_at.label("started"),
            (CrawlRun.finished_at - CrawlRun.started_at).label("took"),
            stats["govcrawl/listing/pages"].as_integer().label("pages"),
            stats["govcrawl/items/new"].as_integer().label("new"),
            stats["govcrawl/items/updated"].as_integer().label("updated"),
            stats["govcrawl/items/withdrawn"].as_integer().label("withdrawn"),
            func.coalesce(stats["log_count/ERROR"].as_integer(), 0).label("errors"),
            func.jsonb_array_length(CrawlRun.alerts).label("alerts"),
            CrawlRun.finish_reason.label("reason"),
        )  # fmt: skip
        .order_by(CrawlRun.id.desc())
        .limit(limit)
        .offset(offset)
    )
    for column, value in (
        (CrawlRun.site, site),
        (CrawlRun.status, status),
        (CrawlRun.trigger, trigger),
    ):
        if value:
            stmt = stmt.where(column == value)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def runs(engine: Engine, site: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """``govcrawl runs``: the newest runs; an error when there are none."""
    rows = run_rows(engine, site, limit=limit)
    if not rows:
        raise QueryError(f"no runs{f' of site {site!r}' if site else ''} in this database yet")
    return rows


def run(engine: Engine, run_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not 0 < run_id <= MAX_ID:
        raise QueryError(f"no run {run_id} (see `govcrawl runs`)")
    with engine.connect() as conn:
        found = conn.execute(select(CrawlRun).where(CrawlRun.id == run_id)).first()
        if found is None:
            raise QueryError(f"no run {run_id} (see `govcrawl runs`)")
        issues = [
            dict(r._mapping)
            for r in conn.execute(
                select(CrawlIssue.kind, CrawlIssue.url, CrawlIssue.reason)
                .where(CrawlIssue.run_id == run_id)
                .order_by(CrawlIssue.id)
            )
        ]
    record = dict(found._mapping)
    return record, issues


def sites(engine: Engine) -> list[dict[str, Any]]:
    last_ok = (
        select(CrawlRun.site, func.max(CrawlRun.finished_at).label("last_success"))
        .where(CrawlRun.status.in_(("succeeded", "degraded")))  # degraded runs did finish
        .group_by(CrawlRun.site)
        .subquery()
    )
    stmt = (
        select(
            Article.site,
            func.count().label("articles"),
            func.count(Article.withdrawn_at).label("withdrawn"),
            func.max(Article.published_at).label("newest"),
            last_ok.c.last_success,
            # the re-check guarantee: the page checked longest ago, and the pages overdue
            func.min(func.coalesce(Article.last_checked_at, Article.first_seen)).label(
                "oldest_check"
            ),
            func.count().filter(Article.next_check_at < func.now()).label("checks_due"),
        )
        .outerjoin(last_ok, last_ok.c.site == Article.site)
        .group_by(Article.site, last_ok.c.last_success)
        .order_by(Article.site)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
        now = conn.execute(select(func.now())).scalar_one()
    if not rows:
        raise QueryError(
            "no articles in this database yet (crawl a site first: `govcrawl crawl <site>`)"
        )
    for row in rows:
        row["newest_age_days"] = (now - row["newest"]).days if row["newest"] else None
        oldest = row.pop("oldest_check")
        row["oldest_check_days"] = (now - oldest).days if oldest else None
    return rows


def show(engine: Engine, ident: str) -> dict[str, Any]:
    """An article by id or URL, with its versions."""
    # ASCII digits only: "²".isdigit() is true, and int() refuses it
    if ident.isascii() and ident.isdigit():
        if int(ident) > MAX_ID:
            raise QueryError(f"no article {ident!r}")
        condition = Article.id == int(ident)
    else:
        condition = or_(Article.url == ident, Article.url == ident.rstrip("/"))
    with engine.connect() as conn:
        found = conn.execute(select(Article).where(condition)).first()
        if found is None:
            raise QueryError(f"no article {ident!r}")
        article = found
        versions = [
            dict(r._mapping)
            for r in conn.execute(
                select(ArticleVersion.replaced_at, ArticleVersion.changed, ArticleVersion.title)
                .where(ArticleVersion.article_id == article.id)
                .order_by(ArticleVersion.replaced_at)
            )
        ]
    keep = ("id", "site", "channels", "url", "title", "published_at", "source", "author", "attachments",
            "images", "extra", "duplicate_of", "near_duplicate_of", "similarity", "withdrawn_at",
            "first_seen", "last_seen", "updated_at", "body_text")  # fmt: skip
    record = {name: getattr(article, name) for name in keep}
    if article.near_duplicate_of is not None:  # crawler/neardup.py
        record["near_duplicate"] = (
            f"near-duplicate of #{article.near_duplicate_of} (similarity {article.similarity:.2f})"
        )
    record["versions"] = versions
    return record

"""Test support: comparing stored articles with a ground truth, reading the last run's stats."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import select

from crawler.extraction.normalise import normalise
from crawler.models import CrawlRun


def article_row(key: str, channels=("bcyb",), body="正文。", title="标题", day=1, **extra):
    """A row as the store pipeline writes it, of site ``s`` with platform id ``key``: built by
    the real normaliser from a record (one paragraph per line of ``body``); ``extra`` overrides
    any stored field."""
    record = {
        "site": "s",
        "channels": list(channels),
        "url": extra.pop("url", f"https://x.cn/{key}.html"),
        "platform_id": key,
        "title": title,
        "published": f"2025-01-{day:02d}",
        "body_html": "".join(f"<p>{escape(line)}</p>" for line in body.split("\n")),
    }
    row, _ = normalise(record, "https://x.cn/")
    del row["published"]  # the raw date text is not a column
    return {**row, **extra}


def expected_fields(want: dict[str, Any], base: str) -> dict[str, Any]:
    """The columns of ``articles`` a ground-truth article fixes (paths made absolute)."""
    fields = {
        "url": base + want["url"],
        "channels": want["channels"],
        "title": want["title"],
        "published_at": datetime.fromisoformat(want["published_at"]),
        "source": want["source"],
        "body_text": want["body_text"],
        "images": [base + path for path in want["images"]],
        "attachments": [{**a, "url": base + a["url"]} for a in want["attachments"]],
    }
    for optional in ("author", "extra"):
        if optional in want:
            fields[optional] = want[optional]
    return fields


def mismatches(got: Any, expected: dict[str, Any], noise: tuple[str, ...]) -> list[str]:
    """Every field that differs, and every noise string left in the body."""
    found = [
        f"{got.platform_id} {field}: got {getattr(got, field)!r}, want {value!r}"
        for field, value in expected.items()
        if getattr(got, field) != value
    ]
    found += [
        f"{got.platform_id} body contains {n!r}"
        for n in noise
        if n in got.body_html or n in got.body_text
    ]
    if "\ufffd" in got.title + got.body_text:
        found.append(f"{got.platform_id} has mojibake")
    if got.published_at.utcoffset() is None:
        found.append(f"{got.platform_id} published_at is naive")
    return found


def latest_stats(db: Any) -> dict[str, Any]:
    """The Scrapy stats of the newest crawl run."""
    with db.connect() as conn:
        return conn.execute(
            select(CrawlRun.stats).order_by(CrawlRun.id.desc()).limit(1)
        ).scalar_one()


def table_counts(db: Any) -> dict[str, int]:
    """How many articles, versions and withdrawn articles the database holds."""
    from sqlalchemy import func

    from crawler.models import Article, ArticleVersion

    with db.connect() as conn:
        return {
            "articles": conn.execute(select(func.count()).select_from(Article)).scalar_one(),
            "versions": conn.execute(select(func.count()).select_from(ArticleVersion)).scalar_one(),
            "withdrawn": conn.execute(
                select(func.count()).where(Article.withdrawn_at.is_not(None))
            ).scalar_one(),
        }


def assert_counts_add_up(before: dict[str, int], after: dict[str, int], stats: dict[str, Any]):
    """The run's figures are what happened to the database: new rows, versions of updated
    rows, and withdrawn minus restored."""
    get = stats.get
    assert after["articles"] - before["articles"] == get("govcrawl/items/new", 0), stats
    assert after["versions"] - before["versions"] == get("govcrawl/items/updated", 0), stats
    assert after["withdrawn"] - before["withdrawn"] == get("govcrawl/items/withdrawn", 0) - get(
        "govcrawl/items/restored", 0
    ), stats

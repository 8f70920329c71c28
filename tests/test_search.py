"""govcrawl search / export: exact Chinese matching, filters, streaming, bad input."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from crawler.extraction.text import CHINA_TZ
from crawler.models import Article
from crawler.search import Filters, lexemes, parse_query, search
from pipelines.store import write_batch
from tests.support import article_row
from tests.test_cli import TRUTH, govcrawl


def test_lexemes_are_bigrams_and_run_ends():
    assert lexemes("病虫害防治，关于") == sorted(
        ["病虫", "虫害", "害防", "防治", "治", "关于", "于"]
    )
    assert lexemes("GB 2312") == sorted(["gb", "b", "23", "31", "12", "2"])
    assert lexemes(None, "") == []


def test_query_terms():
    q = parse_query("病虫害 工会 茶")
    assert q.tsquery == "'病虫' & '虫害' & '工会' & '茶':*"
    assert q.recheck == ("病虫害",)
    assert parse_query("it's").tsquery == "'it' & 's':*"  # a quote never escapes the literal
    with pytest.raises(ValueError, match="nothing to search for"):
        parse_query(" ，。 ")


def keys(engine, text, **filters):
    found = search(engine, text, Filters(**filters), limit=100)
    with engine.connect() as conn:
        ids = {r["id"] for r in found}
        return sorted(
            conn.execute(select(Article.platform_id).where(Article.id.in_(ids))).scalars()
        )


def test_matches_are_exact_substrings(db):
    write_batch(
        db,
        [
            article_row("a", title="关于病虫害防治的通知", body="各地要做好防治。"),
            article_row(
                "b", title="病虫情报", body="稻飞虱病虫，害虫偏轻。"
            ),  # 病虫 and 虫害? no: 虫，害
            article_row(
                "c", title="工作简报", body="病虫和虫害都偏轻"
            ),  # both bigrams, not the phrase
            article_row("d", title="茶叶生产", body="Tea 产业 GB2312"),
        ],
    )
    assert keys(db, "病虫") == ["a", "b", "c"]
    assert keys(db, "虫害") == ["a", "c"]
    assert keys(db, "病虫害") == ["a"]
    assert keys(db, "病虫 通知") == ["a"]
    assert keys(db, "茶") == ["d"]
    assert keys(db, "害") == ["a", "b", "c"]  # also as the last character of a run
    assert keys(db, "tea") == keys(db, "TEA") == ["d"]
    assert keys(db, "gb2312") == ["d"]
    assert keys(db, "工会") == []


def test_filters(db):
    day = datetime(2025, 10, 8, 9, 30, tzinfo=CHINA_TZ)
    write_batch(
        db,
        [
            article_row(
                "a",
                title="病虫害通知",
                body="正文一",
                published_at=day,
                channels=["tzgg"],
                source="省植保站",
            ),
            article_row("b", title="病虫害情报", body="正文二", published_at=day.replace(month=9)),
        ],
    )
    assert keys(db, "病虫害", channel="tzgg") == ["a"]
    assert keys(db, "病虫害", since="2025-10") == ["a"]
    assert keys(db, "病虫害", until="2025-09-30") == ["b"]
    assert keys(db, "病虫害", since="2025-10-08", until="2025-10-08") == ["a"]
    assert keys(db, "病虫害", source="植保") == ["a"]
    assert keys(db, "病虫害", site="elsewhere") == []
    with db.begin() as conn:
        conn.execute(Article.__table__.update().where(Article.platform_id == "b").values(
            withdrawn_at=day))  # fmt: skip
    assert keys(db, "病虫害") == ["a"]
    assert keys(db, "病虫害", status="withdrawn") == ["b"]
    assert keys(db, "病虫害", status="all") == ["a", "b"]


def truth_containing(word: str) -> set[str]:
    return {a["url"] for a in TRUTH["articles"] if word in a["title"] or word in a["body_text"]}


def test_search_and_export_after_a_real_crawl(db, sample_profile, database_url, tmp_path):
    result = govcrawl("crawl", str(sample_profile), database_url=database_url, home=tmp_path)
    assert result.returncode == 3, result.stderr[-2000:]  # degraded: two broken channels

    def urls(*args):
        out = govcrawl("search", *args, "--limit", "1000", "--format", "json",
                       database_url=database_url, home=tmp_path)  # fmt: skip
        found = json.loads(out.stdout) if out.returncode == 0 else []
        return {urlsplit(r["url"]).path for r in found}

    for word in ("工会", "病虫", "通知", "病虫害", "赤霉病", "统防统治"):
        expected = truth_containing(word)
        assert expected, word
        assert urls(word) == expected, word
    table = govcrawl("search", "工会", database_url=database_url, home=tmp_path)
    assert table.stdout.splitlines()[0].split()[:4] == ["id", "published", "site", "channels"]
    assert "工会" in table.stdout

    october = {
        a["url"]
        for a in TRUTH["articles"]
        if "病虫" in a["title"] + a["body_text"] and a["published_at"] >= "2025-10-01"
        and "bcyb" in a["channels"]
    }  # fmt: skip
    assert october and urls("病虫", "--since", "2025-10", "--channel", "bcyb") == october

    exported = govcrawl("export", "--format", "jsonl", database_url=database_url, home=tmp_path)
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(rows) == len(TRUTH["articles"]) and len({r["id"] for r in rows}) == len(rows)
    assert f"exported {len(rows)} articles" in exported.stderr
    assert rows[0]["published_at"] >= rows[-1]["published_at"]
    out = tmp_path / "gonghui.csv"
    govcrawl("export", "工会", "--format", "csv", "-o", str(out),
             database_url=database_url, home=tmp_path)  # fmt: skip
    with open(out, encoding="utf-8", newline="") as f:
        found = list(csv.DictReader(f))
    assert {urlsplit(r["url"]).path for r in found} == truth_containing("工会")
    assert json.loads(found[0]["channels"])


def test_bad_search_input_is_one_line(db, database_url, tmp_path):
    for args, message in [
        (("search", "病虫", "--since", "2025-13-01"), "--since: '2025-13-01' is not a date"),
        (("search", "病虫", "--since", "2025-10", "--until", "2025-09"), "is after --until"),
        (("search", "，"), "nothing to search for"),
        (("export", "--until", "yesterday"), "--until: 'yesterday' is not a date"),
    ]:
        result = govcrawl(*args, database_url=database_url, home=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    none = govcrawl("search", "工会", database_url=database_url, home=tmp_path)
    assert none.returncode == 1 and "no matching articles" in none.stderr
    assert io.StringIO(none.stdout).read() == ""

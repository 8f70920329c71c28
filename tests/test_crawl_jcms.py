"""End to end on the legacy JCMS layout: column pages, dataproxy.jsp batches, /art/ pages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from crawler.models import Article, CrawlIssue, CrawlRun
from tests.support import expected_fields, latest_stats, mismatches

ROOT = Path(__file__).resolve().parent.parent
NOISE = (
    "原文链接",
    "免责声明",
    "相关信息",
    "打印",
    "关闭",
    "字体",
    "分享到",
    "articlehits",
    "<script",
)
TRUTH = json.loads((ROOT / "sample_portal" / "ground_truth_jcms.json").read_text(encoding="utf-8"))


def test_ground_truth_file_is_what_the_generator_builds():
    from sample_portal.jcms import generate_jcms_portal

    assert generate_jcms_portal().ground_truth() == TRUTH


def test_jcms_crawl_matches_the_ground_truth_field_by_field(db, jcms_server, jcms_profile, crawl):
    result = crawl(jcms_profile)
    assert result.returncode == 0, result.stderr[-4000:]
    base = jcms_server.base_url
    with db.connect() as conn:
        rows = {row.platform_id: row for row in conn.execute(select(Article)).all()}
    assert set(rows) == {a["id"] for a in TRUTH["articles"]}
    found = []
    for want in TRUTH["articles"]:
        found += mismatches(rows[want["id"]], expected_fields(want, base), NOISE)
    assert not found, "\n".join(found[:30])


def test_paging_overlaps_failures_and_undecodable_pages_are_counted(
    db, jcms_server, jcms_profile, crawl
):
    result = crawl(jcms_profile)
    assert result.returncode == 0
    proxy = [r for r in jcms_server.requests if r.method == "POST"]
    batches = sorted(
        (parse_qs(r.body)["columnid"][0], parse_qs(urlsplit(r.path).query)["startrecord"][0])
        for r in proxy
    )
    assert batches == [("77926", "46"), ("77926", "91"), ("77927", "46")]
    for r in proxy:
        form = parse_qs(r.body)
        assert (
            form["webid"] == ["3"]
            and form["webname"] == ["江西省住房和城乡建设厅"]
            and form["path"] == ["/"]
        )
        assert r.headers["Referer"].endswith(f"/col/col{form['columnid'][0]}/index.html")
    with db.connect() as conn:
        stats = conn.execute(select(CrawlRun.stats)).scalar_one()
        issues = conn.execute(select(CrawlIssue.kind, CrawlIssue.url, CrawlIssue.reason)).all()
    assert stats["govcrawl/listing/overlap"] == 3
    assert stats["govcrawl/listing/unreadable_records"] == TRUTH["unreadable_records"]
    failed = {(kind, urlsplit(url).path, reason) for kind, url, reason in issues}
    for dropped in TRUTH["dropped"]:
        kind = "gone" if dropped["reason"] == "HTTP 404" else "undecodable"
        assert any(k == kind and p == dropped["url"] for k, p, _ in failed), (dropped, failed)
    assert stats["govcrawl/issues/gone"] == 1 and stats["govcrawl/issues/undecodable"] == 1
    gets = [
        r.path for r in jcms_server.requests if r.method == "GET" and r.path.startswith("/art/")
    ]
    assert len(gets) == len(set(gets)), "an article page was fetched twice"


def test_one_archived_page_by_url(db, jcms_server, jcms_profile, crawl):
    seed = next(a for a in TRUTH["articles"] if a["source"] == "新华社" and "习近平" in a["title"])
    result = crawl(jcms_profile, f"url={jcms_server.base_url}{seed['url']}")
    assert result.returncode == 0, result.stderr[-3000:]
    with db.connect() as conn:
        rows = conn.execute(select(Article.platform_id, Article.channels, Article.body_text)).all()
    assert rows == [(seed["id"], seed["channels"], seed["body_text"])]
    assert [r.path for r in jcms_server.requests if r.path != "/robots.txt"] == [seed["url"]]


def test_pager_params_from_the_profile_win(db, jcms_server, tmp_path, crawl):
    from sample_portal.jcms import profile_text

    profile = tmp_path / "given.toml"
    profile.write_text(
        profile_text(jcms_server.base_url).replace(
            'platform = "jcms"', 'platform = "jcms"\n\n[jcms]\nwebid = "99"'
        ),
        encoding="utf-8",
    )
    result = crawl(profile)
    assert result.returncode == 0
    assert {parse_qs(r.body)["webid"][0] for r in jcms_server.requests if r.method == "POST"} == {
        "99"
    }


def test_due_rechecks_use_conditional_gets_and_find_a_body_edit(
    db, jcms_server, jcms_profile, crawl
):
    assert crawl(jcms_profile).returncode == 0
    jcms_profile.write_text(
        jcms_profile.read_text(encoding="utf-8") + "\n[incremental]\nrecheck_budget = 1000\n",
        encoding="utf-8",
    )
    portal = jcms_server.portal
    edited = portal.columns[1].records[7]
    edited.paragraphs = ["通知内容已更正。"]
    edited.body_html = "<p>通知内容已更正。</p>"
    jcms_server.requests.clear()

    # a JCMS listing never shows a body edit: 100 days later every page is due for a re-check
    later = (datetime.now(timezone.utc) + timedelta(days=100)).isoformat()
    assert crawl(jcms_profile, settings={"GOVCRAWL_NOW": later}).returncode == 0
    stats = latest_stats(db)
    with db.connect() as conn:
        body = conn.execute(
            select(Article.body_text).where(Article.platform_id == edited.id)
        ).scalar_one()
    conditional = [r for r in jcms_server.requests if "If-None-Match" in r.headers]
    assert len(conditional) == stats["govcrawl/recheck/requests"] > 100
    assert stats["govcrawl/recheck/not_modified"] == len(conditional) - 1
    assert stats["govcrawl/items/updated"] == 1 and stats.get("govcrawl/items/new", 0) == 0
    assert body == "通知内容已更正。"


def test_a_second_jcms_run_stops_at_the_column_pages(db, jcms_server, jcms_profile, crawl):
    assert crawl(jcms_profile).returncode == 0
    jcms_server.requests.clear()
    assert crawl(jcms_profile).returncode == 0
    stats = latest_stats(db)
    with db.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Article)).scalar_one()
    assert count == len(TRUTH["articles"]) and stats.get("govcrawl/items/new", 0) == 0
    # the column pages, and a retry of each listed article no run could store (undecodable);
    # the one whose page answered 404 was reported gone once and is not asked again
    retried = sorted(d["url"] for d in TRUTH["dropped"] if d["reason"] != "HTTP 404")
    assert retried and len(retried) < len(TRUTH["dropped"])
    expected = sorted(
        ["/col/col77926/index.html", "/col/col77927/index.html", "/robots.txt", *retried]
    )
    assert sorted(r.path for r in jcms_server.requests) == expected
    assert stats["govcrawl/listing/retried_entries"] == len(retried)
    assert stats["govcrawl/listing/stopped_early"] == 2


def test_a_column_without_a_total_is_paged_until_a_batch_brings_nothing(
    db, jcms_server, jcms_profile, crawl
):
    """Paging only in <nextgroup>, no totalRecord anywhere: every batch is asked until one is
    empty, and the column counts as listed to its end."""
    from crawler.models import ChannelState

    for column in jcms_server.portal.columns:
        column.no_total = True
    assert crawl(jcms_profile).returncode == 0
    with db.connect() as conn:
        rows = {pid for (pid,) in conn.execute(select(Article.platform_id))}
        ended = {s.channel for s in conn.execute(select(ChannelState)) if s.backfill_done_at}
    assert rows == {a["id"] for a in TRUTH["articles"]}
    assert ended == {c.id for c in jcms_server.portal.columns}
    jcms_server.requests.clear()
    assert crawl(jcms_profile).returncode == 0
    assert latest_stats(db)["govcrawl/listing/stopped_early"] == 2


def test_a_real_datastore_without_a_total_names_its_pager_in_nextgroup():
    from crawler.extraction.jcms import parse_column_page

    page = ROOT.parent / "shared" / "real-pages" / "zwgk.dingxi.gov.cn" / "datastore_col12377.xml"
    if not page.exists():
        pytest.skip(f"the real pages are not here ({page.parent.parent})")
    listing = parse_column_page(page.read_text(encoding="utf-8"), "http://zwgk.dingxi.gov.cn")
    assert listing.total is None and len(listing.entries) == 45
    assert listing.params["unitid"] == "38486" and listing.params["webid"] == "110"
    assert listing.params["webname"] == "定西市政府信息公开平台"
    assert listing.entries[0].title == "定西市“春节”文明祭祀倡议书"

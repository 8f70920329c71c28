"""End to end: crawl the sample portal over HTTP into PostgreSQL and check every field."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl

from sqlalchemy import func, select

from crawler.models import Article, CrawlIssue, CrawlRun
from tests.support import expected_fields, latest_stats, mismatches

ROOT = Path(__file__).resolve().parent.parent
NOISE = ("<script", "javascript:", "分享到", "打印本页", "原文链接", "免责声明", "字体：")
TRUTH = json.loads((ROOT / "sample_portal" / "ground_truth.json").read_text(encoding="utf-8"))


def articles(db) -> dict[str, Article]:
    with db.connect() as conn:
        return {row.platform_id: row for row in conn.execute(select(Article)).all()}


def test_ground_truth_file_is_what_the_generator_builds(portal):
    assert portal.ground_truth() == TRUTH


def test_crawl_matches_the_ground_truth_field_by_field(db, sample_server, sample_profile, crawl):
    result = crawl(sample_profile)
    assert result.returncode == 0, result.stderr[-4000:]
    base = sample_server.base_url
    rows = articles(db)
    assert set(rows) == {a["id"] for a in TRUTH["articles"]}
    id_of_url = {row.url: row.id for row in rows.values()}

    found = []
    for want in TRUTH["articles"]:
        got = rows[want["id"]]
        expected = expected_fields(want, base)
        expected["duplicate_of"] = (
            id_of_url[base + want["duplicate_of"]] if want["duplicate_of"] else None
        )
        found += mismatches(got, expected, NOISE)
    assert not found, "\n".join(found[:30])


def test_a_second_crawl_adds_no_row_and_stops_at_page_one(db, sample_server, sample_profile, crawl):
    assert crawl(sample_profile).returncode == 0
    with db.connect() as conn:
        count, max_id = conn.execute(select(func.count(), func.max(Article.id))).one()
    sample_server.requests.clear()
    second = crawl(sample_profile)
    assert second.returncode == 0, second.stderr[-4000:]
    with db.connect() as conn:
        assert conn.execute(select(func.count(), func.max(Article.id))).one() == (count, max_id)
    stats = latest_stats(db)
    assert count == len(TRUTH["articles"])
    assert stats.get("govcrawl/items/new", 0) == 0 and stats.get("govcrawl/items/updated", 0) == 0
    assert stats["govcrawl/listing/stopped_early"] == 3  # the three working channels
    # robots.txt, yjxx's channel page (its unitid is not in the profile), page 1 of each channel
    assert len(sample_server.requests) == 1 + 1 + len(TRUTH["channels"])


def test_run_record_keeps_stats_and_every_record_that_was_not_stored(
    db, sample_server, sample_profile, crawl
):
    result = crawl(sample_profile)
    assert result.returncode == 0
    with db.connect() as conn:
        run = conn.execute(select(CrawlRun)).one()
        issues = conn.execute(select(CrawlIssue.kind, CrawlIssue.url, CrawlIssue.reason)).all()
    # finished, but the two broken channels logged errors: the error monitor flags the run
    assert run.status == "degraded" and run.finish_reason == "finished" and run.finished_at
    assert run.alerts == [
        "2 errors (limit 0, setting SPIDERMON_MAX_ERRORS): channel gsgg replied with broken "
        "JSON, channel tzgg with an HTML page"
    ]
    assert run.stats["govcrawl/items/new"] == len(TRUTH["articles"])
    assert run.stats["govcrawl/items/dropped/missing_title"] == 1
    assert run.stats["govcrawl/items/dropped/missing_published_at"] == 1
    assert run.stats["govcrawl/listing/bad_reply"] == 2
    assert run.stats["govcrawl/listing/bad_field/metadata"] == 1
    invalid = sorted(
        (url.rsplit("_", 1)[-1].split(".")[0], reason)
        for kind, url, reason in issues
        if kind == "invalid"
    )
    assert invalid == sorted((d["id"], d["reason"]) for d in TRUTH["dropped"])
    bad = sorted(reason.split(" (")[0] for kind, url, reason in issues if kind == "bad_listing")
    assert bad == ["reply is an HTML page, not JSON", "reply is not valid JSON"]
    # and the log says so, with the URL
    assert "missing title" in result.stderr and "channel=tzgg" in result.stderr


def test_requests_are_what_the_portal_script_sends(db, sample_server, sample_profile, crawl):
    assert crawl(sample_profile).returncode == 0
    posts = [r for r in sample_server.requests if r.method == "POST"]
    assert posts and all(r.path == "/queryList" for r in posts)
    for r in posts:
        assert r.headers["X-Requested-With"] == "XMLHttpRequest"
        assert r.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=UTF-8"
        form = parse_qsl(r.body, keep_blank_values=True)
        assert [k for k, _ in form] == [
            "current",
            "perPage",
            "pageSize",
            "searchstart",
            "showMode",
            "unitid",
            "webSiteCode",
            "channelCode",
            "sort",
            "order",
        ]
        assert (
            r.headers["Referer"]
            == f"{sample_server.base_url}/jxsnynct/{dict(form)['channelCode']}/index.html"
        )
    pages = {
        (dict(parse_qsl(r.body))["channelCode"], dict(parse_qsl(r.body))["current"]) for r in posts
    }
    assert ("bcyb", "9") in pages and ("bcyb", "10") not in pages  # 123 records = 9 pages of 15
    gets = [r.path for r in sample_server.requests if r.method == "GET"]
    assert "/jxsnynct/yjxx/index.html" in gets  # unitid not in the profile: read from the page
    assert "/jxsnynct/bcyb/index.html" not in gets  # unitid in the profile: page not needed
    assert len(set(gets)) == len(gets), "a page was fetched twice"


def test_a_channel_without_unitid_is_reported_and_the_rest_goes_on(
    db, portal, sample_server, sample_profile, crawl
):
    portal.channel("yjxx").unitid_in_page = False
    result = crawl(sample_profile)
    assert result.returncode == 0
    assert (
        "no unitid in the page's list template" in result.stderr and "set unitid" in result.stderr
    )
    with db.connect() as conn:
        kinds = [k for (k,) in conn.execute(select(CrawlIssue.kind)).all()]
        channels = {c for (cs,) in conn.execute(select(Article.channels)).all() for c in cs}
    assert kinds.count("no_unitid") == 1
    assert channels == {"bcyb", "fzjz"}


def test_max_pages_and_channel_selection(db, sample_server, sample_profile, crawl):
    assert crawl(sample_profile, "channels=bcyb", "max_pages=2").returncode == 0
    with db.connect() as conn:
        channels = [cs for (cs,) in conn.execute(select(Article.channels)).all()]
    assert 25 <= len(channels) <= 30  # two pages of 15, less the invalid one
    assert all("bcyb" in cs for cs in channels)


def test_a_parse_only_run_needs_no_database(sample_server, sample_profile, crawl):
    """The benchmark's bare spider: no pipelines, no extensions, nothing stored."""
    result = crawl(sample_profile, settings={"ITEM_PIPELINES": "{}", "EXTENSIONS": "{}"})
    assert result.returncode == 0
    assert "Spider error" not in result.stderr and "Traceback" not in result.stderr
    # 265 articles, the 2 that validation would drop, and the shared article's second listing
    assert "'item_scraped_count': 268" in result.stderr


def test_prerendered_replies_are_served_from_memory(portal):
    from urllib.request import Request, urlopen

    from sample_portal.server import SamplePortalServer

    with SamplePortalServer(portal) as server:
        assert server.prerender() > len(portal.articles)
        article = next(iter(portal.articles.values()))
        portal.articles.clear()  # the live portal is gone; the pre-rendered page is still served
        with urlopen(Request(server.base_url + article.path)) as reply:
            assert reply.status == 200 and article.title.encode() in reply.read()

"""A gov.cn-shaped (UCAP) site crawled end to end with the ``generic`` platform: its list pages
described in the profile by URL pattern and selectors, its article pages read by the shared
extractor (``#UCAP-CONTENT``, ``firstpublishedtime``, the stray ``</html>`` repaired). The sample
(sample_portal/ucap.py) to 100% of its ground truth, then a history of runs against a real
PostgreSQL with the site changing over HTTP between them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawler.extract_cmd import describe
from crawler.models import Article
from sample_portal.ucap import (
    CST,
    UcapPortalServer,
    article_page,
    generate_ucap_portal,
    ground_truth,
    profile_text,
)
from tests.support import (
    assert_counts_add_up,
    expected_fields,
    latest_stats,
    mismatches,
    table_counts,
)

REAL_ARTICLE = Path(__file__).resolve().parents[2] / "shared/real-pages/www.gov.cn/gne_other.html"
REAL_URL = "https://www.gov.cn/home/2014-02/18/content_5046260.htm"
# the sample's newest article is dated 2025-12-18: the history's clock starts two days later
T0 = datetime(2025, 12, 20, 10, 0, tzinfo=CST)
NOISE = ("字号", "打印", "扫一扫", "相关稿件", "版权所有", "网站标识码", "首页")


@pytest.fixture
def ucap_server() -> Iterator[UcapPortalServer]:
    with UcapPortalServer(generate_ucap_portal()) as server:
        yield server


@pytest.fixture
def ucap_profile(ucap_server: UcapPortalServer, tmp_path: Path) -> Path:
    path = tmp_path / "sample-ucap.toml"
    path.write_text(profile_text(ucap_server.base_url), encoding="utf-8")
    return path


def wrong_fields(db: Any, server: UcapPortalServer) -> list[str]:
    """Every stored field that differs from the ground truth, and every article too many.
    The generic platform knows no article ids: the URL is the key."""
    truth = server.portal.ground_truth()
    base = server.base_url
    with db.connect() as conn:
        rows = {r.url: r for r in conn.execute(select(Article))}
    live = {url for url, row in rows.items() if row.withdrawn_at is None}
    extra = live - {base + a["url"] for a in truth["articles"]}
    wrong = [f"stored but not live: {url}" for url in sorted(extra)]
    for want in truth["articles"]:
        got = rows.get(base + want["url"])
        if got is None:
            wrong.append(f"{want['url']} not stored")
            continue
        wrong += mismatches(got, expected_fields(want, base), NOISE)
    return wrong


def no_change_requests(server: UcapPortalServer) -> list[str]:
    """What a run asks of the site when nothing changed: robots.txt, each first list page."""
    return sorted(["/robots.txt", *(c.page_path(0) for c in server.portal.columns)])


# --- the sample against the real page -------------------------------------------------------
def test_a_sample_article_reads_as_the_real_gov_cn_page_does():
    """``govcrawl extract <saved page> --url <its url>``, run in-process, on the real page and on
    a sample 公报 page: the same extractors, the same repair."""
    if not REAL_ARTICLE.is_file():
        pytest.skip(f"the saved real pages are not here: {REAL_ARTICLE} is missing")
    real = describe(REAL_ARTICLE.read_text(encoding="utf-8"), REAL_URL)
    portal = generate_ucap_portal()
    a = portal.columns[1].records[3]
    sample = describe(article_page(portal, a), "http://127.0.0.1:8800" + a.path)
    assert (
        sample["provenance"]
        == real["provenance"]
        == {
            "title": "title-tag",
            "body": "container:ucap-content",
            "published": "meta:firstpublishedtime",
            "author": "meta:author",
        }
    )
    assert sample["repairs"] == real["repairs"] == ["stray-end-tag"]
    assert (sample["source"], real["source"]) == ("", "")  # 公报 pages name no 来源
    want = next(t for t in ground_truth(portal)["articles"] if t["id"] == a.id)
    assert (sample["title"], sample["published_at"], sample["body_text"]) == (
        want["title"], want["published_at"], want["body_text"],
    )  # fmt: skip


def test_the_sample_has_the_shapes_of_the_real_page():
    portal = generate_ucap_portal()
    truth = portal.ground_truth()
    assert [(c["code"], c["records"], c["pages"]) for c in truth["columns"]] == [
        ("yaowen", 39, 3),
        ("gongbao", 26, 2),
    ]
    entries = truth["columns"][0]["entries"]
    assert entries[0]["published"] < entries[1]["published"]  # an old entry pinned on top
    assert {a.template for a in portal.articles.values()} == {"news", "gongbao"}
    assert any(a["images"] for a in truth["articles"])
    assert any(a["attachments"] for a in truth["articles"])
    assert generate_ucap_portal().ground_truth() == truth == ground_truth()
    for a in (portal.columns[0].records[1], portal.columns[1].records[0]):
        page = article_page(portal, a)
        assert re.search(r"</html>\s*<!--end header-->\s*<div class=\"content\">", page)
        assert re.fullmatch(r"content_\d{7}\.htm", a.path.rsplit("/", 1)[1])
        # the date only in the metas: nowhere a reader sees it
        day = f"{a.published:%Y-%m-%d}"
        assert f'name="firstpublishedtime" content="{day}-{a.published:%H:%M:%S}"' in page
        visible = re.sub(r"<head>.*?</head>|<script.*?</script>|<[^>]+>", " ", page, flags=re.S)
        assert day not in visible and f"{a.published:%Y年%m月%d日}" not in visible


# --- crawls -----------------------------------------------------------------------------------
def test_a_ucap_site_is_crawled_to_its_ground_truth(db, crawl, ucap_server, ucap_profile):
    done = crawl(ucap_profile)
    assert done.returncode == 0, done.stderr[-3000:]
    assert wrong_fields(db, ucap_server) == []
    stats = latest_stats(db)
    live = ucap_server.portal.live()
    assert stats["govcrawl/items/new"] == len(live)
    assert stats["govcrawl/page/repaired/stray-end-tag"] == len(live)
    assert stats["govcrawl/extractor/published/meta:firstpublishedtime"] == len(live)
    # each pattern runs one page past its list's end, which answers 404: the end
    assert stats["govcrawl/listing/read/generic:past_end"] == 2
    lists = sorted(r.path for r in ucap_server.requests if "/home" in r.path)
    assert lists == sorted(
        ["/yaowen/home.htm", "/yaowen/home_1.htm", "/yaowen/home_2.htm", "/yaowen/home_3.htm",
         "/gongbao/home.htm", "/gongbao/home_1.htm", "/gongbao/home_2.htm"]
    )  # fmt: skip

    ucap_server.requests.clear()
    assert crawl(ucap_profile).returncode == 0
    stats = latest_stats(db)
    assert stats.get("govcrawl/items/new", 0) == 0 and stats.get("govcrawl/items/updated", 0) == 0
    assert stats["govcrawl/listing/stopped_early"] == 2
    assert sorted(r.path for r in ucap_server.requests) == no_change_requests(ucap_server)


def withdrawn_urls(db: Any) -> set[str]:
    with db.connect() as conn:
        return set(conn.scalars(select(Article.url).where(Article.withdrawn_at.is_not(None))))


def stored(db: Any, url: str) -> Any:
    with db.connect() as conn:
        return conn.execute(select(Article).where(Article.url == url)).one()


def run(db: Any, crawl: Any, profile: Path, now: datetime) -> dict[str, Any]:
    """One crawl at ``now`` (no retries: a failing page fails the run's request); the run's
    figures must be what happened to the tables."""
    before = table_counts(db)
    result = crawl(profile, settings={"RETRY_TIMES": "0", "GOVCRAWL_NOW": now.isoformat()})
    assert result.returncode in (0, 3), result.stderr[-3000:]
    stats = latest_stats(db)
    assert_counts_add_up(before, table_counts(db), stats)
    return stats


def test_a_ucap_history(db, crawl, ucap_server, ucap_profile):
    portal = ucap_server.portal
    base = ucap_server.base_url
    yaowen, gongbao = portal.columns
    stats = run(db, crawl, ucap_profile, T0)
    assert stats["govcrawl/items/new"] == len(portal.live())

    # nothing changed: one list page a column, nothing stored
    ucap_server.requests.clear()
    stats = run(db, crawl, ucap_profile, T0 + timedelta(hours=1))
    assert sorted(r.path for r in ucap_server.requests) == no_change_requests(ucap_server)
    assert stats.get("govcrawl/items/new", 0) == 0 and stats.get("govcrawl/items/updated", 0) == 0

    # 3 new, 1 edited (a new body and lastmodifiedtime: the list does not show it, the page's
    # re-check does), 1 withdrawn (off its list, its page 404)
    edited, gone = yaowen.records[2], yaowen.records[5]
    added = [
        portal.add(code, T0 + timedelta(hours=2 + i), title, [f"第{i}篇新稿件的正文。"])
        for i, (code, title) in enumerate(
            [(yaowen.code, "国务院常务会议研究部署冬季安全生产工作"),
             (yaowen.code, "多地启动防寒保暖应急响应"),
             (gongbao.code, "国务院关于做好2026年春节期间有关工作的通知")]
        )
    ]  # fmt: skip
    now = T0 + (T0 - edited.published) + timedelta(hours=2)
    portal.edit_body(edited.id, ["更正后的正文。", "特此更正。"], now - timedelta(hours=1))
    portal.withdraw(gone.id)
    stats = run(db, crawl, ucap_profile, now)
    assert withdrawn_urls(db) == {base + gone.path}
    assert stats["govcrawl/items/new"] == len(added)
    assert stats["govcrawl/items/updated"] == 1
    assert stored(db, base + edited.path).body_text == "更正后的正文。\n特此更正。"

    # an old entry pinned on top of 公报, the withdrawn one back on page 1 of 要闻, an article
    # listed in 公报 instead of 要闻 (its page where it was), page 2 of 要闻 answering 500
    pinned = portal.pin(gongbao.records[-1].id)
    portal.restore(gone.id)
    moved = portal.move(yaowen.records[22].id, gongbao.code)
    ucap_server.failing.add(yaowen.page_path(1))
    stats = run(db, crawl, ucap_profile, now + timedelta(hours=1))
    assert withdrawn_urls(db) == set()
    assert stats["govcrawl/items/restored"] == 1
    assert stats.get("govcrawl/fetch/failed") == 1  # the list page: nothing concluded from it
    assert stored(db, base + moved.path).channels in (["gongbao"], ["gongbao", "yaowen"])
    assert stored(db, base + pinned.path).withdrawn_at is None

    # mended: a run lists 要闻 to its end again, and the database is the ground truth
    ucap_server.failing.clear()
    run(db, crawl, ucap_profile, now + timedelta(hours=2))
    assert withdrawn_urls(db) == set()
    assert wrong_fields(db, ucap_server) == []
    assert stored(db, base + moved.path).channels == ["gongbao"]

    # nothing changed (the same clock: no page is due): the first list pages
    ucap_server.requests.clear()
    stats = run(db, crawl, ucap_profile, now + timedelta(hours=2))
    assert sorted(r.path for r in ucap_server.requests) == no_change_requests(ucap_server)
    assert stats.get("govcrawl/items/new", 0) == 0 and stats.get("govcrawl/items/updated", 0) == 0


def test_list_pages_with_the_gov_cn_header_include_are_read(db, crawl, ucap_server, ucap_profile):
    """gov.cn's header include (its ``</html>`` before ``<!--end header-->``) is a site-wide
    include: list pages of the same site carry it as the article pages do."""
    ucap_server.header_in_lists = True
    done = crawl(ucap_profile)
    assert done.returncode == 0, done.stderr[-3000:]
    assert wrong_fields(db, ucap_server) == []

"""Histories of the static-list platforms end to end: the real spider, the TRS and generic sample
portals changing over HTTP between runs, a real PostgreSQL. Their lists name no total, so what
an incremental run sees of a change is its first page: these histories check that a run with
no change costs one list page per channel, that changes on or near the first page are found by
the next run, that a failing list page, a pinned entry, a move and an emptied column withdraw
nothing, and that what no first page shows (a removal deep down) is found by the periodic full
listing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from crawler.models import Article, ArticleVersion, CrawlRun
from sample_portal.generic import GenericPortalServer
from sample_portal.generic import profile_text as generic_profile_text
from tests.support import assert_counts_add_up, latest_stats, table_counts

CST = timezone(timedelta(hours=8))
RELIST_DAYS = 30  # Rules.relist_days: every channel is listed to its end at least this often


@pytest.fixture
def generic_profile(generic_server: GenericPortalServer, tmp_path: Path) -> Path:
    path = tmp_path / "sample-generic.toml"
    path.write_text(generic_profile_text(generic_server.base_url), encoding="utf-8")
    return path


def run(db: Any, crawl: Any, profile: Path, **settings: str) -> dict[str, Any]:
    """One crawl; its figures must be what happened to the tables."""
    before = table_counts(db)
    result = crawl(profile, settings={"RETRY_TIMES": "0", **settings})
    assert result.returncode in (0, 3), result.stderr[-3000:]
    stats = latest_stats(db)
    assert_counts_add_up(before, table_counts(db), stats)
    return stats


def run_status(db: Any) -> str:
    with db.connect() as conn:
        return conn.execute(
            select(CrawlRun.status).order_by(CrawlRun.id.desc()).limit(1)
        ).scalar_one()


def withdrawn_urls(db: Any) -> set[str]:
    with db.connect() as conn:
        return set(conn.scalars(select(Article.url).where(Article.withdrawn_at.is_not(None))))


def stored(db: Any) -> dict[str, Any]:
    """url → its row."""
    with db.connect() as conn:
        return {row.url: row for row in conn.execute(select(Article))}


def versions_of(db: Any, url: str) -> int:
    with db.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(ArticleVersion)
            .join(Article, Article.id == ArticleVersion.article_id)
            .where(Article.url == url)
        ).scalar_one()


def requested(server: Any) -> list[str]:
    return sorted(r.path for r in server.requests)


def channels_now(db: Any) -> dict[str, list[str]]:
    return {url: row.channels for url, row in stored(db).items()}


def assert_matches_the_portal(db: Any, base: str, live: dict[str, list[str]]) -> None:
    """Every live article (path → its channels) is stored, not withdrawn, in exactly its
    channels."""
    rows = stored(db)
    wrong = [
        f"{path}: {'missing' if base + path not in rows else rows[base + path].channels}"
        for path, channels in live.items()
        if base + path not in rows
        or rows[base + path].withdrawn_at is not None
        or rows[base + path].channels != sorted(channels)
    ]
    assert wrong == []


def test_a_trs_portal_history(db, crawl, trs_server, trs_profile):
    portal, base = trs_server.portal, trs_server.base_url
    gzdt, tzgg = portal.columns  # 工作动态 (an old entry pinned on top), 通知公告
    url = {a.id: base + a.path for a in portal.articles.values()}

    # 1. the first run stores the ground truth
    stats = run(db, crawl, trs_profile)
    assert stats["govcrawl/items/new"] == len(portal.articles)
    assert_matches_the_portal(db, base, {a.path: a.channels for a in portal.articles.values()})

    # 2. nothing changed: the first list page of each column, and robots.txt
    trs_server.requests.clear()
    stats = run(db, crawl, trs_profile)
    assert requested(trs_server) == sorted(
        ["/robots.txt", f"/{gzdt.code}/index.html", f"/{tzgg.code}/index.html"]
    )
    assert stats["govcrawl/listing/stopped_early"] == 2
    assert stats.get("govcrawl/items/new", 0) == stats.get("govcrawl/items/updated", 0) == 0

    # 3. new articles on top (below the pinned entry), an article edited — TRS re-sorts it to
    # the top of its list — and one withdrawn from the first page (its page answers 404)
    now = datetime.now(CST).replace(microsecond=0)
    added = [
        portal.add_article(gzdt.code, "全市安全生产工作会议召开", now - timedelta(hours=3),
                           ["会议部署了岁末年初安全生产工作。"], position=1),
        portal.add_article(gzdt.code, "市领导调研重点项目建设", now - timedelta(hours=2),
                           ["调研组实地察看了项目建设进度。"], position=1),
        portal.add_article(tzgg.code, "关于开展冬季供暖检查的通知", now - timedelta(hours=1),
                           ["各有关单位：现就冬季供暖检查工作通知如下。"]),
    ]  # fmt: skip
    edited = next(a for a in tzgg.records[20:] if a.channels == [tzgg.code])
    portal.edit_body(edited.id, ["本通知内容已更正，以此为准。"])
    portal.move_to_top(edited.id)
    gone = next(a for a in gzdt.records[3:12] if a.channels == [gzdt.code] and a.charset == "utf-8")
    portal.withdraw(gone.id)
    url.update({a.id: base + a.path for a in added})
    stats = run(db, crawl, trs_profile)
    assert withdrawn_urls(db) == {url[gone.id]}
    assert stats["govcrawl/items/new"] == len(added)
    assert stats["govcrawl/items/updated"] == 1
    assert stored(db)[url[edited.id]].body_text == "本通知内容已更正，以此为准。"
    assert versions_of(db, url[edited.id]) == 1

    # 4. an old entry pinned on top of 通知公告, an article moved from deep in 工作动态 to
    # 通知公告, the withdrawn one back, another withdrawn from the first page of 通知公告, whose
    # page 2 answers 500: nothing is concluded from the failed column, nothing withdrawn, the
    # restored one restored, the run degraded
    pinned = next(a for a in reversed(tzgg.records) if a.channels == [tzgg.code])
    portal.move_to_top(pinned.id)
    moved = next(a for a in gzdt.records[25:] if a.channels == [gzdt.code] and a.charset == "utf-8")
    portal.move(moved.id, tzgg.code, position=6)
    portal.restore(gone)
    removed = next(a for a in tzgg.records[8:16] if a.channels == [tzgg.code])
    portal.withdraw(removed.id)
    trs_server.failing.add(f"/{tzgg.code}/index_1.html")
    stats = run(db, crawl, trs_profile)
    assert run_status(db) == "degraded"
    assert stats["govcrawl/issues/fetch_failed"] == 1
    assert withdrawn_urls(db) == set()
    assert stats["govcrawl/items/restored"] == 1 and stats.get("govcrawl/items/withdrawn", 0) == 0
    # listed in its new column at once; the old one keeps it until a healthy run lists it to
    # its end
    assert stored(db)[url[moved.id]].channels == [gzdt.code, tzgg.code]

    # 5. 工作动态 lists nothing for a run: nothing of it is withdrawn, no article loses it; and
    # the column that failed is listed to its end now, which concludes what run 4 could not
    trs_server.failing.clear()
    trs_server.emptied.add(gzdt.code)
    channels_before = channels_now(db)
    trs_server.requests.clear()
    stats = run(db, crawl, trs_profile)
    assert stats["govcrawl/incremental/listing/suspicious"] == 1
    assert f"/{tzgg.code}/index_1.html" in requested(trs_server)
    assert withdrawn_urls(db) == {url[removed.id]} and stats["govcrawl/items/withdrawn"] == 1
    assert channels_now(db) == channels_before
    trs_server.emptied.clear()

    # 6. a removal deep in 工作动态 and a silent edit of a fresh article: no first page shows
    # either, so a run the same day finds neither; 31 days later every column is listed to its
    # end again, which finds the removal, and the fresh article's page is due for a re-check
    deep = next(a for a in gzdt.records[-5:] if a.channels == [gzdt.code])
    portal.withdraw(deep.id)
    portal.edit_body(added[0].id, ["会议部署了岁末年初安全生产工作（更新）。"])
    stats = run(db, crawl, trs_profile)
    assert withdrawn_urls(db) == {url[removed.id]}
    assert stats.get("govcrawl/items/updated", 0) == 0
    later = now + timedelta(days=RELIST_DAYS + 1)
    stats = run(db, crawl, trs_profile, GOVCRAWL_NOW=later.isoformat())
    assert stats["govcrawl/incremental/paging/relist_due"] >= 2
    assert stats["govcrawl/incremental/paging/end"] == 2
    assert withdrawn_urls(db) == {url[removed.id], url[deep.id]}
    assert stats["govcrawl/items/withdrawn"] == 1 and stats["govcrawl/items/updated"] == 1
    assert stored(db)[url[added[0].id]].body_text == "会议部署了岁末年初安全生产工作（更新）。"
    # the old column, listed to its end, no longer claims the moved article
    assert stored(db)[url[moved.id]].channels == [tzgg.code]
    assert_matches_the_portal(db, base, {a.path: a.channels for a in portal.articles.values()})


def test_a_generic_portal_history(db, crawl, generic_server, generic_profile):
    portal, base = generic_server.portal, generic_server.base_url
    xwdt, tzgg = portal.channels  # 新闻动态 (ten a page, a withdrawn placeholder), 通知公告

    def live() -> dict[str, list[str]]:
        return {a.path: [c.code] for c in portal.channels for a in c.records}

    # 1. the first run stores the ground truth
    stats = run(db, crawl, generic_profile)
    assert stats["govcrawl/items/new"] == len(live())
    assert_matches_the_portal(db, base, live())

    # 2. nothing changed: the first list page of each channel, and robots.txt
    generic_server.requests.clear()
    stats = run(db, crawl, generic_profile)
    assert requested(generic_server) == sorted(
        ["/robots.txt", f"/{xwdt.code}/list_1.html", f"/{tzgg.code}/list_1.html"]
    )
    assert stats["govcrawl/listing/stopped_early"] == 2
    assert stats.get("govcrawl/items/new", 0) == stats.get("govcrawl/items/updated", 0) == 0

    # 3. new articles on top, an article corrected (its title in the list and its body), and
    # one withdrawn from the first page (its page answers 404)
    now = datetime.now(CST).replace(microsecond=0)
    added = [
        portal.add_article(xwdt.code, "全县安全生产工作会议召开", now - timedelta(hours=3),
                           ["会议部署了岁末年初安全生产工作。"]),
        portal.add_article(xwdt.code, "县领导调研重点项目建设", now - timedelta(hours=2),
                           ["调研组实地察看了项目建设进度。"]),
        portal.add_article(tzgg.code, "关于开展冬季供暖检查的通知", now - timedelta(hours=1),
                           ["各有关单位：现就冬季供暖检查工作通知如下。"]),
    ]  # fmt: skip
    edited = tzgg.records[6]
    edited.title += "（更正）"
    edited.paragraphs = ["本通知内容已更正，以此为准。"]
    gone = xwdt.records[4]
    xwdt.records.remove(gone)
    stats = run(db, crawl, generic_profile)
    assert withdrawn_urls(db) == {base + gone.path}
    assert stats["govcrawl/items/new"] == len(added)
    assert stats["govcrawl/items/updated"] == 1
    assert stored(db)[base + edited.path].body_text == "本通知内容已更正，以此为准。"
    assert versions_of(db, base + edited.path) == 1

    # 4. an old entry pinned on top of 新闻动态, an article moved from deep in 新闻动态 to
    # 通知公告 (its page stays at its URL), the withdrawn one back, another withdrawn from the
    # first page of 新闻动态, whose page 2 answers 500: nothing withdrawn, the restored one
    # restored, the run degraded
    xwdt.records.insert(0, xwdt.records.pop())
    moved = xwdt.records[-3]
    portal.move(moved, tzgg.code, position=3)
    xwdt.records.insert(6, gone)
    removed = xwdt.records[8]
    xwdt.records.remove(removed)
    generic_server.failing.add(f"/{xwdt.code}/list_2.html")
    stats = run(db, crawl, generic_profile)
    assert run_status(db) == "degraded"
    assert stats["govcrawl/issues/fetch_failed"] == 1
    assert withdrawn_urls(db) == set()
    assert stats["govcrawl/items/restored"] == 1 and stats.get("govcrawl/items/withdrawn", 0) == 0
    # listed in its new channel at once; the old one keeps it until a healthy run lists it to
    # its end
    assert stored(db)[base + moved.path].channels == [tzgg.code, xwdt.code]

    # 5. 通知公告 lists nothing for a run: nothing of it is withdrawn, nothing moves; and the
    # channel that failed is listed to its end now, which concludes what run 4 could not
    generic_server.failing.clear()
    generic_server.emptied.add(tzgg.code)
    channels_before = channels_now(db)
    generic_server.requests.clear()
    stats = run(db, crawl, generic_profile)
    assert stats["govcrawl/incremental/listing/suspicious"] == 1
    assert f"/{xwdt.code}/list_3.html" in requested(generic_server)
    assert withdrawn_urls(db) == {base + removed.path} and stats["govcrawl/items/withdrawn"] == 1
    # the old channel, listed to its end, no longer claims the moved article; nothing else moves
    assert channels_now(db) == {**channels_before, base + moved.path: [tzgg.code]}
    generic_server.emptied.clear()

    # 6. a removal deep in 新闻动态 and a silent edit of a fresh article: a run the same day
    # finds neither; 31 days later every channel is listed to its end again, which finds the
    # removal, and the fresh article's page is due for a re-check
    deep = xwdt.records[-2]
    xwdt.records.remove(deep)
    added[0].paragraphs = ["会议部署了岁末年初安全生产工作（更新）。"]
    stats = run(db, crawl, generic_profile)
    assert withdrawn_urls(db) == {base + removed.path}
    assert stats.get("govcrawl/items/updated", 0) == 0
    later = now + timedelta(days=RELIST_DAYS + 1)
    stats = run(db, crawl, generic_profile, GOVCRAWL_NOW=later.isoformat())
    assert stats["govcrawl/incremental/paging/relist_due"] >= 2
    assert stats["govcrawl/incremental/paging/end"] == 2
    assert withdrawn_urls(db) == {base + removed.path, base + deep.path}
    assert stats["govcrawl/items/withdrawn"] == 1 and stats["govcrawl/items/updated"] == 1
    assert stored(db)[base + added[0].path].body_text == "会议部署了岁末年初安全生产工作（更新）。"
    assert_matches_the_portal(db, base, live())


def test_an_emptied_trs_column_gives_no_article_its_channel(db, crawl, trs_server, trs_profile):
    portal, base = trs_server.portal, trs_server.base_url
    run(db, crawl, trs_profile)
    trs_server.emptied.add(portal.columns[1].code)  # 通知公告, with 工作动态's newest beside it
    run(db, crawl, trs_profile)
    assert_matches_the_portal(db, base, {a.path: a.channels for a in portal.articles.values()})

"""Portal histories end to end: the real spider, the sample portals changing over HTTP between
runs, a real PostgreSQL. The steps are the ones that withdrew live articles before: new, edited
and withdrawn articles, an old entry pinned with and without a flag, an article moved to
another channel, a withdrawn one back, a listing page answering 500, a channel answering
``total: 0`` for a run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

from sqlalchemy import select

from crawler.models import Article
from tests.support import assert_counts_add_up, latest_stats, table_counts

CST = timezone(timedelta(hours=8))


def withdrawn_ids(db) -> set[str]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return {
            pid
            for (pid,) in conn.execute(
                select(Article.platform_id).where(Article.withdrawn_at.is_not(None))
            )
        }


def channels_of(db, platform_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return conn.execute(
            select(Article.channels).where(Article.platform_id == platform_id)
        ).scalar_one()


def run(db, crawl, profile, **settings):  # type: ignore[no-untyped-def]
    before = table_counts(db)
    result = crawl(profile, settings={"RETRY_TIMES": "0", **settings})
    assert result.returncode in (0, 3), result.stderr[-3000:]
    stats = latest_stats(db)
    assert_counts_add_up(before, table_counts(db), stats)
    return stats


def test_a_querylist_portal_history(db, portal, sample_server, sample_profile, crawl):
    run(db, crawl, sample_profile)

    # 6 new, 2 edited, 1 withdrawn (gone from its listing, its page 404)
    now = datetime(2025, 11, 21, 9, tzinfo=CST)
    added = [
        portal.add_article(code, now + timedelta(hours=i), f"新文章{i}", [f"第{i}篇新文章。"])
        for i, code in enumerate(["bcyb", "bcyb", "fzjz", "fzjz", "yjxx", "yjxx"])
    ]
    for code in ("bcyb", "fzjz"):
        portal.edit_body(portal.listing(code)[8].id, ["更正后的正文。"])
    gone = next(
        a
        for a in portal.listing("yjxx")[:12]
        if len(a.channels) == 1 and not a.pinned and a not in added and not a.drop_reason
    )
    portal.channel("yjxx").records.remove(gone)
    gone_home, gone.home = gone.home, "gone"
    stats = run(db, crawl, sample_profile)
    assert withdrawn_ids(db) == {gone.id}
    assert stats["govcrawl/items/new"] == len(added)

    # an old notice pinned with a flag, another re-sorted to the top without one, an article
    # moved to another channel, the withdrawn one back, page 2 of a channel answering 500
    pinned = portal.listing("bcyb")[-1]
    pinned.pinned, pinned.sort_num = True, 9_600_000
    unflagged = portal.listing("fzjz")[-1]
    unflagged.sort_num = 9_700_000
    moved = next(a for a in portal.listing("bcyb")[20:] if a.channels == ["bcyb"])
    portal.channel("bcyb").records.remove(moved)
    portal.channel("yjxx").records.append(moved)
    moved.channels = ["yjxx"]
    portal.channel("yjxx").records.append(gone)
    gone.home = gone_home
    sample_server.failing_pages.add(("fzjz", 2))
    stats = run(db, crawl, sample_profile)
    assert withdrawn_ids(db) == set()
    assert stats["govcrawl/items/restored"] == 1
    assert channels_of(db, moved.id) == ["bcyb", "yjxx"] or channels_of(db, moved.id) == ["yjxx"]

    # a channel that answers total: 0 for one run withdraws nothing and loses nothing
    sample_server.failing_pages.clear()
    portal.channel("fzjz").reply = "empty"
    stats = run(db, crawl, sample_profile)
    assert withdrawn_ids(db) == set() and stats["govcrawl/items/withdrawn"] == 0
    assert stats["govcrawl/incremental/listing/suspicious"] == 1
    portal.channel("fzjz").reply = "ok"
    run(db, crawl, sample_profile)
    with db.connect() as conn:
        stored = {
            pid: chs for pid, chs in conn.execute(select(Article.platform_id, Article.channels))
        }
    assert withdrawn_ids(db) == set()
    for code in ("bcyb", "fzjz", "yjxx"):
        for article in portal.listing(code):
            if not article.drop_reason:
                assert code in stored[article.id], (article.id, code, stored[article.id])
    assert stored[moved.id] == ["yjxx"]  # the old channel was listed to its end since

    # nothing changed: one listing page per channel, the one channel page, robots.txt
    sample_server.requests.clear()
    stats = run(db, crawl, sample_profile)
    assert stats["downloader/request_count"] <= 5 + 1 + 1, [
        (r.path, parse_qs(r.body).get("channelCode"), parse_qs(r.body).get("current"))
        for r in sample_server.requests
    ]


def test_a_jcms_portal_history(db, jcms_server, jcms_profile, crawl):
    portal = jcms_server.portal
    first, second = portal.columns
    run(db, crawl, jcms_profile)

    # withdrawn from the column page (its page 404), one deep in the other column, a move
    gone = first.records[2]
    first.records.remove(gone)
    gone.missing = True
    deep = next(a for a in second.records[40:] if len(a.columns) == 1 and not a.drop_reason)
    second.records.remove(deep)
    deep.missing = True
    moved = next(a for a in first.records[30:] if a.columns == [first.id] and not a.drop_reason)
    first.records.remove(moved)
    second.records.insert(20, moved)
    moved.columns = [second.id]
    stats = run(db, crawl, jcms_profile)
    assert withdrawn_ids(db) == {gone.id, deep.id}
    assert stats["govcrawl/items/withdrawn"] == 2
    assert channels_of(db, moved.id) == [second.id]

    # an old record re-sorted to the top, the first withdrawn one back
    first.records.insert(0, first.records.pop())
    first.records.insert(5, gone)
    gone.missing = False
    stats = run(db, crawl, jcms_profile)
    assert withdrawn_ids(db) == {deep.id} and stats["govcrawl/items/restored"] == 1

    # nothing changed: the two column pages and robots.txt
    jcms_server.requests.clear()
    stats = run(db, crawl, jcms_profile)
    assert sorted(r.path for r in jcms_server.requests if "/art/" not in r.path) == sorted(
        ["/robots.txt", f"/col/col{first.id}/index.html", f"/col/col{second.id}/index.html"]
    )

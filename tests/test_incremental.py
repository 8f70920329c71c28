"""Incremental runs: only what changed is fetched; edits keep versions; a killed run resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from crawler.models import Article, ArticleVersion, ChannelState
from tests.support import assert_counts_add_up, latest_stats, table_counts

ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((ROOT / "sample_portal" / "ground_truth.json").read_text(encoding="utf-8"))
CST = timezone(timedelta(hours=8))


def test_a_changed_portal_costs_only_what_changed(db, portal, sample_server, sample_profile, crawl):
    assert crawl(sample_profile).returncode == 0
    with db.connect() as conn:
        before = conn.execute(select(func.count()).select_from(Article)).scalar_one()
        assert conn.execute(select(func.count()).select_from(ChannelState)).scalar_one() == 3

    # two edits of articles on the channels' first pages
    edited = [portal.listing("bcyb")[3].id, portal.listing("fzjz")[4].id]
    for article_id in edited:
        portal.edit_body(article_id, ["更正：本文数据已更新。", "以最新发布为准。"])
    now = datetime(2025, 11, 21, 9, 0, tzinfo=CST)
    added = [
        portal.add_article(
            "bcyb", now, "全省晚稻病虫害发生趋势预报", ["预计晚稻病虫害总体偏重发生。"]
        ),
        portal.add_article(
            "bcyb",
            now + timedelta(hours=1),
            "关于开展秋冬种病虫防控的通知",
            ["各地要做好秋冬种病虫防控。"],
        ),
        portal.add_article(
            "fzjz", now, "做好寒潮天气农业防灾减灾工作", ["寒潮来袭，各地要做好防寒保暖。"]
        ),
        portal.add_article(
            "fzjz",
            now + timedelta(hours=2),
            "全省农业防灾减灾视频调度会召开",
            ["会议部署冬季防灾减灾工作。"],
        ),
        portal.add_article(
            "yjxx",
            datetime(2020, 1, 1, tzinfo=CST),
            "【置顶】预警信息发布规范",
            ["置顶的旧文。"],
            pinned=True,
        ),
    ]
    # one withdrawn: gone from its channel's first page, and its page answers 404
    withdrawn = next(
        a for a in portal.listing("yjxx")[:10] if not a.pinned and len(a.channels) == 1
    )
    portal.channel("yjxx").records.remove(withdrawn)
    withdrawn.home = "gone"
    sample_server.requests.clear()

    counts = table_counts(db)
    result = crawl(sample_profile)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = latest_stats(db)
    assert_counts_add_up(counts, table_counts(db), stats)
    with db.connect() as conn:
        keys = {k for (k,) in conn.execute(select(Article.platform_id)).all()}
        total = conn.execute(select(func.count()).select_from(Article)).scalar_one()
        versions = conn.execute(
            select(
                Article.platform_id,
                ArticleVersion.changed,
                ArticleVersion.body_text,
                Article.body_text,
            ).join(Article, Article.id == ArticleVersion.article_id)
        ).all()
    assert total == before + len(added)
    assert {a.id for a in added} <= keys
    assert stats["govcrawl/items/new"] == len(added)
    assert stats["govcrawl/items/updated"] == 2
    assert sorted(v.platform_id for v in versions) == sorted(edited)
    for _platform_id, changed, old_body, new_body in versions:
        assert "body_text" in changed
        assert new_body == "更正：本文数据已更新。\n以最新发布为准。" and old_body != new_body
    with db.connect() as conn:
        marked = conn.execute(
            select(Article.platform_id).where(Article.withdrawn_at.is_not(None))
        ).all()
    assert marked == [(withdrawn.id,)] and stats["govcrawl/items/withdrawn"] == 1
    # channels × 2 + robots.txt; yjxx, whose first page lost an entry, is listed to its end and
    # the missing article's page asked once; every new body is in the listing JSON
    channels = len(TRUTH["channels"])
    yjxx_pages = -(-len(portal.listing("yjxx")) // 15)
    assert stats["downloader/request_count"] <= channels * 2 + 1 + yjxx_pages + 1, stats[
        "downloader/request_count"
    ]
    assert stats["govcrawl/confirm/requests"] == 1


def test_full_mode_lists_everything_again(db, sample_server, sample_profile, crawl):
    assert crawl(sample_profile).returncode == 0
    assert crawl(sample_profile, "mode=full").returncode == 0
    stats = latest_stats(db)
    assert "govcrawl/listing/stopped_early" not in stats
    assert stats["govcrawl/items/unchanged"] == len(TRUTH["articles"])
    assert stats.get("govcrawl/items/new", 0) == 0


def test_a_withdrawn_page_is_marked_and_comes_back(
    db, portal, sample_server, sample_profile, crawl
):
    assert crawl(sample_profile).returncode == 0
    # an article whose page is fetched (body not in the JSON) is edited in the listing and then 404s
    target = next(a for a in portal.listing("bcyb")[:15] if not a.in_json and not a.pinned)
    target.raw_title = target.title = target.title + "（已撤稿）"
    original_home = target.home
    target.home = "gone"  # its page now answers 404
    assert crawl(sample_profile).returncode == 0
    with db.connect() as conn:
        withdrawn = conn.execute(
            select(Article.withdrawn_at).where(Article.platform_id == target.id)
        ).scalar_one()
    assert withdrawn is not None
    assert latest_stats(db)["govcrawl/items/withdrawn"] == 1
    target.home = original_home
    target.raw_title = target.title = target.title + "（恢复）"
    counts = table_counts(db)
    assert crawl(sample_profile).returncode == 0
    stats = latest_stats(db)
    assert_counts_add_up(counts, table_counts(db), stats)
    assert stats["govcrawl/items/restored"] == 1
    with db.connect() as conn:
        assert (
            conn.execute(
                select(Article.withdrawn_at).where(Article.platform_id == target.id)
            ).scalar_one()
            is None
        )


def test_a_killed_first_crawl_is_completed_by_the_next(
    db, database_url, sample_server, sample_profile, tmp_path, crawl
):
    slow = sample_profile.read_text(encoding="utf-8").replace(
        "concurrent_requests = 8", "concurrent_requests = 1"
    )
    slow = slow.replace("download_delay = 0", "download_delay = 0.05")
    sample_profile.write_text(slow, encoding="utf-8")
    cmd = [sys.executable, "-m", "scrapy", "crawl", "portal", "-a", f"site={sample_profile}",
           "-s", f"DATABASE_URL={database_url}", "-s", "GOVCRAWL_STORE_BATCH_SIZE=10",
           "-s", "DOWNLOAD_DELAY_JITTER=0"]  # fmt: skip
    env = {**os.environ, "GOVCRAWL_HOME": str(tmp_path / "home")}
    env.pop("DATABASE_URL", None)
    child = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        stored = 0
        while time.monotonic() < deadline:
            with db.connect() as conn:
                stored = conn.execute(select(func.count()).select_from(Article)).scalar_one()
            if stored >= 40 or child.poll() is not None:
                break
            time.sleep(0.1)
        assert child.poll() is None, "the crawl finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert 0 < stored < len(TRUTH["articles"])
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ChannelState)).scalar_one() == 0

    result = crawl(sample_profile)
    assert result.returncode == 0, result.stderr[-3000:]
    with db.connect() as conn:
        ids = [k for (k,) in conn.execute(select(Article.platform_id)).all()]
    assert sorted(ids) == sorted(a["id"] for a in TRUTH["articles"])  # 100%, no duplicate


def test_a_withdrawn_entry_listed_again_comes_back(
    db, portal, sample_server, sample_profile, crawl
):
    assert crawl(sample_profile).returncode == 0
    channel = portal.channel("bcyb")
    gone = portal.listing("bcyb")[5]
    channel.records.remove(gone)
    assert crawl(sample_profile).returncode == 0
    channel.records.append(gone)
    assert crawl(sample_profile).returncode == 0
    with db.connect() as conn:
        assert (
            conn.execute(select(func.count()).where(Article.withdrawn_at.is_not(None))).scalar_one()
            == 0
        )
    assert latest_stats(db)["govcrawl/items/withdrawn"] == 0


def test_due_rechecks_find_an_edit_deep_in_the_listing(
    db, portal, sample_server, sample_profile, crawl
):
    assert crawl(sample_profile).returncode == 0
    # every page is due 100 days later; a budget that covers them all
    text = sample_profile.read_text(encoding="utf-8") + "\n[incremental]\nrecheck_budget = 1000\n"
    sample_profile.write_text(text, encoding="utf-8")
    deep = [a for a in portal.listing("bcyb") if a.in_json][-3]
    portal.edit_body(deep.id, ["深处的一篇文章被修改了。"])
    later = (datetime.now(CST) + timedelta(days=100)).isoformat()
    assert crawl(sample_profile, settings={"GOVCRAWL_NOW": later}).returncode == 0
    stats = latest_stats(db)
    # every stored page on the portal's origin (an entry linking elsewhere has no page to ask)
    with db.connect() as conn:
        on_origin = conn.execute(
            select(func.count()).where(Article.url.startswith(sample_server.base_url))
        ).scalar_one()
        unchecked = conn.execute(
            select(Article.next_check_at).where(Article.last_checked_at.is_(None))
        ).all()
    # every page was re-checked, but for the article two channels list with different text:
    # its listing entry "changed", so it was stored from the listing again instead
    assert len(unchecked) <= 1
    assert stats["govcrawl/recheck/requests"] >= on_origin - 2
    assert stats["govcrawl/items/updated"] == 1, stats
    with db.connect() as conn:
        assert (
            conn.execute(
                select(Article.body_text).where(Article.platform_id == deep.id)
            ).scalar_one()
            == "深处的一篇文章被修改了。"
        )
        # every re-checked page is scheduled again, further out than the first interval
        due = conn.execute(
            select(func.count()).where(Article.next_check_at <= datetime.fromisoformat(later))
        ).scalar_one()
    assert due <= 1  # the article two channels list differently (see above)

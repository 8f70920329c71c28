"""Gansu's shared platform crawled end to end with ``platform = "trs"`` and ``[trs] first_page =
"zwgklist.shtml"``: the sample site (sample_portal/gansu.py) to 100% of its ground truth, then a
history of runs against a real PostgreSQL with the site changing over HTTP between them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawler.extract_cmd import describe
from crawler.extraction.trs import parse_list_page
from crawler.models import Article
from sample_portal.gansu import (
    CST,
    SITE,
    GansuPortalServer,
    article_page,
    generate_gansu_portal,
    ground_truth,
    list_page,
    profile_text,
)
from tests.support import (
    assert_counts_add_up,
    expected_fields,
    latest_stats,
    mismatches,
    table_counts,
)

REAL_LIST = (
    Path(__file__).resolve().parents[2] / "shared/real-pages/jyt.gansu.gov.cn/column_c110634.html"
)
# the sample's newest article is dated 2025-12-18: the history's clock starts two days later
T0 = datetime(2025, 12, 20, 10, 0, tzinfo=CST)
NOISE = ("打印本页", "关闭窗口", "字号", "相关文章", "$_ts")


@pytest.fixture
def gansu_server() -> Iterator[GansuPortalServer]:
    with GansuPortalServer(generate_gansu_portal()) as server:
        yield server


@pytest.fixture
def gansu_profile(gansu_server: GansuPortalServer, tmp_path: Path) -> Path:
    path = tmp_path / "sample-gansu.toml"
    path.write_text(profile_text(gansu_server.base_url), encoding="utf-8")
    return path


def wrong_fields(db: Any, server: GansuPortalServer) -> list[str]:
    """Every stored field that differs from the ground truth, and every article too many."""
    truth = server.portal.ground_truth()
    with db.connect() as conn:
        rows = {r.platform_id: r for r in conn.execute(select(Article))}
    live = {r for r, row in rows.items() if row.withdrawn_at is None}
    extra = live - {a["id"] for a in truth["articles"]}
    wrong = [f"stored but not live: {key}" for key in sorted(extra)]
    for want in truth["articles"]:
        got = rows.get(want["id"])
        if got is None:
            wrong.append(f"{want['id']} not stored")
            continue
        wrong += mismatches(got, expected_fields(want, server.base_url), NOISE)
    return wrong


def list_paths(server: GansuPortalServer) -> list[str]:
    return sorted(r.path for r in server.requests if "zwgklist" in r.path)


def no_change_requests(server: GansuPortalServer) -> list[str]:
    """What a run asks of the site when nothing changed: robots.txt, each first list page."""
    return sorted(["/robots.txt", *(c.page_path(1) for c in server.portal.columns)])


# --- the sample against the real page -------------------------------------------------------
def test_the_sample_list_page_reads_as_the_real_one_does():
    if not REAL_LIST.is_file():
        pytest.skip(f"the saved real pages are not here: {REAL_LIST} is missing")
    real_url = "https://jyt.gansu.gov.cn/jyt/c110634/zwgklist.shtml"
    real = parse_list_page(REAL_LIST.read_text(encoding="utf-8"), real_url)
    portal = generate_gansu_portal()
    column = portal.columns[0]
    sample = parse_list_page(list_page(portal, column, 1), "http://x.cn" + column.page_path(1))
    # the same reading: the pager's div form, the list opened out of its comment, twenty
    # entries, the second page numbered 2
    assert sample.provenance == real.provenance == ["pager:div", "list:comment"]
    assert (len(sample.entries), sample.first_suffix, sample.stem, sample.ext) == (
        len(real.entries), real.first_suffix, real.stem, real.ext,
    )  # fmt: skip
    assert sample.page_url("http://x.cn/a/b/zwgklist.shtml", 1).endswith("/zwgklist_2.shtml")


def test_the_sample_has_the_shapes_of_the_real_platform():
    portal = generate_gansu_portal()
    truth = portal.ground_truth()
    assert [(c["code"], c["records"], c["pages"]) for c in truth["columns"]] == [
        ("jyt/c110634", 42, 3),
        ("jyt/c107274", 27, 2),
    ]
    entries = truth["columns"][0]["entries"]
    assert entries[0]["published"] < entries[1]["published"]  # an old entry pinned on top
    # folders of a later month than the date the list shows (the real page has 202509/ for 07-03)
    assert any(f"/{a.published:%Y%m}/" not in a.path for a in portal.articles.values())
    assert any("  " in a.shown_title for a in portal.articles.values())  # joint issuers
    assert sum(a.charset == "gbk" for a in portal.articles.values()) == 1
    assert any(a["attachments"] for a in truth["articles"])
    assert generate_gansu_portal().ground_truth() == truth == ground_truth()
    for column in portal.columns:  # every page of the host carries the 瑞数 script
        assert "$_ts=window['$_ts']" in list_page(portal, column, 1)
    a = portal.columns[1].records[0]
    assert article_page(portal, a) == article_page(generate_gansu_portal(), a)


def test_extract_reads_a_sample_article_and_list_page():
    """What ``govcrawl extract <saved page> --url <its url>`` shows, run in-process."""
    portal = generate_gansu_portal()
    base = "http://127.0.0.1:8800"
    want = next(a for a in portal.ground_truth()["articles"] if a["extra"].get("doc_no"))
    got = describe(article_page(portal, portal.articles[want["id"]]), base + want["url"])
    assert got["kind"] == "article"
    assert (got["title"], got["published_at"], got["source"]) == (
        want["title"], want["published_at"], want["source"],
    )  # fmt: skip
    assert got["body_text"] == want["body_text"] and got["extra"] == want["extra"]
    assert got["provenance"]["published"] == "label:发布日期"  # no PubDate meta on 信息公开 pages
    column = portal.columns[0]
    listing = describe(list_page(portal, column, 2), base + column.page_path(2))
    assert (listing["kind"], listing["total"], len(listing["entries"])) == ("trs-list", 42, 20)
    assert listing["pager"]["next"] == base + column.page_path(3)


# --- crawls -----------------------------------------------------------------------------------
def test_a_gansu_site_is_crawled_to_its_ground_truth(db, crawl, gansu_server, gansu_profile):
    # a list page and an article page answer 503 once: the retries bring them
    portal = gansu_server.portal
    gansu_server.flaky |= {portal.columns[0].page_path(2), portal.columns[1].records[3].path}
    done = crawl(gansu_profile)
    assert done.returncode == 0, done.stderr[-3000:]
    assert wrong_fields(db, gansu_server) == []
    stats = latest_stats(db)
    assert stats["govcrawl/listing/pages"] == 5
    assert stats["govcrawl/listing/read/list:comment"] == 3  # the first column's pages
    assert stats["govcrawl/items/new"] == len(portal.articles)
    assert list_paths(gansu_server).count(portal.columns[0].page_path(2)) == 2

    # nothing changed: the first list page of each column
    gansu_server.requests.clear()
    assert crawl(gansu_profile).returncode == 0
    stats = latest_stats(db)
    assert stats.get("govcrawl/items/new", 0) == 0 and stats.get("govcrawl/items/updated", 0) == 0
    assert stats["govcrawl/listing/stopped_early"] == 2
    assert sorted(r.path for r in gansu_server.requests) == no_change_requests(gansu_server)


def withdrawn_ids(db: Any) -> set[str]:
    with db.connect() as conn:
        return set(
            conn.scalars(select(Article.platform_id).where(Article.withdrawn_at.is_not(None)))
        )


def stored(db: Any, platform_id: str) -> Any:
    with db.connect() as conn:
        return conn.execute(select(Article).where(Article.platform_id == platform_id)).one()


def run(db: Any, crawl: Any, profile: Path, now: datetime) -> dict[str, Any]:
    """One crawl at ``now`` (no retries: a failing page fails the run's request); the run's
    figures must be what happened to the tables."""
    before = table_counts(db)
    result = crawl(profile, settings={"RETRY_TIMES": "0", "GOVCRAWL_NOW": now.isoformat()})
    assert result.returncode in (0, 3), result.stderr[-3000:]
    stats = latest_stats(db)
    assert_counts_add_up(before, table_counts(db), stats)
    return stats


def test_a_gansu_history(db, crawl, gansu_server, gansu_profile):
    portal = gansu_server.portal
    zwgk, news = portal.columns
    stats = run(db, crawl, gansu_profile, T0)
    assert stats["govcrawl/items/new"] == len(portal.articles)

    # nothing changed: one list page a column, nothing stored
    gansu_server.requests.clear()
    stats = run(db, crawl, gansu_profile, T0 + timedelta(hours=1))
    assert sorted(r.path for r in gansu_server.requests) == no_change_requests(gansu_server)
    assert stats.get("govcrawl/items/new", 0) == 0 and stats.get("govcrawl/items/updated", 0) == 0

    # 3 new, 1 edited (re-sorted to the top of its list, its date unchanged: the list cannot
    # show the edit, the page's re-check does), 1 withdrawn (off the list, its page 404)
    added = [
        portal.add(code, T0 + timedelta(hours=2 + i), title, [f"第{i}篇新文章的正文。"])
        for i, (code, title) in enumerate(
            [(zwgk.code, "关于做好寒假期间学生安全工作的通知"),
             (zwgk.code, "关于公布2025年省级示范性家长学校名单的通知"),
             (news.code, "一图读懂2026年春季学期开学工作安排")]
        )
    ]  # fmt: skip
    edited = portal.edit_body(news.records[5].id, ["更正后的正文。", "特此更正。"])
    assert news.records[0] is edited
    gone = portal.withdraw(zwgk.records[6].id)
    # the edited page is due for its first re-check as many days after the first run as it
    # was old then
    now = T0 + (T0 - edited.published) + timedelta(hours=2)
    stats = run(db, crawl, gansu_profile, now)
    assert withdrawn_ids(db) == {gone.id}
    assert stats["govcrawl/items/new"] == len(added)
    assert stats["govcrawl/items/updated"] == 1
    assert stored(db, edited.id).body_text == "更正后的正文。\n特此更正。"

    # an old entry pinned on top of the other column, the withdrawn one back, an article moved
    # to the other column (a 引用: its page stays where it was), page 2 of 文件通知 answering 500
    pinned = portal.pin(news.records[-1].id)
    portal.restore(gone.id)
    moved = portal.move(next(a for a in zwgk.records[25:] if a.files == []).id, news.code)
    gansu_server.failing.add(zwgk.page_path(2))
    stats = run(db, crawl, gansu_profile, now + timedelta(hours=1))
    assert withdrawn_ids(db) == set()
    assert stats["govcrawl/items/restored"] == 1
    assert stats["govcrawl/fetch/failed"] == 1  # the list page: nothing concluded from it
    assert stored(db, moved.id).channels in (
        [f"{SITE}/{news.code}"],
        sorted([f"{SITE}/{zwgk.code}", f"{SITE}/{news.code}"]),
    )
    assert stored(db, pinned.id).withdrawn_at is None

    # mended: a run lists 文件通知 to its end again, and the database is the ground truth
    gansu_server.failing.clear()
    run(db, crawl, gansu_profile, now + timedelta(hours=2))
    assert withdrawn_ids(db) == set()
    assert wrong_fields(db, gansu_server) == []
    assert stored(db, moved.id).channels == [f"{SITE}/{news.code}"]

    # nothing changed (the same clock: no page is due): the first list pages
    gansu_server.requests.clear()
    stats = run(db, crawl, gansu_profile, now + timedelta(hours=2))
    assert sorted(r.path for r in gansu_server.requests) == no_change_requests(gansu_server)
    assert stats.get("govcrawl/items/new", 0) == 0 and stats.get("govcrawl/items/updated", 0) == 0


def test_an_article_republished_in_another_column_is_not_withdrawn(
    db, crawl, gansu_server, gansu_profile
):
    """A Gansu URL names its column: moving an article republishes it in the new column's
    folder under the same id, and the old URL answers 404. The article is live and listed."""
    portal = gansu_server.portal
    zwgk, news = portal.columns
    run(db, crawl, gansu_profile, T0)
    moved = portal.move(zwgk.records[3].id, news.code, keep_url=False)
    run(db, crawl, gansu_profile, T0 + timedelta(hours=1))
    # later, when the stored page of the article is due for its re-check
    run(db, crawl, gansu_profile, T0 + (T0 - moved.published) + timedelta(days=1))
    row = stored(db, moved.id)
    assert (row.withdrawn_at, row.url, row.channels) == (
        None, gansu_server.base_url + moved.path, [f"{SITE}/{news.code}"],
    )  # fmt: skip


def test_a_column_whose_list_file_is_named_otherwise(db, crawl, gansu_server, tmp_path):
    """The real page's own menu links columns by other list files: ``/jyt/c107271/zwgklzyj.shtml``,
    ``/jyt/c020701/zwgklist_xxjb.shtml``, ``/jyt/c120301/jytjydt_jyyw.shtml``. A site with such
    a column needs its first list page named per channel."""
    news = gansu_server.portal.columns[1]
    news.list_file = "zwgklzyj.shtml"
    profile = tmp_path / "sample-gansu.toml"
    profile.write_text(
        profile_text(gansu_server.base_url).replace(
            "[politeness]",
            f'[trs.channels."{SITE}/{news.code}"]\nfirst_page = "{news.list_file}"\n\n[politeness]',
        ),
        encoding="utf-8",
    )
    done = crawl(profile)
    assert done.returncode == 0, done.stderr[-3000:]
    assert wrong_fields(db, gansu_server) == []

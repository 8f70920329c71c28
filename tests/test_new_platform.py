"""The current platform as real portals run it: the col-shaped sample site, discovered and crawled."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select

from crawler.cli import main
from crawler.models import Article
from crawler.profiles import CHANNEL_PATHS, ProfileError, parse_profile
from sample_portal.col import ColPortalServer, generate_col_portal
from tests.support import latest_stats

FAST = {
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "AUTOTHROTTLE_ENABLED": "False",
}
BASE_PROFILE = {"name": "x", "base_url": "https://a.gov.cn", "platform": "querylist",
                "site_code": "jxssthjt", "channels": [{"code": "col42150"}]}  # fmt: skip


@pytest.fixture
def col_portal():
    return generate_col_portal()


@pytest.fixture
def col_server(col_portal):
    with ColPortalServer(col_portal) as server:
        yield server


@pytest.fixture
def col_profile(col_server, tmp_path) -> Path:
    """The profile `govcrawl discover` writes from one channel page of the site, unedited."""
    out = tmp_path / "sample-col.toml"
    url = col_server.base_url + "/jxssthjt/col/col10002/index.html"
    assert main(["discover", url, "--name", "sample-col", "-o", str(out)]) == 0
    col_server.requests.clear()
    return out


def test_channel_path_is_a_preset_or_a_checked_template():
    def channel_url(value=None):
        ql = {} if value is None else {"querylist": {"channel_path": value}}
        return parse_profile({**BASE_PROFILE, **ql}).channel_url("col42150")

    assert channel_url() == "https://a.gov.cn/jxssthjt/col42150/index.html"  # nync's shape
    assert channel_url("col") == "https://a.gov.cn/jxssthjt/col/col42150/index.html"
    assert channel_url(CHANNEL_PATHS["col"]) == channel_url("col")
    assert channel_url("/{site}/lm/{channel}.html") == "https://a.gov.cn/jxssthjt/lm/col42150.html"
    for bad in ("col/{channel}/index.html", "/{site}/index.html", "/{site}/{code}/{channel}",
                "/{channel}/?x=1", 3):  # fmt: skip
        with pytest.raises(ProfileError, match="querylist.channel_path"):
            channel_url(bad)


def stored(db) -> dict[str, Article]:
    with db.connect() as conn:
        return {row.platform_id: row for row in conn.execute(select(Article)).all()}


def test_discovered_col_site_crawls_to_its_whole_ground_truth(
    db, col_portal, col_server, col_profile, crawl
):
    result = crawl(col_profile, settings=FAST)
    assert result.returncode == 0, result.stderr[-4000:]
    truth = col_portal.ground_truth()
    base = col_server.base_url
    rows = stored(db)
    assert set(rows) == {a["id"] for a in truth["articles"]}
    wrong = []
    for want in truth["articles"]:
        got = rows[want["id"]]
        expected = {
            "url": base + want["url"], "channels": want["channels"], "title": want["title"],
            "published_at": datetime.fromisoformat(want["published_at"]),
            "source": want["source"], "author": want["author"], "body_text": want["body_text"],
            "images": [base + p for p in want["images"]],
        }  # fmt: skip
        wrong += [f"{want['id']} {k}: {getattr(got, k)!r} != {v!r}"
                  for k, v in expected.items() if getattr(got, k) != v]  # fmt: skip
        body_files = [{**a, "url": base + a["url"]} for a in want["attachments"]]
        if got.attachments[: len(body_files)] != body_files:
            wrong.append(f"{want['id']} attachments: {got.attachments!r} lack {body_files!r}")
    assert not wrong, "\n".join(wrong[:20])

    posts = [dict(parse_qsl(r.body)) for r in col_server.requests if r.method == "POST"]
    gets = [r.path for r in col_server.requests if r.method == "GET"]
    # the codes go as arrays, as the page's list script sends them
    assert all("webSiteCode[]" in p and "channelCode[]" in p for p in posts)
    # col10002 has its unitid in the profile: /queryList from page 1. The others' pages are
    # read; col10003's 50 embedded records are page 1, then /queryList goes on at page 4
    # (records 46-60: five of them embedded already), and 5.
    pages = sorted((p["channelCode[]"], int(p["current"])) for p in posts)
    assert pages == [("col10001", 1), *[("col10002", n) for n in range(1, 7)],
                     ("col10003", 4), ("col10003", 5), ("col10004", 1)]  # fmt: skip
    assert {"/jxssthjt/col/col10001/index.html", "/jxssthjt/col/col10003/index.html",
            "/jxssthjt/col/col10004/index.html"} <= set(gets)  # fmt: skip
    assert not any("RelationArticle" in path for path in gets)
    stats = latest_stats(db)
    assert stats["govcrawl/items/new"] == len(truth["articles"])
    assert stats["govcrawl/listing/embedded_pages"] == 2


def test_a_second_crawl_of_the_col_site_stops_at_its_first_pages(
    db, col_portal, col_server, col_profile, crawl
):
    assert crawl(col_profile, settings=FAST).returncode == 0
    col_server.requests.clear()
    second = crawl(col_profile, settings=FAST)
    assert second.returncode == 0, second.stderr[-4000:]
    stats = latest_stats(db)
    assert stats.get("govcrawl/items/new", 0) == 0 and stats.get("govcrawl/items/updated", 0) == 0
    assert stats["govcrawl/listing/stopped_early"] == 3  # the three channels with records
    # robots.txt, col10002's /queryList page 1, three channel pages, and the empty parent's
    # /queryList page 1 (its page embeds no record)
    assert len(col_server.requests) == 6, [(r.method, r.path) for r in col_server.requests]


def test_a_pinned_entry_is_added_above_newer_ones_and_found(
    db, col_portal, col_server, col_profile, crawl
):
    assert crawl(col_profile, settings=FAST).returncode == 0
    pinned = col_portal.channel("col10003").records[-1]
    pinned.pinned = True  # topStatus 1: an old entry put on top of the channel page
    old = col_portal.channel("col10003").records[-2]
    old.title = "修订：" + old.title
    assert crawl(col_profile, settings=FAST).returncode == 0
    assert stored(db)[old.id].title == old.title


def test_article_files_are_stored_as_attachments(db, col_portal, col_server, col_profile, crawl):
    assert crawl(col_profile, settings=FAST).returncode == 0
    base = col_server.base_url
    rows = stored(db)
    wrong = []
    for want in col_portal.ground_truth()["articles"]:
        expected = [{**a, "url": base + a["url"]} for a in want["attachments"]]
        expected += [{**a, "url": base + a["url"]} for a in want["listing_attachments"]]
        if rows[want["id"]].attachments != expected:
            wrong.append(f"{want['id']} ({want['fetched_from']}): {rows[want['id']].attachments}")
    assert not wrong, "\n".join(wrong[:10])


def test_a_pasted_article_url_belongs_to_its_channel_in_either_page_shape(tmp_path):
    from crawler.profiles import load_profile
    from crawler.spiders.portal import PortalSpider

    path = tmp_path / "colsite.toml"
    path.write_text(
        'name = "colsite"\nbase_url = "https://sthjt.jiangxi.gov.cn"\nplatform = "querylist"\n'
        'site_code = "jxssthjt"\n[querylist]\nchannel_path = "col"\n'
        '[[channels]]\ncode = "col42150"\nunitid = "380055"\n',
        encoding="utf-8",
    )
    from crawler.platforms.querylist import QueryListPlatform

    spider = PortalSpider(site=str(path))
    spider.profile = load_profile(str(path), tmp_path)
    spider.platform = QueryListPlatform(spider)
    url = "https://sthjt.jiangxi.gov.cn/jxssthjt/col/col42150/content/content_1.html"
    assert spider._channel_of(url).code == "col42150"
    assert spider._channel_of("https://sthjt.jiangxi.gov.cn/jxssthjt/col/col1/x.html") is None

"""Platforms are plug-ins: one registry, chosen once from the profile, no branch elsewhere."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from crawler import platforms
from crawler.models import Article
from tests.support import latest_stats

ROOT = Path(__file__).resolve().parent.parent


def test_the_built_in_platforms_are_registered():
    assert {"querylist", "jcms"} <= set(platforms.names())


def test_the_spider_has_no_platform_branch():
    source = (ROOT / "crawler" / "spiders" / "portal.py").read_text(encoding="utf-8")
    assert "platform ==" not in source and 'platform == "' not in source


def test_a_platform_from_a_test_module_crawls_end_to_end(db, crawl, tmp_path):
    from tests.toy_platform import ToyPortalServer

    records = {
        "news": [
            (str(100 + i), f"玩具新闻{i}", f"2025-10-{i + 1:02d}", f"第{i}条新闻正文。")
            for i in range(23)
        ],  # fmt: skip
        "notice": [
            (str(200 + i), f"玩具通知{i}", f"2025-09-{i + 1:02d}", f"第{i}条通知正文。")
            for i in range(4)
        ],  # fmt: skip
    }
    with ToyPortalServer(records) as server:
        profile = tmp_path / "toy.toml"
        profile.write_text(
            f'name = "toy"\nbase_url = "{server.base_url}"\nplatform = "toy"\n'
            "[politeness]\ndownload_delay = 0\nconcurrent_requests = 8\nobey_robots = false\n"
            '[[channels]]\ncode = "news"\n[[channels]]\ncode = "notice"\n',
            encoding="utf-8",
        )
        modules = {"GOVCRAWL_PLATFORM_MODULES": "tests.toy_platform"}
        done = crawl(profile, settings=modules)
        assert done.returncode == 0, done.stderr[-3000:]
        with db.connect() as conn:
            stored = {r.platform_id: r for r in conn.execute(select(Article))}
        assert set(stored) == {rid for rows in records.values() for rid, *_ in rows}
        assert stored["105"].body_text == "第5条新闻正文。" and stored["105"].channels == ["news"]
        # and it is incremental like every platform: the next run stops at page 1
        server.requests.clear()
        assert crawl(profile, settings=modules).returncode == 0
        stats = latest_stats(db)
        assert stats["govcrawl/listing/stopped_early"] == 1  # news; notice fits in one page
        assert stats.get("govcrawl/items/new", 0) == 0
        assert sorted(r.path for r in server.requests) == [
            "/news/list?page=1",
            "/notice/list?page=1",
        ]


def _trs_profile(tmp_path, options: str):  # type: ignore[no-untyped-def]
    from crawler.profiles import load_profile

    path = tmp_path / "gansu.toml"
    path.write_text(
        'name = "jyt"\nbase_url = "https://jyt.gansu.gov.cn"\nplatform = "trs"\n'
        f'{options}\n[[channels]]\ncode = "jyt/c110634"\n',
        encoding="utf-8",
    )
    return load_profile(str(path), tmp_path)


def test_a_platform_checks_its_own_options(tmp_path):
    import pytest

    from crawler.platforms.trs import TrsPlatform
    from crawler.profiles import ProfileError

    profile = _trs_profile(tmp_path, '[trs]\nfirst_page = "zwgklist.shtml"')

    class Spider:  # what a platform reads of its spider
        pass

    spider = Spider()
    spider.profile = profile
    assert TrsPlatform(spider).list_url(profile.channels[0]) == (
        "https://jyt.gansu.gov.cn/jyt/c110634/zwgklist.shtml"
    )
    for bad in ('first_page = "../x.html"', "first_page = 5", "pages = 3"):
        with pytest.raises(ProfileError, match="trs"):
            _trs_profile(tmp_path, f"[trs]\n{bad}")


def test_a_trs_channel_may_name_its_own_list_file(tmp_path):
    import pytest

    from crawler.platforms.trs import TrsPlatform
    from crawler.profiles import ProfileError

    profile = _trs_profile(
        tmp_path,
        '[trs]\nfirst_page = "zwgklist.shtml"\n[trs.channels."jyt/c110634"]\n'
        'first_page = "zwgklzyj.shtml"\n',
    )

    class Spider:
        pass

    spider = Spider()
    spider.profile = profile
    assert TrsPlatform(spider).list_url(profile.channels[0]).endswith("/jyt/c110634/zwgklzyj.shtml")
    for bad, says in (
        ('[trs.channels."jyt/other"]\nfirst_page = "a.shtml"', "names no \\[\\[channels\\]\\]"),
        ('[trs.channels."jyt/c110634"]\nfirst_page = "../a.shtml"', "must be a list file name"),
        ('[trs.channels."jyt/c110634"]\npages = 3', "first_page only"),
        ("[trs]\nchannels = 3", "must be tables"),
    ):
        with pytest.raises(ProfileError, match=says):
            _trs_profile(tmp_path, bad)

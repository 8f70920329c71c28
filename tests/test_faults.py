"""The fault suite: a flaky, broken and hostile portal loses nothing and lets nothing through."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from crawler.models import Article, CrawlIssue, CrawlRun
from sample_portal.faults import Faults
from sample_portal.generator import generate_portal
from sample_portal.profile import write_profile
from sample_portal.server import SamplePortalServer

# short limits so that the slow and the enormous replies trip them quickly
FAULT_SETTINGS = {
    "DOWNLOAD_TIMEOUT": "1",
    "DOWNLOAD_MAXSIZE": str(1024 * 1024),
    "RETRY_TIMES": "2",
    "RETRY_BACKOFF_BASE": "0.2",
}


def flaky_portal(detail_every: int):
    """The sample portal; with ``detail_every=2`` every other body is left out of the listing,
    so there are more pages to break."""
    portal = generate_portal(detail_every=detail_every)
    return portal, {a["url"]: a for a in portal.ground_truth()["articles"]}


def stored(db) -> list:
    with db.connect() as conn:
        return conn.execute(select(Article)).all()


@pytest.mark.parametrize(
    ("detail_every", "seed", "every_kind"),
    # the second: failures deep in a channel that the first run listed to its end
    [(2, 22, True), (7, 1, False)],
)
def test_faults_then_a_clean_run_reach_the_whole_ground_truth(
    db, crawl, tmp_path, detail_every, seed, every_kind
):
    portal, TRUTH_PATHS = flaky_portal(detail_every)  # noqa: N806
    with (
        SamplePortalServer(portal) as server,
        SamplePortalServer(portal, host="127.0.0.2") as elsewhere,
    ):
        server.faults = Faults(rate=0.15, seed=seed, off_host=elsewhere.base_url, slow_seconds=2.5)
        profile = write_profile(portal, server.base_url, tmp_path / "sample.toml")

        first = crawl(profile, settings=FAULT_SETTINGS)
        assert first.returncode == 0, first.stderr[-3000:]
        served = server.faults.served
        for kind in ("503", "500", "reset", "slow", "truncated", "bad_json", "html_200",
                     "challenge", "bad_charset", "huge"):  # fmt: skip
            assert served.get(kind) or not every_kind, (kind, served)
        after_faults = {urlsplit(a.url).path for a in stored(db)}
        missing = set(TRUTH_PATHS) - after_faults
        assert missing, "the faults cost nothing: the test is not testing"

        with db.connect() as conn:
            run = conn.execute(select(CrawlRun)).one()
            issues = Counter(conn.execute(select(CrawlIssue.kind)).scalars())
        assert run.status in ("degraded", "failed") and run.alerts
        assert issues["blocked"] and issues["undecodable"] and issues["fetch_failed"]
        assert issues["no_body"] or not every_kind
        assert run.stats["retry/count"] > 0 and run.stats["govcrawl/retry/backoff_ms"] > 0

        server.faults.active = False  # the portal recovers
        second = crawl(profile, settings=FAULT_SETTINGS)
        assert second.returncode == 0, second.stderr[-3000:]

    articles = stored(db)
    paths = Counter(urlsplit(a.url).path for a in articles)
    assert set(TRUTH_PATHS) <= set(paths), sorted(set(TRUTH_PATHS) - set(paths))[:5]
    assert max(paths.values()) == 1  # no duplicates
    extra = [a for a in articles if urlsplit(a.url).path not in TRUTH_PATHS]
    # only the listing records that link to the other host, kept from the listing alone
    assert all(a.url.startswith(elsewhere.base_url) and not a.body_text for a in extra), extra
    # nothing of a challenge or an error page was stored as an article
    for a in articles:
        assert "$_ts" not in a.body_html and "系统繁忙" not in a.title + a.body_text, a.url
        assert "\ufffd" not in a.title + a.body_text, a.url
    assert elsewhere.requests == []  # not one request left the profile's host
    # and every article is whole: the faults left no empty or half body behind
    by_path = {urlsplit(a.url).path: a for a in articles}
    wrong = [p for p, want in TRUTH_PATHS.items()
             if (by_path[p].title, by_path[p].body_text) != (want["title"], want["body_text"])]  # fmt: skip
    assert wrong == [], [
        (
            p,
            server.faults.assigned.get(f"GET {p} "),
            by_path[p].title,
            by_path[p].body_text[:80],
            TRUTH_PATHS[p]["body_text"][:80],
        )
        for p in wrong
    ]


def test_oversized_and_undecodable_pages_are_refused_and_counted(db, portal, crawl, tmp_path):
    with SamplePortalServer(portal) as server:
        server.faults = Faults(rate=1.0, seed=1)
        kinds = iter(("huge", "bad_charset", "challenge"))
        urls = {}

        def pick(method, path, page_key=""):
            if path.endswith(".html") and "/content/" in path:
                if path not in urls:
                    urls[path] = next(kinds, None)
                return urls[path]
            return None

        server.faults.pick = pick  # a fault for each of the first three article pages
        profile = write_profile(portal, server.base_url, tmp_path / "sample.toml")
        crawl(profile, "channels=bcyb", settings=FAULT_SETTINGS)
    with db.connect() as conn:
        issues = {
            kind: reason
            for kind, reason in conn.execute(select(CrawlIssue.kind, CrawlIssue.reason)).all()
        }
        count = conn.execute(select(func.count()).select_from(Article)).scalar_one()
    assert "blocked" in issues and "challenge" in issues["blocked"]
    assert "undecodable" in issues
    assert "larger than download max size" in issues.get("fetch_failed", ""), issues
    bad = [p for p, kind in urls.items() if kind]
    assert len(bad) == 3
    with db.connect() as conn:
        stored_paths = {urlsplit(u).path for u in conn.execute(select(Article.url)).scalars()}
    assert not stored_paths & set(bad) and count > 0


def test_robots_txt_is_obeyed_unless_the_profile_says_not(db, portal, crawl, tmp_path):
    with SamplePortalServer(portal) as server:
        server.robots_txt = b"User-agent: *\nDisallow: /jxsnynct/bcyb/content/\n"
        profile = write_profile(portal, server.base_url, tmp_path / "sample.toml")
        crawl(profile, "channels=bcyb")
        pages = [r for r in server.requests if "/bcyb/content/" in r.path]
        with db.connect() as conn:
            stats = conn.execute(select(CrawlRun.stats)).scalar_one()
        assert pages == [] and stats["robotstxt/forbidden"] > 0
        text = profile.read_text(encoding="utf-8")
        profile.write_text(text.replace("[politeness]", "[politeness]\nobey_robots = false", 1))
        crawl(profile, "channels=bcyb")
        assert [r for r in server.requests if "/bcyb/content/" in r.path]

"""The TRS WCM sample site crawled end to end: static list pages, pages fetched, 100% of its
ground truth, then an incremental run that stops at the first list pages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from crawler.models import Article
from tests.support import latest_stats


def test_a_trs_site_is_crawled_to_its_ground_truth(db, crawl, trs_server, trs_profile):
    # one page answers 503 once: the retry brings it
    truth = trs_server.portal.ground_truth()
    trs_server.flaky.add(truth["articles"][3]["url"])
    done = crawl(trs_profile)
    assert done.returncode == 0, done.stderr[-3000:]
    base = trs_server.base_url
    with db.connect() as conn:
        rows = {r.platform_id: r for r in conn.execute(select(Article))}
    assert set(rows) == {a["id"] for a in truth["articles"]}
    wrong = []
    for want in truth["articles"]:
        got = rows[want["id"]]
        expected = {
            "url": base + want["url"],
            "channels": want["channels"],
            "title": want["title"],
            "published_at": datetime.fromisoformat(want["published_at"]),
            "source": want["source"],
            "body_text": want["body_text"],
            "attachments": [
                {"url": base + a["path"], "name": a["name"], "type": a["type"]}
                for a in want["attachments"]
            ],
        }
        wrong += [
            f"{want['id']} {field}: {getattr(got, field)!r} != {value!r}"
            for field, value in expected.items()
            if getattr(got, field) != value
        ]
    assert wrong == []

    trs_server.requests.clear()
    assert crawl(trs_profile).returncode == 0
    stats = latest_stats(db)
    assert stats.get("govcrawl/items/new", 0) == 0
    assert stats["govcrawl/listing/stopped_early"] == len(truth["columns"])
    assert sorted(r.path for r in trs_server.requests) == sorted(
        ["/robots.txt", *(f"/{c['code']}/index.html" for c in truth["columns"])]
    )

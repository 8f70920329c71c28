"""Spidermon monitors on close: degraded runs, their alerts, and the webhook notification."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from crawler.models import CrawlRun


def last_run(db):
    with db.connect() as conn:
        return conn.execute(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(1)).one()


def test_a_clean_channel_passes_every_monitor(db, sample_profile, crawl):
    assert crawl(sample_profile, "channels=bcyb,fzjz").returncode == 0
    run = last_run(db)
    assert run.status == "succeeded" and run.alerts == []


def test_thresholds_are_settings(db, sample_profile, crawl):
    # 2 of ~160 items in these channels fail validation: fine at 5%, not at 0.1%
    crawl(sample_profile, "channels=bcyb,fzjz", settings={"GOVCRAWL_MAX_DROPPED_SHARE": "0.001"})
    run = last_run(db)
    assert run.status == "degraded"
    dropped = run.stats["govcrawl/items/dropped"]
    seen = dropped + run.stats["item_scraped_count"]
    assert dropped == 2
    assert run.alerts == [
        f"2 of {seen} items failed validation ({2 / seen:.1%}; limit 0.1%, setting "
        "GOVCRAWL_MAX_DROPPED_SHARE): 1 missing published_at, 1 missing title"
    ]


def test_a_full_crawl_that_stores_nothing_alerts(db, sample_profile, crawl):
    crawl(sample_profile, "channels=gsgg", "mode=full")  # the channel whose JSON is broken
    run = last_run(db)
    assert run.status == "failed"
    assert "a full crawl stored no article (at least 1 expected)" in run.alerts, run.alerts


class Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # quiet
        pass


def test_a_failed_monitor_posts_to_the_webhook(db, sample_profile, crawl):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Hook.received = []
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        crawl(sample_profile, settings={"GOVCRAWL_NOTIFY_WEBHOOK": url})  # degraded
        crawl(sample_profile, "channels=bcyb", settings={"GOVCRAWL_NOTIFY_WEBHOOK": url})  # fine
    finally:
        server.shutdown()
    first = last_run(db).id - 1
    assert len(Hook.received) == 1
    sent = Hook.received[0]
    assert sent["run_id"] == first and sent["site"] == "sample" and sent["errors"] == 2
    assert sent["alerts"] == [
        "2 errors (limit 0, setting SPIDERMON_MAX_ERRORS): channel gsgg replied with broken JSON, "
        "channel tzgg with an HTML page"
    ]

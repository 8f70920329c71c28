"""Keyword watches: a saved search's new articles, matched after each run by the search engine
and sent to a webhook or an SMTP server on 127.0.0.1 — never twice, never missed — whatever
the receiver does in between."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from crawler import cli, watch_cmd
from crawler.models import Article, CrawlRun, Watch, WatchHit
from crawler.search import Filters, statement
from crawler.watches import (
    DeliveryConfig,
    SmtpConfig,
    WatchDelivery,
    add_watch,
    after_run,
    list_watches,
    remove_watch,
    watch_hits,
)
from pipelines.store import write_batch
from tests.support import article_row

CST = timezone(timedelta(hours=8))
TIMEOUT = 0.5  # the webhook timeout of these tests: far above a local reply, below LATE


# --- a webhook receiver, an SMTP server, the command line ---------------------------------------
class Receiver:
    """A webhook receiver on 127.0.0.1 that is ``up``, ``down`` (nothing listens: connection
    refused), ``slow`` (replies within the timeout), ``error`` (HTTP 500, takes nothing),
    ``late`` (takes the delivery, replies 200 after the sender gave up), ``lost`` (takes it
    and drops the connection without a reply) or ``redirect``."""

    SLOW = 0.05
    LATE = TIMEOUT + 0.3

    def __init__(self) -> None:
        self.mode = "up"
        self.accepted: list[tuple[str, dict[str, Any]]] = []  # (Idempotency-Key, payload)
        self.lock = threading.Lock()
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        if self.server is not None:
            return
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                mode = receiver.mode
                if mode in ("error", "redirect"):
                    self.send_response(500 if mode == "error" else 302)
                    self.send_header("Location", "/elsewhere")
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.accepted.append((self.headers["Idempotency-Key"], json.loads(body)))
                if mode == "lost":
                    self.close_connection = True
                    return
                if mode in ("slow", "late"):
                    time.sleep(receiver.SLOW if mode == "slow" else receiver.LATE)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:  # late: the sender is gone
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def set(self, mode: str) -> None:
        self.mode = mode
        self.stop() if mode == "down" else self.start()

    def clear(self) -> None:
        with self.lock:
            self.accepted.clear()

    def articles(self, watch: str | None = None) -> list[int]:
        """Article ids of every delivery taken (of one watch), as often as they came."""
        with self.lock:
            return [
                a["id"]
                for _, p in self.accepted
                if watch is None or p["watch"]["name"] == watch
                for a in p["articles"]
            ]

    def counts(self) -> tuple[Counter[tuple[int, int]], Counter[tuple[int, int]]]:
        """(watch id, article id) → deliveries taken: raw, and with retries of one
        Idempotency-Key dropped as a receiver would."""
        raw: Counter[tuple[int, int]] = Counter()
        deduped: Counter[tuple[int, int]] = Counter()
        seen: set[str] = set()
        with self.lock:
            for key, p in self.accepted:
                pairs = [(p["watch"]["id"], a["id"]) for a in p["articles"]]
                raw.update(pairs)
                if key not in seen:
                    seen.add(key)
                    deduped.update(pairs)
        return raw, deduped


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.stop()


@pytest.fixture
def watch_db(db: Engine) -> Iterator[Engine]:
    """The emptied database, without watches before and after the test (a watch left behind
    would switch delivery on in other tests' crawls)."""
    with db.begin() as conn:
        conn.execute(text("TRUNCATE watches, watch_hits RESTART IDENTITY CASCADE"))
    yield db
    with db.begin() as conn:
        conn.execute(text("TRUNCATE watches, watch_hits RESTART IDENTITY CASCADE"))


class Inbox:
    """aiosmtpd handler: keeps each message it accepts; ``refuse`` answers 451 instead."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse:
            return "451 4.3.0 try again later"
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1, on one port however often it is stopped and started again."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.config = SmtpConfig(host="127.0.0.1", port=self.port, timeout=5)
        self.controller: Any = None
        self.start()

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


def govcrawl(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str,
    *argv: str,
) -> tuple[int, str, str]:  # fmt: skip
    """``govcrawl --database-url URL ARGV…`` in this process: exit code, stdout, stderr."""
    build = cli.build_parser

    def with_watch() -> argparse.ArgumentParser:
        parser = build()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "watch" not in sub.choices:  # until cli.py adds it itself
            watch_cmd.add_parser(sub)
        return parser

    monkeypatch.setattr(cli, "build_parser", with_watch)
    capsys.readouterr()
    sigpipe = signal.getsignal(signal.SIGPIPE)  # the query commands reset it for `| head`
    try:
        code = cli.main(["--database-url", database_url, *argv])
    finally:
        signal.signal(signal.SIGPIPE, sigpipe)
    out, err = capsys.readouterr()
    return code, out, err


# --- storing articles and closing runs as a crawl does --------------------------------------------
class Runs:
    """Stores articles through the store's own ``write_batch`` and closes a run as the
    extension does (``after_run``), with a crawl_runs row for each."""

    def __init__(self, engine: Engine, config: DeliveryConfig) -> None:
        self.engine = engine
        self.config = config
        self.stored = 0

    def store(self, articles: list[tuple[str, str, str]]) -> list[int]:
        """(site, title, body) each; returns their ids."""
        rows = []
        for site, title, body in articles:
            self.stored += 1
            rows.append(article_row(f"k{self.stored}", title=title, body=body, site=site))
        if rows:
            write_batch(self.engine, rows)
        keys = [r["article_key"] for r in rows]
        with self.engine.connect() as conn:
            found = dict(
                conn.execute(
                    select(Article.article_key, Article.id).where(Article.article_key.in_(keys))
                ).all()
            )
        return [found[k] for k in keys]

    def close(self, site: str = "a") -> Any:
        with self.engine.begin() as conn:
            run_id = conn.execute(
                insert(CrawlRun).values(site=site, spider="portal").returning(CrawlRun.id)
            ).scalar_one()
        return after_run(self.engine, run_id, self.config)


def hits_of(engine: Engine, watch_id: int) -> dict[int, Any]:
    with engine.connect() as conn:
        return {
            h.article_id: h
            for h in conn.execute(select(WatchHit).where(WatchHit.watch_id == watch_id))
        }


# --- the model-based test ------------------------------------------------------------------------
TERMS = ["病虫害", "稻瘟病", "虫害"]
# pieces of text: 病虫 and 虫害 apart hold both bigrams of 病虫害 but not the term
PIECES = ["病虫害", "稻瘟病", "病虫", "虫害", "简报", "通知"]
SITES = ["a", "b"]
NAMES = ["w1", "w2", "w3"]
# the receiver during a run; "late" costs a timeout, so the others come more often
MODES = ["up", "down", "slow", "error", "lost", "late", "up", "error", "lost"]
articles_st = st.lists(
    st.tuples(st.sampled_from(SITES), st.lists(st.sampled_from(PIECES), max_size=3)),
    min_size=1,
    max_size=4,
)


def as_article(site: str, pieces: list[str]) -> tuple[str, str, str]:
    """Title the first piece, body the others, apart (no term is made across two pieces)."""
    return site, (pieces[0] if pieces else "工作简报"), "，".join(pieces[1:]) or "正文。"


class WatchHistory(RuleBasedStateMachine):
    """Runs store articles (some matching a watch, some not) and close; watches come and go;
    the receiver goes up, down, slow, answers 500 or takes a delivery after the sender gave
    up. The model predicts every delivery the receiver takes; the database must agree."""

    engine: Engine
    receiver: Receiver

    def __init__(self) -> None:
        super().__init__()
        with self.engine.begin() as conn:
            conn.execute(
                text("TRUNCATE articles, crawl_runs, watches, watch_hits RESTART IDENTITY CASCADE")
            )
        self.receiver.set("up")
        self.receiver.clear()
        self.runs = Runs(self.engine, DeliveryConfig(timeout=TIMEOUT))
        self.watches: dict[str, tuple[int, str, str | None]] = {}  # name → (id, term, site)
        self.expected: dict[int, set[int]] = {}  # watch id → every article it must send
        self.batches: dict[int, list[list[int]]] = {}  # watch id → keyed, undelivered batches
        self.unkeyed: dict[int, list[int]] = {}  # watch id → hits not attempted yet
        self.raw: Counter[tuple[int, int]] = Counter()  # deliveries the receiver takes
        self.removed: dict[int, int] = {}  # watch id → its deliveries taken when removed

    # --- steps ---------------------------------------------------------------------------------
    @initialize(
        watches=st.lists(
            st.tuples(st.sampled_from(TERMS), st.sampled_from([None, "a"])), min_size=1, max_size=2
        )
    )
    def first_watches(self, watches: list[tuple[str, str | None]]) -> None:
        for name, (term, site) in zip(NAMES, watches, strict=False):
            self._add(name, term, site)

    @precondition(lambda self: len(self.watches) < len(NAMES))
    @rule(data=st.data(), term=st.sampled_from(TERMS), site=st.sampled_from([None, "a"]))
    def add_watch(self, data: st.DataObject, term: str, site: str | None) -> None:
        self._add(data.draw(st.sampled_from([n for n in NAMES if n not in self.watches])), term,
                  site)  # fmt: skip

    @precondition(lambda self: len(self.watches) > 1)  # one is left to follow the runs
    @rule(data=st.data())
    def remove_watch(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.watches)))
        watch_id = self.watches.pop(name)[0]
        remove_watch(self.engine, name)
        self.removed[watch_id] = sum(
            n for (w, _), n in self.receiver.counts()[0].items() if w == watch_id
        )

    @rule(mode=st.sampled_from(MODES), articles=articles_st)
    def run(self, mode: str, articles: list[tuple[str, list[str]]]) -> None:
        self.receiver.set(mode)
        self._stored(articles)
        self.runs.close()
        self._close()

    @rule(mode=st.sampled_from(MODES), first=articles_st, second=articles_st)
    def two_runs_end_at_once(
        self, mode: str, first: list[tuple[str, list[str]]], second: list[tuple[str, list[str]]]
    ) -> None:
        self.receiver.set(mode)
        self._stored(first + second)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(self.runs.close, ["a", "b"]))
        self._close()
        self._close()  # the one that waited for the lock, as if it ran after

    # --- the model -----------------------------------------------------------------------------
    def _add(self, name: str, term: str, site: str | None) -> None:
        watch = add_watch(self.engine, name, term, Filters(site=site), self.receiver.url)
        self.watches[name] = (watch["id"], term, site)
        self.expected[watch["id"]] = set()
        self.batches[watch["id"]], self.unkeyed[watch["id"]] = [], []

    def _stored(self, articles: list[tuple[str, list[str]]]) -> None:
        made = [as_article(site, pieces) for site, pieces in articles]
        for article_id, (site, title, body) in zip(self.runs.store(made), made, strict=True):
            for watch_id, term, only in self.watches.values():
                if (term in title or term in body) and only in (None, site):
                    self.expected[watch_id].add(article_id)
                    self.unkeyed[watch_id].append(article_id)

    def _close(self) -> None:
        """What a run's end does: each watch keys its new hits into one batch, then sends its
        batches oldest first, stopping at the first that fails."""
        mode = self.receiver.mode
        for watch_id, _, _ in self.watches.values():
            batches = self.batches[watch_id]
            if self.unkeyed[watch_id]:
                batches.append(self.unkeyed[watch_id])
                self.unkeyed[watch_id] = []
            while batches:
                if mode in ("up", "slow", "late", "lost"):
                    self.raw.update((watch_id, a) for a in batches[0])
                if mode not in ("up", "slow"):
                    break
                batches.pop(0)

    # --- what must hold after every step -------------------------------------------------------
    @invariant()
    def the_receiver_took_what_the_model_says(self) -> None:
        raw, deduped = self.receiver.counts()
        for watch_id, article_id in raw:
            if watch_id in self.removed:
                continue
            assert article_id in self.expected[watch_id], f"watch {watch_id} sent {article_id}"
        live = {k: n for k, n in self.raw.items() if k[0] not in self.removed}
        assert {k: n for k, n in raw.items() if k[0] not in self.removed} == live
        assert all(n == 1 for n in deduped.values()), "sent twice under two keys"
        for watch_id, taken in self.removed.items():
            assert sum(n for (w, _), n in raw.items() if w == watch_id) == taken

    @invariant()
    def the_database_says_the_same(self) -> None:
        for watch_id, _, _ in self.watches.values():
            hits = hits_of(self.engine, watch_id)
            pending = {a for b in self.batches[watch_id] for a in b}
            assert set(hits) == self.expected[watch_id]
            assert {a for a, h in hits.items() if h.delivered_at is None} == pending

    def teardown(self) -> None:
        """The receiver comes back: one more run delivers everything, each article once."""
        if sys.exc_info()[0] is not None:  # a step failed: that is the failure to report
            return
        self.receiver.set("up")
        self.runs.close()
        self._close()
        raw, deduped = self.receiver.counts()
        for watch_id, _, _ in self.watches.values():
            want = self.expected[watch_id]
            assert {a for (w, a) in deduped if w == watch_id} == want
            assert {a for (w, a), n in raw.items() if w == watch_id and n > 0} == want
        self.the_receiver_took_what_the_model_says()
        self.the_database_says_the_same()


def test_every_match_is_delivered_once_whatever_the_receiver_does(watch_db, receiver):
    WatchHistory.engine = watch_db
    WatchHistory.receiver = receiver
    run_state_machine_as_test(
        WatchHistory,
        settings=settings(
            max_examples=20,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# --- plain tests -----------------------------------------------------------------------------------
def test_a_watch_sends_only_articles_first_stored_after_it(watch_db, receiver):
    runs = Runs(watch_db, DeliveryConfig(timeout=TIMEOUT))
    before = runs.store([("a", "全省病虫害发生趋势", "正文。")])
    watch = add_watch(watch_db, "pests", "病虫害", Filters(), receiver.url)
    runs.close()
    assert receiver.accepted == []

    after = runs.store(
        [
            ("a", "水稻病虫害防治", "正文。"),  # in the title
            ("b", "通知", "做好病虫害统防统治。"),  # in the body
            ("a", "病虫情报", "虫害减轻。"),  # both bigrams of 病虫害, never the term
            ("a", "工作简报", "正文。"),
        ]
    )
    runs.close()
    (key, sent), = receiver.accepted  # fmt: skip
    assert [a["id"] for a in sent["articles"]] == [after[1], after[0]]  # newest first
    assert sent["watch"] == {"id": watch["id"], "name": "pests", "query": "病虫害", "filters": {}}
    assert set(sent["articles"][0]) == {"id", "title", "url", "site", "channels", "published_at"}
    assert key == sent["delivery"] and key.startswith(f"watch-{watch['id']}-hits-")
    assert before[0] not in hits_of(watch_db, watch["id"])

    runs.close()  # nothing new
    assert len(receiver.accepted) == 1


def test_a_removed_watch_sends_nothing_more(watch_db, receiver):
    # shrunk from the model test: add a watch, a run delivers one article, remove the watch
    runs = Runs(watch_db, DeliveryConfig(timeout=TIMEOUT))
    watch = add_watch(watch_db, "pests", "病虫害", Filters(), receiver.url)
    [first] = runs.store([("a", "病虫害", "正文。")])
    runs.close()
    receiver.set("error")
    runs.store([("a", "病虫害二", "正文。")])
    runs.close()  # pending when the watch goes
    assert remove_watch(watch_db, "pests") == 2
    receiver.set("up")
    runs.store([("a", "病虫害三", "正文。")])
    runs.close()
    assert receiver.articles() == [first]
    assert hits_of(watch_db, watch["id"]) == {} and list_watches(watch_db) == []


def test_a_watch_filters_as_search_does(watch_db, receiver):
    runs = Runs(watch_db, DeliveryConfig(timeout=TIMEOUT))
    filters = Filters(site="a", since="2025-01-05")
    watch = add_watch(watch_db, "a-only", "虫害", filters, receiver.url)
    rows = [
        article_row("k1", title="虫害", site="a", day=6),
        article_row("k2", title="虫害", site="b", day=6),
        article_row("k3", title="虫害", site="a", day=2),
        article_row("k4", title="虫害", site="a", day=7, channels=("fzjz",)),
    ]
    write_batch(watch_db, rows)
    runs.close()
    with watch_db.connect() as conn:
        engine_says = set(
            conn.execute(statement("虫害", filters).with_only_columns(Article.id)).scalars()
        )
        keys = dict(conn.execute(select(Article.id, Article.article_key)).all())
    assert {keys[a] for a in receiver.articles()} == {"s:id:k1", "s:id:k4"}
    assert set(receiver.articles()) == engine_says
    assert set(hits_of(watch_db, watch["id"])) == engine_says


def test_a_reply_lost_after_a_timeout_is_resent_under_the_same_key(watch_db, receiver):
    runs = Runs(watch_db, DeliveryConfig(timeout=TIMEOUT))
    watch = add_watch(watch_db, "pests", "病虫害", Filters(), receiver.url)
    first = runs.store([("a", "病虫害一", "正文。"), ("a", "病虫害二", "正文。")])
    receiver.set("late")
    counts = runs.close()
    assert counts.failed == 2 and counts.delivered == 0
    hit = hits_of(watch_db, watch["id"])[first[0]]
    assert hit.attempts == 1 and "no reply within" in hit.last_error and hit.delivered_at is None

    second = runs.store([("b", "病虫害三", "正文。")])
    receiver.set("up")
    counts = runs.close()
    assert counts.delivered == 3 and counts.posts == 2  # the retried batch, then the new one
    (k1, p1), (k2, p2), (k3, p3) = receiver.accepted
    assert k1 == k2 and p1["articles"] == p2["articles"]  # a receiver drops the second
    assert {a["id"] for a in p3["articles"]} == set(second) and k3 != k1
    raw, deduped = receiver.counts()
    assert set(deduped.values()) == {1} and len(deduped) == 3
    assert sorted(raw.values()) == [1, 2, 2]


def test_failures_are_kept_and_retried_until_delivered(watch_db, receiver):
    runs = Runs(watch_db, DeliveryConfig(timeout=TIMEOUT))
    watch = add_watch(watch_db, "pests", "病虫害", Filters(), receiver.url)
    [article] = runs.store([("a", "病虫害", "正文。")])
    for mode, error in (("error", "HTTP 500"), ("down", "refused"), ("redirect", "HTTP 302")):
        receiver.set(mode)
        runs.close()
        hit = hits_of(watch_db, watch["id"])[article]
        assert hit.delivered_at is None and error in hit.last_error
    assert hit.attempts == 3
    [listed] = list_watches(watch_db)
    assert (listed["hits"], listed["delivered"], listed["pending"]) == (1, 0, 1)
    assert "HTTP 302" in listed["last_error"]

    receiver.set("up")
    runs.close()
    runs.close()
    assert receiver.articles() == [article]
    [listed] = list_watches(watch_db)
    assert (listed["delivered"], listed["pending"], listed["last_error"]) == (1, 0, None)
    [hit] = watch_hits(watch_db, watch["id"], limit=10)
    assert hit["attempts"] == 4 and hit["delivered_at"] is not None and hit["title"] == "病虫害"


def test_two_runs_ending_at_once_send_each_article_once(watch_db, receiver):
    runs = Runs(watch_db, DeliveryConfig(timeout=5))
    add_watch(watch_db, "pests", "病虫害", Filters(), receiver.url)
    add_watch(watch_db, "rice", "稻瘟病", Filters(), receiver.url)
    stored = runs.store(
        [(site, f"{term}{i}", "正文。") for i in range(5) for site in SITES
         for term in ("病虫害", "稻瘟病")]
    )  # fmt: skip
    receiver.set("slow")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(runs.close, ["a", "b", "a", "b"]))
    raw, _ = receiver.counts()
    assert sorted(a for _, a in raw) == sorted(stored) and set(raw.values()) == {1}


def test_email_and_webhook_each_get_a_watch_once(watch_db, receiver, smtp):
    inbox = smtp.inbox
    runs = Runs(watch_db, DeliveryConfig(timeout=TIMEOUT, smtp=smtp.config))
    watch = add_watch(watch_db, "pests", "病虫害", Filters(), receiver.url, "ops@example.org")
    [first] = runs.store([("a", "病虫害预警", "正文。")])
    receiver.set("down")
    runs.close()  # the e-mail goes; the webhook waits
    assert len(inbox.messages) == 1 and receiver.accepted == []
    hit = hits_of(watch_db, watch["id"])[first]
    assert hit.emailed_at is not None and hit.delivered_at is None

    inbox.refuse = True
    receiver.set("up")
    [second] = runs.store([("a", "病虫害通报", "正文。")])
    runs.close()  # the first: webhook only; the second: webhook, e-mail refused
    assert receiver.articles() == [first, second]
    assert len(inbox.messages) == 1 and hits_of(watch_db, watch["id"])[second].delivered_at is None

    inbox.refuse = False
    runs.close()
    runs.close()
    assert receiver.articles() == [first, second]
    mails = inbox.messages
    assert len(mails) == 2 and mails[0]["To"] == "ops@example.org"
    assert "病虫害预警" in mails[0].get_content() and "病虫害通报" in mails[1].get_content()
    assert mails[0]["Subject"] == "govcrawl watch pests: 1 new article"
    assert (
        mails[1]["Message-ID"]
        == f"<{hits_of(watch_db, watch['id'])[second].delivery_key}@govcrawl>"
    )
    assert all(h.delivered_at is not None for h in hits_of(watch_db, watch["id"]).values())


def test_email_waits_while_the_smtp_server_is_down(watch_db, smtp):
    inbox = smtp.inbox
    runs = Runs(watch_db, DeliveryConfig(smtp=smtp.config))
    watch = add_watch(watch_db, "pests", "病虫害", Filters(), email="ops@example.org")
    [article] = runs.store([("a", "病虫害", "正文。")])
    smtp.stop()
    runs.close()
    assert "e-mail: ConnectionRefusedError" in hits_of(watch_db, watch["id"])[article].last_error
    smtp.start()
    runs.close()
    runs.close()
    assert len(inbox.messages) == 1
    runs.config = DeliveryConfig(smtp=None)
    [other] = runs.store([("a", "病虫害二", "正文。")])
    runs.close()
    assert hits_of(watch_db, watch["id"])[other].last_error == (
        "e-mail: GOVCRAWL_SMTP_HOST is not set"
    )


def test_the_extension_is_off_without_a_watch(watch_db, database_url, receiver, tmp_path):
    crawler_settings = {
        "DATABASE_URL": database_url,
        "GOVCRAWL_HOME": str(tmp_path),
        "GOVCRAWL_MIGRATE_ON_START": False,
        "ITEM_PIPELINES": {"pipelines.store.StorePipeline": 400},
    }
    with pytest.raises(NotConfigured):
        WatchDelivery.from_crawler(get_crawler(settings_dict=crawler_settings))
    add_watch(watch_db, "pests", "病虫害", Filters(), receiver.url)
    assert isinstance(
        WatchDelivery.from_crawler(get_crawler(settings_dict=crawler_settings)), WatchDelivery
    )
    with pytest.raises(NotConfigured):  # a run that stores nothing
        WatchDelivery.from_crawler(
            get_crawler(settings_dict={**crawler_settings, "ITEM_PIPELINES": {}})
        )


# --- the command line ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, message",
    [
        (["x", "病虫害", "--webhook", "ftp://example.org/hook"], "give an http(s) URL"),
        (["x", "病虫害", "--webhook", "example.org/hook"], "give an http(s) URL"),
        (["x", "病虫害", "--email", "ops at example.org"], "not an e-mail address"),
        (["x", "病虫害", "--email", "a@b.org\nBcc: c@d.org"], "not an e-mail address"),
        (["x", "，", "--email", "ops@example.org"], "nothing to search for"),
        (["x", "病虫害", "--site", "nosuch", "--email", "a@b.org"], "--site 'nosuch': no such"),
        (["x", "病虫害"], "give --webhook URL and/or --email"),
        (["x y", "病虫害", "--email", "a@b.org"], "name 'x y'"),
        (["x", "病虫害", "--since", "2025-13", "--email", "a@b.org"], "is not a date"),
    ],
)
def test_watch_add_refuses_bad_input(
    watch_db, database_url, monkeypatch, capsys, argv, message
):  # fmt: skip
    code, out, err = govcrawl(monkeypatch, capsys, database_url, "watch", "add", *argv)
    assert code == 2 and out == ""
    assert err.startswith("govcrawl: ") and err.count("\n") == 1 and message in err, err
    assert list_watches(watch_db) == []


def test_watch_add_list_test_remove(watch_db, database_url, monkeypatch, capsys, receiver):
    def run(*argv: str) -> tuple[int, str, str]:
        return govcrawl(monkeypatch, capsys, database_url, "watch", *argv)

    runs = Runs(watch_db, DeliveryConfig(timeout=TIMEOUT))
    [old] = runs.store([("nync", "早稻病虫害防治", "正文。")])
    code, out, err = run("add", "pests", "病虫害", "--site", "nync", "--channel", "病虫预报",
                         "--webhook", receiver.url)  # fmt: skip
    assert code == 0, err
    assert out.startswith("watch 'pests' (id 1) added: 病虫害\n")
    assert run("add", "pests", "稻瘟病", "--webhook", receiver.url)[2] == (
        "govcrawl: a watch named 'pests' exists already (see `govcrawl watch list`)\n"
    )
    [watch] = list_watches(watch_db)
    assert watch["filters"] == {"site": "nync", "channel": "bcyb"}  # the channel's code

    code, out, err = run("test", "pests")
    assert code == 0 and str(old) in out and "1 article match 'pests' now" in err
    code, out, err = run("test", "pests", "--send")
    assert code == 0 and out.endswith(
        f"test delivery sent: webhook http://127.0.0.1:{receiver.port}/…: HTTP 200\n"
    )
    (key, sent), = receiver.accepted  # fmt: skip
    assert sent["test"] is True and [a["id"] for a in sent["articles"]] == [old]
    assert hits_of(watch_db, watch["id"]) == {}
    receiver.set("error")
    code, out, err = run("test", "pests", "--send")
    assert code == 1 and err.endswith(
        "\ngovcrawl: watch pests: test delivery failed: webhook: HTTP 500 Internal Server Error\n"
    )

    code, out, err = run("list")
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["name", "query", "filters", "sends", "to", "created", "hits",
                              "delivered", "pending", "last", "error"]  # fmt: skip
    assert row.startswith("pests") and "site=nync channel=bcyb" in row
    code, out, err = run("list", "--format", "json")
    assert json.loads(out)[0]["pending"] == 0

    assert run("remove", "pests")[:2] == (0, "watch 'pests' removed, with its 0 hits\n")
    assert run("remove", "pests")[0] == 2
    assert run("test", "pests")[0] == 2
    assert run("list") == (
        0,
        "",
        "no watches; add one with `govcrawl watch add NAME TERM… --webhook URL`\n",
    )


# --- end to end: the sample portal crawled three times ---------------------------------------------
def test_a_watch_on_the_sample_portal(
    watch_db, database_url, portal, sample_profile, crawl, receiver, monkeypatch, capsys
):
    code, out, err = govcrawl(monkeypatch, capsys, database_url,
                              "watch", "add", "pests", "病虫害", "--webhook", receiver.url)  # fmt: skip
    assert code == 0, err

    def matching() -> set[int]:
        with watch_db.connect() as conn:
            query = statement("病虫害", Filters()).with_only_columns(Article.id)
            return set(conn.execute(query).scalars())

    assert crawl(sample_profile).returncode in (0, 3)
    first = matching()
    assert len(first) > 10
    assert Counter(receiver.articles()) == Counter(first)  # the first run's, each once

    now = datetime(2025, 11, 21, 9, tzinfo=CST)
    portal.add_article("bcyb", now, "关于做好秋季病虫害防控的通知", ["请各地做好防控。"])
    portal.add_article("fzjz", now + timedelta(hours=1), "茶叶生产简报", ["近期病虫害偏轻发生。"])
    portal.add_article("bcyb", now + timedelta(hours=2), "病虫情报第18期", ["虫害发生偏轻。"])
    portal.add_article("yjxx", now + timedelta(hours=3), "早稻收购价格", ["价格平稳。"])
    receiver.clear()
    result = crawl(sample_profile)
    assert result.returncode in (0, 3)
    new = matching() - first
    with watch_db.connect() as conn:
        titles = dict(conn.execute(select(Article.id, Article.title)).all())
        stats = conn.execute(select(CrawlRun.stats).order_by(CrawlRun.id.desc())).first()[0]
    assert sorted(titles[a] for a in new) == ["关于做好秋季病虫害防控的通知", "茶叶生产简报"]
    assert Counter(receiver.articles()) == Counter(new)
    assert len(receiver.accepted) == 1
    assert stats["govcrawl/watches/matched"] == 2 and stats["govcrawl/watches/delivered"] == 2

    receiver.clear()
    assert crawl(sample_profile).returncode in (0, 3)
    assert receiver.accepted == []
    with watch_db.connect() as conn:
        pending = conn.execute(select(WatchHit).where(WatchHit.delivered_at.is_(None))).all()
        watches = conn.execute(select(Watch.name)).scalars().all()
    assert pending == [] and watches == ["pests"]

"""Database faults: a crawl killed inside a write, and a database that goes away mid-run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from crawler.extraction.listing import article_key
from crawler.models import Article, CrawlRun
from sample_portal.generator import generate_portal
from sample_portal.profile import write_profile
from sample_portal.server import SamplePortalServer
from tests.conftest import ROOT
from tests.support import article_row
from tests.test_cli import TRUTH


def start_crawl(profile, database_url: str, home, *args: str, **settings: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "crawler.cli", "crawl", str(profile), *args]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ, "GOVCRAWL_HOME": str(home), "DATABASE_URL": database_url}
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def scalar(db, query):
    """One value, read on a fresh connection (a transaction would keep seeing one snapshot
    of pg_stat_activity)."""
    with db.connect() as conn:
        return conn.execute(text(query) if isinstance(query, str) else query).scalar_one()


def truth_is_stored_whole(db) -> None:
    with db.connect() as conn:
        rows = {urlsplit(r.url).path: r for r in conn.execute(select(Article)).all()}
    want = {a["url"]: a for a in TRUTH["articles"]}
    assert set(rows) == set(want)
    wrong = [p for p, a in want.items() if (rows[p].title, rows[p].body_text) != (a["title"], a["body_text"])]  # fmt: skip
    assert wrong == []


def test_sigkill_inside_a_write_batch_leaves_no_partial_rows(
    db, sample_profile, database_url, tmp_path
):
    # one article is already stored; the test holds its row lock, so the crawl's one batch
    # (every article, written at close) stops inside its INSERT, after the rows sorted before it
    held = TRUTH["articles"][len(TRUTH["articles"]) // 2]
    key = article_key("sample", held["id"], None)
    # the same content (so the batch sees no edit and goes straight to its INSERT), another source
    row = article_row("held", title=held["title"], body=held["body_text"], source="旧来源")
    with db.begin() as conn:
        conn.execute(insert(Article), [{**row, "article_key": key, "site": "sample"}])
    locker = db.connect()
    lock = locker.begin()
    locker.execute(text("SELECT 1 FROM articles WHERE article_key = :k FOR UPDATE"), {"k": key})
    crawl = start_crawl(sample_profile, database_url, tmp_path,
                        GOVCRAWL_STORE_BATCH_SIZE="1000", GOVCRAWL_STORE_FLUSH_SECONDS="600")  # fmt: skip
    try:
        wait_until(
            lambda: scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE "
                           "wait_event_type = 'Lock' AND query LIKE 'INSERT INTO articles%'") == 1,
            120, "the crawl's INSERT waits for the held row",
        )  # fmt: skip
        crawl.send_signal(signal.SIGKILL)
        crawl.wait(30)
    finally:
        lock.rollback()
        locker.close()
    wait_until(
        lambda: scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE "
                       "query LIKE 'INSERT INTO articles%' AND pid <> pg_backend_pid()") == 0,
        30, "the killed crawl's backend ends",
    )  # fmt: skip
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Article)).scalar_one() == 1
        assert conn.execute(select(Article.source)).scalar_one() == "旧来源"
        assert conn.execute(select(CrawlRun.status)).scalar_one() == "running"

    again = start_crawl(sample_profile, database_url, tmp_path)
    out, err = again.communicate(timeout=240)
    assert again.returncode == 3, err[-3000:]  # degraded (the two broken channels), finished
    truth_is_stored_whole(db)
    with db.connect() as conn:
        runs = conn.execute(select(CrawlRun.status, CrawlRun.finish_reason).order_by(CrawlRun.id)).all()  # fmt: skip
    assert runs[0].status == "failed" and "vanished" in runs[0].finish_reason
    assert runs[1].status == "degraded"


class CuttableProxy:
    """A TCP proxy to the database whose connections can be cut, as by a server restart."""

    def __init__(self, target) -> None:  # (host, port) or a unix socket path
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refuse_until = 0.0
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _connect(self) -> socket.socket:
        if isinstance(self.target, str):
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            return upstream
        return socket.create_connection(self.target)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self.refuse_until:
                client.close()
                continue
            upstream = self._connect()
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self, seconds: float) -> None:
        self.refuse_until = time.monotonic() + seconds
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.listener.close()
        self.cut(0)


def proxied(database_url: str) -> tuple[CuttableProxy, str]:
    url = make_url(database_url)
    socket_dir = url.query.get("host")
    if socket_dir:
        target = os.path.join(socket_dir, f".s.PGSQL.{url.port or 5432}")
    else:
        target = (url.host or "127.0.0.1", url.port or 5432)
    proxy = CuttableProxy(target)
    through = url.set(host="127.0.0.1", port=proxy.port, query={})
    return proxy, through.render_as_string(hide_password=False)


def test_database_gone_mid_run_fails_loudly_and_the_next_run_completes(db, database_url, tmp_path):
    portal = generate_portal(detail_every=1)  # every article a page: a run of several seconds
    want = {a["url"]: a for a in portal.ground_truth()["articles"]}
    proxy, url = proxied(database_url)
    try:
        with SamplePortalServer(portal) as server:
            profile = write_profile(portal, server.base_url, tmp_path / "sample.toml")
            crawl = start_crawl(profile, url, tmp_path, GOVCRAWL_STORE_BATCH_SIZE="20",
                                GOVCRAWL_STORE_FLUSH_SECONDS="0.5", DOWNLOAD_DELAY="0.02")  # fmt: skip
            count = select(func.count()).select_from(Article)
            wait_until(lambda: scalar(db, count) >= 40, 120, "40 stored")
            proxy.cut(4)  # every connection dropped; new ones refused for 4 s
            out, err = crawl.communicate(timeout=240)
            assert crawl.returncode != 0
            log = open(err.split("log: ")[1].split()[0], encoding="utf-8").read()
            assert "could not store a batch" in log, log[-3000:]
            assert "Traceback" not in err, err[-4000:]
            assert "***" in log or "@" not in log  # the database URL, if shown, is redacted

            while time.monotonic() < proxy.refuse_until:  # while it is down: one clear line
                down = start_crawl(profile, url, tmp_path)
                out, err = down.communicate(timeout=60)
                if time.monotonic() < proxy.refuse_until:
                    assert down.returncode == 2 and "cannot connect to" in err, err[-2000:]
                    assert len(err.strip().splitlines()) == 1
                    assert ":***@" in err or make_url(url).password is None  # redacted
            again = start_crawl(profile, url, tmp_path)  # the database is back
            out, err = again.communicate(timeout=240)
            assert again.returncode in (0, 3), err[-3000:]
    finally:
        proxy.close()
    with db.connect() as conn:
        rows = {urlsplit(r.url).path: r for r in conn.execute(select(Article)).all()}
        statuses = conn.execute(select(CrawlRun.status).order_by(CrawlRun.id)).scalars().all()
    assert set(rows) == set(want)
    wrong = [p for p, a in want.items() if (rows[p].title, rows[p].body_text) != (a["title"], a["body_text"])]  # fmt: skip
    assert wrong == []
    assert statuses[0] == "failed" and statuses[-1] in ("succeeded", "degraded")


def test_credentials_are_never_printed_or_stored(db, sample_profile, database_url, tmp_path):
    secret = "s3cr3t-Pw"
    url = make_url(database_url).set(password=secret).render_as_string(hide_password=False)
    crawl = start_crawl(sample_profile, url, tmp_path, "-c", "bcyb", LOG_LEVEL="DEBUG")
    out, err = crawl.communicate(timeout=240)
    assert crawl.returncode == 0, err[-3000:]
    logs = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "logs").rglob("*.log"))
    with db.connect() as conn:
        stored = conn.execute(text(
            "SELECT string_agg(concat_ws(' ', args::text, stats::text, log_path, finish_reason,"
            " alerts::text), ' ') FROM crawl_runs"
        )).scalar_one()  # fmt: skip
    for where, content in (("stdout", out), ("stderr", err), ("log", logs), ("crawl_runs", stored)):
        assert secret not in content, where
    unreachable = make_url(url).set(host="127.0.0.1", port=1, query={})
    down = start_crawl(sample_profile, unreachable.render_as_string(hide_password=False), tmp_path)
    out, err = down.communicate(timeout=60)
    assert down.returncode == 2 and secret not in out + err and ":***@127.0.0.1:1/" in err, err

"""govcrawl web's watches: the pages and JSON of every watch and its hits, subscribing and
removing with the token only (the API checks a watch exactly as ``govcrawl watch add`` does;
the form needs its hidden field, so a cross-site post is refused), and, in a real browser, a
watch subscribed through the form receiving exactly the new articles of the next crawl."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select, text
from sqlalchemy.engine import Engine

from crawler.models import Article, CrawlRun
from crawler.search import Filters, statement
from crawler.watches import DeliveryConfig, add_watch, list_watches, remove_watch, watch_hits
from crawler.web.app import create_app
from crawler.web.security import session_value
from crawler.web.watches import form_token
from sample_portal.generator import SamplePortal, generate_portal
from sample_portal.profile import write_profile
from sample_portal.server import SamplePortalServer
from tests.test_cli import govcrawl as govcrawl_process
from tests.test_watches import TIMEOUT, Receiver, Runs
from tests.test_watches import govcrawl as govcrawl_in_process
from tests.test_web_api import TOKEN, client_for, empty_database

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CST = timezone(timedelta(hours=8))
SITE = "zz-watch"  # the site of the articles the API tests store (removed after each test)
SECRET = "T0KEN-in-the-path"  # what a webhook's path holds: never shown
PASSWORD = "hunter2-password"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


# --- one crawl of the sample portal for the module ------------------------------------------------
@dataclass
class Portal:
    engine: Engine
    database_url: str
    folder: Path
    portal: SamplePortal
    profile: Path
    crawls: list[int] = field(default_factory=list)

    def crawl(self) -> int:
        """``govcrawl crawl`` of the sample portal, as a process; its exit code."""
        n = len(self.crawls) + 1
        result = govcrawl_process(
            "crawl",
            str(self.profile),
            "--log-file",
            str(self.folder / f"crawl{n}.log"),
            database_url=self.database_url,
            home=self.folder / "home",
        )
        self.crawls.append(result.returncode)
        assert result.returncode == 3, result.stderr[-2000:]  # degraded: two broken channels
        return result.returncode


def no_watches(engine: Engine) -> None:
    """No watch, and none of the API tests' articles and runs (a watch left behind would send
    from every later crawl; a stored article would not be new to the next test)."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE watches, watch_hits RESTART IDENTITY CASCADE"))
        conn.execute(delete(Article).where(Article.site == SITE))
        conn.execute(delete(CrawlRun).where(CrawlRun.site == SITE))


@pytest.fixture(scope="module")
def sample(
    migrated_engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    """The sample portal, served for the whole module and crawled once."""
    engine = empty_database(migrated_engine)
    no_watches(engine)
    folder = tmp_path_factory.mktemp("watches")
    portal = generate_portal()
    with SamplePortalServer(portal) as server:
        profile = write_profile(portal, server.base_url, folder / "sample.toml")
        site = Portal(engine, database_url, folder, portal, profile)
        site.crawl()
        yield site
    no_watches(engine)


@pytest.fixture(autouse=True)
def clean(sample: Portal) -> Iterator[Engine]:
    no_watches(sample.engine)
    yield sample.engine
    no_watches(sample.engine)


@pytest.fixture(scope="module")
def client(sample: Portal) -> Iterator[Any]:
    """The app without a token: read-only."""
    with client_for(sample.engine, sample.folder) as c:
        yield c


@pytest.fixture(scope="module")
def authed(sample: Portal) -> Iterator[Any]:
    """The app with a token (sent as ``AUTH``, or the session cookie ``open_session`` sets)."""
    with client_for(sample.engine, sample.folder, token=TOKEN) as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.stop()


def three_watches(engine: Engine, receiver: Receiver) -> dict[str, Any]:
    """After one run: ``pests`` has two hits delivered to the receiver (through a path holding a
    token), ``blast`` one hit pending (no SMTP server), ``quiet`` a webhook with a password
    and no hit."""
    pests = add_watch(engine, "pests", "病虫害", Filters(), f"{receiver.url}/{SECRET}")
    add_watch(engine, "blast", "稻瘟病", Filters(site=SITE), email="ops@example.org")
    add_watch(
        engine,
        "quiet",
        "蝗虫",
        Filters(),
        f"https://bot:{PASSWORD}@hooks.example.org/services/{SECRET}",
    )
    runs = Runs(engine, DeliveryConfig(timeout=TIMEOUT))
    stored = runs.store(
        [
            (SITE, "水稻病虫害防治", "正文。"),
            (SITE, "通知", "做好病虫害统防统治。"),
            (SITE, "稻瘟病预警", "正文。"),
            (SITE, "工作简报", "正文。"),
        ]
    )
    counts = runs.close(SITE)
    assert (counts.matched, counts.delivered, counts.failed) == (3, 2, 1)
    return {"pests": pests["id"], "articles": stored}


# --- reading -----------------------------------------------------------------------------------
def test_the_api_lists_each_watch_with_its_counts_and_no_secret(
    client: Any, clean: Engine, receiver: Receiver
) -> None:
    three_watches(clean, receiver)
    reply = client.get("/api/watches")
    assert reply.status_code == 200
    watches = {w["name"]: w for w in reply.json()}
    assert list(watches) == ["blast", "pests", "quiet"]
    for row in list_watches(clean):  # the counts of `govcrawl watch list`
        shown = watches[row["name"]]
        for key in ("id", "query", "filters", "email", "hits", "delivered", "pending"):
            assert shown[key] == row[key], (row["name"], key)
        assert shown["last_error"] == row["last_error"]
    pests, blast, quiet = watches["pests"], watches["blast"], watches["quiet"]
    assert (pests["hits"], pests["delivered"], pests["pending"]) == (2, 2, 0)
    assert pests["last_error"] is None and pests["last_delivered_at"] is not None
    assert pests["webhook"] == f"http://127.0.0.1:{receiver.port}/…" and pests["email"] is None
    assert (blast["hits"], blast["delivered"], blast["pending"]) == (1, 0, 1)
    assert blast["last_error"] == "e-mail: GOVCRAWL_SMTP_HOST is not set"
    assert blast["filters"] == {"site": SITE} and blast["webhook"] is None
    assert quiet["webhook"] == "https://hooks.example.org/…" and quiet["hits"] == 0
    assert pests["url"] == "/watches/pests" and pests["created_at"].endswith("+08:00")
    for url in ("/api/watches", "/watches", "/watches/pests", "/watches/quiet"):
        body = client.get(url).text
        assert SECRET not in body and PASSWORD not in body, url
        assert f"{receiver.port}/hook" not in body and "/services" not in body, url


def test_the_watches_page_shows_every_watch_and_no_form_without_a_token(
    client: Any, clean: Engine, receiver: Receiver
) -> None:
    three_watches(clean, receiver)
    html = client.get("/watches").text
    assert '<a href="/watches" aria-current="page">Watches</a>' in html
    assert '<tr id="watch-pests">' in html and '<a href="/watches/pests">pests</a>' in html
    blast = html.split('<tr id="watch-blast">')[1].split("</tr>")[0]
    assert "稻瘟病" in blast and f"site={SITE}" in blast and "ops@example.org" in blast
    assert "e-mail: GOVCRAWL_SMTP_HOST is not set" in blast
    assert [int(n) for n in re.findall(r'class="n">(?:<span class="warn">)?(\d+)', blast)] == [
        1,
        0,
        1,
    ]
    assert f"http://127.0.0.1:{receiver.port}/…" in html
    assert "<form" not in html.split("<main>")[1] and 'name="csrf"' not in html
    assert "Remove" not in client.get("/watches/pests").text
    assert '<a href="/watches">Watches</a>' in client.get("/").text  # in the top bar


def test_a_watch_shows_its_newest_hits_a_page_at_a_time(
    client: Any, clean: Engine, receiver: Receiver
) -> None:
    made = three_watches(clean, receiver)
    first, second = made["articles"][:2]
    newest = client.get("/api/watches/pests?limit=1").json()
    assert newest["watch"]["name"] == "pests" and newest["watch"]["hits"] == 2
    [hit] = newest["hits"]
    [expected] = watch_hits(clean, made["pests"], limit=1)
    assert hit["article_id"] == expected["article_id"] == second
    assert hit["title"] == "通知" and hit["site"] == SITE and hit["run_id"] is not None
    assert hit["delivered"] is True and hit["attempts"] == 1 and hit["last_error"] is None
    assert (newest["page"], newest["limit"], newest["has_more"]) == (1, 1, True)
    older = client.get("/api/watches/pests?limit=1&page=2").json()
    assert [h["article_id"] for h in older["hits"]] == [first] and older["has_more"] is False
    assert client.get("/api/watches/pests?limit=1&page=3").json()["hits"] == []

    html = client.get("/watches/pests").text
    assert f'<a href="/articles/{second}">通知</a>' in html
    assert f'<a href="/articles/{first}">水稻病虫害防治</a>' in html
    assert html.count('<span class="status delivered">delivered</span>') == 2
    assert 'href="/search?q=%E7%97%85%E8%99%AB%E5%AE%B3"' in html  # its search, to try
    pending = client.get("/watches/blast").text
    assert '<span class="status pending">pending</span>' in pending
    assert pending.count("e-mail: GOVCRAWL_SMTP_HOST is not set") == 2  # the watch, the hit
    paged = client.get("/watches/pests?limit=1").text
    assert "通知" in paged and "水稻病虫害防治" not in paged
    assert '<a href="/watches/pests?limit=1&amp;page=2">older →</a>' in paged


def test_unknown_watches_are_404_and_bad_paging_400(client: Any, authed: Any) -> None:
    reply = client.get("/api/watches/nosuch")
    assert reply.status_code == 404 and reply.json() == {"detail": "no watch named 'nosuch'"}
    page = client.get("/watches/nosuch")
    assert page.status_code == 404 and "no watch named &#39;nosuch&#39;" in page.text
    assert authed.delete("/api/watches/nosuch", headers=AUTH).json() == {
        "detail": "no watch named 'nosuch'"
    }
    add_watch(client.app.state.engine, "pests", "病虫害", Filters(), email="ops@example.org")
    for url, status, parameter in [
        ("/api/watches/pests?limit=201", 400, "limit"),
        ("/api/watches/pests?limit=0", 400, "limit"),
        ("/api/watches/pests?page=0", 400, "page"),
        ("/api/watches/pests?page=abc", 422, "page"),
    ]:
        reply = client.get(url)
        assert reply.status_code == status and reply.json()["parameter"] == parameter, url
    assert client.get("/watches/pests?limit=500").status_code == 400
    for value in ("%00", "%ff%fe", "<script>", "..%2F..", "病" * 600, "%E2%80%AE", "-1"):
        for path in ("/watches/{}", "/api/watches/{}", "/watches/{}?page={}&limit={}"):
            url = path.replace("{}", value)
            reply = client.get(url)
            assert reply.status_code < 500, (url, reply.status_code, reply.text[:300])
        for method, path in (("DELETE", "/api/watches/{}"), ("POST", "/watches/{}/remove")):
            url = path.replace("{}", value)
            reply = authed.request(method, url, headers=AUTH, data={"csrf": form_token(TOKEN)})
            assert reply.status_code in (404, 405), (method, url, reply.status_code)


# --- writing through the API ------------------------------------------------------------------
def test_adding_or_removing_needs_the_token(client: Any, authed: Any, clean: Engine) -> None:
    body = {"name": "pests", "query": "病虫害", "webhook": "https://example.org/hook"}
    refused = client.post("/api/watches", json=body)
    assert refused.status_code == 403 and "only when the web app has a token" in refused.text
    add_watch(clean, "kept", "病虫害", Filters(), email="ops@example.org")
    assert client.delete("/api/watches/kept").status_code == 403
    assert client.post("/watches", data={**body, "csrf": "x"}).status_code == 403
    assert client.post("/watches/kept/remove", data={"csrf": "x"}).status_code == 403
    authed.cookies.clear()
    assert authed.post("/api/watches", json=body).status_code == 401
    assert authed.delete("/api/watches/kept").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert authed.post("/api/watches", json=body, headers=wrong).status_code == 401
    assert [w["name"] for w in list_watches(clean)] == ["kept"]


def test_a_watch_added_through_the_api_is_the_clis(authed: Any, clean: Engine) -> None:
    body = {
        "name": "pests",
        "query": "  病虫害   防治 ",
        "filters": {"site": "sample", "channel": "病虫预报", "since": "2025-01"},
        "webhook": f"https://hooks.example.org/services/{SECRET}",
        "email": "ops@example.org",
    }
    added = authed.post("/api/watches", json=body, headers=AUTH)
    assert added.status_code == 201, added.text
    shown = added.json()
    assert shown["query"] == "病虫害 防治"  # spaces normalised, as the CLI saves it
    assert shown["filters"] == {"site": "sample", "channel": "bcyb", "since": "2025-01"}
    assert shown["webhook"] == "https://hooks.example.org/…" and SECRET not in added.text
    assert (shown["hits"], shown["pending"], shown["url"]) == (0, 0, "/watches/pests")
    [saved] = list_watches(clean)
    assert saved["webhook_url"] == body["webhook"] and saved["email"] == "ops@example.org"
    assert saved["filters"] == shown["filters"] and saved["id"] == shown["id"]

    again = authed.post("/api/watches", json={**body, "query": "稻瘟病"}, headers=AUTH)
    assert again.status_code == 409
    assert again.json() == {"detail": "a watch named 'pests' exists already"}
    assert [w["query"] for w in list_watches(clean)] == ["病虫害 防治"]

    removed = authed.delete("/api/watches/pests", headers=AUTH)
    assert removed.status_code == 200 and removed.json() == {"name": "pests", "hits": 0}
    assert list_watches(clean) == []
    assert authed.get("/api/watches/pests", headers=AUTH).status_code == 404


def test_removing_a_watch_removes_its_hits(authed: Any, clean: Engine, receiver: Receiver) -> None:
    made = three_watches(clean, receiver)
    removed = authed.delete("/api/watches/pests", headers=AUTH)
    assert removed.json() == {"name": "pests", "hits": 2}
    assert watch_hits(clean, made["pests"]) == []
    assert [w["name"] for w in list_watches(clean)] == ["blast", "quiet"]
    assert authed.delete("/api/watches/pests", headers=AUTH).status_code == 404


def cli_argv(body: dict[str, Any]) -> list[str]:
    """``govcrawl watch add`` with the fields of a POST body."""
    argv = ["watch", "add", body["name"], *(body["query"].split() or [body["query"]])]
    for key, value in body.get("filters", {}).items():
        argv += [f"--{key}", value]
    for key in ("webhook", "email"):
        if body.get(key) is not None:
            argv += [f"--{key}", body[key]]
    return argv


HOOK = "https://example.org/hook"


@pytest.mark.parametrize(
    "body, field_name, message",
    [
        ({"name": "x", "query": "病虫害", "webhook": "ftp://example.org/hook"}, "webhook",
         "give an http(s) URL"),
        ({"name": "x", "query": "病虫害", "webhook": "example.org/hook"}, "webhook",
         "give an http(s) URL"),
        ({"name": "x", "query": "病虫害", "webhook": "http://example.org:port/x"}, "webhook",
         "the port is not a number"),
        ({"name": "x", "query": "病虫害", "email": "ops at example.org"}, "email",
         "not an e-mail address"),
        ({"name": "x", "query": "病虫害", "email": "a@b.org\nBcc: c@d.org"}, "email",
         "not an e-mail address"),
        ({"name": "x", "query": "，", "email": "a@b.org"}, "query", "nothing to search for"),
        ({"name": "x", "query": "病" * 201, "email": "a@b.org"}, "query", "at most 200"),
        ({"name": "x", "query": "病虫害", "filters": {"site": "nosuch"}, "webhook": HOOK},
         "site", "'nosuch': no such site (known: "),
        ({"name": "x", "query": "病虫害"}, "webhook", "give --webhook URL and/or --email"),
        ({"name": "x y", "query": "病虫害", "email": "a@b.org"}, "name", "1-64 letters"),
        ({"name": "x", "query": "病虫害", "filters": {"since": "2025-13"}, "webhook": HOOK},
         "since", "is not a date"),
        ({"name": "x", "query": "病虫害", "filters": {"until": "2025-02-30"}, "webhook": HOOK},
         "until", "is not a date"),
        ({"name": "x", "query": "病虫害", "filters": {"since": "2025-11", "until": "2025-10"},
          "webhook": HOOK}, "since", "is after --until 2025-10"),
    ],
)  # fmt: skip
def test_the_api_refuses_what_the_cli_refuses(
    authed: Any,
    clean: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    body: dict[str, Any],
    field_name: str,
    message: str,
) -> None:
    reply = authed.post("/api/watches", json=body, headers=AUTH)
    assert reply.status_code == 400, reply.text
    problem = reply.json()
    assert problem["parameter"] == field_name and message in problem["detail"], problem
    assert problem["detail"].startswith(f"{field_name}: ")
    code, _, err = govcrawl_in_process(monkeypatch, capsys, database_url, *cli_argv(body))
    said = problem["detail"].removeprefix(f"{field_name}: ").split(" (known: ")[0]
    assert code == 2 and said in err, (said, err)  # the CLI's own words
    assert list_watches(clean) == []


def test_the_api_refuses_what_postgresql_or_the_schema_cannot_take(
    authed: Any, clean: Engine
) -> None:
    base = {"name": "x", "query": "病虫害", "webhook": HOOK}
    for body, status, parameter in [
        ({**base, "query": "病\x00虫害"}, 400, "query"),
        ({**base, "webhook": HOOK + "\x00"}, 400, "webhook"),
        ({**base, "filters": {"source": "农业\x00"}}, 400, "source"),
        ({**base, "filters": {"status": "deleted"}}, 400, "status"),
        ({**base, "name": ""}, 400, "name"),
        ({**base, "name": 5}, 422, "body.name"),
        ({**base, "filters": ["site"]}, 422, "body.filters"),
        ({**base, "hook": HOOK}, 422, "body.hook"),
        ({"query": "病虫害", "webhook": HOOK}, 422, "body.name"),
    ]:
        reply = authed.post("/api/watches", json=body, headers=AUTH)
        assert reply.status_code == status, (body, reply.text)
        assert reply.json()["parameter"] == parameter, (body, reply.text)
    not_json = authed.post(
        "/api/watches", content=b"name=x", headers={**AUTH, "content-type": "text/plain"}
    )
    assert not_json.status_code == 422
    assert list_watches(clean) == []


def test_hostile_text_of_a_watch_is_escaped(authed: Any, clean: Engine) -> None:
    added = authed.post(
        "/api/watches",
        json={
            "name": "x",
            "query": "<script>alert(1)</script>病虫害",
            "filters": {"source": '"><img src=x onerror=alert(2)>'},
            "email": "ops@example.org",
        },
        headers=AUTH,
    )
    assert added.status_code == 201, added.text
    for url in ("/watches", "/watches/x"):
        html = authed.get(url, headers=AUTH).text
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html


def test_the_openapi_schema_lists_the_watches_api(client: Any) -> None:
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/watches"])
    assert {"get", "delete"} <= set(paths["/api/watches/{name}"])
    assert {"NewWatch", "WatchSummary", "WatchDetail"} <= set(schema["components"]["schemas"])
    assert "/watches" not in paths  # pages are not API


# --- writing through the form ------------------------------------------------------------------
def open_session(c: Any) -> str:
    """Open the watches page with ``?token=`` (the session cookie), as a browser does; the
    form's hidden field."""
    c.cookies.clear()
    opened = c.get(f"/watches?token={TOKEN}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/watches"
    html = c.get("/watches").text
    assert '<form class="watch-form" method="post" action="/watches">' in html
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html)[1]  # type: ignore[index]


def test_the_form_subscribes_with_the_session(authed: Any, clean: Engine) -> None:
    csrf = open_session(authed)
    assert csrf == form_token(TOKEN) and csrf not in (TOKEN, session_value(TOKEN))
    form = {
        "csrf": csrf,
        "name": "pests",
        "query": "病虫害",
        "site": "sample",
        "channel": "病虫预报",
        "status": "active",
        "webhook": f"http://127.0.0.1:9/{SECRET}",
        "email": "",
    }
    done = authed.post("/watches", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/watches/pests"
    [saved] = list_watches(clean)
    assert saved["filters"] == {"site": "sample", "channel": "bcyb"} and saved["email"] is None
    page = authed.get("/watches/pests").text
    assert "http://127.0.0.1:9/…" in page and SECRET not in page
    assert 'action="/watches/pests/remove"' in page

    bad = authed.post("/watches", data={**form, "name": "other", "webhook": "ftp://x/y"})
    assert bad.status_code == 400
    assert "webhook: &#39;ftp://x/y&#39;: give an http(s) URL" in bad.text
    assert 'value="other"' in bad.text and 'value="ftp://x/y"' in bad.text  # kept to fix
    taken = authed.post("/watches", data=form)
    assert taken.status_code == 409 and "a watch named &#39;pests&#39; exists already" in taken.text

    gone = authed.post("/watches/pests/remove", data={"csrf": csrf}, follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/watches"
    assert list_watches(clean) == []
    missing = authed.post("/watches/pests/remove", data={"csrf": csrf})
    assert missing.status_code == 404


def test_a_cross_site_post_is_refused(authed: Any, clean: Engine) -> None:
    csrf = open_session(authed)
    form = {"name": "evil", "query": "病虫害", "webhook": "https://evil.example/hook"}
    add_watch(clean, "kept", "病虫害", Filters(), email="ops@example.org")
    for data, headers in [
        ({**form, "csrf": csrf}, {"Origin": "https://evil.example"}),  # another site's page
        ({**form, "csrf": csrf}, {"Origin": "null"}),
        ({**form, "csrf": csrf}, {"Sec-Fetch-Site": "cross-site", "Origin": "null"}),
        ({**form, "csrf": csrf}, {"Sec-Fetch-Site": "same-site"}),  # a sibling subdomain
        (form, {}),  # no hidden field: a page that could not read ours
        ({**form, "csrf": "0" * 64}, {}),
        ({**form, "csrf": session_value(TOKEN)}, {}),
        ({**form, "csrf": TOKEN}, {}),
    ]:
        refused = authed.post("/watches", data=data, headers=headers)
        assert refused.status_code == 403, (data, headers)
        assert "cross-site request refused" in refused.text
        gone = authed.post("/watches/kept/remove", data=data, headers=headers)
        assert gone.status_code == 403
    assert [w["name"] for w in list_watches(clean)] == ["kept"]
    # the app's own page: a browser says same-origin, and sends Origin: null under the app's
    # Referrer-Policy: no-referrer
    own = authed.post(
        "/watches", data={**form, "name": "own", "csrf": csrf},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"}, follow_redirects=False,
    )  # fmt: skip
    assert own.status_code == 303
    assert sorted(w["name"] for w in list_watches(clean)) == ["kept", "own"]
    remove_watch(clean, "own")
    # the API takes JSON only: a cross-site "simple" form post cannot be read as a watch
    simple = authed.post(
        "/api/watches",
        content="name=evil&query=x&webhook=https://evil.example/",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert simple.status_code == 422
    assert [w["name"] for w in list_watches(clean)] == ["kept"]


# --- in a real browser -------------------------------------------------------------------------
@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1, in a thread; its base URL."""
    import uvicorn

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def subscribe(page: Any, name: str, terms: str, **fields: str) -> None:
    """Fill in the watches page's form and send it: the browser lands on the new watch."""
    page.goto("/watches")
    form = page.locator("form.watch-form")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=query]").fill(terms)
    for key, value in fields.items():
        if key == "site":
            form.locator("select[name=site]").select_option(value)
        else:
            form.locator(f"input[name={key}]").fill(value)
    form.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(f"**/watches/{name}", timeout=10_000)


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_a_watch_subscribed_in_the_browser_gets_exactly_the_next_runs_new_articles(
    sample: Portal, clean: Engine, receiver: Receiver
) -> None:
    from playwright.sync_api import sync_playwright

    app = create_app(clean, token=TOKEN, profiles_dir=sample.folder, home=sample.folder / "home")
    problems: list[str] = []
    with served(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        context = browser.new_context(
            base_url=base, viewport={"width": 1280, "height": 860}, locale="zh-CN"
        )
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"/watches?token={TOKEN}")
        page.wait_for_url(f"{base}/watches")  # the token traded for the session cookie
        subscribe(page, "pests", "病虫害", webhook=f"{receiver.url}/{SECRET}")
        subscribe(page, "blast", "稻瘟病", site="sample", email="ops@example.org")
        assert [w["name"] for w in list_watches(clean)] == ["blast", "pests"]

        now = datetime(2025, 11, 21, 9, tzinfo=CST)  # newer than anything on the portal
        portal = sample.portal
        portal.add_article("bcyb", now, "关于做好秋季病虫害防控的通知", ["请各地做好防控。"])
        portal.add_article(
            "fzjz", now + timedelta(hours=1), "茶叶生产简报", ["近期病虫害偏轻发生。"]
        )
        # both bigrams of 病虫害, never the term: not for pests (but for blast, by e-mail)
        portal.add_article(
            "bcyb", now + timedelta(hours=2), "病虫情报第18期", ["稻瘟病、虫害发生偏轻。"]
        )
        sample.crawl()

        added = ("关于做好秋季病虫害防控的通知", "茶叶生产简报", "病虫情报第18期")
        with clean.connect() as conn:
            new = dict(
                conn.execute(
                    select(Article.id, Article.title).where(Article.title.in_(added))
                ).all()
            )
            matching = set(
                conn.execute(statement("病虫害", Filters()).with_only_columns(Article.id)).scalars()
            )
        assert sorted(new.values()) == sorted(added)
        wanted = {i for i, t in new.items() if t != "病虫情报第18期"}
        assert wanted <= matching and len(wanted) == 2
        [(key, delivery)] = receiver.accepted  # one POST, once
        assert Counter(a["id"] for a in delivery["articles"]) == Counter(wanted)
        assert delivery["test"] is False and delivery["watch"]["name"] == "pests"
        assert key == delivery["delivery"]

        page.goto("/watches/pests")
        rows = page.locator("table.watch-hits tbody tr")
        assert rows.count() == 2
        shown = {rows.nth(i).locator("td").first.inner_text() for i in range(2)}
        assert shown == {new[i] for i in wanted}
        assert page.locator("table.watch-hits .status.delivered").count() == 2
        assert page.locator("#watch-counts").inner_text() == "2 · 2 delivered · 0 pending"
        rows.first.locator("a").first.click()  # a hit opens its article
        page.wait_for_url("**/articles/*")
        assert page.locator("h1").inner_text() in shown
        page.go_back()
        screenshot(page, "watch.png")

        page.goto("/watches")
        pests = page.locator("#watch-pests").inner_text()
        blast = page.locator("#watch-blast").inner_text()
        assert "\t2\t2\t0" in pests and f"127.0.0.1:{receiver.port}/…" in pests
        assert "\t1\t0\t1\t" in blast and "e-mail:" in blast and "site=sample" in blast
        assert SECRET not in page.content()
        screenshot(page, "watches.png")
        context.close()
        browser.close()
    assert problems == []  # no script error, nothing refused by the CSP

"""``govcrawl extract``: the real extraction on a saved page or one fetched URL, run in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler import cli, extract_cmd, platforms
from crawler.settings import USER_AGENT

ROOT = Path(__file__).resolve().parents[1]
REAL_PAGES = ROOT.parent / "shared" / "real-pages"
PINGTAN = "https://www.pingtan.gov.cn/zwgk/ghxx/gzjzqk/202312/t20231219_83454.htm"


def real_page(name: str) -> Path:
    path = REAL_PAGES / name
    if not path.is_file():
        pytest.skip(f"the saved real pages are not here: {path} is missing (../shared/real-pages)")
    return path


@pytest.fixture(autouse=True)
def keep_sigpipe():
    """``extract`` restores SIGPIPE's default for its output; give pytest its own back."""
    before = signal.getsignal(signal.SIGPIPE)
    yield
    signal.signal(signal.SIGPIPE, before)


def extract_json(capsys, *argv: str) -> dict:
    assert cli.main(["extract", *argv, "--format", "json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_an_article_page_prints_what_govcrawl_would_store(capsys):
    page = real_page("www.pingtan.gov.cn/t20231219_83454.html")
    got = extract_json(capsys, str(page), "--url", PINGTAN)
    assert got["kind"] == "article"
    assert got["url"] == PINGTAN
    assert got["title"] == "区公安局2023年第四季度易制毒化学品企事业“双随机”抽查情况"
    assert got["published_at"] == "2023-12-19T08:51:00+08:00"
    assert got["source"] == "平潭综合实验区党工委管委会"
    assert got["author"] == ""
    assert got["attachments"] == [
        {
            "url": "https://www.pingtan.gov.cn/zwgk/ghxx/gzjzqk/202312/P020231219320485765840.XLS",
            "name": "区公安局2023年第四季度易制毒化学品企事业“双随机”抽查情况表.XLS",
            "type": "xls",
        }
    ]
    assert got["extra"] == {"column_name": "工作进展情况"}
    assert got["body_text"].startswith("2023年12月15日，区公安局严格按照“双随机”抽查工作要求")
    assert got["body_text"].endswith("平潭综合实验区公安局\n2022年12月18日")
    assert got["body_html"].startswith("<p")
    assert got["provenance"] == {
        "title": "meta:ArticleTitle",
        "body": "container:trs-editor",
        "published": "meta:PubDate",
        "source": "label:来源",
        "column_name": "meta:ColumnName",
        "attachments": "article-area",
    }


def test_public_information_fields_are_printed_as_extra(capsys):
    page = real_page("www.pingtan.gov.cn/t20230831_80122.excerpt.html")
    got = extract_json(
        capsys, str(page), "--url", "https://www.pingtan.gov.cn/zwgk/t20230831_80122.htm"
    )
    assert got["extra"] == {
        "index_no": "PZ00108-3000-2023-00075",
        "topic": "无",
        "publisher": "平潭综合实验区财政金融局",
        "created": "2023-08-04",
        "doc_no": "岚金管备〔2023〕3号",
        "validity": "有效",
    }
    assert got["published_at"] == "2023-08-31T16:46:00+08:00"
    assert got["provenance"]["published"] == "label:发布日期"


def test_a_jcms_datastore_prints_its_entries_total_and_pager(capsys):
    page = real_page("zwgk.dingxi.gov.cn/datastore_col12377.xml")
    got = extract_json(capsys, str(page))
    assert got["kind"] == "jcms-column"
    assert got["url"] is None
    assert got["total"] == "unknown"  # no totalRecord: paging lives in <nextgroup> only
    assert len(got["entries"]) == 45
    assert got["entries"][0] == {
        "title": "定西市“春节”文明祭祀倡议书",
        "url": "/art/2022/1/20/art_12377_1486865.html",
        "date": "2022-01-20",
    }
    pager = got["pager"]
    assert pager["proxy"] == "/module/web/jpage/dataproxy.jsp"
    assert (pager["page"], pager["webid"], pager["columnid"], pager["unitid"]) == (
        "1",
        "110",
        "12377",
        "38486",
    )
    assert pager["webname"] == "定西市政府信息公开平台"

    with_url = extract_json(
        capsys, str(page), "--url", "http://zwgk.dingxi.gov.cn/col/col12377/index.html"
    )
    assert (
        with_url["entries"][0]["url"]
        == "http://zwgk.dingxi.gov.cn/art/2022/1/20/art_12377_1486865.html"
    )


def test_the_table_format_names_the_extractor_of_each_field(capsys):
    page = real_page("www.gov.cn/gne_other.html")
    url = "https://www.gov.cn/home/2014-02/18/content_5046260.htm"
    assert cli.main(["extract", str(page), "--url", url]) == 0
    out = capsys.readouterr().out
    assert "2007-08-20T23:59:59+08:00" in out and "meta:firstpublishedtime" in out
    assert "container:ucap-content" in out and "stray-end-tag" in out
    assert "批准2007年末国债余额限额调整为53365.53亿元。" in out


# A platform module outside the repository, as a portal's maintainer would write one: its
# listing is plain text, a ``total N`` line then one ``id|title|date|path`` line a record
# (the toy of tests/toy_platform.py), and it says how ``govcrawl extract`` reads one.
TOY_LISTING_MODULE = """
from typing import Any

from crawler.platforms import Platform, register


@register
class ToyListingPlatform(Platform):
    name = "toy-listing"

    @classmethod
    def describe_listing(cls, html: str, url: str) -> dict[str, Any] | None:
        head, *lines = html.strip().splitlines() or [""]
        if not head.startswith("total "):
            return None
        rows = [line.split("|") for line in lines if line.count("|") == 3]
        return {
            "kind": "toy-list",
            "url": url,
            "total": int(head.split()[1]),
            "entries": [
                {"title": title, "url": url.rsplit("/", 1)[0] + path, "date": date}
                for _, title, date, path in rows
            ],
            "pager": {"per_page": 10},
        }
"""


def run_extract(tmp_path: Path, page: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``govcrawl extract`` in its own process, with the toy module as a plug-in platform."""
    (tmp_path / "toy_listing.py").write_text(TOY_LISTING_MODULE, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "GOVCRAWL_PLATFORM_MODULES": "toy_listing",
    }
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "extract", str(page), *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_plug_in_platform_shows_its_listing_with_no_change_to_extract(tmp_path):
    page = tmp_path / "list.txt"
    page.write_text(
        "total 12\n7|玩具通知|2025-10-02|/a7.html\n8|玩具新闻|2025-10-01|/a8.html\n",
        encoding="utf-8",
    )
    done = run_extract(
        tmp_path, page, "--url", "https://toy.example.cn/news/list", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert (got["kind"], got["platform"], got["total"]) == ("toy-list", "toy-listing", 12)
    assert got["entries"] == [
        {"title": "玩具通知", "url": "https://toy.example.cn/news/a7.html", "date": "2025-10-02"},
        {"title": "玩具新闻", "url": "https://toy.example.cn/news/a8.html", "date": "2025-10-01"},
    ]
    table = run_extract(tmp_path, page, "--url", "https://toy.example.cn/news/list")
    assert table.returncode == 0, table.stderr
    assert "toy-list" in table.stdout and "pager.per_page" in table.stdout
    assert "https://toy.example.cn/news/a8.html" in table.stdout

    # a page the plug-in does not recognise is still an article
    article = tmp_path / "a7.html"
    article.write_text("<div id='zoom'><p>正文。</p></div>", encoding="utf-8")
    done = run_extract(tmp_path, article, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == "article"


def test_the_built_in_platforms_are_asked_before_a_plug_in(tmp_path):
    # a JCMS datastore that also starts like the toy's list: the built-in jcms reads it
    datastore = real_page("zwgk.dingxi.gov.cn/datastore_col12377.xml").read_text(encoding="utf-8")
    page = tmp_path / "both.xml"
    page.write_text("total 3\n" + datastore, encoding="utf-8")
    done = run_extract(tmp_path, page, "--format", "json")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert (got["kind"], got["platform"], len(got["entries"])) == ("jcms-column", "jcms", 45)


def test_platforms_are_asked_built_ins_first_in_their_order():
    asked = [p.__module__ for p in extract_cmd.listing_platforms()]
    built_in = [m for m in asked if m in platforms.BUILT_IN]
    assert built_in == [m for m in platforms.BUILT_IN if m in built_in]
    assert asked[: len(built_in)] == built_in
    assert {
        "crawler.platforms.querylist",
        "crawler.platforms.jcms",
        "crawler.platforms.trs",
    } <= set(built_in)


class _Page(BaseHTTPRequestHandler):
    body = b""
    agents: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).agents.append(self.headers.get("User-Agent", ""))
        if self.path != "/content_5046260.htm":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_server():
    _Page.body = real_page("www.gov.cn/gne_other.html").read_bytes()
    _Page.agents = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_url_is_fetched_once_with_the_project_user_agent(capsys, page_server):
    got = extract_json(capsys, page_server + "/content_5046260.htm")
    assert _Page.agents == [USER_AGENT]
    assert got["url"] == page_server + "/content_5046260.htm"
    assert got["title"] == (
        "全国人民代表大会常务委员会关于批准财政部发行特别国债购买外汇及调整2007 年末国债余额限额的决议"
    )
    assert got["published_at"] == "2007-08-20T23:59:59+08:00"
    assert got["body_text"].startswith(
        "全国人民代表大会常务委员会\n关于批准财政部发行特别国债购买外汇及"
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["/nonexistent/page.html"], "no such file"),
        (["/"], "is a folder"),
        (["ftp://example.cn/a.html"], "not an http(s) URL"),
        (["file:///etc/passwd"], "not an http(s) URL"),
        (["page.html", "--url", "javascript:alert(1)"], "--url"),
        (["page.html", "--format", "xml"], "invalid choice"),
        ([], "required: FILE_OR_URL"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, says, capsys):
    assert cli.main(["extract", *argv]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("govcrawl: ") and says in err, err


def test_a_url_that_fails_is_one_line_and_exit_2(capsys, page_server):
    assert cli.main(["extract", page_server + "/gone.htm"]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HTTP 404" in err, err

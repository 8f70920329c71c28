"""``govcrawl extract``: the real extraction on a saved page or one fetched URL, run in-process."""

from __future__ import annotations

import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler import cli, extract_cmd
from crawler.settings import USER_AGENT

REAL_PAGES = Path(__file__).resolve().parents[2] / "shared" / "real-pages"
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


def test_a_listing_reader_can_be_added(monkeypatch):
    def read_sample(html: str, url: str) -> dict | None:
        if "var listData" not in html:
            return None
        return {"kind": "sample-column", "url": url, "entries": [], "total": 0, "pager": {}}

    monkeypatch.setattr(extract_cmd, "LISTING_READERS", [*extract_cmd.LISTING_READERS, read_sample])
    got = extract_cmd.describe(
        "<script>var listData = {articleList: []}</script>", "https://x.cn/c/"
    )
    assert got["kind"] == "sample-column"
    assert (
        extract_cmd.describe("<div id='zoom'><p>正文。</p></div>", "https://x.cn/a.html")["kind"]
        == "article"
    )


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

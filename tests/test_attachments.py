"""Attachments: fetched once through the crawl's downloader, stored once by content, read to
text, searchable — on the sample portal with real PDF, Word and Excel files over HTTP, and the
extraction on bytes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from crawler.extraction.attachment_text import attachment_text, sniff
from crawler.models import Article, Attachment, CrawlIssue, CrawlRun
from crawler.search import Filters, search
from sample_portal.attachments import (
    DOCX_ONLY_WORD,
    PDF_ONLY_WORD,
    XLSX_ONLY_WORD,
    AttachmentCase,
    add_cases,
    docx_bytes,
    pdf_bytes,
    xlsx_bytes,
)
from sample_portal.generator import generate_portal
from sample_portal.profile import write_profile
from sample_portal.server import LoggedRequest, SamplePortalServer

ROOT = Path(__file__).resolve().parent.parent
CAP = 1024 * 1024  # GOVCRAWL_ATTACHMENT_MAX_BYTES of these crawls; the oversized file is 2 MB


# --- the text of a file, from its bytes --------------------------------------------------------
def test_pdf_docx_and_xlsx_are_read_to_text() -> None:
    pdf = attachment_text(pdf_bytes(["关于印发防控方案的通知", "请认真执行。"]), "pdf")
    assert (pdf.status, pdf.kind, pdf.text) == (
        "extracted",
        "pdf",
        "关于印发防控方案的通知\n请认真执行。",
    )
    word = attachment_text(
        docx_bytes(["申报表"], [["单位", "联系人"], ["省植保站", "张明"]]), "docx"
    )
    assert word.text == "申报表\n单位 | 联系人\n省植保站 | 张明"
    sheet = attachment_text(xlsx_bytes([["县", "面积"], ["进贤县", 1200]], "汇总"), "xlsx")
    assert sheet.text == "汇总\n县 | 面积\n进贤县 | 1200"


def test_the_format_is_read_from_the_bytes_before_the_link() -> None:
    # a link that says .pdf but serves a Word file is read as Word
    found = attachment_text(docx_bytes(["其实是Word文件"]), "pdf")
    assert (found.status, found.kind, found.text) == ("extracted", "docx", "其实是Word文件")
    assert sniff(xlsx_bytes([["a"]]), "xls") == "xlsx"


def test_old_formats_are_recorded_as_not_extracted_with_the_reason() -> None:
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    for kind, name in (("doc", ".doc"), ("wps", ".wps"), ("xls", ".xls")):
        found = attachment_text(ole2, kind)
        assert found.status == "not_extracted" and found.text == ""
        assert name in found.reason and "old binary format" in found.reason
    assert attachment_text(b"Rar!\x1a\x07\x00", "rar").reason == "no text extraction for .rar"


def test_a_corrupt_file_is_recorded_never_raised() -> None:
    whole = pdf_bytes(["完整的文件"])
    for body, kind in (
        (whole[: len(whole) // 3], "pdf"),  # truncated
        (b"%PDF-1.4 not really\n", "pdf"),
        (b"<html>404</html>", "pdf"),  # an error page served as the file
        (docx_bytes(["x"])[:500], "docx"),  # a ZIP cut short
        (b"PK\x03\x04 not a zip", "xlsx"),
    ):
        found = attachment_text(body, kind)
        assert found.status == "corrupt", (body[:20], found)
        assert found.text == "" and found.reason


# --- a crawl of the sample portal with its attachment cases ------------------------------------
@dataclass
class Crawled:
    engine: Engine
    server: SamplePortalServer
    cases: dict[str, AttachmentCase]  # by path
    home: Path
    first: list[LoggedRequest]
    second: list[LoggedRequest]
    first_rows: list[Any]
    second_stats: dict[str, Any]


def run_crawl(database_url: str, profile: Path, home: Path, *args: str, **settings: Any) -> Any:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "portal", "-a", f"site={profile}",
           "-s", f"DATABASE_URL={database_url}", "-s", f"GOVCRAWL_ATTACHMENT_MAX_BYTES={CAP}"]  # fmt: skip
    for arg in args:
        cmd += ["-a", arg]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ, "GOVCRAWL_HOME": str(home)}
    for name in ("DATABASE_URL", "FILES_STORE", "GOVCRAWL_ATTACHMENTS"):
        env.pop(name, None)
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE articles, article_versions, channel_states, channel_entries, "
                "crawl_runs, crawl_issues, attachments RESTART IDENTITY CASCADE"
            )
        )


def file_gets(requests: list[LoggedRequest]) -> list[LoggedRequest]:
    return [
        r for r in requests if r.method == "GET" and ("/files/" in r.path or "downfile" in r.path)
    ]


@pytest.fixture(scope="module")
def crawled(
    migrated_engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Crawled]:
    empty(migrated_engine)
    folder = tmp_path_factory.mktemp("attachments")
    portal = generate_portal()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = SamplePortalServer(portal)
    with server:
        cases = add_cases(portal, server, oversized_bytes=2 * CAP)
        profile = write_profile(portal, server.base_url, folder / "sample.toml")
        run_crawl(database_url, profile, folder / "home")
        first = list(server.requests)
        with migrated_engine.connect() as conn:
            first_rows = conn.execute(select(Attachment).order_by(Attachment.id)).all()
        server.requests.clear()
        # every article page again, each with the same attachment links
        run_crawl(database_url, profile, folder / "home", "mode=full")
        second = list(server.requests)
        with migrated_engine.connect() as conn:
            stats = conn.execute(select(CrawlRun.stats).order_by(CrawlRun.id.desc())).scalar()
        yield Crawled(
            migrated_engine, server, {c.path: c for c in cases}, folder / "home", first, second,
            first_rows, stats,
        )  # fmt: skip


def rows_of(crawled: Crawled, path: str) -> list[Any]:
    return [r for r in crawled.first_rows if r.url == crawled.server.base_url + path]


def test_a_file_linked_by_several_articles_is_fetched_and_stored_once(crawled: Crawled) -> None:
    fetched = [r.path for r in file_gets(crawled.first)]
    assert len(fetched) == len(set(fetched)), "a file was fetched twice"
    plan, copy, form = (
        "/jxsnynct/bcyb/files/fkfa2025.pdf",
        "/jxsnynct/bcyb/files/fkfa2025-copy.pdf",
        "/jxsnynct/bcyb/files/sbb.docx",
    )
    assert fetched.count(plan) == 1 and fetched.count(form) == 1
    assert len(crawled.cases[plan].articles) == 3 and len(crawled.cases[form].articles) == 3
    # one row per article linking it, all naming the same stored content
    for path in (plan, form):
        rows = rows_of(crawled, path)
        assert len(rows) == len(crawled.cases[path].articles)
        assert len({(r.sha256, r.path) for r in rows}) == 1
    # the same bytes under a second URL are stored once too: content, not URL, names a file
    body = crawled.server.files[plan][1]
    digest = hashlib.sha256(body).hexdigest()
    assert {r.sha256 for r in rows_of(crawled, copy)} == {digest}
    stored = [p for p in (crawled.home / "files").rglob("*") if p.is_file()]
    assert [p.name for p in stored].count(f"{digest}.pdf") == 1
    assert (crawled.home / "files" / rows_of(crawled, plan)[0].path).read_bytes() == body
    # every stored file is one distinct content of the table, and nothing else is stored
    digests = {r.sha256 for r in crawled.first_rows if r.path}
    assert sorted(p.name.split(".")[0] for p in stored) == sorted(digests)


def test_files_are_fetched_like_pages_with_the_article_as_referer(crawled: Crawled) -> None:
    base = crawled.server.base_url
    pages = {
        base + f"/jxsnynct/bcyb/content/content_{a}.html"
        for c in crawled.cases.values()
        for a in c.articles
    }
    for request in file_gets(crawled.first):
        referer = request.headers.get("Referer", "")
        assert referer.startswith(base + "/jxsnynct/") and "/content/content_" in referer
        if request.path in crawled.cases:
            assert referer in pages
        assert request.headers["User-Agent"].startswith("govcrawl/")
    # robots.txt is asked once, by the crawl, not again for the files
    assert [r.path for r in crawled.first].count("/robots.txt") == 1


def test_a_file_on_another_host_is_recorded_not_fetched(crawled: Crawled) -> None:
    (row,) = [r for r in crawled.first_rows if "example.invalid" in r.url]
    assert row.status == "offsite" and row.sha256 is None and row.fetched_at is None
    assert "another host" in row.error


def test_an_oversized_file_is_capped_with_a_crawl_issue(crawled: Crawled) -> None:
    (row,) = rows_of(crawled, "/jxsnynct/bcyb/files/atlas.pdf")
    assert row.status == "oversized" and row.path is None and row.sha256 is None
    assert row.size == 2 * CAP + len(b"%PDF-1.7\n")
    assert f"over the cap of {CAP:,} bytes (GOVCRAWL_ATTACHMENT_MAX_BYTES)" in row.error
    with crawled.engine.connect() as conn:
        issues = conn.execute(
            select(CrawlIssue.kind, CrawlIssue.url, CrawlIssue.run_id).where(
                CrawlIssue.kind == "attachment_too_large"
            )
        ).all()
    assert [(kind, url, run) for kind, url, run in issues] == [
        ("attachment_too_large", crawled.server.base_url + "/jxsnynct/bcyb/files/atlas.pdf", 1)
    ]


def test_a_corrupt_file_is_recorded_and_the_run_goes_on(crawled: Crawled) -> None:
    (row,) = rows_of(crawled, "/jxsnynct/bcyb/files/broken.pdf")
    assert row.status == "corrupt" and row.text == "" and row.sha256 and row.path
    assert row.error.startswith("pdf could not be read")
    with crawled.engine.connect() as conn:
        runs = conn.execute(select(CrawlRun.status, CrawlRun.alerts).order_by(CrawlRun.id)).all()
        articles = conn.execute(select(func.count()).select_from(Article)).scalar()
    assert articles == 265  # every article of the sample is stored
    # degraded by the sample's two broken channels only: no file added an ERROR line
    for status, alerts in runs:
        assert status == "degraded" and alerts[0].startswith("2 errors")


def test_pdf_word_and_excel_text_is_stored_and_old_formats_say_why_not(crawled: Crawled) -> None:
    texts = {
        r.url.rsplit("/", 1)[-1]: r.text for r in crawled.first_rows if r.status == "extracted"
    }
    assert PDF_ONLY_WORD in texts["fkfa2025.pdf"]
    assert DOCX_ONLY_WORD in texts["sbb.docx"] and "省植保站 | 张明" in texts["sbb.docx"]
    assert XLSX_ONLY_WORD in texts["mjhz.xlsx"] and "进贤县 | 1200" in texts["mjhz.xlsx"]
    # the sample's own .doc/.xls/.wps links (downfile.jsp)
    old = [r for r in crawled.first_rows if r.type in ("doc", "xls", "wps")]
    assert old and all(r.status == "not_extracted" and r.sha256 for r in old)
    assert all("old binary format" in r.error for r in old)


def test_a_word_only_in_a_pdf_finds_its_articles_and_says_where(crawled: Crawled) -> None:
    with crawled.engine.connect() as conn:
        in_articles = conn.execute(
            select(func.count()).where(
                func.strpos(Article.title + Article.body_text, PDF_ONLY_WORD) > 0
            )
        ).scalar()
        keys = dict(conn.execute(select(Article.id, Article.platform_id)).all())
    assert in_articles == 0
    found = search(crawled.engine, PDF_ONLY_WORD, Filters(), limit=50)
    linking = set(crawled.cases["/jxsnynct/bcyb/files/fkfa2025.pdf"].articles) | set(
        crawled.cases["/jxsnynct/bcyb/files/fkfa2025-copy.pdf"].articles
    )
    assert {keys[r["id"]] for r in found} == linking
    # pages of two, newest first, are the same list
    pages = [search(crawled.engine, PDF_ONLY_WORD, Filters(), limit=2, offset=o) for o in (0, 2)]
    assert [r["id"] for page in pages for r in page] == [r["id"] for r in found]
    assert [r["published"] for r in found] == sorted((r["published"] for r in found), reverse=True)
    for row in found:
        assert row["match"].startswith(
            ("in attachment 附件1.pdf: ", "in attachment 附件1（重发）.pdf: ")
        )
        assert PDF_ONLY_WORD in row["match"]
    # Word and Excel alike; a word both in a body and a file is shown from the body
    assert len(search(crawled.engine, DOCX_ONLY_WORD, Filters())) == 3
    (sheet,) = search(crawled.engine, XLSX_ONLY_WORD, Filters())
    assert sheet["match"].startswith("in attachment 附件3.xlsx: ")
    assert not any(
        r["match"].startswith("in attachment") for r in search(crawled.engine, "病虫害", Filters())
    )


def test_web_search_finds_the_article_by_its_attachment(crawled: Crawled, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from crawler.web.app import create_app

    app = create_app(crawled.engine, profiles_dir=tmp_path, home=crawled.home)
    with TestClient(app) as client:
        api = client.get("/api/search", params={"q": XLSX_ONLY_WORD}).json()
        html = client.get("/search", params={"q": XLSX_ONLY_WORD}).text
    (result,) = api["results"]
    assert result["match"].startswith("in attachment 附件3.xlsx: ")
    assert f"in attachment 附件3.xlsx: 汇总 县（市、区） | <mark>{XLSX_ONLY_WORD}</mark>" in html


def test_a_second_crawl_downloads_nothing_again(crawled: Crawled) -> None:
    # the second run (mode=full) took every article again, from its listing or its page,
    # with the same links
    stats = crawled.second_stats
    assert stats["item_scraped_count"] >= 265 and stats["govcrawl/items/new"] == 0
    assert file_gets(crawled.second) == []
    assert stats["govcrawl/attachments/links/reuse"] > 60
    assert "govcrawl/attachments/links/fetch" not in stats
    with crawled.engine.connect() as conn:
        rows = conn.execute(select(Attachment).order_by(Attachment.id)).all()
    # each row as it was: nothing fetched, re-read or re-stored
    assert [(r.article_key, r.url, r.sha256, r.fetched_at, r.status) for r in rows] == [
        (r.article_key, r.url, r.sha256, r.fetched_at, r.status) for r in crawled.first_rows
    ]


def test_attachments_can_be_switched_off(
    crawled: Crawled, database_url: str, tmp_path: Path
) -> None:
    empty(crawled.engine)
    crawled.server.requests.clear()
    profile = write_profile(crawled.server.portal, crawled.server.base_url, tmp_path / "s.toml")
    result = run_crawl(database_url, profile, tmp_path / "home", GOVCRAWL_ATTACHMENTS="0")
    assert file_gets(crawled.server.requests) == []
    with crawled.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Attachment)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(Article)).scalar() == 265
    assert "AttachmentsPipeline" not in result.stderr.split("Enabled item pipelines")[-1][:400]


# --- the rows of one article -------------------------------------------------------------------
def test_rows_follow_the_articles_links_and_copy_what_another_article_fetched(
    migrated_engine: Engine,
) -> None:
    from pipelines.attachments import Link, write_attachments

    empty(migrated_engine)
    pdf = Link("http://p/a.pdf", "附件1.pdf", "pdf", "fetch")
    xls = Link("http://p/b.xls", "附件2.xls", "xls", "fetch")
    fetched = pdf.row("s:id:1", "s", status="extracted", sha256="ab" * 32, size=10,
                      path="full/ab/x.pdf", text="文件正文")  # fmt: skip
    write_attachments(migrated_engine, "s:id:1", "s", [fetched, xls.row("s:id:1", "s")], [])
    # another article links the same PDF: a copy of the row, text and all, no fetch
    write_attachments(
        migrated_engine, "s:id:2", "s", [], [Link(pdf.url, "方案.pdf", None, "reuse")]
    )
    # the first article's page now links the PDF only: the .xls row goes
    write_attachments(migrated_engine, "s:id:1", "s", [fetched], [])
    with migrated_engine.connect() as conn:
        rows = conn.execute(
            select(Attachment.article_key, Attachment.name, Attachment.url, Attachment.status,
                   Attachment.sha256, Attachment.text).order_by(Attachment.article_key)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("s:id:1", "附件1.pdf", pdf.url, "extracted", "ab" * 32, "文件正文"),
        ("s:id:2", "方案.pdf", pdf.url, "extracted", "ab" * 32, "文件正文"),
    ]
    assert [r["id"] for r in search(migrated_engine, "正文", Filters())] == []  # no article rows

"""The raw WARC archive (crawler/archive.py) and ``govcrawl reparse`` (crawler/reparse_cmd.py),
on real crawls of the sample portal over HTTP into the test PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.http import HtmlResponse, Request
from sqlalchemy import text
from sqlalchemy.engine import Engine
from warcio.archiveiterator import ArchiveIterator

from crawler.archive import ArchiveWriter, RecordPointer, prune_archive, read_record

ROOT = Path(__file__).resolve().parent.parent
FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS_PER_DOMAIN": "8"}  # fmt: skip


def stored(db: Engine) -> list[Any]:
    with db.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT id, article_key, url, title, archive_page, archive_listing, updated_at "
                    "FROM articles WHERE site = 'sample' ORDER BY id"
                )
            )
        )


def reparse(
    database_url: str, home: Path, *args: str, code_root: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``govcrawl reparse`` in its own process; ``code_root``: a copy of the code to run."""
    env = {**os.environ, "GOVCRAWL_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    if code_root is not None:  # the copy's crawler package comes first on the path
        env["PYTHONPATH"] = str(code_root)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())",
         "--database-url", database_url, "reparse", *args],
        cwd=code_root or ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def crawl_archived(crawl: Any, profile: Path, *spider_args: str, max_bytes: int = 65536) -> None:
    done = crawl(profile, *spider_args, settings={**FAST, "GOVCRAWL_ARCHIVE_MAX_BYTES": str(max_bytes)})  # fmt: skip
    assert "Spider error" not in done.stderr and "[crawler.archive]" not in done.stderr
    assert "'govcrawl/archive/records'" in done.stderr, done.stderr[-3000:]


@pytest.fixture
def crawled(db: Engine, crawl: Any, sample_profile: Path, sample_server: Any, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The sample portal crawled once, its archive rotated at 64 KB; GOVCRAWL_HOME."""
    crawl_archived(crawl, sample_profile)
    return tmp_path / "home"


def test_every_stored_article_points_at_a_record_that_reads_back_the_served_bytes(
    crawled: Path, db: Engine, sample_server: Any
) -> None:
    root = crawled / "archive"
    rows = stored(db)
    assert len(rows) == 265
    assert all(r.archive_page or r.archive_listing for r in rows)
    files = sorted((root / "sample").glob("*.warc.gz"))
    assert len(files) > 1  # rotated at 64 KB
    assert all(f.stat().st_size < 65536 + 200_000 for f in files)  # at most one record past
    for row in rows:
        for pointer in filter(None, (row.archive_page, row.archive_listing)):
            record = read_record(root, pointer)
            parts = urlsplit(record.url)
            form = parse_qs(record.request_body.decode()) if record.method == "POST" else {}
            headers = {"X-Requested-With": "XMLHttpRequest"}
            status, _, body = sample_server.respond(
                record.method, parts.path, parse_qs(parts.query), form, headers
            )
            assert (status, record.body) == (200, body)  # exactly what the server sent
        if row.archive_page:
            # the URL fetched, tracking parameters and all; the row keeps it canonical
            assert read_record(root, row.archive_page).url.split("?")[0] == row.url
    # every file is valid WARC: each record's digests check out; a POST (a /queryList reply) is
    # followed by its request record, a GET is its URL alone
    types: list[str] = []
    posts = 0
    for path in files:
        previous = None
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, check_digests="raise"):
                record.raw_stream.read()
                types.append(record.rec_type)
                headers = record.rec_headers
                if record.rec_type == "response":
                    posts += headers.get_header("WARC-Target-URI").endswith("/queryList")
                if record.rec_type == "request":
                    assert previous == headers.get_header("WARC-Concurrent-To")
                    http = record.http_headers
                    assert (http.protocol, http.statusline) == ("POST", "/queryList HTTP/1.1")
                previous = headers.get_header("WARC-Record-ID")
    assert types.count("request") == posts > 0
    assert types.count("response") > posts
    assert types.count("warcinfo") == len(files)


def test_reparse_after_a_rule_fix_updates_exactly_the_affected_articles_without_a_request(
    crawled: Path, db: Engine, sample_server: Any, database_url: str, tmp_path: Path
) -> None:
    before = {r.id: r for r in stored(db)}
    requests_before = len(sample_server.requests)
    # nothing changed: nothing is written
    same = reparse(database_url, crawled, "--site", str(tmp_path / "sample.toml"))
    assert same.returncode == 0, same.stderr
    assert "changed      0\n" in same.stdout and "unchanged    265" in same.stdout
    # a deliberate change of a rule of the listing's extraction, in a copy of the code: titles
    # take ASCII parentheses instead of full-width ones
    fixed = tmp_path / "fixed"
    shutil.copytree(ROOT / "crawler", fixed / "crawler", ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for shared in ("migrations", "alembic.ini"):  # the same schema
        (fixed / shared).symlink_to(ROOT / shared)
    rule = fixed / "crawler" / "extraction" / "querylist.py"
    line = 'title = clean_text(source.get("title") or source.get("showTitle") or "")'
    assert line in rule.read_text()
    rule.write_text(rule.read_text().replace(
        line, line + '.replace("（", "(").replace("）", ")")'
    ))  # fmt: skip
    affected = {i for i, r in before.items() if "（" in r.title or "）" in r.title}
    assert 0 < len(affected) < len(before)

    done = reparse(database_url, crawled, "--site", str(tmp_path / "sample.toml"), code_root=fixed)
    assert done.returncode == 0, done.stderr
    assert f"changed      {len(affected)} (title: {len(affected)})" in done.stdout, done.stdout
    assert f"new versions {len(affected)}" in done.stdout
    after = {r.id: r for r in stored(db)}
    assert {i for i in after if after[i].title != before[i].title} == affected
    for i in affected:
        assert after[i].title == before[i].title.replace("（", "(").replace("）", ")")
    for i in set(before) - affected:
        assert after[i].updated_at == before[i].updated_at  # untouched
    with db.connect() as conn:
        versions = conn.execute(
            text("SELECT article_id, changed, title FROM article_versions")
        ).all()
    assert {v.article_id for v in versions} == affected
    assert all(v.changed == ["title"] and v.title == before[v.article_id].title for v in versions)
    # the second time, the fixed rule finds nothing more to change
    again = reparse(database_url, crawled, "--site", "sample", code_root=fixed)
    assert again.returncode == 2 and "sample" in again.stderr  # not in the profiles folder
    again = reparse(database_url, crawled, "--site", str(tmp_path / "sample.toml"), code_root=fixed)  # fmt: skip
    assert "changed      0\n" in again.stdout, again.stdout
    assert len(sample_server.requests) == requests_before  # not one request to the portal


def test_reparse_names_a_missing_or_corrupt_archive_file_and_goes_on(
    db: Engine, crawl: Any, sample_profile: Path, database_url: str, tmp_path: Path
) -> None:
    crawl_archived(crawl, sample_profile, "channels=bcyb", max_bytes=16384)
    crawled = tmp_path / "home"
    files = sorted((crawled / "archive" / "sample").glob("*.warc.gz"))
    assert len(files) >= 3
    missing = files[0]
    missing.unlink()
    # a record some article points at, in another file: bytes of its gzip member overwritten
    pointers = [p for r in stored(db) for p in (r.archive_page, r.archive_listing) if p]
    damaged = next(p for p in pointers if not p.startswith(f"sample/{missing.name}#"))
    corrupt, offset = crawled / "archive" / damaged.split("#")[0], int(damaged.split("#")[1])
    data = bytearray(corrupt.read_bytes())
    data[offset + 200 : offset + 264] = b"\0" * 64
    corrupt.write_bytes(bytes(data))
    pointing = [p for p in pointers if p.split("#")[0].endswith((missing.name, corrupt.name))]
    done = reparse(database_url, crawled, "--site", str(tmp_path / "sample.toml"))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    # one line per missing file, with the count of articles it held
    lost = {r.id for r in stored(db) for p in (r.archive_page, r.archive_listing)
            if p and p.startswith(f"sample/{missing.name}#")}  # fmt: skip
    assert (f"sample/{missing.name}: the archive file is missing ({missing}) "
            f"({len(lost)} articles)") in done.stderr  # fmt: skip
    assert "the record is unreadable" in done.stderr, done.stderr
    assert "with a missing or corrupt record" in done.stdout
    unreadable = int(done.stdout.split("not updated  ")[1].split()[0])
    assert 0 < unreadable <= len(pointing)
    assert f"unchanged    {len(stored(db)) - unreadable}" in done.stdout


def test_archive_off_writes_nothing_and_keeps_no_pointer(
    db: Engine, crawl: Any, sample_profile: Path, tmp_path: Path
) -> None:
    done = crawl(sample_profile, "channels=bcyb", settings={**FAST, "GOVCRAWL_ARCHIVE": "False"})
    assert "Spider error" not in done.stderr and "govcrawl/archive" not in done.stderr
    rows = stored(db)
    assert len(rows) > 50
    assert not any(r.archive_page or r.archive_listing for r in rows)
    assert not (tmp_path / "home" / "archive").exists()


def _response(url: str, body: bytes) -> HtmlResponse:
    return HtmlResponse(url, body=body, headers={"Content-Type": "text/html"}, request=Request(url))


def test_writer_rotates_files_by_size_and_pointers_stay_exact(tmp_path: Path) -> None:
    writer = ArchiveWriter(tmp_path, "site", max_bytes=10_000)
    pointers = []
    for n in range(40):
        body = os.urandom(1000)  # incompressible: about 1.4 KB a record pair
        pointer = writer.write(_response(f"http://h/{n}.html", body), "spider.parse_article", {})
        pointers.append((pointer, body))
    writer.close()
    files = sorted((tmp_path / "site").glob("*.warc.gz"))
    assert len(files) == len(writer.files) >= 4
    assert all(f.stat().st_size < 10_000 + 3_000 for f in files)
    for pointer, body in pointers:
        again = read_record(tmp_path, RecordPointer.parse(str(pointer)))
        assert again.body == body and again.callback == "spider.parse_article"


def test_prune_deletes_old_files_no_article_points_at(db: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "sample"
    folder.mkdir()
    for name in ("old-kept.warc.gz", "old-orphan.warc.gz", "new-orphan.warc.gz"):
        (folder / name).write_bytes(b"x")
    month_ago = time.time() - 31 * 86400
    for name in ("old-kept.warc.gz", "old-orphan.warc.gz"):
        os.utime(folder / name, (month_ago, month_ago))
    with db.begin() as conn:
        conn.execute(text(
            "INSERT INTO articles (article_key, site, url, title, published_at, content_hash, "
            "archive_page) VALUES ('sample:id:1', 'sample', 'http://h/1', 't', now(), 'h', "
            "'sample/old-kept.warc.gz#0')"
        ))  # fmt: skip
    assert prune_archive(db, tmp_path, "sample", keep_days=0) == []  # 0: keep everything
    assert prune_archive(db, tmp_path, "sample", keep_days=30) == [folder / "old-orphan.warc.gz"]
    assert sorted(p.name for p in folder.iterdir()) == ["new-orphan.warc.gz", "old-kept.warc.gz"]


def test_reparse_leaves_a_site_being_crawled_alone(
    db: Engine, database_url: str, sample_profile: Path, tmp_path: Path
) -> None:
    from crawler.locks import site_lock

    with site_lock(db, "sample") as locked:
        assert locked
        done = reparse(database_url, tmp_path / "home", "--site", str(sample_profile))
    assert done.returncode == 4, done.stderr
    assert "site sample is being crawled" in done.stderr
    assert done.stdout == ""


def test_reparse_reads_page_and_listing_records_of_a_jcms_portal_back_to_the_same_articles(
    db: Engine, crawl: Any, jcms_profile: Path, jcms_server: Any, database_url: str, tmp_path: Path
) -> None:
    # JCMS: the listing is a link and a date, every article its page: both records are read
    crawl_archived(crawl, jcms_profile)
    with db.connect() as conn:
        articles, paged = conn.execute(
            text("SELECT count(*), count(archive_page) FROM articles WHERE archive_listing IS NOT NULL")
        ).one()  # fmt: skip
    assert articles == paged > 100
    requests = len(jcms_server.requests)
    done = reparse(database_url, tmp_path / "home", "--site", str(jcms_profile))
    assert done.returncode == 0, done.stderr
    assert f"{articles} archived articles" in done.stdout
    assert "changed      0\n" in done.stdout and f"unchanged    {articles}" in done.stdout
    assert len(jcms_server.requests) == requests


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--site", "nosuchsite"], "no profile 'nosuchsite'"),
        (["--since", "2025-13"], "is not a date"),
        (["--site", "a\x00b"], "NUL"),
        (["extra"], "unrecognized arguments"),
    ],
)
def test_reparse_bad_input_is_one_line_and_exit_2(
    argv: list[str], says: str, db: Engine, database_url: str, capsys: Any
) -> None:
    from crawler import cli

    assert cli.main(["--database-url", database_url, "reparse", *argv]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("govcrawl: ") and says in lines[0]


def test_reparse_of_a_database_without_archive_says_so(
    db: Engine, database_url: str, capsys: Any
) -> None:
    from crawler import cli

    assert cli.main(["--database-url", database_url, "reparse"]) == 0
    assert capsys.readouterr().out == "no archived articles: nothing to reparse (is GOVCRAWL_ARCHIVE on?)\n"  # fmt: skip

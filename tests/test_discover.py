"""`govcrawl discover`: a working site profile from one column page."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.cli import main
from crawler.profiles import load_profile
from sample_portal.col import ColPortalServer, generate_col_portal

REAL_PAGES = Path(__file__).resolve().parents[2] / "shared" / "real-pages"
STHJT_PAGE = REAL_PAGES / "sthjt.jiangxi.gov.cn" / "column_col42150.html"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_discover_writes_a_profile_of_the_real_sthjt_page_that_loads(tmp_path, capsys):
    if not STHJT_PAGE.is_file():
        pytest.skip(f"the real page {STHJT_PAGE} is not there (../shared/real-pages is absent)")
    out = tmp_path / "sthjt.toml"
    assert main(["discover", str(STHJT_PAGE), "-o", str(out)]) == 0
    assert "crawl it with: govcrawl crawl" in capsys.readouterr().err
    profile = load_profile(str(out), tmp_path)
    assert (profile.name, profile.base_url) == ("sthjt", "http://sthjt.jiangxi.gov.cn")
    assert (profile.platform, profile.site_code, profile.query_style, profile.per_page) == (
        "querylist", "jxssthjt", "array", 15,
    )  # fmt: skip
    assert profile.channel_path == "/{site}/col/{channel}/index.html"
    assert profile.channel_url("col42149") == (
        "http://sthjt.jiangxi.gov.cn/jxssthjt/col/col42149/index.html"
    )
    channels = {c.code: c for c in profile.channels}
    assert len(channels) == 13
    assert channels["col42150"].unitid == "380055" and channels["col42150"].name == (
        "政策法规解读· 以案释法"
    )
    assert channels["col42149"].name == "文件通知" and channels["col42149"].unitid is None
    assert profile.politeness.download_delay == 1.5 and profile.politeness.concurrent_requests == 1
    text = out.read_text(encoding="utf-8")
    assert "# 4296 articles on the portal; under col42062" in text


def test_discover_reads_a_col_shaped_page_over_http_with_one_get(capsys):
    with ColPortalServer(generate_col_portal()) as server:
        url = server.base_url + "/jxssthjt/col/col10003/index.html"
        assert main(["discover", url, "--name", "env-site"]) == 0
        assert [(r.method, r.path) for r in server.requests] == [
            ("GET", "/jxssthjt/col/col10003/index.html")
        ]
    text = capsys.readouterr().out
    assert 'name = "env-site"' in text and f'base_url = "{server.base_url}"' in text
    assert 'code = "col10003"\nname = "政策法规解读· 以案释法"\nunitid = "380055"' in text
    assert "# 6 articles on the portal; under col10001; hidden from the site's menus" in text


def test_discover_recognises_a_legacy_jcms_column_page(tmp_path, capsys):
    page = tmp_path / "index.html"
    page.write_text(
        (FIXTURES / "jcms" / "column_77926.html")
        .read_text(encoding="utf-8")
        .replace("<head>", '<head><meta name="SiteDomain" content="nync.jiangxi.gov.cn">', 1),
        encoding="utf-8",
    )
    out = tmp_path / "archive.toml"
    assert main(["discover", str(page), "--name", "nync-archive", "-o", str(out)]) == 0
    profile = load_profile(str(out), tmp_path)
    assert profile.platform == "jcms" and [c.code for c in profile.channels] == ["77926"]
    assert profile.base_url == "https://nync.jiangxi.gov.cn"


@pytest.mark.parametrize(
    "args, message",
    [
        (["/no/such/page.html"], "no such file, and not an http(s) URL"),
        (["{page}"], "not a column page of a supported platform"),
        (["{real}", "--name", "Bad Name"], "--name 'Bad Name': must be"),
        (["http://127.0.0.1:9/x/col/col1/index.html"], "cannot fetch the page"),
    ],
)
def test_discover_errors_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    page = tmp_path / "plain.html"
    page.write_text("<html><body>共 1 条记录</body></html>", encoding="utf-8")
    if "{real}" in args and not STHJT_PAGE.is_file():
        pytest.skip("the real sthjt page is absent")
    args = [a.replace("{page}", str(page)).replace("{real}", str(STHJT_PAGE)) for a in args]
    assert main(["discover", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("govcrawl: ") and message in err[0], err


def test_discover_a_trs_column_from_its_url_and_crawl_it(db, crawl, tmp_path):
    from sqlalchemy import func, select

    from crawler.models import Article
    from sample_portal.trs import TrsPortalServer, generate_trs_portal

    portal = generate_trs_portal()
    column = portal.columns[0]
    with TrsPortalServer(portal) as server:
        out = tmp_path / "trs.toml"
        url = f"{server.base_url}/{column.code}/index.html"
        assert main(["discover", url, "--name", "trs-site", "-o", str(out)]) == 0
        text = out.read_text(encoding="utf-8")
        assert 'platform = "trs"' in text and f'code = "{column.code}"' in text
        text = text.replace("download_delay = 1.5", "download_delay = 0")
        out.write_text(text, encoding="utf-8")
        assert crawl(out).returncode == 0
    with db.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Article)).scalar_one()
    in_column = {a["id"] for a in portal.ground_truth()["articles"] if column.code in a["channels"]}
    assert stored == len(in_column)


def test_discover_recognises_a_jpaas_column_page_with_one_get(tmp_path):
    from sample_portal.jpaas import NOTICE_ID, JpaasPortalServer, generate_jpaas_portal

    portal = generate_jpaas_portal()
    with JpaasPortalServer(portal) as server:
        url = f"{server.base_url}/col/col{NOTICE_ID}/index.html"
        out = tmp_path / "zj.toml"
        assert main(["discover", url, "--name", "zj-site", "-o", str(out)]) == 0
        assert [r.path for r in server.requests] == [f"/col/col{NOTICE_ID}/index.html"]
    profile = load_profile(str(out), tmp_path)
    assert profile.platform == "jpaas" and profile.base_url == server.base_url
    # the list's unit, not the footer's; a Zhejiang column page needs no [jpaas.channels]
    assert profile.options == {
        "web_id": "3630", "tpl_set_id": "Xk7pQ2mZr9TbV4cN1sHdA", "tag_id": "信息列表",
        "page_size": 15,
    }  # fmt: skip
    assert [(c.code, c.name) for c in profile.channels] == [(NOTICE_ID, "通知公告")]


def test_discover_reads_a_saved_jpaas_column_page_naming_its_domain(tmp_path):
    from sample_portal.jpaas import NEWS_ID, column_page, generate_jpaas_portal

    portal = generate_jpaas_portal()
    page = tmp_path / "gzdt.html"
    page.write_text(
        column_page(portal, portal.column(NEWS_ID)).replace(
            "<head>", '<head><meta name="SiteDomain" content="www.example.gov.cn">', 1
        ),
        encoding="utf-8",
    )
    out = tmp_path / "ministry.toml"
    assert main(["discover", str(page), "--name", "ministry", "-o", str(out)]) == 0
    profile = load_profile(str(out), tmp_path)
    assert profile.base_url == "https://www.example.gov.cn"
    assert profile.options["tag_id"] == "分页列表"
    assert [c.code for c in profile.channels] == [NEWS_ID]

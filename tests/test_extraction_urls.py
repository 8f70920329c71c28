import pytest

from crawler.extraction.urls import canonicalize_url, is_web_url, same_origin

BASE = "https://nync.jiangxi.gov.cn"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (
            "HTTP://NYNC.Jiangxi.gov.cn:80/jxsnynct/bcyb/index.html",
            "https://nync.jiangxi.gov.cn/jxsnynct/bcyb/",
        ),
        ("https://nync.jiangxi.gov.cn:443/a/b.html#top", "https://nync.jiangxi.gov.cn/a/b.html"),
        (
            "/jxsnynct/bcyb/content/content_1.html?utm_source=weixin&spm=2.1",
            "https://nync.jiangxi.gov.cn/jxsnynct/bcyb/content/content_1.html",
        ),
        ("/list?b=2&a=1", "https://nync.jiangxi.gov.cn/list?a=1&b=2"),
        ("//nync.jiangxi.gov.cn//art//x.html", "https://nync.jiangxi.gov.cn/art/x.html"),
        ("http://other.gov.cn:8080/x.html", "http://other.gov.cn:8080/x.html"),
    ],
)
def test_canonicalize_url(raw, canonical):
    assert canonicalize_url(raw, BASE) == canonical


def test_http_and_https_copies_of_a_page_are_one_url():
    assert canonicalize_url("http://nync.jiangxi.gov.cn/a.html", BASE) == canonicalize_url(
        "https://nync.jiangxi.gov.cn/a.html", BASE
    )


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("https://nync.jiangxi.gov.cn/a.html", True),
        ("http://nync.jiangxi.gov.cn/a.html", True),  # scheme-agnostic
        ("https://NYNC.jiangxi.gov.cn:443/a.html", True),
        ("https://nync.jiangxi.gov.cn:8443/a.html", False),  # another port: another server
        ("http://nync.jiangxi.gov.cn:8080/a.html", False),
        ("https://www.jiangxi.gov.cn/a.html", False),
        ("https://nync.jiangxi.gov.cn.evil.cn/a.html", False),
        ("javascript:alert(1)", False),
        ("https://nync.jiangxi.gov.cn:x/a.html", False),
    ],
)
def test_same_origin_compares_host_and_port(url, same):
    assert same_origin(url, BASE) is same


def test_same_origin_of_a_local_portal_tells_its_ports_apart():
    assert same_origin("http://127.0.0.1:8800/q", "http://127.0.0.1:8800")
    assert not same_origin("http://127.0.0.1:8801/q", "http://127.0.0.1:8800")
    assert not same_origin("http://127.0.0.1/q", "http://127.0.0.1:8800")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:void(0)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "mailto:a@example.invalid",
        "ftp://example.invalid/x",
        "http://",
        "/relative/path.html",
        "",
        None,
    ],
)
def test_only_absolute_http_urls_are_web_urls(url):
    assert not is_web_url(url)


def test_control_characters_in_a_path_are_percent_encoded():
    assert canonicalize_url("/a\x00b\u202e.html", BASE) == BASE + "/a%00b%E2%80%AE.html"

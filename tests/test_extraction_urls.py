import pytest

from crawler.extraction.urls import canonicalize_url

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

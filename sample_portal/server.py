"""Serve a :class:`SamplePortal` on 127.0.0.1 the way the current platform does.

    python -m sample_portal serve --port 8800      # then crawl profiles/sample.toml

Routes: ``/robots.txt``, channel pages ``/<site>/<channel>/index.html``, ``POST /queryList``,
article pages ``/<site>/<channel>/content/content_<id>.html``, attachments
``/module/download/downfile.jsp`` and ``/<site>/<channel>/files/…``, images. Every request is
logged in ``requests`` so tests can assert on what the crawler sent.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sample_portal.attachments import sample_file
from sample_portal.faults import Faults
from sample_portal.generator import SITE_CODE, SITE_NAME, SampleArticle, SamplePortal, listing_json

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
ARTICLE_PATH = re.compile(rf"^/{SITE_CODE}/(?P<channel>\w+)/content/content_(?P<id>\d+)\.html$")
CHANNEL_PATH = re.compile(rf"^/{SITE_CODE}/(?P<channel>\w+)/(index\.html)?$")


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: str


def channel_page(portal: SamplePortal, code: str) -> str:
    channel = portal.channel(code)
    unitid = f'unitid: "{channel.unitid}", ' if channel.unitid_in_page else ""
    nav = "".join(
        f'<li><a href="/{SITE_CODE}/{c.code}/index.html">{c.name}</a></li>' for c in portal.channels
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{channel.name} - {SITE_NAME}</title>
<meta name="SiteName" content="{SITE_NAME}"><meta name="SiteIDCode" content="3600000029">
<meta name="ColumnName" content="{channel.name}"><meta name="ColumnType" content="{channel.name}">
<script src="/static/js/jquery.min.js"></script><script src="/static/js/list.js"></script>
</head><body>
<div class="header"><img src="/static/images/logo.png" alt="{SITE_NAME}"><ul class="nav">{nav}</ul></div>
<div class="location">当前位置：<a href="/{SITE_CODE}/index.html">首页</a> &gt; {channel.name}</div>
<div class="list-box" id="list-box">
  <ul class="list" id="list"><li><a href="#">加载中…</a><span></span></li></ul>
  <div class="page" id="page">共 1 条记录</div>
</div>
<script type="text/javascript">
  var listConfig = {{
    webSiteCode: "{SITE_CODE}", channelCode: "{code}",
    {unitid}perPage: 15, showMode: "full", sort: "sortNum", order: "desc"
  }};
  $(function () {{ loadList(listConfig, "#list", "#page"); }});
</script>
<div class="footer">主办单位：{SITE_NAME} 网站标识码：3600000029 赣ICP备05004296号</div>
</body></html>"""


def article_page(portal: SamplePortal, article: SampleArticle, code: str) -> str:
    channel = portal.channel(code)
    when = article.published
    meta_date = (
        f'<meta name="PubDate" content="{when:%Y-%m-%d %H:%M}">'
        if article.page_pubdate_meta and when
        else ""
    )
    shown_date = (
        f"{when:%Y-%m-%d %H:%M}"
        if article.page_pubdate_meta and when
        else f"{when.year}年{when.month}月{when.day}日"
    )
    source = article.page_source or article.source
    sidebar = "".join(
        f'<li><a href="{a.path}">{escape(a.title[:12])}...</a><span>{a.published:%m-%d}</span></li>'
        for a in portal.listing(code)[:8]
        if a.published
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(article.title)} - {SITE_NAME}</title>
<meta name="SiteName" content="{SITE_NAME}"><meta name="SiteDomain" content="nync.jiangxi.gov.cn">
<meta name="SiteIDCode" content="3600000029"><meta name="ColumnName" content="{channel.name}">
<meta name="ColumnType" content="{channel.name}">
<meta name="ArticleTitle" content="{escape(article.title)}">
{meta_date}
<meta name="ContentSource" content="{escape(source)}">
<meta name="Keywords" content="{channel.name}"><meta name="Description" content="{escape(article.title)}">
<script src="/static/js/jquery.min.js"></script>
</head><body>
<div class="header"><img src="/static/images/logo.png" alt="{SITE_NAME}"></div>
<div class="location">当前位置：<a href="/{SITE_CODE}/index.html">首页</a> &gt; <a href="../index.html">{channel.name}</a></div>
<div class="article">
  <h1 class="article-title">{escape(article.title)}</h1>
  <div class="article-info">
    <span>发布时间：{shown_date}</span><span>来源：{escape(source)}</span>
    <span class="font">字体：<a href="javascript:;">大</a> <a href="javascript:;">中</a> <a href="javascript:;">小</a></span>
    <a href="javascript:window.print()">打印</a>
  </div>
  <div class="article-content" id="zoom">
{article.body_html}
  <p class="tools"><a href="javascript:window.print()">【打印本页】</a> <a href="javascript:window.close()">【关闭窗口】</a></p>
  </div>
  <div class="share">分享到：<a href="#">微信</a><a href="#">微博</a></div>
</div>
<div class="sidebar"><h3>相关信息</h3><ul>{sidebar}</ul></div>
<div class="footer">主办单位：{SITE_NAME} 网站标识码：3600000029</div>
<script>$.get("/module/visitcount/articlehits.jsp?colid=1&artid={article.id}");</script>
</body></html>"""


def off_host_record(reply: dict[str, Any], host_url: str, code: str) -> dict[str, Any]:
    """A listing record whose page lives on another host (which must never be asked)."""
    record = json.loads(json.dumps(reply["data"]["results"][0]))
    record["id"] = record["source"]["id"] = "9" * 19
    record["source"]["title"] = "外站文章：不应抓取"
    record["source"]["urls"] = json.dumps({"pc": f"{host_url}/{SITE_CODE}/{code}/content/x.html"})
    record["source"]["content"] = {"content": ""}
    record["source"]["isTop"] = 0
    return record


class PortalServer:
    """A portal on a background thread: ``with Server(portal) as s: s.base_url``.

    Subclasses answer ``respond()``; this class logs every request and serves HTTP/1.1."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None
        # pre-rendered replies (see prerender()): the benchmark's server must not be the bottleneck
        self.cache: dict[tuple[str, str, str], tuple[int, str, bytes]] | None = None
        self.faults: Faults | None = None  # see sample_portal/faults.py

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PortalServer:
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name="sample-portal", daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> PortalServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _log(self, entry: LoggedRequest) -> None:
        with self._log_lock:
            self.requests.append(entry)

    def respond(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        form: dict[str, list[str]],
        headers: Any,
    ) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request."""
        raise NotImplementedError

    def _cached(
        self, method: str, path: str, form: dict[str, list[str]], headers: Any
    ) -> tuple[int, str, bytes] | None:
        return None

    def fault_for(
        self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]
    ) -> str | None:
        if self.faults is None:
            return None
        page = ",".join(
            f"{k}={v[0]}" for k, v in sorted(form.items()) if k in ("channelCode", "current",
                                                                   "startrecord", "col", "columnid")
        )  # fmt: skip
        page += ",".join(
            f"{k}={v[0]}" for k, v in sorted(query.items()) if k in ("startrecord", "col")
        )
        return self.faults.pick(method, path, page)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                server._log(LoggedRequest(method, self.path, dict(self.headers.items()), raw))
                form = parse_qs(raw, keep_blank_values=True) if method == "POST" else {}
                fault = server.fault_for(method, parts.path, parse_qs(parts.query), form)
                if fault in ("reset", "slow", "503", "500", "html_200", "challenge", "huge"):
                    if self._fault(fault):
                        return
                reply = server._cached(method, parts.path, form, self.headers)
                if reply is None:
                    reply = server.respond(
                        method, parts.path, parse_qs(parts.query), form, self.headers
                    )
                status, ctype, body = reply
                if fault == "bad_json":
                    body = body[: len(body) // 2]
                elif fault == "bad_charset" and ctype.startswith("text/html"):
                    # the page says UTF-8 but is GBK (a page re-encoded by a proxy)
                    text = body.decode("utf-8", "replace")
                    body = text.encode("gbk", "replace")
                elif fault == "truncated":
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                etag = None
                if method == "GET" and status == 200 and ctype.startswith("text/html"):
                    # pages carry an ETag and answer a matching If-None-Match with 304
                    etag = '"' + hashlib.md5(body).hexdigest() + '"'
                    if self.headers.get("If-None-Match") == etag:
                        status, body = 304, b""
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _fault(self, kind: str) -> bool:
                """Answer with a fault; True when the request is done with."""
                from sample_portal.faults import BUSY_PAGE, CHALLENGE_PAGE

                if kind == "reset":  # close with a TCP RST, no reply at all
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    return True
                if kind == "slow":  # the reply comes after the crawler stopped waiting
                    time.sleep(server.faults.slow_seconds)
                    return False
                if kind in ("503", "500"):
                    status, body = int(kind), f"<html><body><h1>{kind}</h1></body></html>".encode()
                elif kind == "html_200":
                    status, body = 200, BUSY_PAGE.encode()
                elif kind == "challenge":
                    token = hashlib.md5(self.path.encode()).hexdigest()
                    status = 202 if int(token, 16) % 2 else 412
                    body = CHALLENGE_PAGE.format(token=token).encode()
                else:  # huge
                    status, body = 200, b"<html><body>" + b"x" * server.faults.huge_bytes
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the crawler hung up on an oversized reply
                    self.close_connection = True
                return True

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


class SamplePortalServer(PortalServer):
    """The current platform's sample portal."""

    def __init__(
        self, portal: SamplePortal, host: str = "127.0.0.1", port: int = 0, per_page: int = 15
    ) -> None:
        super().__init__(host, port)
        self.portal = portal
        self.per_page = per_page
        self.robots_txt = b"User-agent: *\nDisallow: /admin/\n"
        # (channel, page) listing pages that answer 500, for a test to break and mend
        self.failing_pages: set[tuple[str, int]] = set()
        # more files by path: (content type, bytes), e.g. sample_portal.attachments.add_cases()
        self.files: dict[str, tuple[str, bytes]] = {}

    def prerender(self) -> int:
        """Render every listing page and article page once, and serve them from memory."""
        self.cache = {}
        for channel in self.portal.channels:
            pages = max(1, -(-len(channel.records) // self.per_page))
            for page in range(1, pages + 1):
                form = {"current": [str(page)], "perPage": [str(self.per_page)], "unitid": [channel.unitid],
                        "webSiteCode": [SITE_CODE], "channelCode": [channel.code]}  # fmt: skip
                key = (
                    "POST",
                    "/queryList",
                    f"{channel.code}:{channel.unitid}:{page}:{self.per_page}",
                )
                self.cache[key] = self._query_list(form, {"X-Requested-With": "XMLHttpRequest"})
        for article in self.portal.articles.values():
            self.cache[("GET", article.path, "")] = self.respond("GET", article.path, {}, {}, {})
        return len(self.cache)

    def _cached(
        self, method: str, path: str, form: dict[str, list[str]], headers: Any
    ) -> tuple[int, str, bytes] | None:
        if self.cache is None:
            return None
        if method == "POST":
            if headers.get("X-Requested-With") != "XMLHttpRequest":
                return None

            def one(key: str) -> str:
                return (form.get(key) or [""])[0]

            key = f"{one('channelCode')}:{one('unitid')}:{one('current')}:{one('perPage')}"
            return self.cache.get(("POST", path, key))
        return self.cache.get((method, path, ""))

    def respond(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        form: dict[str, list[str]],
        headers: Any,
    ) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request."""
        portal = self.portal
        html = "text/html; charset=utf-8"
        if method == "GET" and path == "/robots.txt":
            return 200, "text/plain", self.robots_txt
        if method == "POST" and path == "/queryList":
            return self._query_list(form, headers)
        if method != "GET":
            return 405, html, b"<h1>405</h1>"
        match = ARTICLE_PATH.match(path)
        if match:
            article = portal.articles.get(match["id"])
            if article is None or match["channel"] != article.home:
                return 404, html, "<html><body><h1>404 页面不存在</h1></body></html>".encode()
            return 200, html, article_page(portal, article, article.home).encode()
        match = CHANNEL_PATH.match(path)
        if match and any(c.code == match["channel"] for c in portal.channels):
            return 200, html, channel_page(portal, match["channel"]).encode()
        if path in self.files:
            return 200, *self.files[path]
        if path == "/module/download/downfile.jsp" and query.get("filename"):
            name = (query.get("showname") or query["filename"])[0]
            return 200, "application/octet-stream", sample_file(name)
        if path.endswith((".jpg", ".png")):
            return 200, "image/png", PNG_1PX
        if "/files/" in path:
            return 200, "application/octet-stream", sample_file(path.rsplit("/", 1)[-1])
        return 404, html, "<html><body><h1>404 页面不存在</h1></body></html>".encode()

    def _query_list(self, form: dict[str, list[str]], headers: Any) -> tuple[int, str, bytes]:
        if headers.get("X-Requested-With") != "XMLHttpRequest":
            return 403, "text/html; charset=utf-8", b"<html><body>403 Forbidden</body></html>"

        def one(key: str) -> str:
            return (form.get(key) or form.get(key + "[]") or [""])[0]

        code = one("channelCode")
        try:
            page = max(int(one("current") or 1), 1)
            per_page = max(int(one("perPage") or self.per_page), 1)
        except ValueError:
            return 400, "application/json", b'{"success":false,"msg":"bad paging"}'
        channel = next((c for c in self.portal.channels if c.code == code), None)
        if channel is None or one("webSiteCode") != SITE_CODE or one("unitid") != channel.unitid:
            empty = {
                "success": True,
                "code": 200,
                "data": {"total": 0, "current": page, "results": []},
            }
            return 200, "application/json;charset=UTF-8", json.dumps(empty).encode()
        if (code, page) in self.failing_pages:
            return 500, "text/html; charset=utf-8", b"<html><body>500 Internal Error</body></html>"
        if channel.reply == "empty":  # a channel that answers as if it had no records
            empty = {
                "success": True,
                "code": 200,
                "data": {"total": 0, "current": page, "results": []},
            }
            return 200, "application/json;charset=UTF-8", json.dumps(empty).encode()
        if channel.reply == "html_error":
            page_html = "<!DOCTYPE html><html><head><title>系统繁忙</title></head><body><h2>系统繁忙，请稍后再试</h2></body></html>"
            return 200, "text/html; charset=utf-8", page_html.encode()
        reply = listing_json(self.portal, code, page, per_page)
        faults = self.faults
        if faults is not None and faults.active and faults.off_host and page == 1:
            reply["data"]["results"].append(off_host_record(reply, faults.off_host, code))
        payload = json.dumps(reply, ensure_ascii=False).encode()
        if channel.reply == "bad_json":
            payload = payload[: len(payload) // 2]
        return 200, "application/json;charset=UTF-8", payload

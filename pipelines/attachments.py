"""Attachments: fetched through Scrapy's FilesPipeline, stored once by content, read to text.

For each link of an article's ``attachments`` (the body's file links and the listing's
``articleFiles``):

- a link on another host than the profile's is recorded (``offsite``), never fetched;
- a link already in the ``attachments`` table (fetched by an earlier run, for this article or
  another) is not fetched again: the article gets a copy of that row. A link whose fetch
  failed is tried again the next time an article lists it;
- anything else is one GET through the crawl's own downloader — same slot, delays,
  robots.txt, retries and origin guard as the pages — with the article as ``Referer`` and
  ``download_maxsize`` set to ``GOVCRAWL_ATTACHMENT_MAX_BYTES``. A file over the cap is
  cancelled before its body is read, recorded ``oversized`` and reported as a crawl issue
  (``attachment_too_large``);
- a fetched file is stored under ``<FILES_STORE>/full/<sha256[:2]>/<sha256>.<type>`` (any
  store FilesPipeline supports: a folder, s3://, gs://, ftp://), once per content however
  many links and articles point at it, and its text is extracted in a worker thread
  (crawler/extraction/attachment_text.py) so the crawl goes on meanwhile.

Rows are written per article, in a worker thread, keyed by ``article_key`` (see
``crawler.models.Attachment``). Counts go to ``govcrawl/attachments/*``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, NotConfigured
from scrapy.pipelines.files import FilesPipeline
from scrapy.utils.defer import ensure_awaitable, maybe_deferred_to_future
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from twisted.internet import threads
from twisted.internet.defer import maybeDeferred

from crawler.database import DatabaseError, engine_from_settings
from crawler.extraction.attachment_text import AttachmentText, attachment_text, sniff
from crawler.extraction.text import strip_control
from crawler.extraction.urls import is_web_url, same_origin
from crawler.models import Attachment
from crawler.search import lexemes
from crawler.signals import issue_reported
from pipelines.store import error_reason

logger = logging.getLogger(__name__)

# fetched-and-kept outcomes: a link with one of these is not fetched again
SETTLED = ("extracted", "not_extracted", "corrupt", "oversized")
META_KEY = "govcrawl_attachment"
# formats told apart by their bytes alone (an OLE2 file may be .doc, .xls or .wps: "bin")
CONTENT_TYPES = ("pdf", "docx", "xlsx", "zip")
FIELDS = ("status", "sha256", "size", "path", "fetched_at", "text", "error")


class AttachmentTooLarge(Exception):
    def __init__(self, size: int | None, cap: int) -> None:
        self.size = size
        shown = f"{size:,} bytes" if size else "its body"
        super().__init__(
            f"{shown} is over the cap of {cap:,} bytes (GOVCRAWL_ATTACHMENT_MAX_BYTES): not fetched"
        )


class AttachmentFetchFailed(Exception):
    pass


@dataclass
class Link:
    """One attachment link of one article and what this run does with it."""

    url: str
    name: str | None
    type: str | None
    action: str  # fetch | reuse | offsite

    def row(self, article_key: str, site: str, **values: Any) -> dict[str, Any]:
        row = {"article_key": article_key, "site": site, "url": self.url, "name": self.name,
               "type": self.type, "status": "failed", "sha256": None, "size": None,
               "path": None, "fetched_at": None, "text": "", "error": None}  # fmt: skip
        row.update(values)
        row["search_vector"] = lexemes(row["name"], row["text"])
        return row


UPSERT = insert(Attachment).on_conflict_do_update(
    index_elements=[Attachment.article_key, Attachment.url],
    set_={
        name: insert(Attachment).excluded[name]
        for name in ("name", "type", *FIELDS, "search_vector")
    },
)
# an article linking a file an earlier row holds gets a copy of that row (no fetch); a row of
# its own that is settled already stays as it is
COPY = text(
    """
    INSERT INTO attachments (article_key, site, url, name, type, status, sha256, size, path,
                             fetched_at, text, error, search_vector)
    SELECT :article_key, :site, a.url, :name, a.type, a.status, a.sha256, a.size, a.path,
           a.fetched_at, a.text, a.error, a.search_vector
    FROM attachments a
    WHERE a.url = :url AND a.status = ANY(:settled)
    ORDER BY a.fetched_at DESC NULLS LAST, a.id DESC
    LIMIT 1
    ON CONFLICT (article_key, url) DO UPDATE SET
        name = excluded.name, type = excluded.type, status = excluded.status,
        sha256 = excluded.sha256, size = excluded.size, path = excluded.path,
        fetched_at = excluded.fetched_at, text = excluded.text, error = excluded.error,
        search_vector = excluded.search_vector
    WHERE NOT (attachments.status = ANY(:settled))
    """
).bindparams(bindparam("settled"))
FORGET_REMOVED = text(
    "DELETE FROM attachments WHERE article_key = :article_key AND NOT (url = ANY(:urls))"
).bindparams(bindparam("urls"))


def write_attachments(
    engine: Engine, article_key: str, site: str, rows: list[dict[str, Any]], reused: list[Link]
) -> None:
    """One article's attachment rows, in one transaction; links it no longer has are dropped."""
    urls = [r["url"] for r in rows] + [link.url for link in reused]
    with engine.begin() as conn:
        conn.execute(FORGET_REMOVED, {"article_key": article_key, "urls": urls})
        if rows:
            conn.execute(UPSERT, rows)
        for link in reused:
            conn.execute(
                COPY,
                {"article_key": article_key, "site": site, "url": link.url, "name": link.name,
                 "settled": list(SETTLED)},
            )  # fmt: skip


def _declared_type(link: dict[str, Any]) -> str | None:
    kind = (link.get("type") or "").strip().lower().lstrip(".")
    return kind or None


class AttachmentsPipeline(FilesPipeline):
    # failures are ours to log (as warnings, with the article) and to count: FilesPipeline's
    # own report is an ERROR line per failed file, which would mark the run degraded
    LOG_FAILED_RESULTS = False

    def __init__(self, store_uri: str, *, crawler: Any) -> None:
        super().__init__(store_uri, crawler=crawler)
        self.stats = crawler.stats
        self.max_bytes = crawler.settings.getint("GOVCRAWL_ATTACHMENT_MAX_BYTES", 50 * 1024 * 1024)
        self.engine: Engine | None = None
        # url → (status) of links an earlier run settled, for this site
        self.known: dict[str, str] = {}
        # sha256 → (what the file held, its size): shared by every link to the same content
        self.read: dict[str, tuple[AttachmentText, int]] = {}
        self.results: dict[int, list[Any]] = {}
        # the articles of this site that have attachment rows
        self.with_files: set[str] = set()
        # url → why its fetch failed, this run
        self.failures: dict[str, Exception] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> AttachmentsPipeline:
        if not crawler.settings.getbool("GOVCRAWL_ATTACHMENTS", True):
            raise NotConfigured("GOVCRAWL_ATTACHMENTS is off")
        return super().from_crawler(crawler)

    def open_spider(self, spider: Any = None) -> None:
        super().open_spider()
        try:
            self.engine = engine_from_settings(self.crawler.settings)
        except DatabaseError as exc:
            logger.error("%s", exc)
            raise
        site = getattr(getattr(self.crawler.spider, "profile", None), "name", None)
        with self.engine.connect() as conn:
            self.known = dict(
                conn.execute(
                    select(Attachment.url, Attachment.status)
                    .where(Attachment.site == site, Attachment.status.in_(SETTLED))
                    .distinct()
                ).all()
            )
            self.with_files = set(
                conn.execute(
                    select(Attachment.article_key).where(Attachment.site == site).distinct()
                ).scalars()
            )
        logger.info("attachments: %d links of this site are already settled", len(self.known))

    # --- what to fetch ----------------------------------------------------------------------
    def may_fetch(self, url: str) -> bool:
        spider = self.crawler.spider
        check = getattr(spider, "may_fetch", None)
        if check is not None:
            return bool(check(url))
        base_url = getattr(getattr(spider, "profile", None), "base_url", None)
        return bool(base_url) and same_origin(url, base_url)

    def plan(self, item: Any) -> list[Link]:
        links: list[Link] = []
        seen: set[str] = set()
        for raw in item.get("attachments") or []:
            url = (raw.get("url") or "").strip()
            if not url or url in seen:
                continue
            seen.add(url)
            if not is_web_url(url) or not self.may_fetch(url):
                action = "offsite"
            elif url in self.known:
                action = "reuse"
            else:
                action = "fetch"
            links.append(Link(url, raw.get("name"), _declared_type(raw), action))
        return links

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        return [
            Request(
                link.url,
                headers={"Referer": item.get("url") or ""},
                meta={
                    META_KEY: link.type,
                    "download_maxsize": self.max_bytes,
                    "download_warnsize": 0,
                },
            )
            for link in self.plan(item)
            if link.action == "fetch"
        ]

    def media_to_download(self, request: Request, info: Any, *, item: Any = None) -> None:
        return None  # whether to fetch was decided against the attachments table (plan())

    # --- a fetched file ----------------------------------------------------------------------
    def file_path(
        self, request: Request, response: Any = None, info: Any = None, *, item: Any = None
    ) -> str:
        if response is None:  # only asked before a download, which this pipeline never does
            return "full/pending"
        digest = hashlib.sha256(response.body).hexdigest()
        # the extension says what the bytes are, never what a link said: one content, one name
        kind = sniff(response.body, None)
        return f"full/{digest[:2]}/{digest}.{kind if kind in CONTENT_TYPES else 'bin'}"

    async def media_downloaded(
        self, response: Any, request: Request, info: Any, *, item: Any = None
    ) -> Any:
        if response.status != 200:
            raise AttachmentFetchFailed(f"HTTP {response.status}")
        if not response.body:
            raise AttachmentFetchFailed("the reply is empty")
        return await super().media_downloaded(response, request, info, item=item)

    def file_downloaded(
        self, response: Any, request: Request, info: Any, *, item: Any = None
    ) -> Any:
        return self._store_and_read(response, request, info)

    async def _store_and_read(self, response: Any, request: Request, info: Any) -> str:
        body: bytes = response.body
        digest = hashlib.sha256(body).hexdigest()
        path = self.file_path(request, response=response, info=info)
        stat = await maybe_deferred_to_future(maybeDeferred(self.store.stat_file, path, info))
        if stat and stat.get("last_modified"):
            self.stats.inc_value("govcrawl/attachments/same_content")
        else:
            await ensure_awaitable(self.store.persist_file(path, BytesIO(body), info))
            self.stats.inc_value("govcrawl/attachments/stored_files")
            self.stats.inc_value("govcrawl/attachments/stored_bytes", len(body))
        if digest not in self.read:
            declared = request.meta.get(META_KEY)
            found = await maybe_deferred_to_future(
                threads.deferToThread(attachment_text, body, declared)
            )
            self.read[digest] = (found, len(body))
        return digest

    def media_failed(self, failure: Any, request: Request, info: Any) -> None:
        """Keep why a fetch failed, and answer None: a raise here is logged by MediaPipeline as
        an ERROR line, and a missing file is not an error of the run (it is counted, reported
        as a crawl issue and tried again next time)."""
        message = strip_control(str(failure.value)) or type(failure.value).__name__
        error: Exception
        if failure.check(DownloadCancelledError) and "max size" in message:
            size = re.search(r"receive (\d+) bytes", message)
            error = AttachmentTooLarge(int(size[1]) if size else None, self.max_bytes)
        elif failure.check(IgnoreRequest):
            error = AttachmentFetchFailed(f"not fetched: {message}")
        else:
            error = AttachmentFetchFailed(message[:300])
        self.failures[request.url] = error

    def item_completed(self, results: list[Any], item: Any, info: Any) -> Any:
        self.results[id(item)] = results
        return item

    # --- per article -------------------------------------------------------------------------
    async def process_item(self, item: Any, spider: Any = None) -> Any:
        links = self.plan(item)
        key, site = item.get("article_key"), item.get("site")
        if not links:
            if key in self.with_files:  # its page no longer links any file
                await self._write(item, [], [])
            return item
        fetched = [link for link in links if link.action == "fetch"]
        results: list[Any] = []
        if fetched:
            await super().process_item(item)
            results = self.results.pop(id(item), [])
        rows = [
            self._outcome(link, ok, value, item)
            for link, (ok, value) in zip(fetched, results, strict=True)
        ]
        for link in links:
            self.stats.inc_value(f"govcrawl/attachments/links/{link.action}")
            if link.action == "offsite":
                logger.warning(
                    "attachment %s of %s is on another host: recorded, not fetched",
                    link.url, item.get("url"),
                )  # fmt: skip
                rows.append(link.row(key, site, status="offsite",
                                     error="on another host than the profile's: not fetched"))  # fmt: skip
        reused = [link for link in links if link.action == "reuse"]
        if await self._write(item, rows, reused):
            for row in rows:
                if row["status"] in SETTLED:
                    self.known[row["url"]] = row["status"]
        return item

    async def _write(self, item: Any, rows: list[dict[str, Any]], reused: list[Link]) -> bool:
        assert self.engine is not None
        key, site = item.get("article_key"), item.get("site")
        try:
            await maybe_deferred_to_future(
                threads.deferToThread(write_attachments, self.engine, key, site, rows, reused)
            )
        except Exception as exc:  # the article itself is still stored; its files next time
            self.stats.inc_value("govcrawl/attachments/write_failed")
            logger.error(
                "could not store the attachments of %s: %s; the next crawl of the article "
                "records them", item.get("url"), error_reason(exc),
            )  # fmt: skip
            return False
        if rows or reused:
            self.with_files.add(key)
        else:
            self.with_files.discard(key)
        return True

    def _outcome(self, link: Link, ok: bool, value: Any, item: Any) -> dict[str, Any]:
        key, site, page = item.get("article_key"), item.get("site"), item.get("url")
        now = datetime.now(UTC)
        if ok and value:
            found, size = self.read[value["checksum"]]
            self.stats.inc_value(f"govcrawl/attachments/{found.status}")
            if found.status == "corrupt":
                logger.warning("attachment %s of %s is corrupt: %s", link.url, page, found.reason)
            return link.row(key, site, status=found.status, sha256=value["checksum"], size=size,
                            path=value["path"], fetched_at=now, text=found.text,
                            error=found.reason)  # fmt: skip
        error = self.failures.get(link.url) or getattr(value, "value", None)
        if error is None:
            error = AttachmentFetchFailed("the fetch gave no file")
        reason = str(error) or type(error).__name__
        if isinstance(error, AttachmentTooLarge):
            status, kind, size = "oversized", "attachment_too_large", error.size
        else:
            status, kind, size = "failed", "attachment_failed", None
        self.stats.inc_value(f"govcrawl/attachments/{status}")
        self.stats.inc_value(f"govcrawl/issues/{kind}")
        logger.warning("%s: %s (attachment of %s): %s", kind, link.url, page, reason)
        self.crawler.signals.send_catch_log(
            issue_reported, kind=kind, url=link.url, reason=reason, spider=self.crawler.spider
        )
        return link.row(key, site, status=status, size=size, fetched_at=now, error=reason)

"""The raw archive: every reply that became an article, kept as WARC, so a fixed extractor can
re-read it (``govcrawl reparse``) without asking the portal again.

``WarcArchive`` is a spider middleware: when a listing reply or an article page yields an
article (or a listing reply yields the request of an article's page), the reply is written once
to the run's WARC file under ``GOVCRAWL_ARCHIVE_DIR/<site>/`` — a ``response`` record with the
body as the spider read it — and the item carries the pointer (``<site>/<file>#<offset>``) to
the store, which keeps it in ``articles.archive_page`` and ``articles.archive_listing``. 304s, errors and replies that produced nothing are not kept.

A reply whose request had a body (a listing's POST) is followed by its ``request`` record; a
GET is its URL. Files are ``<site>-<start>-<pid>-<n>.warc.gz``, one gzip member per record (a
pointer's offset is where its member starts), a new file once one reaches
``GOVCRAWL_ARCHIVE_MAX_BYTES``.
When a crawl of a site starts, its files older than ``GOVCRAWL_ARCHIVE_KEEP_DAYS`` that no
article points at any more are deleted (0: never). ``GOVCRAWL_ARCHIVE = False`` switches it
off. Stats: ``govcrawl/archive/records``, ``…/bytes``, ``…/files``, ``…/write_errors``,
``…/pruned_files``.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zlib
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware
from sqlalchemy import text
from sqlalchemy.engine import Engine
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.profiles import Channel

logger = logging.getLogger(__name__)

# which callback read the reply, and its arguments (channels by code): what reparse calls again
CALLBACK_HEADER = "WARC-Govcrawl-Callback"
ARGUMENTS_HEADER = "WARC-Govcrawl-Arguments"
SITE_HEADER = "WARC-Govcrawl-Site"
# the body is stored decoded, as the spider read it: these would no longer describe it
_DROPPED_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
# request.meta key: the pointer of the listing reply an article page request came from
LISTING_RECORD = "govcrawl_listing_record"
_ARCHIVED = "govcrawl_archived"


class ArchiveReadError(Exception):
    """A record that cannot be read back (missing file, bad offset, corrupt data); the message
    says which and why."""


@dataclass(frozen=True)
class RecordPointer:
    """Where a response record starts: a file relative to the archive folder, and an offset."""

    path: str
    offset: int

    def __str__(self) -> str:
        return f"{self.path}#{self.offset}"

    @classmethod
    def parse(cls, value: str) -> RecordPointer:
        path, sep, offset = value.rpartition("#")
        if not sep or not path or not offset.isdigit():
            raise ArchiveReadError(f"{value!r} is not an archive pointer (file#offset)")
        return cls(path, int(offset))


@dataclass
class ArchivedResponse:
    """One response record read back."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    method: str
    request_body: bytes
    callback: str | None
    arguments: dict[str, Any] | None
    record_id: str


class ArchiveWriter:
    """Appends response and request records to rotating WARC files of one site and run."""

    def __init__(self, root: Path, site: str, max_bytes: int, started: datetime | None = None):
        self.root = root
        self.site = site
        self.folder = root / site
        self.max_bytes = max_bytes
        stamp = (started or datetime.now()).strftime("%Y%m%d-%H%M%S")
        self.prefix = f"{site}-{stamp}-{os.getpid()}"
        self.sequence = 0
        self.files: list[Path] = []
        self.bytes = 0
        self.records = 0
        self._file: Any = None
        self._writer: WARCWriter | None = None

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sequence += 1
        path = self.folder / f"{self.prefix}-{self.sequence:05d}.warc.gz"
        self._file = open(path, "xb")  # noqa: SIM115 - kept open across records
        self._writer = WARCWriter(self._file, gzip=True)
        self.files.append(path)
        info = self._writer.create_warcinfo_record(
            path.name, {"software": "govcrawl", "format": "WARC File Format 1.1"}
        )
        self._writer.write_record(info)

    def write(
        self,
        response: Response,
        callback: str | None,
        arguments: dict[str, Any] | None,
    ) -> RecordPointer:
        """Write one reply (and its request); return the pointer to its response record."""
        if self._writer is None or self._file.tell() >= self.max_bytes:
            self.close()
            self._open()
        assert self._writer is not None
        writer, out = self._writer, self._file
        request = response.request
        body = response.body
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, values in response.headers.items()
            if name.decode("latin-1").lower() not in _DROPPED_HEADERS
            for value in values
        ]
        headers.append(("Content-Length", str(len(body))))
        reason = _REASONS.get(response.status, "")
        http = StatusAndHeaders(f"{response.status} {reason}".strip(), headers, protocol="HTTP/1.1")
        warc_headers = {SITE_HEADER: self.site}
        if callback:
            warc_headers[CALLBACK_HEADER] = callback
        if arguments is not None:
            warc_headers[ARGUMENTS_HEADER] = json.dumps(arguments, ensure_ascii=True)
        record = writer.create_warc_record(
            response.url, "response", payload=BytesIO(body), length=len(body),
            http_headers=http, warc_headers_dict=warc_headers,
        )  # fmt: skip
        offset = out.tell()
        writer.write_record(record)
        # a GET is its URL: a request record only for a request with a body (a listing's POST),
        # which costs 40% of the archive's time and 15% of its bytes when written for every page
        if request is not None and (request.method != "GET" or request.body):
            parts = urlsplit(request.url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            request_headers = [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, values in request.headers.items()
                for value in values
            ]
            http_request = StatusAndHeaders(
                f"{request.method} {target} HTTP/1.1", request_headers, is_http_request=True
            )
            request_record = writer.create_warc_record(
                response.url, "request", payload=BytesIO(request.body),
                length=len(request.body), http_headers=http_request,
                warc_headers_dict={
                    "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID")
                },
            )  # fmt: skip
            writer.write_record(request_record)
        self.bytes += out.tell() - offset
        self.records += 1
        return RecordPointer(f"{self.site}/{self.files[-1].name}", offset)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None


_REASONS = {200: "OK", 201: "Created", 203: "Non-Authoritative Information", 206: "Partial Content"}


def read_record(root: Path, pointer: str | RecordPointer) -> ArchivedResponse:
    """The response record a pointer names, its digests checked; ArchiveReadError says why
    it cannot be read."""
    where = pointer if isinstance(pointer, RecordPointer) else RecordPointer.parse(pointer)
    path = root / where.path
    try:
        with open(path, "rb") as stream:
            stream.seek(where.offset)
            records = ArchiveIterator(stream, check_digests="raise")
            record = next(records)
            if record.rec_type != "response":
                raise ArchiveReadError(f"{where}: a {record.rec_type} record, not a response")
            if record.http_headers is None:  # damaged bytes that still inflate, as garbage
                raise ArchiveReadError(f"{where}: the record is unreadable (no HTTP headers)")
            body = record.raw_stream.read()  # reading to the end checks the payload digest
            warc = record.rec_headers
            response = ArchivedResponse(
                url=warc.get_header("WARC-Target-URI") or "",
                status=int(record.http_headers.get_statuscode() or 0),
                headers=list(record.http_headers.headers),
                body=body,
                method="GET",
                request_body=b"",
                callback=warc.get_header(CALLBACK_HEADER),
                arguments=_arguments(warc.get_header(ARGUMENTS_HEADER)),
                record_id=warc.get_header("WARC-Record-ID") or "",
            )
            request = next(records, None)  # its request record follows it, if it has one
            if (
                request is not None
                and request.rec_type == "request"
                and request.rec_headers.get_header("WARC-Concurrent-To") == response.record_id
            ):
                response.method = request.http_headers.protocol.split(" ")[0] or "GET"
                response.request_body = request.raw_stream.read()
            return response
    except FileNotFoundError:
        raise ArchiveReadError(f"{where.path}: the archive file is missing ({path})") from None
    except ArchiveReadError:
        raise
    except (OSError, EOFError, ValueError, StopIteration, zlib.error, ArchiveLoadFailed) as exc:
        what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArchiveReadError(f"{where}: the record is unreadable ({what[:200]})") from None


def _arguments(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise ArchiveReadError(f"bad {ARGUMENTS_HEADER} header {raw[:100]!r}") from None
    return value if isinstance(value, dict) else None


def encode_arguments(cb_kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """A callback's arguments as JSON: channels by code, the listing entry of a page request
    left out (reparse takes it from the listing's record); None when one is not plain data."""
    out: dict[str, Any] = {}
    for name, value in cb_kwargs.items():
        if name == "entry":
            continue
        if isinstance(value, Channel):
            out[name] = {"$channel": value.code}
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return None
        out[name] = value
    return out


def decode_arguments(arguments: dict[str, Any], channel_of: Any) -> dict[str, Any]:
    """``encode_arguments`` undone; ``channel_of(code)`` gives the profile's channel."""
    return {
        name: channel_of(value["$channel"])
        if isinstance(value, dict) and set(value) == {"$channel"}
        else value
        for name, value in arguments.items()
    }


def archive_root(settings: Any) -> Path:
    """``GOVCRAWL_ARCHIVE_DIR``, else ``GOVCRAWL_HOME/archive``."""
    folder = settings.get("GOVCRAWL_ARCHIVE_DIR") or ""
    return Path(folder) if folder else Path(settings.get("GOVCRAWL_HOME")) / "archive"


REFERENCED_FILES = text(
    """
    SELECT DISTINCT split_part(p, '#', 1) FROM (
        SELECT archive_page AS p FROM articles WHERE site = :site
        UNION ALL SELECT archive_listing FROM articles WHERE site = :site
    ) AS pointers WHERE p IS NOT NULL
    """
)


def prune_archive(
    engine: Engine, root: Path, site: str, keep_days: float, now: float | None = None
) -> list[Path]:
    """Delete the site's archive files older than ``keep_days`` that no article points at;
    return them. ``keep_days`` 0 keeps every file."""
    folder = root / site
    if keep_days <= 0 or not folder.is_dir():
        return []
    with engine.connect() as conn:
        referenced = set(conn.execute(REFERENCED_FILES, {"site": site}).scalars())
    cutoff = (now if now is not None else time.time()) - keep_days * 86400
    pruned = []
    for path in sorted(folder.glob("*.warc.gz")):
        if f"{site}/{path.name}" in referenced or path.stat().st_mtime >= cutoff:
            continue
        path.unlink()
        pruned.append(path)
    return pruned


def _callback_name(request: Request, spider: Any) -> str | None:
    """``spider.<method>`` or ``platform.<method>``: what reparse calls on its replica."""
    callback = request.callback
    owner = getattr(callback, "__self__", None)
    if owner is None:
        return None
    if owner is spider:
        return f"spider.{callback.__name__}"
    if owner is getattr(spider, "platform", None):
        return f"platform.{callback.__name__}"
    return None


class WarcArchive(BaseSpiderMiddleware):
    """Writes each reply that produced an article to the run's WARC file and gives the items
    their pointers (see the module's docstring)."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.root = archive_root(settings)
        self.max_bytes = settings.getint("GOVCRAWL_ARCHIVE_MAX_BYTES")
        self.keep_days = settings.getfloat("GOVCRAWL_ARCHIVE_KEEP_DAYS")
        self.stats = crawler.stats
        self.writer: ArchiveWriter | None = None
        self.failing = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> WarcArchive:
        if not crawler.settings.getbool("GOVCRAWL_ARCHIVE"):
            raise NotConfigured("GOVCRAWL_ARCHIVE is off")
        archive = cls(crawler)
        crawler.signals.connect(archive.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(archive.spider_closed, signal=signals.spider_closed)
        return archive

    def spider_opened(self, spider: Any) -> None:
        site = spider.profile.name
        self.writer = ArchiveWriter(self.root, site, self.max_bytes)
        self._prune(site)

    def _prune(self, site: str) -> None:
        if self.keep_days <= 0 or not (self.root / site).is_dir():
            return
        from crawler.database import engine_from_settings

        try:
            engine = engine_from_settings(self.crawler.settings)
            pruned = prune_archive(engine, self.root, site, self.keep_days)
        except Exception as exc:  # the crawl goes on; the files are pruned next time
            self.stats.inc_value("govcrawl/archive/prune_failed")
            logger.warning("could not prune the archive of %s: %s", site, exc)
            return
        if pruned:
            self.stats.inc_value("govcrawl/archive/pruned_files", len(pruned))
            logger.info(
                "archive: deleted %d file(s) of %s older than %g days that no article points at",
                len(pruned), site, self.keep_days,
            )  # fmt: skip

    def spider_closed(self, spider: Any) -> None:
        if self.writer is not None:
            self.writer.close()
            self.stats.set_value("govcrawl/archive/files", len(self.writer.files))

    def _archive(self, response: Response) -> str | None:
        """The pointer of ``response``'s record, written on first use; None if not kept."""
        meta = response.meta
        if _ARCHIVED in meta:
            return meta[_ARCHIVED]
        pointer = None
        if self.writer is not None and 200 <= response.status < 300 and not self.failing:
            request = response.request
            spider = self.crawler.spider
            arguments = encode_arguments(request.cb_kwargs) if request is not None else None
            callback = _callback_name(request, spider) if request is not None else None
            try:
                pointer = str(self.writer.write(response, callback, arguments))
            except OSError as exc:  # a full disk: counted, logged once, the crawl goes on
                self.failing = True
                self.stats.inc_value("govcrawl/archive/write_errors")
                logger.error("archive: cannot write %s (%s); no more replies are archived "
                             "this run", self.writer.folder, exc)  # fmt: skip
            else:
                self.stats.inc_value("govcrawl/archive/records")
                self.stats.set_value("govcrawl/archive/bytes", self.writer.bytes)
        elif self.failing:
            self.stats.inc_value("govcrawl/archive/not_archived")
        meta[_ARCHIVED] = pointer
        return pointer

    def get_processed_request(self, request: Request, response: Response | None) -> Request:
        # a listing reply that sends for an article's page: the page's item needs the
        # listing's record too (the listing's fields win on some platforms)
        if response is not None and request.cb_kwargs.get("entry") is not None:
            request.meta[LISTING_RECORD] = self._archive(response)
        return request

    def get_processed_item(self, item: Any, response: Response | None) -> Any:
        if response is None or "archive_page" not in getattr(item, "fields", {}):
            return item
        spider = self.crawler.spider
        from_page = response.request is not None and response.request.callback == getattr(
            spider, "parse_article", None
        )
        if not from_page:  # an article the listing reply holds whole
            item["archive_listing"] = self._archive(response)
            item["archive_page"] = None
        else:
            item["archive_listing"] = response.meta.get(LISTING_RECORD)
            # a withdrawn article's page that only said it is back: the listing is the source
            used_page = item.get("fetched_from") == "page"
            item["archive_page"] = self._archive(response) if used_page else None
        if item["archive_page"] is None and item["archive_listing"] is None:
            self.stats.inc_value("govcrawl/archive/items_without_record")
        return item

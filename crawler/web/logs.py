"""A run's log file: read whole, read its tail, and followed live as server-sent events.

Offsets are byte offsets into the file and only whole lines are sent, so a reconnecting
EventSource (``Last-Event-ID``) resumes exactly where it stopped."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi.concurrency import run_in_threadpool

from crawler.web.errors import NotFound

TAIL_BYTES = 512 * 1024
CHUNK_BYTES = 256 * 1024
KEEPALIVE_SECONDS = 15.0


def log_file(record: dict[str, Any]) -> Path:
    """The run's log file; NotFound says why there is none (as ``govcrawl logs`` does)."""
    path = record["log_path"]
    if not path:
        raise NotFound(
            f"run {record['id']} has no log file (it logged to a terminal: `scrapy crawl`, "
            "or `govcrawl crawl --log-file -`)"
        )
    if not Path(path).exists() and record["status"] not in ("queued", "running"):
        raise NotFound(
            f"the log file of run {record['id']} is gone; old logs are removed by the "
            "retention policy GOVCRAWL_LOG_KEEP_RUNS / GOVCRAWL_LOG_KEEP_DAYS"
        )
    return Path(path)


def tail(path: Path, limit: int = TAIL_BYTES) -> tuple[str, int, bool]:
    """The last ``limit`` bytes of the log from a line start: text, end offset, cut or not."""
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            start = max(size - limit, 0)
            log.seek(start)
            data = log.read(size - start)
    except FileNotFoundError:
        return "", 0, False
    if start:
        data = data[data.find(b"\n") + 1 :]
    complete = data.rfind(b"\n") + 1  # a line still being written comes with the events
    return data[:complete].decode("utf-8", "replace"), size - (len(data) - complete), bool(start)


def read_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read(CHUNK_BYTES)
    except FileNotFoundError:
        return b""


def event(data: str, kind: str | None = None, ident: int | None = None) -> str:
    lines = [f"event: {kind}"] if kind else []
    if ident is not None:
        lines.append(f"id: {ident}")
    lines += [f"data: {line}" for line in data.split("\n")]
    return "\n".join(lines) + "\n\n"


async def follow(
    path: Path, offset: int, over: Callable[[], str | None], poll: float = 0.5
) -> AsyncIterator[str]:
    """Events of the lines written to ``path`` from ``offset`` on, until ``over()`` says the
    run ended ("" or why to stop following); then an ``end`` event."""
    quiet = 0.0
    while True:
        ended = await run_in_threadpool(over)  # asked before reading: no line is missed
        while True:
            data = await run_in_threadpool(read_from, path, offset)
            whole = data if ended is not None else data[: data.rfind(b"\n") + 1]
            if not whole:
                break
            offset += len(whole)
            quiet = 0.0
            text = whole.decode("utf-8", "replace").replace("\r", "").rstrip("\n")
            yield event(text, ident=offset)
            if len(data) < CHUNK_BYTES:
                break
        if ended is not None:
            yield event(ended or "the run ended", kind="end", ident=offset)
            return
        if quiet >= KEEPALIVE_SECONDS:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(poll)
        quiet += poll

"""CrawlProgress: a crawl's progress, live on the terminal, instead of Scrapy's stats dump.

Three lines on stderr, redrawn from the stats collector twice a second (a LoopingCall on the
crawl's reactor: the stats are the one source, as for the run record and the monitors)::

    listing  ━━━━━━━━━━━╺━━━━━━━━  58% 11 pages, 156 of 268 entries, about 0:00:07 left
    articles                          151 fetched: 128 new, 0 updated, 0 unchanged, 0 invalid
    failures                          2 bad listing replies

The listing line measures the entries listed against the totals the listings announce
(``govcrawl/listing/total/<channel>``); its time left assumes every channel is listed to its
end, as in a first or a full run: an incremental run stops paging early and its bar jumps to
the end. Off unless ``GOVCRAWL_PROGRESS`` is true, and whenever stderr is not a terminal that
can redraw lines: ``govcrawl crawl`` and ``govcrawl demo`` turn it on on a terminal, never with
``--quiet``, for the scheduler's crawls or when the log goes to the terminal.
"""

from __future__ import annotations

import atexit
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn
from rich.table import Column
from rich.text import Text
from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler.monitors import counted, issue_name

REFRESH_SECONDS = 0.5


class WithTotal(ProgressColumn):
    """A column shown on the lines that have a total (the others have nothing to measure)."""

    def __init__(self, column: ProgressColumn) -> None:
        super().__init__()
        self.column = column

    def render(self, task: Task) -> Any:
        return self.column.render(task) if task.total is not None else Text("")


class Words(ProgressColumn):
    """A line's words, and on a line with a total the time its rest should take."""

    def __init__(self) -> None:
        super().__init__(table_column=Column(no_wrap=True, overflow="ellipsis"))

    def render(self, task: Task) -> Text:
        words = task.fields.get("words", "")
        left = task.time_remaining
        if task.total is not None and not task.finished and left is not None:
            minutes, seconds = divmod(int(left), 60)
            hours, minutes = divmod(minutes, 60)
            words += f", about {hours}:{minutes:02d}:{seconds:02d} left"
        return Text(words)


def listing_line(stats: dict[str, Any]) -> tuple[int, int | None, str]:
    """Entries listed, the entries the listings announce (None before the first reply says),
    and the line's words."""
    pages = int(stats.get("govcrawl/listing/pages", 0))
    listed = int(stats.get("govcrawl/listing/entries", 0)) + int(
        stats.get("govcrawl/listing/unreadable_records", 0)
    )
    totals = [int(v) for k, v in stats.items() if k.startswith("govcrawl/listing/total/")]
    total = sum(totals) if totals else None
    of = f" of {total}" if total is not None else ""
    return listed, total, f"{counted(pages, 'page')}, {listed}{of} entries"


def articles_line(stats: dict[str, Any]) -> str:
    get = stats.get
    dropped = int(get("govcrawl/items/dropped", 0))
    fetched = int(get("item_scraped_count", 0)) + dropped
    words = (
        f"{fetched} fetched: {get('govcrawl/items/new', 0)} new, "
        f"{get('govcrawl/items/updated', 0)} updated, {get('govcrawl/items/unchanged', 0)} "
        f"unchanged, {dropped} invalid"
    )
    also = int(get("govcrawl/items/more_channels", 0))  # one article, listed by two channels
    if also:
        words += f", {also} in two channels"
    gone = int(get("govcrawl/pages/gone", 0)) + int(get("govcrawl/issues/gone", 0))
    withdrawn = int(get("govcrawl/items/withdrawn", 0))  # known when the run closes
    if gone or withdrawn:
        words += f"; {gone} gone" + (f", {withdrawn} withdrawn" if withdrawn else "")
    return words


def failures_line(stats: dict[str, Any]) -> str:
    prefix = "govcrawl/issues/"
    found = {
        k[len(prefix) :]: int(v)
        for k, v in stats.items()
        if k.startswith(prefix) and k[len(prefix) :] != "gone" and v
    }
    if not found:
        return "none"
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{n} {issue_name(kind, n)}" for kind, n in ranked)


class CrawlProgress:
    """The extension: ``console`` is stderr's unless given (a test gives a fake terminal)."""

    def __init__(self, crawler: Any, console: Console | None = None) -> None:
        self.crawler = crawler
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description:<8}", style="bold"),
            WithTotal(BarColumn(bar_width=20)),
            WithTotal(TaskProgressColumn()),
            Words(),
            console=self.console,
            auto_refresh=False,  # redrawn by the LoopingCall: no thread of rich's own
            transient=False,  # the last frame stays: what the run did, above its summary
        )
        self.listing = self.progress.add_task("listing", total=None, words="")
        self.articles = self.progress.add_task("articles", total=None, words="")
        self.failures = self.progress.add_task("failures", total=None, words="")
        self.loop = task.LoopingCall(self.refresh)

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlProgress:
        if not crawler.settings.getbool("GOVCRAWL_PROGRESS", False):
            raise NotConfigured("GOVCRAWL_PROGRESS is off")
        progress = cls(crawler)
        if not progress.console.is_terminal or progress.console.is_dumb_terminal:
            raise NotConfigured("stderr is not a terminal that can redraw a line")
        crawler.signals.connect(progress.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(progress.spider_closed, signal=signals.spider_closed)
        return progress

    def spider_opened(self, spider: Any) -> None:
        self.progress.start()
        atexit.register(self.progress.stop)  # a crawl killed mid-run gets its cursor back
        self.loop.start(REFRESH_SECONDS, now=True)

    def refresh(self) -> None:
        stats = self.crawler.stats.get_stats()
        listed, total, words = listing_line(stats)
        self.progress.update(self.listing, completed=min(listed, total or listed), total=total,
                             words=words)  # fmt: skip
        self.progress.update(self.articles, words=articles_line(stats))
        self.progress.update(self.failures, words=failures_line(stats))
        self.progress.refresh()

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.loop.running:
            self.loop.stop()
        self.refresh()
        listed = self.progress.tasks[self.listing].completed
        self.progress.update(self.listing, total=listed or None)  # done: the bar is full
        self.progress.refresh()
        self.progress.stop()
        atexit.unregister(self.progress.stop)

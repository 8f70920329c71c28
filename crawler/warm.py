"""Crawls forked from a warm process: the imports and set-up paid once, not once per run.

A long-lived worker keeps a fork server (``multiprocessing`` start method ``forkserver``) that
has run :func:`preload`; each crawl is a child forked from it that calls
:func:`crawl_in_child` (or :func:`child_main`, as the ``Process`` target), which is
``govcrawl crawl …`` run in that child. Each crawl is still its own process: one that crashes
or leaks takes only itself down, and the next child starts from the same clean fork server.
Importing this module preloads (see the end): it is what a fork server is given::

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["crawler.warm"])
    child = ctx.Process(target=child_main, args=(["crawl", "nync", "-s", "GOVCRAWL_RUN_ID=7"],))
    child.start(); child.join()  # child.exitcode: 0 succeeded, 3 degraded, 1 failed, …

What :func:`preload` may do is limited by what a fork copies: no Twisted reactor (Scrapy
installs the one ``TWISTED_REACTOR`` names, in the child), no database connection or engine,
no thread, no logging set-up, nothing read from the environment that a child should read
afresh (``crawler.settings`` is re-read in every child).
"""

from __future__ import annotations

import atexit
import importlib
import logging
import re
import sys
from typing import NoReturn

# What a no-change `govcrawl crawl` imports besides the components the settings name (those
# are added below, so that a component added to the settings is preloaded too); each a module
# whose import does no work a child must redo: no reactor, thread or connection.
_COMMAND_MODULES = [
    # the command, and what its parser and error handling import
    "crawler.cli",
    "crawler.schedule_cmd",
    "crawler.watch_cmd",
    "crawler.web.cli",
    "crawler.query",
    "crawler.search",
    "crawler.database",
    "crawler.models",
    "crawler.profiles",
    "crawler.locks",
    "alembic.command",
    "alembic.config",
    "alembic.runtime.migration",
    "alembic.script",
    "psycopg2.extras",
    "sqlalchemy.dialects.postgresql.psycopg2",
    # the spider, its platforms and extraction
    "crawler.spiders.portal",
    "crawler.platforms.querylist",
    "crawler.platforms.jcms",
    "crawler.platforms.trs",
    "crawler.platforms.jpaas",
    "crawler.platforms.generic",
    # every component the settings name, enabled or not (Scrapy imports a disabled one too,
    # to know what it disables)
    "crawler.middlewares",
    "crawler.logformatter",
    "crawler.monitors",
    "crawler.runs",
    "crawler.watches",
    "crawler.progress",
    "crawler.incremental.extension",
    "pipelines.normalise",
    "pipelines.validate",
    "pipelines.dedup",
    "pipelines.store",
    "spidermon.contrib.scrapy.extensions",
    "scrapy.crawler",
    "scrapy.core.engine",
    "scrapy.core.scheduler",
    "scrapy.core.scraper",
    "scrapy.core.downloader.handlers.datauri",
    "scrapy.core.downloader.handlers.file",
    "scrapy.core.downloader.handlers.ftp",
    "scrapy.core.downloader.handlers.http11",
    "scrapy.core.downloader.handlers.s3",
    "scrapy.downloadermiddlewares.cookies",
    "scrapy.downloadermiddlewares.defaultheaders",
    "scrapy.downloadermiddlewares.downloadtimeout",
    "scrapy.downloadermiddlewares.httpauth",
    "scrapy.downloadermiddlewares.httpcache",
    "scrapy.downloadermiddlewares.httpcompression",
    "scrapy.downloadermiddlewares.httpproxy",
    "scrapy.downloadermiddlewares.offsite",
    "scrapy.downloadermiddlewares.redirect",
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.downloadermiddlewares.stats",
    "scrapy.downloadermiddlewares.useragent",
    "scrapy.dupefilters",
    "scrapy.extensions.closespider",
    "scrapy.extensions.corestats",
    "scrapy.extensions.feedexport",
    "scrapy.extensions.logcount",
    "scrapy.extensions.logstats",
    "scrapy.extensions.memdebug",
    "scrapy.extensions.memusage",
    "scrapy.extensions.postprocessing",
    "scrapy.extensions.remote_control",
    "scrapy.extensions.spiderstate",
    "scrapy.extensions.telnet",
    "scrapy.extensions.throttle",
    "scrapy.pqueues",
    "scrapy.robotstxt",
    "scrapy.spidermiddlewares.depth",
    "scrapy.spidermiddlewares.httperror",
    "scrapy.spidermiddlewares.referer",
    "scrapy.spidermiddlewares.start",
    "scrapy.spidermiddlewares.urllength",
    "scrapy.squeues",
    "scrapy.statscollectors",
    "scrapy.utils.project",
    "twisted.internet.asyncioreactor",  # the module only: installing it is the child's
    "concurrent.futures.thread",
    "encodings.idna",
    "encodings.utf_8_sig",
]
# a dotted path to a class or module of these packages, as settings name components
_COMPONENT = re.compile(r"(?:scrapy|twisted|spidermon|crawler|pipelines)(?:\.\w+)+")


def _component_modules() -> list[str]:
    """The modules of every component Scrapy's defaults and ``crawler.settings`` name, enabled
    or not (Scrapy imports a disabled one too, to know what it disables)."""
    from scrapy.settings import default_settings

    from crawler import settings

    found: dict[str, None] = {}
    for module in (default_settings, settings):
        for name in dir(module):
            value = getattr(module, name)
            if not name.isupper():
                continue
            paths = value if isinstance(value, (dict, list, tuple)) else [value]
            for path in paths:
                if isinstance(path, str) and _COMPONENT.fullmatch(path):
                    found[path.rpartition(".")[0]] = None
    return list(found)


PRELOAD: list[str] = list(dict.fromkeys(_COMMAND_MODULES + _component_modules()))


def preload() -> None:
    """Import :data:`PRELOAD` and do the per-process work that is safe before a fork."""
    for name in PRELOAD:
        importlib.import_module(name)
    from crawler.cli import build_parser
    from crawler.database import head_revisions

    build_parser()  # imports every subcommand's module, as `govcrawl crawl` does
    head_revisions()  # the migrations' heads: read from disk once, not by every crawl


def crawl_in_child(argv: list[str]) -> int:
    """Run ``govcrawl <argv>`` (``["crawl", site, …]``) in this process and return its exit
    code, as the command's would be (0 succeeded, 3 degraded, 1 failed, 2 bad input or no
    database, 4 the site is busy; see ``crawler.cli``).

    Only for a child that ends afterwards (a fork server's child): a Twisted reactor runs once
    per process. The exit hooks the crawl registers (the embedded PostgreSQL's user list) run
    before it returns, as they would at the command's exit — a ``multiprocessing`` child ends
    with ``os._exit`` and would skip them — and those inherited from the fork server do not."""
    atexit._clear()  # the fork server's hooks are its own, not this child's
    try:
        from crawler.cli import EXIT_BAD_INPUT, main

        try:
            _fresh_settings()
        except SystemExit as exc:  # a bad GOVCRAWL_* number: one line said, exit 2
            return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
        return main(argv)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        atexit._run_exitfuncs()
        logging.shutdown()


def child_main(argv: list[str]) -> NoReturn:
    """A ``multiprocessing.Process`` target: the crawl's exit code becomes the child's."""
    raise SystemExit(crawl_in_child(argv))


def _fresh_settings() -> None:
    """``crawler.settings`` reads the environment when imported: re-read it in the child, so a
    crawl sees the environment it runs in, as a new process would."""
    module = sys.modules.get("crawler.settings")
    if module is not None:
        importlib.reload(module)


# A fork server is given module names to import, not functions to call: importing this module
# is its preload. (1.0–1.5 CPU-s, once per fork server.)
preload()

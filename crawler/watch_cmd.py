"""``govcrawl watch``: keyword watches from the command line (see ``crawler/watches.py``).

govcrawl watch add pests 病虫害 --channel 病虫预报 --webhook https://example.org/hook
govcrawl watch list                 # hits, delivered, pending, last error of each watch
govcrawl watch test pests [--send]  # what it matches now; --send posts a test delivery
govcrawl watch remove pests

Errors are the one line and exit codes of ``crawler.cli`` (2: bad input, unknown watch).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

# the command-line parts shared with crawler.cli are imported when a command runs: cli.py
# imports this module to build its parser


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``watch add|list|remove|test`` to the ``govcrawl`` subcommands."""
    from crawler.cli import MAX_LIMIT, _count

    watch = subparsers.add_parser(
        "watch", help="keyword watches: saved searches whose new articles are sent after each run",
        description="A watch is a saved search (terms and filters, as for `govcrawl search`) "
        "with a webhook and/or an e-mail address. After each run, the articles first stored "
        "since the watch was created that match it are sent, once.",
    )  # fmt: skip
    sub = watch.add_subparsers(dest="watch_command", required=True)

    add = sub.add_parser("add", help="save a watch")
    add.add_argument("name", help="the watch's name: letters, digits, '-', '_', '.'")
    add.add_argument("text", nargs="+", metavar="TERM", help="search terms, e.g. 病虫害")
    add.add_argument("--site", help="only this site (profile name)")
    add.add_argument("--channel", help="only this channel (code, or name as in the profile)")
    add.add_argument("--source", help="only articles whose source (来源) contains this")
    add.add_argument("--since", help="published on or after this day (YYYY-MM-DD or YYYY-MM)")
    add.add_argument("--until", help="published on or before this day (YYYY-MM-DD or YYYY-MM)")
    add.add_argument(
        "--status", choices=("active", "withdrawn", "all"), default="active",
        help="active (default): still on the portal; withdrawn: taken down; all",
    )  # fmt: skip
    add.add_argument("--webhook", metavar="URL", help="POST new articles here as JSON")
    add.add_argument("--email", metavar="ADDRESS", help="e-mail new articles here")
    add.set_defaults(func=cmd_add)

    listing = sub.add_parser("list", help="every watch: hits, delivered, pending, last error")
    listing.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default="table")
    listing.set_defaults(func=cmd_list)

    remove = sub.add_parser("remove", help="delete a watch and its hits")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_remove)

    test = sub.add_parser(
        "test", help="what a watch matches now; --send posts a test delivery",
        description="Print the articles the watch's search finds now, whenever stored (after "
        "each run it sends only those first stored after it was created). With --send, send "
        'the newest of them to its webhook and e-mail address, marked "test": true; nothing '
        "is marked delivered.",
    )  # fmt: skip
    test.add_argument("name")
    test.add_argument("--limit", type=_count(1, MAX_LIMIT), default=20)
    test.add_argument("--send", action="store_true", help="send a test delivery")
    test.set_defaults(func=cmd_test)
    return watch


def _engine(args: argparse.Namespace) -> Any:
    from crawler.cli import _query_engine

    return _query_engine(args)


def _settings_of(args: argparse.Namespace) -> Any:
    from crawler.cli import _settings

    return _settings(args)


def _known_sites(engine: Any, args: argparse.Namespace) -> set[str]:
    """Sites a watch may name: every profile's, and every site the database has runs of."""
    from crawler.profiles import ProfileError, list_profiles
    from crawler.watches import known_sites

    try:
        names = [p.name for p in list_profiles(_settings_of(args).get("GOVCRAWL_PROFILES_DIR"))]
    except ProfileError:
        names = []
    return known_sites(engine, names)


def cmd_add(args: argparse.Namespace) -> int:
    from crawler.cli import UsageError, _filters
    from crawler.extraction.text import CHINA_TZ
    from crawler.watches import WatchError, add_watch, check_watch

    filters = _filters(args)  # a channel name becomes its code, as for `govcrawl search`
    try:  # before the database: a mistake is named even when there is none
        check_watch(args.name, " ".join(args.text), filters, args.webhook, args.email)
    except WatchError as exc:
        raise UsageError(str(exc)) from None
    engine = _engine(args)
    if filters.site is not None and filters.site not in (known := _known_sites(engine, args)):
        shown = ", ".join(sorted(known)) or "none yet"
        raise UsageError(f"--site {filters.site!r}: no such site (known: {shown})")
    try:
        watch = add_watch(engine, args.name, " ".join(args.text), filters, args.webhook,
                          args.email)  # fmt: skip
    except WatchError as exc:
        raise UsageError(str(exc)) from None
    created = watch["created_at"].astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
    print(f"watch {watch['name']!r} (id {watch['id']}) added: {watch['query']}")
    print(f"after each run, it sends the matching articles first stored since {created}")
    if args.email and not _settings_of(args).get("GOVCRAWL_SMTP_HOST"):
        print("govcrawl: note: GOVCRAWL_SMTP_HOST is not set: e-mails wait until it is",
              file=sys.stderr)  # fmt: skip
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from crawler import query
    from crawler.watches import list_watches, redact_url

    rows = list_watches(_engine(args))
    if not rows:
        print("no watches; add one with `govcrawl watch add NAME TERM… --webhook URL`",
              file=sys.stderr)  # fmt: skip
        return 0
    if args.format == "table":
        rows = [
            {
                "name": r["name"] + ("" if r["enabled"] else " (off)"),
                "query": r["query"],
                "filters": " ".join(f"{k}={v}" for k, v in r["filters"].items()),
                "sends to": ", ".join(
                    t for t in (r["webhook_url"] and redact_url(r["webhook_url"]), r["email"]) if t
                ),
                "created": r["created_at"],
                "hits": r["hits"],
                "delivered": r["delivered"],
                "pending": r["pending"],
                "last error": r["last_error"],
            }
            for r in rows
        ]
    query.write(rows, args.format)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from crawler.cli import UsageError
    from crawler.watches import WatchError, remove_watch

    try:
        hits = remove_watch(_engine(args), args.name)
    except WatchError as exc:
        raise UsageError(str(exc)) from None
    print(f"watch {args.name!r} removed, with its {hits} hit{'s' if hits != 1 else ''}")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from crawler import query
    from crawler.cli import EXIT_ERROR, UsageError, _fail
    from crawler.extraction.text import CHINA_TZ
    from crawler.watches import (
        DeliveryConfig,
        DeliveryFailed,
        WatchError,
        get_watch,
        matching_now,
        send_test,
    )

    engine = _engine(args)
    try:
        watch = get_watch(engine, args.name)
    except WatchError as exc:
        raise UsageError(str(exc)) from None
    total, articles = matching_now(engine, watch, args.limit)
    query.write(
        [
            {
                "id": a.id,
                "published": a.published_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d"),
                "site": a.site,
                "channels": a.channels,
                "title": a.title,
                "first stored": a.first_seen,
            }
            for a in articles
        ]
    )
    since = watch.created_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    print(
        f"{total} article{'s' if total != 1 else ''} match {watch.name!r} now"
        + (f" (the newest {len(articles)} shown)" if total > len(articles) else "")
        + f"; after each run it sends those first stored since {since}",
        file=sys.stderr,
    )
    if not args.send:
        return 0
    try:
        for line in send_test(watch, articles, DeliveryConfig.from_settings(_settings_of(args))):
            print(f"test delivery sent: {line}")
    except DeliveryFailed as exc:
        return _fail(f"watch {watch.name}: test delivery failed: {exc}", EXIT_ERROR)
    return 0

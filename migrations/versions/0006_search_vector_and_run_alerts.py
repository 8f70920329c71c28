"""search vector of articles, alerts of crawl runs

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("search_vector", postgresql.TSVECTOR(), nullable=True))
    op.add_column(
        "crawl_runs",
        sa.Column(
            "alerts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    backfill()
    op.create_index(
        "ix_articles_search_vector",
        "articles",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )


def backfill() -> None:
    """Compute the search vector of the articles stored before this revision."""
    from crawler.search import lexemes

    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, title, body_text FROM articles WHERE id > :last ORDER BY id LIMIT 1000"
            ),
            {"last": last},
        ).all()
        if not rows:
            return
        conn.execute(
            sa.text("UPDATE articles SET search_vector = array_to_tsvector(string_to_array(:lexemes, ' ')) WHERE id = :id"),
            [{"id": r.id, "lexemes": " ".join(lexemes(r.title, r.body_text))} for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_articles_search_vector", table_name="articles", postgresql_using="gin")
    op.drop_column("crawl_runs", "alerts")
    op.drop_column("articles", "search_vector")

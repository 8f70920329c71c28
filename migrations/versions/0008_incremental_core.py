"""incremental core: channel rosters, adaptive re-check schedule, page hashes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_entries",
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("article_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("site", "channel", "article_key", name=op.f("pk_channel_entries")),
    )
    op.add_column("articles", sa.Column("page_hash", sa.Text(), nullable=True))
    op.add_column("articles", sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("articles", sa.Column("check_interval", sa.Float(), nullable=True))
    op.add_column(
        "articles", sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_articles_next_check_at", "articles", ["next_check_at"], unique=False)
    op.add_column(
        "channel_states",
        sa.Column("count_offset", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "channel_states", sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "channel_states",
        sa.Column(
            "first_page",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )
    # what earlier runs knew: every live article is listed by the channels it has
    op.execute(
        "INSERT INTO channel_entries (site, channel, article_key) "
        "SELECT DISTINCT site, unnest(channels), article_key FROM articles "
        "WHERE withdrawn_at IS NULL ON CONFLICT DO NOTHING"
    )
    op.execute("UPDATE channel_states SET ended_at = backfill_done_at")
    # first re-check after as many days as the article is old, within [1, 90]
    op.execute(
        "UPDATE articles SET check_interval = LEAST(90, GREATEST(1, "
        "EXTRACT(EPOCH FROM (now() - published_at)) / 86400)), "
        "next_check_at = now() + LEAST(90, GREATEST(1, "
        "EXTRACT(EPOCH FROM (now() - published_at)) / 86400)) * interval '1 day'"
    )


def downgrade() -> None:
    op.drop_column("channel_states", "first_page")
    op.drop_column("channel_states", "ended_at")
    op.drop_column("channel_states", "count_offset")
    op.drop_index("ix_articles_next_check_at", table_name="articles")
    op.drop_column("articles", "last_checked_at")
    op.drop_column("articles", "check_interval")
    op.drop_column("articles", "next_check_at")
    op.drop_column("articles", "page_hash")
    op.drop_table("channel_entries")

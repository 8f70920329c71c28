"""channel of crawl issues, index of articles.duplicate_of

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("crawl_issues", sa.Column("channel", sa.Text(), nullable=True))
    # the ON DELETE SET NULL of duplicate_of made deleting n articles cost n table scans
    op.create_index("ix_articles_duplicate_of", "articles", ["duplicate_of"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_articles_duplicate_of", table_name="articles")
    op.drop_column("crawl_issues", "channel")

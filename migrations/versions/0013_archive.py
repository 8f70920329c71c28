"""raw archive: each article's WARC records (crawler/archive.py, govcrawl reparse)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("archive_page", sa.Text(), nullable=True))
    op.add_column("articles", sa.Column("archive_listing", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("articles", "archive_listing")
    op.drop_column("articles", "archive_page")

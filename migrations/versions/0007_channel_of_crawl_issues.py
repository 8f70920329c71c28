"""channel of crawl issues

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


def downgrade() -> None:
    op.drop_column("crawl_issues", "channel")

"""article key of crawl issues

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('crawl_issues', sa.Column('article_key', sa.Text(), nullable=True))
    op.create_index(op.f('ix_crawl_issues_article_key'), 'crawl_issues', ['article_key'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_crawl_issues_article_key'), table_name='crawl_issues')
    op.drop_column('crawl_issues', 'article_key')

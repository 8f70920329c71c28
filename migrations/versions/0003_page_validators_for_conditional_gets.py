"""page validators for conditional GETs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('articles', sa.Column('etag', sa.Text(), nullable=True))
    op.add_column('articles', sa.Column('last_modified', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('articles', 'last_modified')
    op.drop_column('articles', 'etag')

"""scheduler run states

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('crawl_runs', sa.Column('trigger', sa.Text(), server_default='cli', nullable=False))
    op.add_column('crawl_runs', sa.Column('exit_code', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('crawl_runs', 'exit_code')
    op.drop_column('crawl_runs', 'trigger')

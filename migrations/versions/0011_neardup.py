"""near-duplicate bodies: MinHash LSH bands and their index table article_bands,
near_duplicate_of and its similarity

Existing articles are backfilled here: their band values are computed from their bodies (in
Python, as the store computes them), then each is linked to the earliest alike article, in
chunks of ``CHUNK`` rows, in the migration's one transaction (``bench/neardup_bench.py
--backfill`` times it; tests/test_neardup.py checks it links as the store does).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CHUNK = 500


def upgrade() -> None:
    op.add_column("articles", sa.Column("minhash_bands", postgresql.ARRAY(sa.BigInteger())))
    op.add_column("articles", sa.Column("near_duplicate_of", sa.BigInteger()))
    op.add_column("articles", sa.Column("similarity", sa.Float()))
    op.create_foreign_key(
        op.f("fk_articles_near_duplicate_of_articles"), "articles", "articles",
        ["near_duplicate_of"], ["id"], ondelete="SET NULL",
    )  # fmt: skip
    op.create_index(op.f("ix_articles_near_duplicate_of"), "articles", ["near_duplicate_of"])
    op.create_table(
        "article_bands",
        sa.Column("band", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_bands_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("band", "article_id", name=op.f("pk_article_bands")),
    )  # fmt: skip
    op.create_index(op.f("ix_article_bands_article_id"), "article_bands", ["article_id"])
    backfill(op.get_bind())


def backfill(conn: sa.Connection) -> None:
    from crawler.neardup import DEFAULT_THRESHOLD, fingerprint, link_stored

    keys = conn.execute(sa.text("SELECT article_key FROM articles ORDER BY id")).scalars().all()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        rows = conn.execute(
            sa.text("SELECT id, body_text FROM articles WHERE article_key = ANY(:keys)"),
            {"keys": chunk},
        ).all()
        conn.execute(
            sa.text("UPDATE articles SET minhash_bands = :bands WHERE id = :id"),
            [{"id": row.id, "bands": fingerprint(row.body_text).bands} for row in rows],
        )
    # every row has its bands now: index and link each chunk
    for start in range(0, len(keys), CHUNK):
        link_stored(conn, keys[start : start + CHUNK], DEFAULT_THRESHOLD)


def downgrade() -> None:
    op.drop_index(op.f("ix_article_bands_article_id"), table_name="article_bands")
    op.drop_table("article_bands")
    op.drop_index(op.f("ix_articles_near_duplicate_of"), table_name="articles")
    op.drop_constraint(
        op.f("fk_articles_near_duplicate_of_articles"), "articles", type_="foreignkey"
    )
    op.drop_column("articles", "similarity")
    op.drop_column("articles", "near_duplicate_of")
    op.drop_column("articles", "minhash_bands")

"""Batched upserts against a real PostgreSQL."""

import socket

import pytest
from sqlalchemy import func, select

from crawler.models import Article
from pipelines.store import rejected_for_its_data, write_batch
from tests.support import article_row as row


def test_rewriting_the_same_batch_changes_nothing(db):
    batch = [row("1", body="一"), row("2", body="二")]
    first = write_batch(db, batch)
    second = write_batch(db, batch)
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 2)
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Article)).scalar_one() == 2


def test_an_edited_article_is_updated_in_place(db):
    write_batch(db, [row("1", body="旧正文")])
    result = write_batch(db, [row("1", body="新正文")])
    assert (result.new, result.updated) == (0, 1)
    with db.connect() as conn:
        body, updated, first = conn.execute(
            select(Article.body_text, Article.updated_at, Article.first_seen)
        ).one()
    assert body == "新正文" and updated >= first


def test_channels_are_merged_within_and_across_batches(db):
    write_batch(db, [row("1", channels=["bcyb"]), row("1", channels=["fzjz"])])
    write_batch(db, [row("1", channels=["yjxx"])])
    with db.connect() as conn:
        assert conn.execute(select(Article.channels)).scalar_one() == ["bcyb", "fzjz", "yjxx"]


def test_a_repost_points_at_the_earliest_original(db):
    write_batch(db, [row("late", body="同一正文", day=5)])
    write_batch(db, [row("early", body="同一正文", day=2), row("other", body="别的", day=1)])
    with db.connect() as conn:
        rows = dict(conn.execute(select(Article.platform_id, Article.duplicate_of)).all())
        ids = dict(conn.execute(select(Article.platform_id, Article.id)).all())
    assert rows == {"early": None, "late": ids["early"], "other": None}


def test_empty_bodies_are_not_reposts_of_each_other(db):
    write_batch(db, [row("a", body=""), row("b", body="")])
    with db.connect() as conn:
        assert (
            conn.execute(select(func.count()).where(Article.duplicate_of.is_not(None))).scalar_one()
            == 0
        )


def test_a_batch_is_a_handful_of_statements_not_one_per_row(db):
    from sqlalchemy import event

    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db, "before_cursor_execute", count)
    try:
        write_batch(db, [row(str(i), body=f"正文{i}") for i in range(200)])
    finally:
        event.remove(db, "before_cursor_execute", count)
    # read the old hashes, one multi-row upsert, link reposts (plus BEGIN/COMMIT bookkeeping)
    assert len(statements) <= 5, statements


def test_one_site_keeps_its_smaller_url_and_a_moved_site_takes_the_new_one(db):
    write_batch(db, [row("1", url="https://x.cn/art/2025/1/1/art_9_1.html")])
    write_batch(db, [row("1", url="https://x.cn/art/2025/1/1/art_10_1.html")])
    with db.connect() as conn:
        assert (
            conn.execute(select(Article.url)).scalar_one()
            == "https://x.cn/art/2025/1/1/art_10_1.html"
        )
    write_batch(db, [row("1", url="https://y.gov.cn/art/2025/1/1/art_9_1.html")])
    with db.connect() as conn:
        assert (
            conn.execute(select(Article.url)).scalar_one()
            == "https://y.gov.cn/art/2025/1/1/art_9_1.html"
        )


def test_a_row_postgresql_refuses_is_skipped_and_the_rest_of_the_batch_stored(db):
    batch = [row(str(i), body=f"正文{i}") for i in range(40)]
    batch[7]["title"] = "标题\x00"  # psycopg2 refuses a NUL in a string
    batch[21]["extra"] = {"note": "\x00"}  # PostgreSQL refuses \u0000 in jsonb
    batch[30]["url"] = "https://x.cn/" + "".join(f"{i * 7919 % 100003:05x}" for i in range(1200))
    result = write_batch(db, batch)
    assert (result.new, len(result.rejected)) == (37, 3)
    assert sorted(r.row["platform_id"] for r in result.rejected) == ["21", "30", "7"]
    reasons = " ".join(r.reason for r in result.rejected)
    assert "NUL" in reasons and "index row" in reasons and "\n" not in reasons
    with db.connect() as conn:
        stored = set(conn.execute(select(Article.platform_id)).scalars())
    assert stored == {str(i) for i in range(40)} - {"7", "21", "30"}


def test_a_clean_batch_rejects_nothing(db):
    result = write_batch(db, [row(str(i)) for i in range(3)])
    assert (result.new, result.rejected) == (3, [])


def test_a_database_that_is_not_there_still_fails_the_batch():
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = create_engine(f"postgresql+psycopg2://govcrawl@127.0.0.1:{port}/none")
    with pytest.raises(OperationalError):
        write_batch(engine, [row("1")])
    assert not rejected_for_its_data(OperationalError("SELECT 1", {}, Exception("gone")))

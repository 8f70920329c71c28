"""Near-duplicate reposts: the similarity of bodies, their LSH bands, and the links the store
writes (crawler/neardup.py, pipelines/store.py) on the real test database."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from hashlib import sha256

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, text

from crawler import neardup
from crawler.models import Article
from crawler.neardup import DEFAULT_THRESHOLD, Stored, fingerprint, similarity
from pipelines.store import write_batch
from sample_portal import text as zh
from sample_portal.generator import CST, SamplePortal, generate_portal
from tests.support import article_row, latest_stats

# what a portal's page template puts around every body (the same on every article)
HEAD = "江西省农业农村厅 主办 赣ICP备05000000号\n当前位置：首页 > 信息公开 > 病虫预报"
FOOT = (
    "来源：江西省农业农村厅 责任编辑：张伟 发布时间：2025-11-20\n"
    "扫一扫在手机打开当前页 【打印本页】【关闭窗口】\n"
    "主办单位：江西省农业农村厅 地址：南昌市省府大院 联系电话：0791-86212345"
)
SOURCE_LINK = "原文链接：http://www.moa.gov.cn/xw/zwdt/202511/t20251120_6471234.htm"
# a line starting with 原文链接 is trimmed from the body as page trailer (an exact repost then);
# this one is kept
CREDIT = "本文转自农业农村部网站，" + SOURCE_LINK


def sample_bodies(min_chars: int = 200) -> list[list[str]]:
    """The paragraphs of the sample portal's distinct articles of at least ``min_chars``
    compared characters, in a fixed order."""
    seen, bodies = set(), []
    for article in sorted(generate_portal().articles.values(), key=lambda a: a.id):
        body = article.body_text
        if article.drop_reason or body in seen or len(neardup.normalise(body)) < min_chars:
            continue
        seen.add(body)
        bodies.append(list(article.paragraphs))
    return bodies


def with_header(paragraphs: list[str]) -> list[str]:
    return ["（江西省农业农村厅讯）记者李娜报道：", *paragraphs]


def with_source_link(paragraphs: list[str]) -> list[str]:
    return [*paragraphs, CREDIT]


def respaced(paragraphs: list[str]) -> list[str]:
    """Other line breaks, spaces and half-width punctuation: the same text to a reader."""
    joined = " ".join(paragraphs).replace("，", ", ").replace("。", "。\n  ")
    return [line for line in joined.split("\n") if line.strip()]


def one_sentence_changed(paragraphs: list[str]) -> list[str]:
    longest = max(range(len(paragraphs)), key=lambda i: len(paragraphs[i]))
    sentences = [s for s in paragraphs[longest].split("。") if s]
    sentences[len(sentences) // 2] = zh.sentence(random.Random(longest)).rstrip("。")
    changed = list(paragraphs)
    changed[longest] = "。".join(sentences) + "。"
    return changed


VARIATIONS = {
    "header": with_header,
    "source_link": with_source_link,
    "spacing": respaced,
    "sentence": one_sentence_changed,
}


def links(db) -> dict[str, tuple[str | None, float | None]]:
    """platform id → (platform id of the near-duplicate target, similarity)."""
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.platform_id, t.platform_id AS target, a.similarity FROM articles a "
                "LEFT JOIN articles t ON t.id = a.near_duplicate_of"
            )
        ).all()
    return {r.platform_id: (r.target, r.similarity) for r in rows}


# --- the similarity and the fingerprint ----------------------------------------------------------
def test_spacing_punctuation_and_full_width_forms_are_no_difference():
    assert (
        similarity(
            "全省早稻种植面积约280万亩，病虫害总体可控。",
            "全省早稻 种植面积约２８０万亩,\n病虫害总体可控",
        )
        == 1.0
    )
    assert similarity("全省早稻种植面积约280万亩", "各地要做好防汛抗旱准备工作") == 0.0


def test_a_one_character_change_costs_the_three_shingles_that_hold_it():
    body = "近期南昌市气温偏高有利于稻瘟病发生预计偏重发生"  # 23 characters, 21 shingles
    changed = body.replace("稻瘟病", "稻曲病")  # one character: 3 shingles out, 3 in
    assert similarity(body, changed) == pytest.approx(18 / 24)


def test_a_short_body_has_no_fingerprint():
    assert fingerprint("附件：申报表.doc").bands is None
    bands = fingerprint("".join(sample_bodies()[0])).bands
    assert bands is not None and len(bands) == neardup.BANDS and len(set(bands)) == neardup.BANDS


def test_the_threshold_is_refused_outside_a_half_to_one():
    assert neardup.checked_threshold(0.85) == 0.85
    for bad in (0.2, 1.5, float("nan")):
        with pytest.raises(ValueError, match="GOVCRAWL_NEARDUP_THRESHOLD"):
            neardup.checked_threshold(bad)


def test_minhash_agreement_estimates_the_jaccard_index():
    """The share of equal minima is an unbiased estimate of the Jaccard index: checked on
    sample articles and their variations, which span 0.0 to 1.0."""
    bodies = sample_bodies()[:12]
    pairs = [(a, b) for a, b in itertools.combinations(bodies, 2)]
    pairs += [(b, v(b)) for b in bodies for v in VARIATIONS.values()]
    errors = []
    for a, b in pairs:
        sa, sb = (neardup.shingles("\n".join(x)) for x in (a, b))
        agreement = float((neardup.signature(sa) == neardup.signature(sb)).mean())
        errors.append(agreement - neardup.jaccard(sa, sb))
    assert max(abs(e) for e in errors) < 0.16  # four standard deviations at 128 minima
    assert abs(sum(errors) / len(errors)) < 0.02


def test_sample_variations_and_different_articles_fall_on_either_side_of_the_threshold():
    bodies = sample_bodies()
    alike = {name: min(similarity("\n".join(b), "\n".join(v(b))) for b in bodies)
             for name, v in VARIATIONS.items()}  # fmt: skip
    unlike = max(
        similarity("\n".join([HEAD, *a, FOOT]), "\n".join([HEAD, *b, FOOT]))
        for a, b in itertools.combinations(bodies[:60], 2)
    )
    assert alike["spacing"] == 1.0
    assert min(alike.values()) >= DEFAULT_THRESHOLD, alike
    assert unlike < 0.5, unlike


# --- links in the database --------------------------------------------------------------------
@pytest.mark.parametrize("variation", sorted(VARIATIONS))
def test_each_variation_of_a_sample_article_is_linked_to_it_with_its_similarity(db, variation):
    bodies = sample_bodies()[:15]
    originals = [article_row(f"o{i}", body="\n".join(b), day=1) for i, b in enumerate(bodies)]
    reposts = [
        article_row(f"r{i}", body="\n".join(VARIATIONS[variation](b)), day=3)
        for i, b in enumerate(bodies)
    ]
    write_batch(db, originals)
    result = write_batch(db, reposts)
    found = links(db)
    assert result.near_duplicates == len(bodies)
    for i, row in enumerate(reposts):
        want = similarity(originals[i]["body_text"], row["body_text"])
        assert found[f"r{i}"] == (f"o{i}", round(want, 4))
        assert found[f"o{i}"] == (None, None)


def test_different_articles_with_the_same_page_chrome_are_not_linked(db):
    bodies = sample_bodies(min_chars=90)[:120]
    rows = [
        article_row(f"a{i}", body="\n".join([HEAD, *b, FOOT]), day=1 + i % 28)
        for i, b in enumerate(bodies)
    ]
    result = write_batch(db, rows)
    assert result.new == len(rows) and result.near_duplicates == 0
    assert set(links(db).values()) == {(None, None)}
    with db.connect() as conn:  # the chrome is in every stored body
        assert conn.execute(
            text("SELECT bool_and(body_text LIKE '%责任编辑%') FROM articles")
        ).scalar()


def test_the_earliest_copy_is_the_target_whatever_order_they_are_stored_in(db):
    body = sample_bodies()[3]
    copies = {
        "first": (1, body),
        "header": (2, with_header(body)),
        "sentence": (3, one_sentence_changed(body)),
        "link": (4, with_source_link(body)),
    }
    expected = {
        name: ("first", round(similarity("\n".join(body), "\n".join(b)), 4))
        for name, (_, b) in copies.items()
        if name != "first"
    } | {"first": (None, None)}
    for order in itertools.permutations(copies):
        db.dispose()
        with db.begin() as conn:
            conn.execute(text("TRUNCATE articles RESTART IDENTITY CASCADE"))
        for name in order:  # one batch each: each write sees the earlier ones stored
            day, paragraphs = copies[name]
            write_batch(db, [article_row(name, body="\n".join(paragraphs), day=day)])
        assert links(db) == expected, order


def test_each_near_duplicate_is_counted_once_however_often_it_is_re_pointed(db):
    body = sample_bodies()[3]
    header, sentence = with_header(body), one_sentence_changed(body)
    assert similarity("\n".join(header), "\n".join(sentence)) >= DEFAULT_THRESHOLD
    first = write_batch(db, [article_row("header", body="\n".join(header), day=2),
                             article_row("sentence", body="\n".join(sentence), day=3)])  # fmt: skip
    assert links(db)["sentence"][0] == "header" and first.near_duplicates == 1
    second = write_batch(db, [article_row("first", body="\n".join(body), day=1)])
    assert links(db)["sentence"][0] == links(db)["header"][0] == "first"
    assert second.near_duplicates == 1  # "header" is new; "sentence" only points elsewhere


def test_a_chain_links_each_copy_to_the_earliest_alike_one(db):
    """B is alike to A, C to B but not to A: C's target is B, not A."""
    sentences = [zh.sentence(random.Random(i)) for i in range(20)]
    base, b_body, c_body = "".join(sentences), "".join(sentences[4:]), "".join(sentences[8:])
    assert similarity(base, b_body) >= DEFAULT_THRESHOLD > similarity(base, c_body)
    assert similarity(b_body, c_body) >= DEFAULT_THRESHOLD
    write_batch(db, [article_row("c", body=c_body, day=3), article_row("a", body=base, day=1)])
    write_batch(db, [article_row("b", body=b_body, day=2)])
    found = links(db)
    assert found["a"] == (None, None)
    assert found["b"][0] == "a" and found["c"][0] == "b"


def test_storing_the_same_articles_again_changes_no_link(db):
    bodies = sample_bodies()[:10]
    rows = [article_row(f"o{i}", body="\n".join(b), day=1) for i, b in enumerate(bodies)]
    rows += [article_row(f"r{i}", body="\n".join(with_header(b)), day=2) for i, b in enumerate(bodies)]  # fmt: skip
    assert write_batch(db, rows).near_duplicates == 10
    before = links(db)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db, "before_cursor_execute", record)
    try:
        again = write_batch(db, [dict(r) for r in reversed(rows)])
    finally:
        event.remove(db, "before_cursor_execute", record)
    assert again.near_duplicates == 0 and again.unchanged == 20
    assert links(db) == before
    assert not [s for s in statements if "near_duplicate_of" in s]  # not even a lookup


def test_an_exact_repost_keeps_duplicate_of_and_is_no_near_duplicate(db):
    body = "\n".join(sample_bodies()[0])
    trailer = body + "\n" + SOURCE_LINK  # trimmed as the page's trailer: the same body
    write_batch(db, [article_row("a", body=body, day=1), article_row("b", body=trailer, day=2)])
    with db.connect() as conn:
        rows = {r.platform_id: r for r in conn.execute(select(Article)).all()}
    assert rows["b"].duplicate_of == rows["a"].id
    assert rows["b"].near_duplicate_of is None and rows["b"].similarity is None


def test_an_original_edited_beyond_recognition_lets_its_near_duplicates_go(db):
    bodies = sample_bodies()
    write_batch(db, [article_row("a", body="\n".join(bodies[0]), day=1)])
    write_batch(db, [article_row("b", body="\n".join(with_header(bodies[0])), day=2)])
    assert links(db)["b"][0] == "a"
    write_batch(db, [article_row("a", body="\n".join(bodies[1]), day=1)])  # edited
    assert links(db) == {"a": (None, None), "b": (None, None)}


def test_short_bodies_are_counted_not_fingerprinted(db):
    result = write_batch(
        db, [article_row("a", body="附件：申报表"), article_row("b", body="附件：名单")]
    )
    assert result.short_bodies == 2 and result.near_duplicates == 0
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(minhash_bands) FROM articles")).scalar() == 0


# --- the property: linked exactly when alike enough ------------------------------------------
def _stored(article_id: int, day: int, body: str) -> Stored:
    when = datetime(2025, 1, day, tzinfo=CST)
    return Stored(article_id, (when, article_id), body, sha256(body.encode()).hexdigest())


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(
    seed=st.integers(0, 10**6),
    count=st.integers(6, 16),
    replaced=st.integers(0, 8),
    header=st.booleans(),
    link=st.booleans(),
)
def test_a_variation_is_linked_exactly_when_alike_enough(seed, count, replaced, header, link):
    rng = random.Random(seed)
    sentences = [zh.sentence(rng) for _ in range(count)]
    variant = list(sentences)
    for i in rng.sample(range(count), min(replaced, count)):
        variant[i] = zh.sentence(rng)
    a_body = "".join(sentences)
    b_body = "".join(variant)
    if header:
        b_body = "（本网讯）" + b_body
    if link:
        b_body += SOURCE_LINK
    value = similarity(a_body, b_body)
    share = neardup.are_candidates(fingerprint(a_body), fingerprint(b_body))
    note(f"similarity {value:.3f}, bands shared: {share}")
    articles = {1: _stored(1, 1, a_body), 2: _stored(2, 2, b_body)}
    candidates = {1: {2}, 2: {1}} if share else {}
    found = neardup.links([1, 2], articles, candidates, DEFAULT_THRESHOLD)
    linked = {link.article_id: (link.near_duplicate_of, link.similarity) for link in found}
    if a_body == b_body:
        assert linked == {}  # an exact repost: duplicate_of's business
    elif value >= DEFAULT_THRESHOLD:
        assert share or value < 0.75  # the bands miss an alike pair once in 12,000 there
        assert linked == ({2: (1, round(value, 4))} if share else {})
    else:
        assert linked == {}


# --- end to end: a crawl of the sample portal --------------------------------------------------
@pytest.fixture
def portal() -> SamplePortal:
    """The sample portal with three near-duplicate reposts of one article, published later in
    another channel."""
    portal = generate_portal()
    original = max(
        (a for a in portal.channel("bcyb").records if not a.drop_reason and not a.repost_of),
        key=lambda a: len(a.body_text),
    )
    later = datetime(2025, 11, 21, 9, 0, tzinfo=CST)
    for hours, (name, variation) in enumerate(
        (("header", with_header), ("link", with_source_link), ("sentence", one_sentence_changed))
    ):
        portal.add_article(
            "yjxx", later + timedelta(hours=hours), f"〔近似〕{original.title}（{name}）",
            variation(original.paragraphs),
        )  # fmt: skip
    portal.near_original = original  # type: ignore[attr-defined]
    return portal


def test_a_crawl_links_near_duplicate_reposts_and_shows_them(
    db, portal, sample_server, sample_profile, crawl, database_url, tmp_path
):
    from fastapi.testclient import TestClient

    from crawler.web.app import create_app
    from tests.test_cli import govcrawl

    result = crawl(sample_profile)
    assert result.returncode == 0, result.stderr[-4000:]
    original = portal.near_original  # type: ignore[attr-defined]
    with db.connect() as conn:
        rows = conn.execute(
            select(Article.id, Article.title, Article.body_text, Article.platform_id,
                   Article.near_duplicate_of, Article.similarity)
        ).all()  # fmt: skip
    by_platform = {r.platform_id: r for r in rows}
    target = by_platform[original.id]
    reposts = [r for r in rows if r.title.startswith("〔近似〕")]
    assert len(reposts) == 3
    for repost in reposts:
        assert repost.near_duplicate_of == target.id
        assert repost.similarity == round(similarity(target.body_text, repost.body_text), 4)
    # nothing else of the portal's 265 articles is anyone's near-duplicate
    assert sum(1 for r in rows if r.near_duplicate_of is not None) == 3
    assert latest_stats(db)["govcrawl/items/near_duplicates"] == 3

    repost = max(reposts, key=lambda r: r.id)
    phrase = f"near-duplicate of #{target.id} (similarity {repost.similarity:.2f})"
    shown = govcrawl("show", str(repost.id), database_url=database_url, home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert phrase in shown.stdout
    with TestClient(create_app(db, profiles_dir=tmp_path, home=tmp_path / "home")) as client:
        html = client.get(f"/articles/{repost.id}").text
        api = client.get(f"/api/articles/{repost.id}").json()
    assert api["near_duplicate_of"] == target.id and api["similarity"] == repost.similarity
    assert (
        f'near-duplicate of <a href="/articles/{target.id}">#{target.id}</a> '
        f"(similarity {repost.similarity:.2f})" in html
    )


def test_the_migrations_backfill_links_stored_articles_as_the_store_does(db):
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location(
        "m0011", ROOT / "migrations" / "versions" / "0011_neardup.py"
    )
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    bodies = sample_bodies()[:6]
    rows = [article_row(f"o{i}", body="\n".join(b), day=2) for i, b in enumerate(bodies)]
    rows += [article_row(f"r{i}", body="\n".join(with_header(b)), day=1 + 2 * (i % 2))
             for i, b in enumerate(bodies)]  # fmt: skip
    write_batch(db, rows)
    stored = links(db)
    assert sum(1 for target, _ in stored.values() if target) == 6
    with db.begin() as conn:
        conn.execute(text("UPDATE articles SET minhash_bands = NULL, near_duplicate_of = NULL, "
                          "similarity = NULL"))  # fmt: skip
        conn.execute(text("TRUNCATE article_bands"))
        migration.backfill(conn)
    assert links(db) == stored

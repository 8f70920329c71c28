"""Near-duplicate bodies: MinHash signatures, LSH bands and the exact similarity of two bodies.

Pure functions, but for ``link_stored`` at the end, which runs them in the store's
transaction (pipelines/store.py). A body is normalised (NFKC, lower case, whitespace, punctuation
and control characters removed) and cut into character 3-grams ("shingles"): Chinese text
has no spaces to split words on, and a changed character touches only the three shingles
that hold it. The similarity of two bodies is the Jaccard index of their shingle sets.

Finding the similar bodies among all stored ones goes by locality-sensitive hashing: a
MinHash signature of ``PERMUTATIONS`` 64-bit minima is cut into ``BANDS`` bands of ``ROWS``
values, and each band is hashed to one ``bigint`` (``articles.minhash_bands``, indexed one
row per value in ``article_bands``). Two bodies of Jaccard index J share a band value with
probability p = J**ROWS for each band, and are candidates when they share at least
``MIN_SHARED_BANDS`` of the ``BANDS``: with probability 0.9983 at J = 0.7, 0.99992 at 0.75,
0.60 at 0.5, 0.028 at 0.3 and 5·10⁻⁶ at 0.1. (One shared band would find 0.99985 at 0.7, but
also one article in 2,400 of unrelated text at J ≈ 0.06, measured on bench/neardup_bench.py's
corpus: at 100,000 articles, dozens of useless candidates a lookup.) So a lookup reads only the few rows that share band values, by
index, and the exact similarity of those few decides.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

SHINGLE = 3
BANDS = 32
ROWS = 4
PERMUTATIONS = BANDS * ROWS
MIN_SHARED_BANDS = 2
# a body of fewer normalised characters is not fingerprinted: two short notices ("附件：…")
# are alike by their form, not reposts of each other
MIN_CHARS = 30
DEFAULT_THRESHOLD = 0.7
MIN_THRESHOLD = 0.5

# the seeds of the hash functions are fixed: stored band values must stay comparable
_SEEDS = np.random.default_rng(20261128).integers(
    0, np.iinfo(np.uint64).max, size=PERMUTATIONS, dtype=np.uint64, endpoint=True
)
_DROPPED = ("Z", "C", "P")  # separators (spaces), control and format characters, punctuation


def checked_threshold(value: float) -> float:
    """The similarity threshold, refused outside 0.5–1: below 0.5 the bands miss one alike
    pair in eight (see the module's docstring), and nothing is alike beyond 1."""
    if not MIN_THRESHOLD <= value <= 1.0:
        raise ValueError(
            f"GOVCRAWL_NEARDUP_THRESHOLD={value!r} must be a number from {MIN_THRESHOLD} to 1"
        )
    return value


@dataclass(frozen=True)
class Fingerprint:
    """What the store keeps of a body: its LSH band values (``None``: too short to compare)."""

    bands: list[int] | None


def normalise(text: str) -> str:
    """The body as compared: NFKC (full-width forms folded), lower case, and only letters,
    digits and symbols: a different spacing, line breaking or punctuation is no difference."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in _DROPPED)


def shingles(text: str) -> np.ndarray:
    """The distinct character 3-grams of the normalised text, each packed exactly into one
    uint64 (three code points of 21 bits), sorted; empty when the text is shorter than 3."""
    points = np.frombuffer(normalise(text).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(points) < SHINGLE:
        return np.empty(0, dtype=np.uint64)
    packed = (points[:-2] << np.uint64(42)) | (points[1:-1] << np.uint64(21)) | points[2:]
    return np.unique(packed)


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a fixed bijection of uint64 that scatters every input bit."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def signature(shingle_set: np.ndarray) -> np.ndarray:
    """The MinHash signature: for each of the ``PERMUTATIONS`` seeded hash functions, the
    smallest hash of any shingle. Two signatures agree at one position with probability J."""
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps, as the hash means it to
        return _mix(shingle_set[:, None] ^ _SEEDS[None, :]).min(axis=0)


def band_values(sig: np.ndarray) -> list[int]:
    """One signed 64-bit value per band (its index and its ``ROWS`` minima, hashed), as
    PostgreSQL's ``bigint[]`` stores them."""
    values = []
    for band, rows in enumerate(sig.reshape(BANDS, ROWS)):
        digest = hashlib.blake2b(rows.tobytes(), digest_size=8, salt=band.to_bytes(16, "little"))
        values.append(int.from_bytes(digest.digest(), "little", signed=True))
    return values


def fingerprint(text: str) -> Fingerprint:
    """The band values of a body, or none for a body of fewer than ``MIN_CHARS`` characters."""
    if len(normalise(text)) < MIN_CHARS:
        return Fingerprint(None)
    return Fingerprint(band_values(signature(shingles(text))))


def are_candidates(a: Fingerprint, b: Fingerprint) -> bool:
    """Whether two bodies are compared at all: they share ``MIN_SHARED_BANDS`` band values
    (what the store's lookup asks of the index)."""
    if a.bands is None or b.bands is None:
        return False
    return len(set(a.bands) & set(b.bands)) >= MIN_SHARED_BANDS


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The Jaccard index of two shingle sets (sorted, distinct, as ``shingles`` returns)."""
    if not len(a) and not len(b):
        return 1.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


def similarity(a: str, b: str) -> float:
    """How alike two bodies are: the Jaccard index of their character 3-grams, 0.0 to 1.0."""
    return jaccard(shingles(a), shingles(b))


@dataclass(frozen=True)
class Stored:
    """An article as the linking reads it: its order (published, then id), its body, and
    the earlier article it is a near-duplicate of now, with that one's order."""

    id: int
    order: tuple
    body_text: str
    body_hash: str | None
    near_duplicate_of: int | None = None
    similarity: float | None = None
    target_order: tuple | None = None


@dataclass(frozen=True)
class Link:
    article_id: int
    near_duplicate_of: int | None
    similarity: float | None
    # what it pointed at before (a link re-pointed at an earlier copy is no new near-duplicate)
    previous: int | None = None

    @property
    def is_new(self) -> bool:
        """An article found to be a near-duplicate, which it was not."""
        return self.near_duplicate_of is not None and self.previous is None


def links(
    subjects: Iterable[int],
    articles: dict[int, Stored],
    candidates: dict[int, set[int]],
    threshold: float,
) -> list[Link]:
    """The near-duplicate links to write, given the articles that changed.

    ``subjects`` are the ids whose own link is computed afresh: the earliest of their
    candidates (by published time, then id) that is earlier than them, whose body is not the
    same text (that is an exact repost, ``duplicate_of``) and whose similarity reaches
    ``threshold``. A later candidate of a subject that is similar to it is re-pointed at the
    subject when the subject is earlier than what it points at now. Only links that differ
    from what is stored are returned, so writing the same articles again writes nothing."""
    subjects = list(subjects)
    recomputed = set(subjects)
    cache: dict[int, np.ndarray] = {}

    def shingled(article_id: int) -> np.ndarray:
        if article_id not in cache:
            cache[article_id] = shingles(articles[article_id].body_text)
        return cache[article_id]

    def alike(a: Stored, b: Stored) -> float | None:
        if a.body_hash is not None and a.body_hash == b.body_hash:
            return None
        value = jaccard(shingled(a.id), shingled(b.id))
        return value if value >= threshold else None

    new: dict[int, tuple[int | None, float | None, tuple | None]] = {}
    for subject_id in subjects:
        subject = articles[subject_id]
        best: tuple[tuple, int, float] | None = None
        for other_id in candidates.get(subject_id, ()):
            other = articles[other_id]
            if other.order >= subject.order or (best is not None and other.order >= best[0]):
                continue
            value = alike(subject, other)
            if value is not None:
                best = (other.order, other.id, value)
        new[subject_id] = (best[1], best[2], best[0]) if best else (None, None, None)
    for subject_id in subjects:
        subject = articles[subject_id]
        for other_id in candidates.get(subject_id, ()):
            other = articles[other_id]
            if other_id in recomputed or other.order <= subject.order:
                continue
            current = new.get(other_id, (other.near_duplicate_of, other.similarity,
                                         other.target_order))  # fmt: skip
            if current[2] is not None and current[2] <= subject.order:
                continue
            value = alike(other, subject)
            if value is not None:
                new[other_id] = (subject.id, value, subject.order)
    changed = []
    for article_id, (target, value, _) in sorted(new.items()):
        stored = articles[article_id]
        rounded = None if value is None else round(value, 4)
        if (stored.near_duplicate_of, stored.similarity) != (target, rounded):
            changed.append(Link(article_id, target, rounded, stored.near_duplicate_of))
    return changed


# --- in the store's transaction -------------------------------------------------------------

# a candidate is a row sharing band values; those sharing the most come first, and a subject
# reads at most this many (a body alike to thousands of others is compared with the closest)
MAX_CANDIDATES = 100

# the band values of the articles just written, in the index table: those no longer theirs
# out, the new ones in (an edit changes some; an unchanged body none)
_INDEX = text(
    """
    WITH fresh AS (
        SELECT id, coalesce(minhash_bands, '{}') AS bands FROM articles
        WHERE article_key = ANY(:keys)
    ), gone AS (
        DELETE FROM article_bands b USING fresh
        WHERE b.article_id = fresh.id AND b.band <> ALL(fresh.bands)
    )
    INSERT INTO article_bands (band, article_id)
    SELECT unnest(bands), id FROM fresh
    ON CONFLICT DO NOTHING
    """
).bindparams(bindparam("keys"))

# the subjects (the articles written, and those pointing at them), the candidates of each
# (the articles sharing a band value, found by the index), and what the linking reads of all
_READ = text(
    """
    WITH batch AS (
        SELECT id FROM articles WHERE article_key = ANY(:keys)
    ), subjects AS (
        SELECT a.id, a.minhash_bands FROM articles a JOIN batch USING (id)
        UNION
        SELECT a.id, a.minhash_bands FROM articles a WHERE a.near_duplicate_of IN (SELECT id FROM batch)
    ), pairs AS MATERIALIZED (
        SELECT s.id AS subject, c.candidate
        FROM subjects s CROSS JOIN LATERAL (
            SELECT b.article_id AS candidate
            FROM unnest(s.minhash_bands) AS mine(band) JOIN article_bands b USING (band)
            WHERE b.article_id <> s.id
            GROUP BY b.article_id
            HAVING count(*) >= :shared
            ORDER BY count(*) DESC, b.article_id
            LIMIT :cap
        ) c
    ), involved AS (
        SELECT id FROM subjects UNION SELECT candidate FROM pairs
    )
    SELECT a.id, a.published_at, a.body_text, a.body_hash, a.near_duplicate_of, a.similarity,
           t.published_at AS target_published,
           a.id IN (SELECT id FROM subjects) AS is_subject,
           ARRAY(SELECT p.candidate FROM pairs p WHERE p.subject = a.id) AS candidates
    FROM involved JOIN articles a USING (id) LEFT JOIN articles t ON t.id = a.near_duplicate_of
    """
).bindparams(bindparam("keys"), bindparam("cap"), bindparam("shared"))

_WRITE = text(
    """
    UPDATE articles a SET near_duplicate_of = v.target, similarity = v.similarity
    FROM (SELECT unnest(CAST(:ids AS bigint[])) AS id, unnest(CAST(:targets AS bigint[])) AS target,
                 unnest(CAST(:similarities AS double precision[])) AS similarity) v
    WHERE a.id = v.id
    """
)


def link_stored(conn: Connection, keys: list[str], threshold: float) -> list[Link]:
    """Link the articles of ``keys`` (just written new or edited, with their band values) and
    the articles their writing concerns: those pointing at them, and later alike ones. Return
    the links that changed. Three statements at most; an article stored again unchanged needs
    neither, its links being right already (a new GOVCRAWL_NEARDUP_THRESHOLD applies to the
    articles stored or edited from then on)."""
    conn.execute(_INDEX, {"keys": keys})
    result = conn.execute(
        _READ, {"keys": keys, "cap": MAX_CANDIDATES, "shared": MIN_SHARED_BANDS}
    ).all()
    articles: dict[int, Stored] = {}
    candidates: dict[int, set[int]] = {}
    subjects = []
    for row in result:
        articles[row.id] = Stored(
            id=row.id, order=(row.published_at, row.id), body_text=row.body_text,
            body_hash=row.body_hash, near_duplicate_of=row.near_duplicate_of,
            similarity=row.similarity,
            target_order=(row.target_published, row.near_duplicate_of)
            if row.near_duplicate_of is not None else None,
        )  # fmt: skip
        if row.is_subject:
            subjects.append(row.id)
            candidates[row.id] = set(row.candidates)
    changed = links(sorted(subjects), articles, candidates, threshold)
    if changed:
        conn.execute(
            _WRITE,
            {
                "ids": [link.article_id for link in changed],
                "targets": [link.near_duplicate_of for link in changed],
                "similarities": [link.similarity for link in changed],
            },
        )
    return changed

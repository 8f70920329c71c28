"""Chinese full-text search: a character-bigram ``tsvector`` with a GIN index.

Chinese has no spaces between words, so PostgreSQL's text parsers find no words in it, and
the embedded server ships no ``pg_trgm``. Every article instead gets the set of its
character bigrams (``病虫害`` → ``病虫``, ``虫害``) plus the last character of each run of
text, as a ``tsvector`` of bare lexemes (``articles.search_vector``, GIN-indexed). Runs are
split on whitespace and punctuation; text is lower-cased.

A query term of
- one character ``c`` becomes the prefix query ``c:*`` (every occurrence of ``c`` starts a
  lexeme, so this is exact);
- two characters is one lexeme, exact;
- three or more characters is the AND of its bigrams, which every article containing the
  term matches; the few that hold the bigrams apart are removed by re-checking the term as a
  substring of the title or body (``strpos``), on the candidates only.

So a search finds exactly the articles whose title or body contains every term — or one of
whose attachments does: each attachment's text (``attachments.search_vector``, built the same
way from its name and text) is searched alike, and such a match says where it is
(``in attachment 附件1.pdf: …``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, cast, func, literal, or_, select, true, union
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from crawler.extraction.text import CHINA_TZ


def _separator(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in "PZC"


def runs(text: str) -> list[str]:
    """The lower-cased runs of ``text`` between whitespace and punctuation."""
    out: list[str] = []
    current: list[str] = []
    for ch in text.lower():
        if _separator(ch):
            if current:
                out.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        out.append("".join(current))
    return out


def lexemes(*texts: str | None) -> list[str]:
    """The sorted set of bigrams and run-final characters of the given texts."""
    found: set[str] = set()
    for text in texts:
        for run in runs(text or ""):
            found.update(run[i : i + 2] for i in range(len(run) - 1))
            found.add(run[-1])
    return sorted(found)


class Lexemes(TypeDecorator):
    """A ``tsvector`` column written from a Python list of lexemes (``array_to_tsvector``)."""

    impl = TSVECTOR
    cache_ok = True

    # sent as one space-separated string (lexemes hold no whitespace): an array parameter
    # would put one SQL literal per lexeme into the statement, and parsing those cost 6x
    def bind_expression(self, bindvalue: Any) -> Any:
        return func.array_to_tsvector(func.string_to_array(bindvalue, " "))

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return " ".join(value or ())


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


class SearchError(ValueError):
    """A query that cannot be run: nothing to search for, a malformed date."""


@dataclass(frozen=True)
class Query:
    """A parsed search: the tsquery text and the terms that need a substring re-check."""

    tsquery: str
    recheck: tuple[str, ...]
    terms: tuple[str, ...]


# A query is a few words or phrases. Bounded because each character becomes a tsquery
# operand, and PostgreSQL's recursive tsquery code runs out of stack near ~20,000 of them.
MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 20


def parse_query(text: str) -> Query:
    """``病虫害 通知`` → every term must occur; see the module docstring."""
    if len(text) > MAX_QUERY_CHARS:
        raise SearchError(
            f"the search text is {len(text)} characters long; at most {MAX_QUERY_CHARS} "
            "(search for a few words or phrases)"
        )
    terms = tuple(dict.fromkeys(t.lower() for t in text.split()))
    if len(terms) > MAX_QUERY_TERMS:
        raise SearchError(f"{len(terms)} search terms; at most {MAX_QUERY_TERMS}")
    parts: list[str] = []
    recheck: list[str] = []
    for term in terms:
        pieces = runs(term)
        if not pieces:
            continue  # punctuation only: nothing to look for
        for piece in pieces:
            if len(piece) == 1:
                parts.append(_quote(piece) + ":*")
            else:
                parts.extend(_quote(piece[i : i + 2]) for i in range(len(piece) - 1))
        if len(pieces) > 1 or len(pieces[0]) > 2:
            recheck.append(term)
    if not parts:
        raise SearchError(f"nothing to search for in {text!r}: give a word or a phrase")
    return Query(" & ".join(dict.fromkeys(parts)), tuple(recheck), terms)


def parse_day(value: str | None, option: str, end: bool = False) -> datetime | None:
    """``2025-10-01`` or ``2025-10`` (Beijing time); ``end`` gives the first instant after it."""
    if not value:
        return None
    try:
        if len(value) == 7:
            first = datetime.strptime(value, "%Y-%m").date()
            day = (first.replace(day=28) + timedelta(days=4)).replace(day=1) if end else first
            return datetime.combine(day, time(), CHINA_TZ)
        day = date.fromisoformat(value)
        if end:
            day += timedelta(days=1)
    except ValueError:
        raise SearchError(f"{option}: {value!r} is not a date; use YYYY-MM-DD or YYYY-MM") from None
    except OverflowError:  # the day after 9999-12-31
        raise SearchError(f"{option}: {value!r} is beyond the last day searchable") from None
    return datetime.combine(day, time(), CHINA_TZ)


STATUSES = ("active", "withdrawn", "all")


@dataclass
class Filters:
    site: str | None = None
    channel: str | None = None
    source: str | None = None
    since: str | None = None
    until: str | None = None
    status: str = "active"

    def conditions(self, article: Any) -> list[ColumnElement[bool]]:
        since = parse_day(self.since, "--since")
        until = parse_day(self.until, "--until", end=True)
        if since and until and since >= until:
            raise SearchError(f"--since {self.since} is after --until {self.until}")
        if self.status not in STATUSES:
            raise SearchError(f"--status must be one of {', '.join(STATUSES)}")
        out: list[ColumnElement[bool]] = []
        if self.site:
            out.append(article.site == self.site)
        if self.channel:
            out.append(article.channels.any_() == self.channel)
        if self.source:
            out.append(func.strpos(article.source, self.source) > 0)
        if since:
            out.append(article.published_at >= since)
        if until:
            out.append(article.published_at < until)
        if self.status == "active":
            out.append(article.withdrawn_at.is_(None))
        elif self.status == "withdrawn":
            out.append(article.withdrawn_at.is_not(None))
        return out


def indexed(article: Any, query: Query) -> ColumnElement[bool]:
    """The index condition: every article containing the terms matches it."""
    return article.search_vector.op("@@")(cast(literal(query.tsquery), TSQUERY))


def _contains(column: Any, term: str) -> ColumnElement[bool]:
    # lower() only when the term has letters with a case: it copies the whole text
    folded = func.lower(column) if term.upper() != term else column
    return func.strpos(folded, term) > 0


def recheck(article: Any, query: Query) -> list[ColumnElement[bool]]:
    """The substring checks that make the index condition exact."""
    return [
        or_(_contains(article.title, term), _contains(article.body_text, term))
        for term in query.recheck
    ]


def match_own_text(article: Any, query: Query) -> ColumnElement[bool]:
    """The article's title or body holds every term."""
    return and_(indexed(article, query), *recheck(article, query))


def match_attachment(attachment: Any, query: Query) -> ColumnElement[bool]:
    """The attachment's name or text holds every term."""
    return and_(
        indexed(attachment, query),
        *(
            or_(_contains(attachment.name, term), _contains(attachment.text, term))
            for term in query.recheck
        ),
    )


def match(article: Any, query: Query) -> ColumnElement[bool]:
    """The article, or one of its attachments, holds every term. The keys of both kinds of
    match are gathered first (each through its own GIN index) and the articles joined on
    their unique key: an ``OR`` of the two conditions would scan every article."""
    from crawler.models import Article, Attachment

    keys = union(
        select(Article.article_key).where(match_own_text(Article, query)),
        select(Attachment.article_key).where(match_attachment(Attachment, query)),
    )
    return article.article_key.in_(keys.scalar_subquery())


def holds_terms(text: str, terms: tuple[str, ...]) -> bool:
    """Whether ``text`` holds every term (lower-cased, as a search matches)."""
    lowered = text.lower()
    return all(term in lowered for term in terms)


def statement(text: str | None, filters: Filters) -> Any:
    """The SELECT of every article matching ``text`` (any article when None) and the filters,
    newest first."""
    from crawler.models import Article

    where = filters.conditions(Article)
    if text is not None:
        where.append(match(Article, parse_query(text)))
    return (
        select(Article)
        .where(and_(true(), *where))
        .order_by(Article.published_at.desc(), Article.id.desc())
    )


def snippet(body: str, terms: tuple[str, ...], width: int = 24) -> str:
    """A line of ``body`` around the first occurrence of a term."""
    flat = " ".join(body.split())
    lowered = flat.lower()
    hits = [i for i in (lowered.find(t) for t in terms) if i >= 0]
    if not hits:
        return flat[: width * 2]
    start = max(min(hits) - width, 0)
    end = min(min(hits) + width, len(flat))
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def search(
    engine: Engine, text: str, filters: Filters, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    """One page of matches, newest first, each with a snippet around its first match."""
    from crawler.models import Article, Attachment

    query = parse_query(text)
    where = filters.conditions(Article)
    newest = (Article.published_at.desc(), Article.id.desc())
    # Two queries, each newest first and cut at the page's end, then merged: one SELECT with
    # both conditions (``statement()``) must gather every match before it can sort, where
    # each of these can stop at the page (the body's own matches walking the date index for a
    # common term, the GIN index for a rare one; the attachments' matches through theirs).
    own = select(Article).where(*where, match_own_text(Article, query))
    through_files = select(Article).where(
        *where,
        Article.article_key.in_(
            select(Attachment.article_key).where(match_attachment(Attachment, query))
        ),
    )
    with engine.connect() as conn:
        merged = {
            a.id: a
            for stmt in (own, through_files)
            for a in conn.execute(stmt.order_by(*newest).limit(offset + limit)).all()
        }
        found = sorted(merged.values(), key=lambda a: (a.published_at, a.id), reverse=True)
        found = found[offset : offset + limit]
        # the articles found through an attachment only: which attachment, and where in it
        elsewhere = [
            a.article_key
            for a in found
            if not holds_terms(a.title + "\n" + a.body_text, query.terms)
        ]
        in_files: dict[str, tuple[str, str]] = {}
        if elsewhere:
            for key, name, url, body in conn.execute(
                select(Attachment.article_key, Attachment.name, Attachment.url, Attachment.text)
                .where(Attachment.article_key.in_(elsewhere), match_attachment(Attachment, query))
                .order_by(Attachment.article_key, Attachment.id)
            ):
                in_files.setdefault(key, (name or url.rsplit("/", 1)[-1], body))
    rows = []
    for a in found:
        if a.article_key in in_files:
            name, body = in_files[a.article_key]
            where = f"in attachment {name}: {snippet(body, query.terms)}"
        else:
            where = snippet(a.body_text, query.terms)
        rows.append({"id": a.id, "published": a.published_at, "site": a.site,
                     "channels": a.channels, "title": a.title, "source": a.source,
                     "match": where, "url": a.url})  # fmt: skip
    return rows


EXPORT_FIELDS = (
    "id", "site", "channels", "url", "title", "published_at", "source", "author", "body_text",
    "body_html", "images", "attachments", "extra", "duplicate_of", "withdrawn_at", "first_seen",
    "updated_at",
)  # fmt: skip


def export(
    engine: Engine, text: str | None, filters: Filters, chunk: int = 500
) -> Iterator[dict[str, Any]]:
    """Every matching article, newest first, read through a server-side cursor ``chunk`` rows
    at a time: memory stays flat however many there are."""
    from crawler.models import Article

    stmt = statement(text, filters).with_only_columns(
        *(getattr(Article, name) for name in EXPORT_FIELDS)
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk).execute(stmt)
        for row in result:
            yield dict(row._mapping)

"""Keyword watches: saved searches whose new matches are sent once after each run.

A watch is a search of ``crawler.search`` (terms and :class:`~crawler.search.Filters`, run by
the same ``statement``) with a webhook and/or an e-mail address. It follows the articles
*first stored after it was created*; ``govcrawl watch test`` shows what it matches now.

At the end of every run (:class:`WatchDelivery`, on ``spider_closed``, after the store pipeline
has flushed) two steps run:

1. **match** — each enabled watch's search, limited to articles first stored after the watch
   and not yet its hits, is inserted into ``watch_hits`` (``ON CONFLICT DO NOTHING`` on
   ``(watch_id, article_id)``: two runs closing at once find each article once). Matching
   looks at every such article, not only this run's, so an article stored by a run that died
   before its end is found by the next run of any site.
2. **deliver** — every undelivered hit of every enabled watch is sent: one webhook POST (JSON)
   and/or one e-mail per watch, with all its new articles (``GOVCRAWL_WATCH_BATCH`` at most).

Exactly once, as far as a receiver can tell:

- a hit gets its delivery key (the ``Idempotency-Key`` header, the e-mail's ``Message-ID``)
  before its first attempt, in a transaction of its own; a retry resends the same hits under
  the same key, so a receiver that did get a POST whose reply was lost (a timeout) can drop
  the retry;
- every send happens in a transaction that holds the watch's row lock (``SELECT … FOR
  UPDATE``) and re-reads, ``FOR UPDATE SKIP LOCKED``, which of the key's hits are still
  undelivered; the hits are marked in that same transaction after a 2xx reply or an SMTP
  accept. Two processes never send one hit at once, and a sent hit is never sent again;
- a failure (no connection, a timeout, a non-2xx reply, a refused e-mail) leaves the hits
  undelivered with ``attempts`` and ``last_error``: every later run retries them. A watch
  with a webhook and an e-mail address tracks both: a hit is delivered when both took it, and
  one that failed is retried without resending the other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import smtplib
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlalchemy import BigInteger, delete, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine

from crawler.extraction.text import CHINA_TZ
from crawler.models import Article, CrawlRun, Watch, WatchHit
from crawler.search import Filters, SearchError, parse_query, statement

logger = logging.getLogger(__name__)

STORE = "pipelines.store.StorePipeline"
NAME = re.compile(r"[\w.-]{1,64}")
# local@domain: no spaces, no second @, nothing that could end a mail header; a host name
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL = re.compile(rf"[^@\s<>,;\"']{{1,64}}@{_LABEL}(?:\.{_LABEL})*")
MAX_ERROR = 300


class WatchError(ValueError):
    """A watch that cannot be saved or found; the message says which field and why."""


# --- what a watch is ---------------------------------------------------------------------------
def filters_json(filters: Filters) -> dict[str, Any]:
    """The filters that differ from their defaults, as stored in ``watches.filters``."""
    default = Filters()
    return {k: v for k, v in asdict(filters).items() if v != getattr(default, k)}


def filters_of(watch: Any) -> Filters:
    return Filters(**watch.filters)


def check_webhook(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WatchError(f"--webhook {url!r}: give an http(s) URL, e.g. https://example.org/hook")
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise WatchError(f"--webhook {url!r}: the port is not a number") from None
    return url


def check_email(address: str) -> str:
    if not EMAIL.fullmatch(address):
        raise WatchError(f"--email {address!r}: not an e-mail address (name@example.org)")
    return address


def redact_url(url: str) -> str:
    """A webhook URL with the password of its user part, if any, shown as ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def shown_url(url: str) -> str:
    """A webhook URL for logs: scheme and host only (its path or query often holds a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"


def check_watch(
    name: str, query: str, filters: Filters, webhook_url: str | None, email: str | None
) -> str:
    """Refuse a watch that cannot work (WatchError; SearchError for its terms and dates);
    return its search text, spaces normalised. Needs no database."""
    if not NAME.fullmatch(name):
        raise WatchError(
            f"name {name!r}: 1-64 letters, digits, '-', '_' or '.' (it names the watch in "
            "`govcrawl watch` and on its page)"
        )
    query = " ".join(query.split())
    parse_query(query)  # SearchError: nothing to search for, too long
    filters.conditions(Article)  # SearchError: a date that is not one, since after until
    if webhook_url is None and email is None:
        raise WatchError("give --webhook URL and/or --email ADDRESS: where to send new articles")
    if webhook_url is not None:
        check_webhook(webhook_url)
    if email is not None:
        check_email(email)
    return query


def add_watch(
    engine: Engine,
    name: str,
    query: str,
    filters: Filters,
    webhook_url: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    """Save a watch (see ``check_watch``); WatchError when the name is taken."""
    query = check_watch(name, query, filters, webhook_url, email)
    with engine.begin() as conn:
        row = conn.execute(
            insert(Watch)
            .values(name=name, query=query, filters=filters_json(filters),
                    webhook_url=webhook_url, email=email)
            .on_conflict_do_nothing(index_elements=[Watch.name])
            .returning(Watch.id, Watch.created_at)
        ).first()  # fmt: skip
    if row is None:
        raise WatchError(f"a watch named {name!r} exists already (see `govcrawl watch list`)")
    return {"id": row.id, "name": name, "query": query, "created_at": row.created_at}


def get_watch(engine: Engine, name: str) -> Any:
    with engine.connect() as conn:
        watch = conn.execute(select(Watch).where(Watch.name == name)).first()
    if watch is None:
        raise WatchError(f"no watch named {name!r} (see `govcrawl watch list`)")
    return watch


def remove_watch(engine: Engine, name: str) -> int:
    """Delete a watch and its hits; return how many hits it had."""
    with engine.begin() as conn:
        watch_id = conn.execute(
            select(Watch.id).where(Watch.name == name).with_for_update()
        ).scalar()
        if watch_id is None:
            raise WatchError(f"no watch named {name!r} (see `govcrawl watch list`)")
        hits = conn.execute(
            select(func.count()).select_from(WatchHit).where(WatchHit.watch_id == watch_id)
        ).scalar_one()
        conn.execute(delete(Watch).where(Watch.id == watch_id))  # its hits: ON DELETE CASCADE
    return hits


# --- the read API of the web app and `govcrawl watch list` -------------------------------------
def list_watches(engine: Engine) -> list[dict[str, Any]]:
    """Every watch with its counts: hits, delivered, pending, and the last error of a pending
    hit (none when every hit went out)."""
    hits = WatchHit.__table__.alias("h")
    last_error = (
        select(WatchHit.last_error)
        .where(
            WatchHit.watch_id == Watch.id,
            WatchHit.delivered_at.is_(None),
            WatchHit.last_error.is_not(None),
        )
        .order_by(WatchHit.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(
            Watch.id,
            Watch.name,
            Watch.query,
            Watch.filters,
            Watch.webhook_url,
            Watch.email,
            Watch.enabled,
            Watch.created_at,
            func.count(hits.c.id).label("hits"),
            func.count(hits.c.delivered_at).label("delivered"),
            (func.count(hits.c.id) - func.count(hits.c.delivered_at)).label("pending"),
            func.max(hits.c.delivered_at).label("last_delivered_at"),
            last_error.label("last_error"),
        )
        .outerjoin(hits, hits.c.watch_id == Watch.id)
        .group_by(Watch.id)
        .order_by(Watch.name)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def watch_hits(engine: Engine, watch_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` hits of a watch, with their articles and delivery state."""
    stmt = (
        select(
            WatchHit.id,
            WatchHit.article_id,
            Article.title,
            Article.url,
            Article.site,
            Article.channels,
            Article.published_at,
            WatchHit.run_id,
            WatchHit.matched_at,
            WatchHit.delivered_at,
            WatchHit.attempts,
            WatchHit.last_error,
        )
        .join(Article, Article.id == WatchHit.article_id)
        .where(WatchHit.watch_id == watch_id)
        .order_by(WatchHit.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def matching_now(engine: Engine, watch: Any, limit: int) -> tuple[int, Sequence[Any]]:
    """What the watch's search finds now, whenever stored: how many, and the newest ``limit``."""
    stmt = statement(watch.query, filters_of(watch))
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(stmt.order_by(None).subquery())
        ).scalar_one()
        rows = conn.execute(stmt.limit(limit)).all()
    return total, rows


# --- how a delivery goes out -------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    sender: str = "govcrawl@localhost"
    timeout: float = 30.0


@dataclass(frozen=True)
class DeliveryConfig:
    """The knobs of delivery, from settings (see ``crawler/settings.py``)."""

    timeout: float = 10.0
    batch: int = 200
    user_agent: str = "govcrawl"
    smtp: SmtpConfig | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> DeliveryConfig:
        host = settings.get("GOVCRAWL_SMTP_HOST")
        smtp = (
            SmtpConfig(
                host=host,
                port=settings.getint("GOVCRAWL_SMTP_PORT", 25),
                user=settings.get("GOVCRAWL_SMTP_USER") or "",
                password=settings.get("GOVCRAWL_SMTP_PASSWORD") or "",
                starttls=settings.getbool("GOVCRAWL_SMTP_STARTTLS", False),
                sender=settings.get("GOVCRAWL_SMTP_SENDER") or "govcrawl@localhost",
                timeout=settings.getfloat("GOVCRAWL_SMTP_TIMEOUT", 30.0),
            )
            if host
            else None
        )
        return cls(
            # the webhook notification's timeout (crawler/monitors.py): one knob for both
            timeout=settings.getfloat("GOVCRAWL_NOTIFY_TIMEOUT", 10.0),
            batch=max(settings.getint("GOVCRAWL_WATCH_BATCH", 200), 1),
            user_agent=settings.get("USER_AGENT") or "govcrawl",
            smtp=smtp,
        )


class DeliveryFailed(Exception):
    """A target did not take a delivery; the message is what ``last_error`` keeps."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # a redirected POST comes back as a GET without the payload: a 3xx is a failure to fix
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, payload: dict[str, Any], headers: dict[str, str], timeout: float) -> int:
    """POST ``payload`` as JSON; the 2xx status, or DeliveryFailed saying why not."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8", **headers},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=timeout) as reply:  # noqa: S310 - http(s) only
            reply.read()
            status = reply.status
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"webhook: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DeliveryFailed(f"webhook: {exc.reason}") from None
    except TimeoutError:
        raise DeliveryFailed(f"webhook: no reply within {timeout:g} s") from None
    except Exception as exc:  # a reset connection, a reply that is not HTTP
        raise DeliveryFailed(f"webhook: {exc.__class__.__name__}: {exc}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"webhook: HTTP {status}")
    return status


def send_email(smtp: SmtpConfig | None, to: str, subject: str, body: str, message_id: str) -> None:
    """Hand one e-mail to the SMTP server; DeliveryFailed unless it accepted it."""
    if smtp is None:
        raise DeliveryFailed("e-mail: GOVCRAWL_SMTP_HOST is not set")
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = f"<{message_id}@govcrawl>"
    message.set_content(body)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.user:
                server.login(smtp.user, smtp.password)
            refused = server.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"e-mail: {exc.__class__.__name__}: {exc}") from None
    if refused:
        raise DeliveryFailed(f"e-mail: {to} refused: {refused[to]}")


def article_json(article: Any) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "site": article.site,
        "channels": list(article.channels),
        "published_at": article.published_at.astimezone(CHINA_TZ).isoformat(),
    }


def payload(watch: Any, articles: Sequence[Any], key: str, test: bool = False) -> dict[str, Any]:
    return {
        "watch": {"id": watch.id, "name": watch.name, "query": watch.query,
                  "filters": dict(watch.filters)},
        "delivery": key,
        "test": test,
        "articles": [article_json(a) for a in articles],
    }  # fmt: skip


def email_text(watch: Any, articles: Sequence[Any], test: bool = False) -> tuple[str, str]:
    count = f"{len(articles)} new article{'s' if len(articles) != 1 else ''}"
    subject = f"govcrawl watch {watch.name}: {'test, ' if test else ''}{count}"
    filters = " ".join(f"--{k} {v}" for k, v in watch.filters.items())
    lines = [
        ("A test of the watch " if test else "New articles for the watch ")
        + f"{watch.name!r} ({watch.query}{' ' + filters if filters else ''}):",
        "",
    ]
    for a in articles:
        lines += [
            f"{a.published_at.astimezone(CHINA_TZ):%Y-%m-%d}  {a.site}  {a.title}",
            f"    {a.url}",
        ]
    return subject, "\n".join(lines) + "\n"


def delivery_key(watch_id: int, hit_ids: Sequence[int]) -> str:
    """The Idempotency-Key of a batch: the watch and its hits (a hash of them, kept short)."""
    digest = hashlib.sha256(",".join(map(str, sorted(hit_ids))).encode()).hexdigest()[:16]
    return f"watch-{watch_id}-hits-{min(hit_ids)}-{max(hit_ids)}-{digest}"


# --- after each run: match, then deliver -------------------------------------------------------
@dataclass
class WatchCounts:
    matched: int = 0  # new hits
    delivered: int = 0  # hits delivered (to every target of their watch)
    failed: int = 0  # hits whose attempt failed (they stay pending)
    posts: int = 0  # webhook POSTs accepted
    emails: int = 0  # e-mails accepted

    def add(self, other: WatchCounts) -> None:
        for name in ("matched", "delivered", "failed", "posts", "emails"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def enabled_watches(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Watch).where(Watch.enabled).order_by(Watch.id)))


def match_new(engine: Engine, watch: Any, run_id: int | None) -> int:
    """Insert the watch's new hits: articles its search finds that were first stored after it
    was created and are not its hits yet. Returns how many."""
    found = (
        statement(watch.query, filters_of(watch))
        .where(
            Article.first_seen >= watch.created_at,
            ~exists().where(WatchHit.watch_id == watch.id, WatchHit.article_id == Article.id),
        )
        .with_only_columns(literal(watch.id, BigInteger), Article.id, literal(run_id, BigInteger))
        # every writer inserts in one order: concurrent closes wait on each other, never deadlock
        .order_by(None)
        .order_by(Article.id)
    )
    with engine.begin() as conn:
        inserted = conn.execute(
            insert(WatchHit)
            .from_select(["watch_id", "article_id", "run_id"], found)
            .on_conflict_do_nothing(index_elements=[WatchHit.watch_id, WatchHit.article_id])
            .returning(WatchHit.id)
        ).all()
    return len(inserted)


def _lock_watch(conn: Connection, watch_id: int) -> Any:
    """The watch, its row locked until the transaction ends; None when removed or disabled."""
    return conn.execute(
        select(Watch).where(Watch.id == watch_id, Watch.enabled).with_for_update()
    ).first()


def _pending(watch_id: int, *where: Any) -> Any:
    """The undelivered hits of a watch (locked; rows another transaction holds are skipped)."""
    return (
        select(WatchHit.id, WatchHit.delivery_key, WatchHit.webhook_sent_at, WatchHit.emailed_at)
        .where(WatchHit.watch_id == watch_id, WatchHit.delivered_at.is_(None), *where)
        .order_by(WatchHit.id)
        .with_for_update(skip_locked=True)
    )


def assign_keys(engine: Engine, watch_id: int, batch: int) -> None:
    """Give every undelivered hit without one its delivery key, ``batch`` hits to a key, and
    commit that before anything is sent: a retry then resends exactly the same batch."""
    with engine.begin() as conn:
        if _lock_watch(conn, watch_id) is None:
            return
        fresh = [
            row.id for row in conn.execute(_pending(watch_id, WatchHit.delivery_key.is_(None)))
        ]
        for start in range(0, len(fresh), batch):
            ids = fresh[start : start + batch]
            conn.execute(
                update(WatchHit)
                .where(WatchHit.id.in_(ids))
                .values(delivery_key=delivery_key(watch_id, ids))
            )


def deliver_watch(engine: Engine, watch_id: int, config: DeliveryConfig) -> WatchCounts:
    """Send every undelivered hit of one watch, a batch (one delivery key) at a time, oldest
    first; stop at the first failure (the rest wait for the next run, as that one does)."""
    counts = WatchCounts()
    assign_keys(engine, watch_id, config.batch)
    with engine.connect() as conn:
        keys = conn.execute(
            select(WatchHit.delivery_key)
            .where(WatchHit.watch_id == watch_id, WatchHit.delivered_at.is_(None))
            .group_by(WatchHit.delivery_key)
            .order_by(func.min(WatchHit.id))
        ).scalars().all()  # fmt: skip
    for key in keys:
        if key is None:  # matched after assign_keys: the next run sends it
            continue
        done = deliver_batch(engine, watch_id, key, config)
        counts.add(done)
        if done.failed:
            break
    return counts


def deliver_batch(engine: Engine, watch_id: int, key: str, config: DeliveryConfig) -> WatchCounts:
    """Send the undelivered hits of one delivery key to the watch's targets and mark them, all
    while holding the watch's row lock."""
    counts = WatchCounts()
    with engine.begin() as conn:
        watch = _lock_watch(conn, watch_id)
        if watch is None:
            return counts
        pending = conn.execute(_pending(watch_id, WatchHit.delivery_key == key)).all()
        if not pending:  # another run sent them while this one waited for the lock
            return counts
        ids = [h.id for h in pending]
        article_of = {
            row.hit_id: row
            for row in conn.execute(
                select(WatchHit.id.label("hit_id"), Article)
                .join(Article, Article.id == WatchHit.article_id)
                .where(WatchHit.id.in_(ids))
            )
        }
        todo = {
            "webhook": [h.id for h in pending if h.webhook_sent_at is None] if watch.webhook_url
            else [],
            "email": [h.id for h in pending if h.emailed_at is None] if watch.email else [],
        }  # fmt: skip
        errors: list[str] = []
        for target, hit_ids in todo.items():
            if not hit_ids:
                continue
            articles = sorted(
                (article_of[i] for i in hit_ids),
                key=lambda a: (a.published_at, a.id),
                reverse=True,
            )
            try:
                send(target, watch, articles, key, config)
            except DeliveryFailed as exc:
                errors.append(str(exc)[:MAX_ERROR])
                where = watch.email if target == "email" else shown_url(watch.webhook_url)
                logger.warning(
                    "watch %s: %d articles not delivered to %s (%s); kept for the next run",
                    watch.name, len(articles), where, exc,
                )  # fmt: skip
                continue
            sent_at = WatchHit.webhook_sent_at if target == "webhook" else WatchHit.emailed_at
            conn.execute(
                update(WatchHit).where(WatchHit.id.in_(hit_ids)).values({sent_at: func.now()})
            )
            counts.posts += target == "webhook"
            counts.emails += target == "email"
        conn.execute(
            update(WatchHit)
            .where(WatchHit.id.in_(ids))
            .values(
                attempts=WatchHit.attempts + 1,
                last_error="; ".join(errors) if errors else WatchHit.last_error,
            )
        )
        every_target = [
            column.is_not(None)
            for column, wanted in (
                (WatchHit.webhook_sent_at, watch.webhook_url),
                (WatchHit.emailed_at, watch.email),
            )
            if wanted
        ]
        delivered = conn.execute(
            update(WatchHit)
            .where(WatchHit.id.in_(ids), *every_target)
            .values(delivered_at=func.now())
            .returning(WatchHit.id)
        ).all()
    counts.delivered = len(delivered)
    counts.failed = len(ids) - len(delivered)
    return counts


def send(
    target: str,
    watch: Any,
    articles: Sequence[Any],
    key: str,
    config: DeliveryConfig,
    test: bool = False,
) -> str:
    """One delivery to one target of the watch; a line saying so, or DeliveryFailed."""
    if target == "webhook":
        status = post_json(
            watch.webhook_url,
            payload(watch, articles, key, test),
            {"Idempotency-Key": key, "User-Agent": config.user_agent},
            config.timeout,
        )
        return f"webhook {shown_url(watch.webhook_url)}: HTTP {status}"
    subject, body = email_text(watch, articles, test)
    send_email(config.smtp, watch.email, subject, body, key)
    return f"e-mail to {watch.email}: accepted by {config.smtp.host}"  # type: ignore[union-attr]


def after_run(engine: Engine, run_id: int | None, config: DeliveryConfig) -> WatchCounts:
    """Match every enabled watch, then deliver every undelivered hit of every enabled watch.
    A watch whose search or delivery fails is logged and left for the next run; the others
    go on."""
    counts = WatchCounts()
    for watch in enabled_watches(engine):
        try:
            counts.matched += match_new(engine, watch, run_id)
            counts.add(deliver_watch(engine, watch.id, config))
        except (SearchError, TypeError) as exc:  # saved before a change of the search rules
            logger.warning("watch %s: its search cannot run (%s); skipped", watch.name, exc)
        except Exception:  # the database went away: every hit is still there next run
            logger.exception("watch %s: not matched or delivered; the next run tries again",
                             watch.name)  # fmt: skip
    return counts


def send_test(watch: Any, articles: Sequence[Any], config: DeliveryConfig) -> Iterator[str]:
    """Send a test delivery (``"test": true``) of ``articles`` to each target of the watch,
    marking nothing: a line for each target as it is done, DeliveryFailed at the first that
    fails."""
    key = f"watch-{watch.id}-test-{datetime.now(CHINA_TZ):%Y%m%dT%H%M%S%f}"
    for target, wanted in (("webhook", watch.webhook_url), ("email", watch.email)):
        if wanted:
            yield send(target, watch, articles, key, config, test=True)


class WatchDelivery:
    """At the end of a run, match the keyword watches and deliver their new articles.

    Off (``NotConfigured``) when the run stores nothing or no watch is enabled when the run
    starts; a watch added during a run is served at the end of the next one. Counts go to
    the stats as ``govcrawl/watches/{matched,delivered,failed,posts,emails}``, which the run
    recorder (closing after this) writes to the run record. A failing receiver never fails
    the run: its hits wait, with the error, for the next run."""

    def __init__(self, crawler: Any, engine: Engine) -> None:
        self.crawler = crawler
        self.engine = engine
        self.config = DeliveryConfig.from_settings(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Any) -> WatchDelivery:
        from crawler.database import engine_from_settings

        if STORE not in (crawler.settings.getdict("ITEM_PIPELINES") or {}):
            raise NotConfigured("nothing is stored: no watch to serve")
        try:
            engine = engine_from_settings(crawler.settings)
            with engine.connect() as conn:
                any_watch = conn.execute(select(exists().where(Watch.enabled))).scalar()
        except Exception as exc:  # the store reports a missing database loudly, in its turn
            raise NotConfigured(f"keyword watches not checked: {exc.__class__.__name__}") from None
        if not any_watch:
            raise NotConfigured  # the usual case: no watch, nothing to say
        ext = cls(crawler, engine)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Any, reason: str) -> None:
        stats = self.crawler.stats
        try:
            counts = after_run(self.engine, stats.get_value("govcrawl/run_id"), self.config)
        except Exception:
            logger.exception("keyword watches: not matched; the next run tries again")
            return
        for name, value in asdict(counts).items():
            stats.set_value(f"govcrawl/watches/{name}", value)
        logger.info(
            "keyword watches: %d new matches; %d delivered (webhook POSTs: %d, e-mails: %d), "
            "%d not delivered and kept for the next run",
            counts.matched, counts.delivered, counts.posts, counts.emails, counts.failed,
        )  # fmt: skip


def known_sites(engine: Engine, profile_names: Iterable[str]) -> set[str]:
    """Sites a watch may name: every profile's (``profile_names``), and every site the
    database has runs of."""
    with engine.connect() as conn:
        ran = set(conn.execute(select(CrawlRun.site).distinct()).scalars())
    return set(profile_names) | ran

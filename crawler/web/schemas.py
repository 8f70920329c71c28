"""The JSON the API answers with, as pydantic models: they make its OpenAPI schema.

Times are ISO 8601 in Beijing time; durations are seconds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    detail: str
    parameter: str | None = None


class ArticleRef(BaseModel):
    id: int
    title: str


class RunRef(BaseModel):
    id: int
    status: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    alerts: list[str]


class DayCount(BaseModel):
    day: date
    count: int


class SiteHealth(BaseModel):
    """One site at a glance: the fields of ``govcrawl sites`` and more."""

    site: str
    title: str | None
    articles: int
    withdrawn: int
    newest: datetime | None
    newest_age_days: int | None
    newest_article: ArticleRef | None
    last_success: datetime | None
    last_run: RunRef | None
    next_run: datetime | None = Field(
        description="the scheduler daemon's next run of the site (its job store); null when "
        "no daemon has a job for it"
    )
    schedule: str | None = Field(description="the profile's [schedule], as a trigger")
    oldest_check_days: int | None = Field(
        description="days since the least recently re-checked page was checked"
    )
    checks_due: int = Field(description="article pages whose re-check is overdue")
    new_per_day: list[DayCount] = Field(
        description="new articles of each of the last 30 days (Beijing time), as runs counted them"
    )


class RunRow(BaseModel):
    """A row of ``govcrawl runs``."""

    id: int
    site: str
    status: str
    trigger: str
    started: datetime
    took: float | None
    pages: int | None
    new: int | None
    updated: int | None
    withdrawn: int | None
    errors: int
    alerts: int
    reason: str | None


class RunList(BaseModel):
    runs: list[RunRow]
    page: int
    limit: int
    has_more: bool


class Issue(BaseModel):
    kind: str
    url: str | None
    reason: str


class RunDetail(BaseModel):
    """A run record, as ``govcrawl run ID`` shows it, with its issues."""

    id: int
    site: str
    spider: str
    args: dict[str, Any]
    status: str
    trigger: str
    exit_code: int | None
    finish_reason: str | None
    started_at: datetime
    finished_at: datetime | None
    stats: dict[str, Any]
    log_path: str | None
    alerts: list[str]
    pid: int | None
    hostname: str | None
    issues: list[Issue]


class RunStarted(BaseModel):
    run_id: int
    status: str
    url: str


class SearchHit(BaseModel):
    """A row of ``govcrawl search``."""

    id: int
    published: datetime
    site: str
    channels: list[str]
    title: str
    source: str | None
    match: str
    url: str


class SearchPage(BaseModel):
    q: str
    terms: list[str]
    filters: dict[str, str | None]
    page: int
    limit: int
    has_more: bool
    results: list[SearchHit]


class Version(BaseModel):
    """What an edit replaced: ``diff`` is a unified diff from it to the content after it."""

    replaced_at: datetime
    changed: list[str]
    title: str
    diff: str


class ArticleDetail(BaseModel):
    """An article as ``govcrawl show`` shows it, with its sanitised HTML and its versions."""

    id: int
    site: str
    channels: list[str]
    url: str
    title: str
    published_at: datetime
    source: str | None
    author: str | None
    attachments: list[dict[str, Any]]
    images: list[str]
    extra: dict[str, Any]
    duplicate_of: int | None
    near_duplicate_of: int | None = None  # the earliest alike article (crawler/neardup.py)
    similarity: float | None = None  # Jaccard index of the bodies' character 3-grams
    withdrawn_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    updated_at: datetime
    body_text: str
    body_html: str
    versions: list[Version]

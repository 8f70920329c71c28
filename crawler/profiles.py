"""Site profiles: one TOML file describes one portal, so a new portal needs no code.

A profile is looked up by name in the profiles folder (``GOVCRAWL_PROFILES_DIR``) or read
from a path. Every field is checked when the profile loads — its type (a boolean is ``true``
or ``false``, a string is quoted, a number is finite) and its range — and every mistake is
one :class:`ProfileError` line that names the file and the field. A field govcrawl does not
know is a warning, not an error, so a profile written for a newer govcrawl still loads.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.extraction.text import CHINA_TZ

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

logger = logging.getLogger("govcrawl.profiles")

# A site's name is a folder name (logs/<name>/), a job id and crawl_runs.site: lower case so
# that two spellings never share a folder on a case-insensitive file system.
SITE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# a code, or a folder path of codes (a TRS column: zwgk/tzgg); never "..", never a scheme
CHANNEL_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}(?:/[A-Za-z0-9_-]{1,64}){0,5}")
CRONTAB_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MAX_INTERVAL_SECONDS = 366 * 86400
# Where a querylist site keeps a channel's page: nync's shape is the default, sthjt's puts
# the channel under /col/. A profile names a preset or writes its own template.
CHANNEL_PATHS = {
    "default": "/{site}/{channel}/index.html",  # /jxsnynct/bcyb/index.html
    "col": "/{site}/col/{channel}/index.html",  # /jxssthjt/col/col42150/index.html
}


def is_site_name(name: object) -> bool:
    return isinstance(name, str) and SITE_NAME.fullmatch(name) is not None


class ProfileError(ValueError):
    """A profile file is missing, unreadable or describes an impossible site."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


@dataclass(frozen=True)
class Channel:
    code: str
    name: str = ""
    unitid: str | None = None


@dataclass(frozen=True)
class Politeness:
    download_delay: float = 1.0
    concurrent_requests: int = 1
    autothrottle: bool = True
    # robots.txt is obeyed unless a profile says otherwise (a portal whose robots.txt is wrong)
    obey_robots: bool = True


@dataclass(frozen=True)
class Schedule:
    """When the scheduler crawls the site: a crontab expression or an interval (not both)."""

    cron: str | None = None
    interval_minutes: int | None = None
    interval_seconds: int | None = None  # for short test schedules
    jitter_seconds: int = 0

    def trigger(self) -> CronTrigger | IntervalTrigger | None:
        """The APScheduler trigger, or None for a site that is crawled on demand only."""
        jitter = self.jitter_seconds or None
        if self.cron:
            return CronTrigger(**crontab_fields(self.cron), jitter=jitter, timezone=CHINA_TZ)
        if self.interval_minutes or self.interval_seconds:
            return IntervalTrigger(
                minutes=self.interval_minutes or 0, seconds=self.interval_seconds or 0,
                jitter=jitter, timezone=CHINA_TZ,
            )  # fmt: skip
        return None


@dataclass(frozen=True)
class Incremental:
    """How incremental runs re-check article pages they already stored."""

    max_interval_days: float = 90.0  # the longest time between two re-checks of one article
    recheck_budget: int = 30  # article page re-check / confirmation requests per run


@dataclass(frozen=True)
class JcmsOptions:
    """The legacy Hanweb JCMS pager; empty values are read from each column page."""

    webid: str = ""
    webname: str = ""
    path: str = ""
    proxy_path: str = "/module/web/jpage/dataproxy.jsp"
    per_page: int = 15
    batch: int = 45  # records per dataproxy.jsp request (3 pages of 15, as the pager asks)


@dataclass(frozen=True)
class SiteProfile:
    name: str
    base_url: str
    platform: str
    site_code: str = ""
    title: str = ""
    channels: tuple[Channel, ...] = ()
    politeness: Politeness = field(default_factory=Politeness)
    schedule: Schedule = field(default_factory=Schedule)
    # querylist platform
    query_path: str = "/queryList"
    per_page: int = 15
    query_style: str = "plain"  # "plain" (nync) or "array" (gxt: webSiteCode[]=…)
    channel_path: str = CHANNEL_PATHS["default"]  # a template of {site} and {channel}
    jcms: JcmsOptions = field(default_factory=JcmsOptions)
    incremental: Incremental = field(default_factory=Incremental)
    # the table named after the platform, for a platform whose options are its own
    # (crawler/platforms/: it checks them in check_profile)
    options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return (self.host,)

    def channel_url(self, code: str) -> str:
        """The channel's page, where its list script and first records are."""
        path = self.channel_path.replace("{site}", self.site_code).replace("{channel}", code)
        return self.base_url + path

    def channel(self, code: str) -> Channel:
        for channel in self.channels:
            if channel.code == code:
                return channel
        raise ProfileError(f"profile {self.name!r} has no channel {code!r}")


# --- crontab ---------------------------------------------------------------------------------


def _crontab_weekdays(spec: str) -> str:
    """A crontab weekday field as the list of day names APScheduler reads.

    Crontab counts from Sunday (0 or 7 = Sunday) and APScheduler from Monday, so numbers,
    ranges such as ``0-2`` and steps such as ``*/2`` cannot be passed through: the days are
    expanded here and handed over by name.
    """
    if spec == "*":
        return "*"

    def day(token: str) -> int:
        if token in CRONTAB_WEEKDAYS:
            return CRONTAB_WEEKDAYS.index(token)
        if token.isdigit() and int(token) <= 7:
            return int(token)
        raise ValueError(f"weekday {token!r} is not 0-7 (0 and 7 = Sunday) or sun-sat")

    days: set[int] = set()
    for part in spec.lower().split(","):
        match = re.fullmatch(r"(\*|\w+(?:-\w+)?)(?:/(\d+))?", part)
        if not match:
            raise ValueError(f"weekday {part!r} is not crontab syntax")
        span, step = match.group(1), int(match.group(2) or 1)
        if span == "*":
            first, last = 0, 7
        elif "-" in span:
            first, last = (day(token) for token in span.split("-"))
        elif match.group(2):
            raise ValueError(f"weekday {part!r}: a step needs a range or *")
        else:
            first = last = day(span)
        if first > last or step < 1:
            raise ValueError(f"weekday {part!r} is not a range from low to high")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(CRONTAB_WEEKDAYS[d] for d in sorted(days))


def crontab_fields(cron: str) -> dict[str, str]:
    """The five crontab fields as CronTrigger arguments; ValueError if not crontab."""
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"needs 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    for name, value in (("minute", minute), ("hour", hour), ("day", day)):
        if not re.fullmatch(r"[0-9*/,-]+", value):
            raise ValueError(f"{name} {value!r} is not crontab syntax")
    if not re.fullmatch(r"[0-9A-Za-z*/,-]+", month):
        raise ValueError(f"month {month!r} is not crontab syntax")
    if day != "*" and weekday != "*":
        # crontab fires on either, APScheduler only when both match: refuse to guess
        raise ValueError("restricts both the day of the month and the weekday; set one to *")
    return {"minute": minute, "hour": hour, "day": day, "month": month.lower(),
            "day_of_week": _crontab_weekdays(weekday)}  # fmt: skip


# --- reading a profile -----------------------------------------------------------------------


class _Table:
    """One TOML table of a profile file, read field by field with type and range checks."""

    def __init__(self, data: Any, where: str, prefix: str = "") -> None:
        self.where = where
        self.prefix = prefix
        if not isinstance(data, dict):
            raise self.error("", "must be a table", data)
        self.data = data
        self.read: set[str] = set()

    def error(self, key: str, problem: str, value: Any) -> ProfileError:
        name = self.prefix + key if key else self.prefix.rstrip(".")
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return ProfileError(f"{self.where}: {name} {problem}, got {shown}", self.where)

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, default: Any) -> Any:
        self.read.add(key)
        return self.data.get(key, default)

    def string(self, key: str, default: str = "", *, required: bool = False) -> str:
        value = self.get(key, default)
        if not isinstance(value, str):
            raise self.error(key, 'must be a string (in "quotes")', value)
        if required and not value:
            raise ProfileError(
                f"{self.where}: missing required field {self.prefix + key!r}", self.where
            )
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(key, f"must be a whole number from {low} to {high}", value)
        return value

    def optional_integer(self, key: str, low: int, high: int) -> int | None:
        return self.integer(key, low, low, high) if self.has(key) else None

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            raise self.error(key, f"must be a number from {low:g} to {high:g}", value)
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false (no quotes)", value)
        return value

    def table(self, key: str) -> _Table:
        return _Table(self.get(key, {}), self.where, f"{self.prefix}{key}.")

    def warn_unknown(self, deprecated: Iterable[str] = ()) -> None:
        for key in self.data:
            if key not in self.read and key not in deprecated:
                logger.warning("%s: unknown field %r ignored", self.where, self.prefix + key)


def _channels(top: _Table) -> tuple[Channel, ...]:
    raw = top.get("channels", [])
    if not isinstance(raw, list):
        raise top.error("channels", "must be [[channels]] tables", raw)
    channels = []
    for i, entry in enumerate(raw):
        table = _Table(entry, top.where, f"channels[{i}].")
        code = table.string("code", required=True)
        if not CHANNEL_CODE.fullmatch(code):
            raise table.error(
                "code", "must be 1-64 letters, digits, '-' or '_' (or a folder path of them)", code
            )
        unitid = table.string("unitid")
        channels.append(Channel(code=code, name=table.string("name"), unitid=unitid or None))
        table.warn_unknown()
    if not channels:
        raise ProfileError(f"{top.where}: at least one [[channels]] entry is required", top.where)
    codes = [c.code for c in channels]
    if len(set(codes)) != len(codes):
        raise ProfileError(f"{top.where}: channel codes must be unique, got {codes}", top.where)
    return tuple(channels)


def _schedule(table: _Table) -> Schedule:
    cron = table.get("cron", None)
    if cron is not None and not isinstance(cron, str):
        raise table.error("cron", 'must be a crontab string such as "15 */6 * * *"', cron)
    schedule = Schedule(
        cron=cron or None,
        interval_minutes=table.optional_integer("interval_minutes", 1, MAX_INTERVAL_SECONDS // 60),
        interval_seconds=table.optional_integer("interval_seconds", 1, MAX_INTERVAL_SECONDS),
        jitter_seconds=table.integer("jitter_seconds", 0, 0, 86400),
    )
    given = [k for k in ("cron", "interval_minutes", "interval_seconds") if table.has(k)]
    if len(given) > 1:
        raise ProfileError(
            f"{table.where}: schedule takes one of cron, interval_minutes, interval_seconds; "
            f"got {', '.join(given)}",
            table.where,
        )
    if schedule.cron:
        try:
            trigger = schedule.trigger()
            assert trigger is not None
            trigger.jitter = None
            never = trigger.get_next_fire_time(None, datetime.now(CHINA_TZ)) is None
        except ValueError as exc:
            raise table.error("cron", f"is not a crontab expression ({exc})", cron) from None
        if never:
            raise table.error("cron", "never fires", cron)
    return schedule


def _channel_path(table: _Table) -> str:
    """``[querylist] channel_path``: a preset name (``default``, ``col``) or a template."""
    value = table.string("channel_path", "default")
    template = CHANNEL_PATHS.get(value, value)
    placeholders = re.findall(r"\{[^{}]*\}", template)
    if (
        not template.startswith("/")
        or "{channel}" not in template
        or any(p not in ("{site}", "{channel}") for p in placeholders)
        or re.sub(r"\{(site|channel)\}", "", template).count("{")
        or re.sub(r"\{(site|channel)\}", "", template).count("}")
        or any(c in template for c in "?#\\ ")
    ):
        raise table.error(
            "channel_path",
            f"must be {' or '.join(map(repr, CHANNEL_PATHS))}, or a path starting with '/' "
            "that holds {channel} (and may hold {site}), e.g. '/{site}/col/{channel}/index.html'",
            value,
        )
    return template


def parse_profile(
    data: dict[str, Any], where: str = "<profile>", path: Path | None = None
) -> SiteProfile:
    """Build a profile from parsed TOML, checking every field a crawl depends on."""
    top = _Table(data, where)
    name = top.string("name", required=True)
    if not is_site_name(name):
        raise top.error(
            "name", "must be 1-64 lower-case letters, digits, '-' or '_' (a plain name)", name
        )
    base_url = top.string("base_url", required=True).rstrip("/")
    parts = urlsplit(base_url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise top.error("base_url", "has an invalid port", base_url) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProfileError(f"{where}: base_url must be an http(s) URL, got {base_url!r}", where)
    from crawler import platforms  # they import this module

    platform = top.string("platform", required=True)
    known = platforms.names()
    if platform not in known:
        raise ProfileError(
            f"{where}: platform must be one of {', '.join(known)}, got {platform!r}", where
        )
    site_code = top.string("site_code")
    title = top.string("title")
    channels = _channels(top)

    pol = top.table("politeness")
    politeness = Politeness(
        download_delay=pol.number("download_delay", 1.0, 0, 600),
        concurrent_requests=pol.integer("concurrent_requests", 1, 1, 64),
        autothrottle=pol.boolean("autothrottle", True),
        obey_robots=pol.boolean("obey_robots", True),
    )

    ql = top.table("querylist")
    query_path = ql.string("path", "/queryList")
    query_style = ql.string("query_style", "plain")
    if query_style not in ("plain", "array"):
        raise ql.error("query_style", "must be 'plain' or 'array'", query_style)
    per_page = ql.integer("per_page", 15, 1, 200)
    channel_path = _channel_path(ql)

    jc = top.table("jcms")
    jcms = JcmsOptions(
        webid=jc.string("webid"),
        webname=jc.string("webname"),
        path=jc.string("path"),
        proxy_path=jc.string("proxy_path", "/module/web/jpage/dataproxy.jsp"),
        per_page=jc.integer("per_page", 15, 1, 200),
        batch=jc.integer("batch", 45, 1, 200),
    )
    for table, key, value in ((ql, "path", query_path), (jc, "proxy_path", jcms.proxy_path)):
        if not value.startswith("/"):
            raise table.error(key, "must be a path starting with '/'", value)

    inc = top.table("incremental")
    incremental = Incremental(
        max_interval_days=inc.number("max_interval_days", 90.0, 1, 3650),
        recheck_budget=inc.integer("recheck_budget", 30, 0, 10000),
    )
    if inc.has("recheck_days"):
        logger.warning(
            "%s: incremental.recheck_days is deprecated and ignored: stored articles are "
            "re-checked on an adaptive schedule (see max_interval_days, recheck_budget)",
            where,
        )

    sch = top.table("schedule")
    schedule = _schedule(sch)
    options = top.get(platform, {}) if platform not in ("querylist", "jcms") else {}
    if not isinstance(options, dict):
        raise top.error(platform, "must be a table", options)

    for table in (top, pol, ql, jc, sch):
        table.warn_unknown()
    inc.warn_unknown(deprecated=("recheck_days",))
    profile = SiteProfile(
        name=name,
        base_url=base_url,
        platform=platform,
        site_code=site_code,
        title=title,
        channels=channels,
        politeness=politeness,
        schedule=schedule,
        query_path=query_path,
        per_page=per_page,
        query_style=query_style,
        channel_path=channel_path,
        jcms=jcms,
        incremental=incremental,
        options=dict(options),
        path=path,
    )
    problem = platforms.get(platform).check_profile(profile)
    if problem:
        raise ProfileError(f"{where}: {problem}", where)
    return profile


def load_profile(name_or_path: str, profiles_dir: str | Path) -> SiteProfile:
    """Load a profile by name (``nync``) from ``profiles_dir``, or from a file path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        path = candidate
    else:
        path = Path(profiles_dir) / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in Path(profiles_dir).glob("*.toml"))) or "none"
        raise ProfileError(
            f"no profile {name_or_path!r} (looked for {path}; known profiles: {known})", path
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProfileError(f"{path}: not valid TOML: {message}", path) from exc
    return parse_profile(data, where=str(path), path=path.resolve())


@dataclass(frozen=True)
class ProfileSet:
    """The profiles that loaded, and one error for each file that did not.

    Iterating over it gives the profiles that loaded: a bad file disables its own site only.
    """

    profiles: tuple[SiteProfile, ...]
    errors: tuple[ProfileError, ...]

    def __iter__(self) -> Iterator[SiteProfile]:
        return iter(self.profiles)

    def __len__(self) -> int:
        return len(self.profiles)


def list_profiles(profiles_dir: str | Path, only: Iterable[str] = ()) -> ProfileSet:
    """Load every profile of ``profiles_dir`` (or only these names or paths).

    Files that share one site name are all refused: their runs, logs and job would mix.
    """
    wanted = list(only) or [str(p) for p in sorted(Path(profiles_dir).glob("*.toml"))]
    loaded: list[SiteProfile] = []
    errors: list[ProfileError] = []
    for name_or_path in dict.fromkeys(wanted):
        try:
            profile = load_profile(name_or_path, profiles_dir)
        except ProfileError as exc:
            errors.append(exc)
            continue
        if all(p.path != profile.path for p in loaded):
            loaded.append(profile)
    files: dict[str, list[SiteProfile]] = {}
    for profile in loaded:
        files.setdefault(profile.name, []).append(profile)
    for name, same in files.items():
        if len(same) > 1:
            paths = ", ".join(str(p.path) for p in same)
            errors += [
                ProfileError(
                    f"{p.path}: name {name!r} is used by {len(same)} files ({paths})", p.path
                )
                for p in same
            ]
    good = tuple(p for p in loaded if len(files[p.name]) == 1)
    return ProfileSet(profiles=good, errors=tuple(errors))


def channel_code(profiles: Iterable[SiteProfile], channel: str, site: str | None = None) -> str:
    """A channel given by its code or by its name (``病虫预报``) in the profiles (of ``site``
    only, when given): the code when exactly one channel has that name, else ``channel`` as
    given."""
    named = {
        c.code
        for p in profiles
        if not site or p.name == site
        for c in p.channels
        if c.name == channel
    }
    return named.pop() if len(named) == 1 else channel

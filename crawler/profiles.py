"""Site profiles: one TOML file describes one portal, so a new portal needs no code.

A profile is looked up by name in the profiles folder (``GOVCRAWL_PROFILES_DIR``) or read
from a path. Every mistake in a profile is reported as a :class:`ProfileError` that names the
file and the field.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PLATFORMS = ("querylist", "jcms")


class ProfileError(ValueError):
    """A profile file is missing, unreadable or describes an impossible site."""


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
    cron: str | None = None
    interval_minutes: int | None = None
    interval_seconds: int | None = None  # for short test schedules
    jitter_seconds: int = 0


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
    jcms: JcmsOptions = field(default_factory=JcmsOptions)
    # an incremental run re-lists at least the entries published in the last N days, so edits
    # and withdrawals of recent articles are noticed even when page 1 looks unchanged
    recheck_days: int = 7
    path: Path | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return (self.host,)

    def channel(self, code: str) -> Channel:
        for channel in self.channels:
            if channel.code == code:
                return channel
        raise ProfileError(f"profile {self.name!r} has no channel {code!r}")


def _require(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] in ("", None):
        raise ProfileError(f"{where}: missing required field {key!r}")
    return data[key]


def parse_profile(
    data: dict[str, Any], where: str = "<profile>", path: Path | None = None
) -> SiteProfile:
    """Build a profile from parsed TOML, checking every field a crawl depends on."""
    name = str(_require(data, "name", where))
    base_url = str(_require(data, "base_url", where)).rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProfileError(f"{where}: base_url must be an http(s) URL, got {base_url!r}")
    platform = str(_require(data, "platform", where))
    if platform not in PLATFORMS:
        raise ProfileError(
            f"{where}: platform must be one of {', '.join(PLATFORMS)}, got {platform!r}"
        )

    channels = []
    for i, raw in enumerate(data.get("channels", [])):
        code = str(_require(raw, "code", f"{where} channels[{i}]"))
        unitid = raw.get("unitid")
        channels.append(
            Channel(
                code=code, name=str(raw.get("name", "")), unitid=str(unitid) if unitid else None
            )
        )
    if not channels:
        raise ProfileError(f"{where}: at least one [[channels]] entry is required")
    codes = [c.code for c in channels]
    if len(set(codes)) != len(codes):
        raise ProfileError(f"{where}: channel codes must be unique, got {codes}")

    pol = data.get("politeness", {})
    politeness = Politeness(
        download_delay=float(pol.get("download_delay", 1.0)),
        concurrent_requests=int(pol.get("concurrent_requests", 1)),
        autothrottle=bool(pol.get("autothrottle", True)),
        obey_robots=bool(pol.get("obey_robots", True)),
    )
    if politeness.concurrent_requests < 1 or politeness.download_delay < 0:
        raise ProfileError(
            f"{where}: politeness needs concurrent_requests >= 1 and download_delay >= 0"
        )

    sch = data.get("schedule", {})
    schedule = Schedule(
        cron=sch.get("cron"),
        interval_minutes=int(sch["interval_minutes"]) if "interval_minutes" in sch else None,
        interval_seconds=int(sch["interval_seconds"]) if "interval_seconds" in sch else None,
        jitter_seconds=int(sch.get("jitter_seconds", 0)),
    )

    ql = data.get("querylist", {})
    site_code = str(data.get("site_code", ""))
    if platform == "querylist" and not site_code:
        raise ProfileError(f"{where}: platform 'querylist' needs site_code (e.g. 'jxsnynct')")
    query_style = str(ql.get("query_style", "plain"))
    if query_style not in ("plain", "array"):
        raise ProfileError(f"{where}: querylist.query_style must be 'plain' or 'array'")
    raw_jcms = data.get("jcms", {})
    jcms = JcmsOptions(
        webid=str(raw_jcms.get("webid", "")),
        webname=str(raw_jcms.get("webname", "")),
        path=str(raw_jcms.get("path", "")),
        proxy_path=str(raw_jcms.get("proxy_path", "/module/web/jpage/dataproxy.jsp")),
        per_page=int(raw_jcms.get("per_page", 15)),
        batch=int(raw_jcms.get("batch", 45)),
    )
    if platform == "jcms":
        bad = [c.code for c in channels if not c.code.isdigit()]
        if bad:
            raise ProfileError(
                f"{where}: jcms channel codes are column ids (the digits of /col/col<id>/), got {bad}"
            )
        if jcms.batch < 1 or jcms.per_page < 1:
            raise ProfileError(f"{where}: jcms.batch and jcms.per_page must be >= 1")
    return SiteProfile(
        name=name,
        base_url=base_url,
        platform=platform,
        site_code=site_code,
        title=str(data.get("title", "")),
        channels=tuple(channels),
        politeness=politeness,
        schedule=schedule,
        query_path=str(ql.get("path", "/queryList")),
        per_page=int(ql.get("per_page", 15)),
        query_style=query_style,
        jcms=jcms,
        recheck_days=int(data.get("incremental", {}).get("recheck_days", 7)),
        path=path,
    )


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
            f"no profile {name_or_path!r} (looked for {path}; known profiles: {known})"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc
    return parse_profile(data, where=str(path), path=path.resolve())


def list_profiles(profiles_dir: str | Path) -> list[SiteProfile]:
    return [load_profile(str(p), profiles_dir) for p in sorted(Path(profiles_dir).glob("*.toml"))]

"""The site profile that points govcrawl at a running sample portal."""

from __future__ import annotations

from pathlib import Path

from sample_portal.generator import SITE_CODE, SamplePortal


def profile_text(portal: SamplePortal, base_url: str, name: str = "sample") -> str:
    lines = [
        f'name = "{name}"',
        'title = "样例门户（本地）"',
        f'base_url = "{base_url}"',
        'platform = "querylist"',
        f'site_code = "{SITE_CODE}"',
        "",
        "[politeness]  # a local server: no need to be gentle",
        "download_delay = 0",
        "concurrent_requests = 8",
        "autothrottle = false",
        "",
        "[schedule]",
        "interval_minutes = 60",
    ]
    for channel in portal.channels:
        lines += ["", "[[channels]]", f'code = "{channel.code}"', f'name = "{channel.name}"']
        if channel.unitid_in_profile:
            lines.append(f'unitid = "{channel.unitid}"')
    return "\n".join(lines) + "\n"


def write_profile(portal: SamplePortal, base_url: str, path: Path, name: str = "sample") -> Path:
    path.write_text(profile_text(portal, base_url, name), encoding="utf-8")
    return path

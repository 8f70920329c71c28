"""The site profiles as the web app sees them: reloaded when a file of the folder changes."""

from __future__ import annotations

import threading
from pathlib import Path

from crawler.profiles import ProfileSet, SiteProfile, channel_code, list_profiles


class ProfileCatalog:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, float], ...] | None = None
        self._set = ProfileSet(profiles=(), errors=())

    def _current_stamp(self) -> tuple[tuple[str, float], ...]:
        try:
            return tuple(sorted((p.name, p.stat().st_mtime) for p in self.folder.glob("*.toml")))
        except OSError:
            return ()

    def profiles(self) -> tuple[SiteProfile, ...]:
        stamp = self._current_stamp()
        with self._lock:
            if stamp != self._stamp:
                self._set = list_profiles(self.folder) if stamp else ProfileSet((), ())
                self._stamp = stamp
            return self._set.profiles

    def get(self, site: str) -> SiteProfile | None:
        return next((p for p in self.profiles() if p.name == site), None)

    def channel_names(self, site: str | None = None) -> dict[str, str]:
        """code → name of every channel (of one site, or of all)."""
        return {
            c.code: c.name
            for p in self.profiles()
            if site is None or p.name == site
            for c in p.channels
            if c.name
        }

    def channel_code(self, channel: str, site: str | None) -> str:
        """A channel given by code or by its name in a profile, as ``govcrawl search`` takes it."""
        return channel_code(self.profiles(), channel, site)

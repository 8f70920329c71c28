"""Platforms: one module per CMS family, each a :class:`Platform` registered by name.

A profile's ``platform`` picks one, once, when the spider opens; the spider holds the loop over
listing entries for every platform and asks the incremental policy what to do with each. The
built-in platforms are ``querylist`` (the current Jiangxi platform), ``jcms`` (Hanweb
JCMS), ``trs`` (TRS WCM and Gansu's static list pages), ``generic`` (any HTML list
described by selectors in the profile) and ``jpaas`` (Hanweb jpaas, the unit endpoint of
ministries' and Zhejiang's 集约化 sites); ``GOVCRAWL_PLATFORM_MODULES`` names more modules to import (each registers its own).
README: *Adding a platform*.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from crawler.platforms.base import Platform

BUILT_IN = ("crawler.platforms.querylist", "crawler.platforms.jcms", "crawler.platforms.trs", "crawler.platforms.generic", "crawler.platforms.jpaas")  # fmt: skip
_registry: dict[str, type[Platform]] = {}


class PlatformError(ValueError):
    """A platform module that cannot be loaded; the message names it."""


def register(cls: type[Platform]) -> type[Platform]:
    """Class decorator: make a platform known by its ``name``."""
    _registry[cls.name] = cls
    return cls


def load(modules: Iterable[str] = ()) -> None:
    """Import the built-in platforms, those of ``GOVCRAWL_PLATFORM_MODULES`` and ``modules``:
    importing a module registers its platforms."""
    from crawler import settings

    for module in (*BUILT_IN, *settings.GOVCRAWL_PLATFORM_MODULES, *modules):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise PlatformError(
                f"platform module {module!r} (GOVCRAWL_PLATFORM_MODULES) cannot be imported: {exc}"
            ) from exc


def names() -> list[str]:
    load()
    return sorted(_registry)


def get(name: str) -> type[Platform]:
    load()
    if name not in _registry:
        raise KeyError(f"no platform {name!r} (known: {', '.join(sorted(_registry))})")
    return _registry[name]


__all__ = ["Platform", "PlatformError", "get", "load", "names", "register"]

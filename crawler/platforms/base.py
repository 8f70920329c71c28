"""The one interface every platform implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import scrapy

    from crawler.profiles import Channel, SiteProfile


class Platform:
    """How one CMS family lists a channel. A platform only navigates: it makes a channel's
    first requests, turns each listing reply into entries (pure functions in
    ``crawler/extraction/``) and hands them to ``spider.listed(…)``, the one loop over entries,
    which answers whether to ask for the next page. Article pages, the incremental policy,
    items and issues are the spider's, the same for every platform."""

    name: ClassVar[str]
    # the listing's fields win over the article page's (a JSON listing that is the source);
    # otherwise the page wins (a listing that is a link and a date)
    listing_first: ClassVar[bool] = False

    def __init__(self, spider: Any) -> None:
        self.spider = spider
        self.profile: SiteProfile = spider.profile

    @classmethod
    def check_profile(cls, profile: SiteProfile) -> str | None:
        """What is wrong with a profile of this platform, as one sentence; None when fine."""
        return None

    def channel_requests(self, channel: Channel) -> Iterator[scrapy.Request]:
        """The first requests of a channel's listing."""
        raise NotImplementedError

    def platform_id(self, url: str) -> str | None:
        """The portal's article id in an article URL, when its URLs carry one."""
        return None

    def channel_of(self, url: str) -> str | None:
        """The channel code an article URL names, when its URLs say so."""
        return None

    @classmethod
    def describe_listing(cls, html: str, url: str) -> dict[str, Any] | None:
        """What ``govcrawl extract`` shows of a listing reply of this platform, read without a
        profile: ``{"kind": str, "url": url, "entries": [{"title", "url", "date"}], "total":
        int | "unknown", "pager": {…}}`` (more keys allowed); None when ``html`` is not one
        (the next platform, and finally the article extractor, then tries)."""
        return None

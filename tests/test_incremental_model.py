"""The incremental policy against random portal histories (Hypothesis stateful testing).

Editors add, edit, withdraw, restore, pin (flagged or not), unpin, move and cross-list
articles, reorder listings, make listing pages fail and channels come back empty for a run,
and time passes; runs of the policy (tests/portal_model.py drives it as the spider does)
happen in between. After every run:

- no live article is marked withdrawn (once it has been live through a whole run);
- every live article some channel lists is stored after a run without faults;
- every stored live article is current within the re-check guarantee;
- every withdrawn article is marked within two runs, or — when its removal was hidden from the
  counts — within the periodic full listing's bound;
- a run after which nothing changed costs at most channels × 2 + budget requests.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from crawler.incremental.policy import Rules
from tests.portal_model import ModelPortal, ModelStore, crawl

CST = timezone(timedelta(hours=8))
START = datetime(2025, 6, 1, 9, tzinfo=CST)
RULES = Rules(max_interval_days=10, budget=30, relist_days=15, suspicious_sample=5)
MAX_GAP = 3.0  # days between two runs at most
CHANNELS = ["a", "b", "c"]


class PortalHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.portal = ModelPortal(CHANNELS)
        self.store = ModelStore()
        self.runs = 0
        self.changed_since_run = True
        self.withdrawn_at: dict[str, tuple[datetime, int]] = {}  # key → (when, runs then)
        self.live_since: dict[str, int] = {}  # key → the run count when it became live
        self.restored_at: dict[str, datetime] = {}  # key → when an editor restored it
        self.added_at: dict[str, datetime] = {}
        self.faulted_at: dict[str, datetime] = {}
        self.last_gap = 0.0

    @initialize(
        body_in_listing=st.booleans(),
        sizes=st.lists(st.integers(0, 8), min_size=3, max_size=3),
    )
    def first_portal(self, body_in_listing: bool, sizes: list[int]) -> None:
        self.portal.body_in_listing = body_in_listing
        for channel, size in zip(CHANNELS, sizes, strict=True):
            for i in range(size):
                article = self.portal.add(channel, START - timedelta(days=3 * i + 1), START)
                self.live_since[article.key] = 0
                self.added_at[article.key] = START
        self.run()

    # --- what editors do -----------------------------------------------------------------
    def _pick(self, data: st.DataObject, live: bool | None = None) -> str | None:
        keys = sorted(k for k, a in self.portal.articles.items() if live is None or a.live == live)
        return data.draw(st.sampled_from(keys)) if keys else None

    @rule(channel=st.sampled_from(CHANNELS), age=st.one_of(st.just(0.0), st.floats(0, 400)))
    def add(self, channel: str, age: float) -> None:
        if len(self.portal.articles) >= 30:
            return
        article = self.portal.add(channel, self.now - timedelta(days=age), self.now)
        self.live_since[article.key] = self.runs
        self.added_at[article.key] = self.now
        self.changed_since_run = True

    @rule(data=st.data(), what=st.sampled_from(["title", "body"]))
    def edit(self, data: st.DataObject, what: str) -> None:
        key = self._pick(data)
        if key is None:
            return
        article = self.portal.articles[key]
        setattr(article, what, getattr(article, what) + "（修订）")
        article.edited_at = self.now
        self.changed_since_run = True

    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        key = self._pick(data, live=True)
        if key is None:
            return
        self.portal.articles[key].live = False
        self.withdrawn_at[key] = (self.now, self.runs)
        self.changed_since_run = True

    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        key = self._pick(data, live=False)
        if key is None:
            return
        self.portal.articles[key].live = True
        self.withdrawn_at.pop(key, None)
        self.live_since[key] = self.runs
        self.restored_at[key] = self.now
        self.changed_since_run = True

    @rule(data=st.data(), flagged=st.booleans())
    def pin(self, data: st.DataObject, flagged: bool) -> None:
        key = self._pick(data)
        if key is None:
            return
        article = self.portal.articles[key]
        article.pinned, article.top = flagged, not flagged
        self.changed_since_run = True

    @rule(data=st.data())
    def unpin(self, data: st.DataObject) -> None:
        key = self._pick(data)
        if key is None:
            return
        self.portal.articles[key].pinned = self.portal.articles[key].top = False
        self.changed_since_run = True

    @rule(data=st.data(), channel=st.sampled_from(CHANNELS))
    def move(self, data: st.DataObject, channel: str) -> None:
        key = self._pick(data)
        if key is None:
            return
        self.portal.articles[key].channels = [channel]
        self.changed_since_run = True

    @rule(data=st.data(), channel=st.sampled_from(CHANNELS))
    def cross_list(self, data: st.DataObject, channel: str) -> None:
        key = self._pick(data)
        if key is None:
            return
        article = self.portal.articles[key]
        if channel not in article.channels:
            article.channels.append(channel)
            self.changed_since_run = True

    # --- what goes wrong for one run ---------------------------------------------------------
    @rule(channel=st.sampled_from(CHANNELS))
    def reverse_order(self, channel: str) -> None:
        self.portal.reversed_channels.add(channel)

    @rule(channel=st.sampled_from(CHANNELS), page=st.integers(1, 4))
    def fail_listing_page(self, channel: str, page: int) -> None:
        self.portal.failing_pages.add((channel, page))

    @rule(channel=st.sampled_from(CHANNELS))
    def empty_channel(self, channel: str) -> None:
        self.portal.empty_channels.add(channel)

    @rule(data=st.data())
    def fail_article_page(self, data: st.DataObject) -> None:
        key = self._pick(data)
        if key is not None:
            self.portal.failing_articles.add(key)

    # --- time and runs -------------------------------------------------------------------------
    @rule(days=st.floats(0.25, MAX_GAP))
    def run_later(self, days: float) -> None:
        self.now += timedelta(days=days)
        self.run()

    def run(self) -> None:
        faulty = self.portal.faulty
        nothing_changed = not self.changed_since_run and not faulty
        relist_due = any(
            (m.ended_at is None or (self.now - m.ended_at).days >= RULES.relist_days - MAX_GAP)
            for m in self.store.channels.values()
        ) or len(self.store.channels) < len(CHANNELS)
        report = crawl(self.portal, self.store, self.now, RULES)
        self.runs += 1
        self.check_after_run(faulty)
        if nothing_changed and self.previous_clean and not relist_due:
            bound = len(CHANNELS) * 2 + RULES.budget
            assert report.requests <= bound, (report.requests, report.counts)
        self.previous_clean = not faulty
        self.portal.clear_faults()
        self.changed_since_run = False

    previous_clean = False

    def check_after_run(self, faulty: bool) -> None:
        store, portal, now = self.store, self.portal, self.now

        def days_since(when: datetime) -> float:
            return (now - when) / timedelta(days=1)

        # pages that failed lately postpone what their re-check would find
        for key in portal.failing_articles:
            self.faulted_at[key] = now
        recheck_bound = RULES.max_interval_days + 2 * MAX_GAP
        relist_bound = RULES.relist_days + 2 * MAX_GAP
        for key, stored in store.articles.items():
            article = portal.articles[key]
            quiet = days_since(self.faulted_at.get(key, START - timedelta(days=999)))
            # no live article is withdrawn; a restored one is found again by its listing or,
            # at the latest, by its page's re-check
            if article.live and key not in self.restored_at:
                assert not stored.withdrawn, f"live {key} marked withdrawn"
            if article.live and key in self.restored_at and quiet > recheck_bound:
                if days_since(self.restored_at[key]) > recheck_bound:
                    assert not stored.withdrawn, f"restored {key} still withdrawn"
            # current within the re-check guarantee
            if article.live and article.edited_at is not None and quiet > recheck_bound:
                if days_since(article.edited_at) > recheck_bound:
                    assert (stored.title, stored.body) == (article.title, article.body), (
                        f"{key} stale for {days_since(article.edited_at):.1f} days"
                    )
        if faulty:
            return
        # after a run without faults: what a full listing would find is found within the
        # periodic full listing's bound (within one run when the counts or the first page show
        # it: tests/test_incremental_policy.py)
        for key, article in portal.articles.items():
            if article.live and article.channels and days_since(self.added_at[key]) > relist_bound:
                assert key in store.articles, f"live, listed {key} not stored"
        for key, (when, _) in self.withdrawn_at.items():
            stored = store.articles.get(key)
            if stored is not None and days_since(when) > relist_bound:
                assert stored.withdrawn, f"withdrawn {key} not marked after the relist bound"

    @invariant()
    def no_duplicate_urls(self) -> None:
        urls = [a.url for a in self.store.articles.values()]
        assert len(urls) == len(set(urls))


PortalHistory.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPortalHistory = PortalHistory.TestCase

"""The incremental policy: what a run fetches, when it stops paging, what is withdrawn.

Plain Python: no SQL, no Scrapy, and the clock is an argument. A run starts from a frozen
:class:`Memory` of what earlier runs saw; :class:`RunPolicy` answers the spider's questions as
the listings come in and collects what the run learns; :meth:`RunPolicy.journal` turns that into
the writes of one transaction (``crawler/incremental/store.py``).

The rules, in short (README: *How incremental runs decide*):

- An entry is fetched when it is new, when its listing fingerprint changed, when an earlier run
  could not store it, or when it was withdrawn and is listed again. Anything else is skipped.
- Paging a channel stops at a page that holds only known, unchanged entries — once the channel
  has been listed to its end before, every recent failure in it was listed again, and the
  portal's count of the channel agrees with what govcrawl knows it lists. A count that does not
  agree (something was added deep down, or removed) lists the channel to its end.
- Paging is bounded by what the pages hold: an empty or repeated page ends it, and so does a cap
  of pages; neither counts as the channel's end unless the pages bore out the portal's total.
- A known entry that a first page lists above entries that were above it last time (TRS
  re-sorts an edited article to the top, title and date unchanged) has its page re-checked in
  the same run.
- Dates and sort order decide nothing. An article is withdrawn only when its own page answers
  404/410 (or a "page not found" page), or when a channel was listed to its end, no listing of
  this run shows the article, and one request to its page confirms it is gone.
- Known pages are re-checked on an adaptive schedule (Nutch's AdaptiveFetchSchedule): unchanged
  → the interval grows ×1.4, changed → ×0.8, within [1 day, ``max_interval_days``]; each run
  re-checks what is due, oldest first, within a request budget shared with confirmations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum

DAY = timedelta(days=1)


# --- what earlier runs saw ------------------------------------------------------------------
@dataclass(frozen=True)
class KnownArticle:
    """One stored article, as far as the policy cares."""

    url: str
    listing_hash: str | None = None
    channels: frozenset[str] = frozenset()  # as stored
    withdrawn: bool = False
    published_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    page_hash: str | None = None
    next_check_at: datetime | None = None
    check_interval: float | None = None  # days


@dataclass(frozen=True)
class ChannelMemory:
    # a run listed the channel to its end once: from then on paging may stop at known entries
    backfilled: bool = False
    # the portal's total minus the entries the last full listing held (records without a link,
    # say): the count an incremental run expects is what it knows plus this
    count_offset: int = 0
    # when a run last listed it to its end
    ended_at: datetime | None = None
    # the keys of its first listing page when it was last listed
    first_page: tuple[str, ...] = ()


@dataclass(frozen=True)
class Memory:
    """What earlier runs of one site saw; frozen for the length of a run."""

    articles: Mapping[str, KnownArticle] = field(default_factory=dict)
    channels: Mapping[str, ChannelMemory] = field(default_factory=dict)
    # the keys each channel's listing showed: the whole listing after a run listed it to its
    # end, plus whatever later runs saw in it
    rosters: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # keys a channel listed lately that no run could store: the channel lists down to them
    retry: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # every key a listing named lately that no run could store (an invalid record, a page that
    # failed): fetched again, but no news — it does not keep a channel paging
    unstored: frozenset[str] = frozenset()
    # keys whose page answered "gone" (404/410) before any run stored them, lately: not asked
    # again until the report is old (a page that never existed is reported once, not each run)
    gone: frozenset[str] = frozenset()

    def channel(self, code: str) -> ChannelMemory:
        return self.channels.get(code, ChannelMemory())

    def roster(self, code: str) -> frozenset[str]:
        return self.rosters.get(code, frozenset())


# --- knobs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rules:
    min_interval_days: float = 1.0
    max_interval_days: float = 90.0
    budget: int = 30  # page requests per run for re-checks and confirmations together
    grow: float = 1.4
    shrink: float = 0.8
    # a channel is listed at most max(page_cap_floor, 2 × the pages its known entries fill + 10,
    # the pages its total needs up to page_cap_max) pages in one run: a total of 10^12 costs
    # page_cap_max pages at worst, and only when every page holds entries never seen before
    page_cap_floor: int = 100
    page_cap_max: int = 2000
    # a full listing that lacks more than half of the channel's known, live entries is not
    # believed: only this many of them are confirmed, and nothing is concluded from the rest
    suspicious_sample: int = 5
    # every channel is listed to its end at least this often: what the counts cannot show (an
    # entry added deep down while another was removed) is found within this bound
    relist_days: float = 30.0

    def clamp(self, days: float) -> float:
        return min(self.max_interval_days, max(self.min_interval_days, days))

    def first_interval(self, published_at: datetime | None, now: datetime) -> float:
        """A new article is first re-checked after as many days as it is old (clamped): fresh
        articles are the ones that get corrected."""
        if published_at is None:
            return self.min_interval_days
        return self.clamp((now - published_at) / DAY)

    def next_interval(self, interval: float | None, changed: bool) -> float:
        base = interval or self.min_interval_days
        return self.clamp(base * (self.shrink if changed else self.grow))

    def page_cap(self, known_entries: int, page_size: int, total: int | None) -> int:
        size = max(page_size, 1)
        known_pages = -(-known_entries // size)
        claimed_pages = -(-(total or 0) // size) + 1
        return max(self.page_cap_floor, 2 * known_pages + 10, min(claimed_pages, self.page_cap_max))


# --- the answers ---------------------------------------------------------------------------
class Paging(Enum):
    NEXT = "next"  # ask for the next page
    KNOWN = "known"  # stop: a page of known entries, and the counts agree
    END = "end"  # stop: the channel's whole listing was seen
    CUT = "cut"  # stop without a trustworthy end: nothing is concluded from what was missing


@dataclass(frozen=True)
class EntryVerdict:
    fetch: bool
    # new | changed | retry | relisted | full (mode=full) | unchanged | repeat (same run)
    reason: str


@dataclass(frozen=True)
class PageCheck:
    """One request to a known article's page after the listings: a re-check or a confirmation."""

    key: str
    url: str
    purpose: str  # "recheck" | "confirm" | "moved"
    etag: str | None = None
    last_modified: str | None = None


class PageAnswer(Enum):
    OK = "ok"  # 200 with an article body
    NOT_MODIFIED = "not_modified"  # 304
    GONE = "gone"  # 404, 410, or the portal's "page not found"
    FAILED = "failed"  # anything else: a 5xx, a timeout, a challenge page


@dataclass(frozen=True)
class ScheduleUpdate:
    next_check_at: datetime
    check_interval: float
    last_checked_at: datetime | None


@dataclass
class Journal:
    """Everything a run learned, as the writes of one transaction."""

    now: datetime
    listed: set[str] = field(default_factory=set)  # known articles some listing showed
    channels: dict[str, list[str]] = field(default_factory=dict)  # key → its channels now
    # channel → (keys its roster gains, keys it loses)
    roster_changes: dict[str, tuple[set[str], set[str]]] = field(default_factory=dict)
    withdraw: set[str] = field(default_factory=set)
    restore: set[str] = field(default_factory=set)
    schedule: dict[str, ScheduleUpdate] = field(default_factory=dict)
    # the new state of channels: of those listed to their end, what the next runs expect of
    # them; of the others, their first page
    channel_states: dict[str, ChannelMemory] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _ChannelRun:
    listed: list[str] = field(default_factory=list)  # distinct keys, in listing order
    seen: set[str] = field(default_factory=set)
    unreadable: int = 0
    pages: int = 0
    total: int | None = None
    outcome: Paging | None = None
    failed: bool = False
    # the page being listed: its entries, how many were first seen on it, how many are news
    page_entries: int = 0
    page_keyed: int = 0
    page_new: int = 0
    page_fresh: int = 0
    page_keys: list[str] = field(default_factory=list)
    # something moved that new entries do not explain: list to the end
    reconcile: bool = False
    first_page: tuple[str, ...] | None = None


def _order(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _raised(keys: list[str], before: tuple[str, ...]) -> list[str]:
    """The keys a first page lists above a key that was above them on the last first page
    (keys it did not show count as below all of it): moved up, not pushed down by new ones."""
    rank = {key: i for i, key in enumerate(before)}
    lowest_below = len(before)
    raised = []
    for key in reversed(keys):
        place = rank.get(key, len(before))
        if place > lowest_below:
            raised.append(key)
        lowest_below = min(lowest_below, place)
    return raised[::-1]


class RunPolicy:
    """The policy of one run over one site's memory."""

    def __init__(
        self,
        memory: Memory,
        now: datetime,
        *,
        full: bool = False,
        rules: Rules | None = None,
        can_fetch: Callable[[str], bool] | None = None,
    ) -> None:
        self.memory = memory
        self.now = now
        self.full = full
        self.rules = rules or Rules()
        # which stored URLs this run may request (the profile's origin): the rest are known
        # from listings alone
        self.can_fetch = can_fetch or (lambda url: True)
        self._channels: dict[str, _ChannelRun] = {}
        self._listed_anywhere: dict[str, set[str]] = {}  # key → channels that listed it
        self._fetching: set[str] = set()  # keys this run fetches from a listing
        self._retried: dict[str, set[str]] = {}
        self._answers: dict[str, tuple[PageAnswer, str | None, str]] = {}
        self._follow_ups_given = False
        # known entries a first page shows above entries that were above them last time: TRS
        # re-sorts an edited article to the top with its title and date unchanged
        self._raised: list[str] = []
        # the URLs this run's listings gave each key (a JCMS article listed in two columns has
        # two; an article republished under another column's folder has a new one)
        self._listed_urls: dict[str, set[str]] = {}
        self.counts: dict[str, int] = {}

    def _count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def _run(self, channel: str) -> _ChannelRun:
        return self._channels.setdefault(channel, _ChannelRun())

    # --- listings ----------------------------------------------------------------------------
    def entry(
        self, channel: str, key: str | None, fingerprint: str, url: str | None = None
    ) -> EntryVerdict:
        """A listing entry: fetch it (from the listing or its page), or skip it. ``url``: the
        canonical URL the listing gives it."""
        run = self._run(channel)
        run.page_entries += 1
        if key is None:
            run.unreadable += 1
            return EntryVerdict(True, "new")
        run.page_keyed += 1
        run.page_keys.append(key)
        if url:
            self._listed_urls.setdefault(key, set()).add(url)
        if key in run.seen:
            return EntryVerdict(False, "repeat")
        run.seen.add(key)
        run.page_new += 1
        run.listed.append(key)
        self._listed_anywhere.setdefault(key, set()).add(channel)
        known = self.memory.articles.get(key)
        if key in self.memory.retry.get(channel, ()):
            self._retried.setdefault(channel, set()).add(key)
        if self.full:
            verdict = EntryVerdict(True, "full")
        elif known is None and key in self.memory.gone:
            verdict = EntryVerdict(False, "gone")  # reported lately: once is enough
        elif known is None:
            verdict = EntryVerdict(True, "retry" if self._is_retry(key) else "new")
        elif known.withdrawn:
            verdict = EntryVerdict(True, "relisted")
        elif known.listing_hash != fingerprint:
            verdict = EntryVerdict(True, "changed")
        else:
            verdict = EntryVerdict(False, "unchanged")
        if verdict.fetch:
            if key in self._fetching:
                return EntryVerdict(True, "repeat")  # fetched for another channel: its channel too
            self._fetching.add(key)
            if verdict.reason != "retry":
                run.page_fresh += 1
        self._count(f"entries/{verdict.reason}")
        return verdict

    def _is_retry(self, key: str) -> bool:
        return key in self.memory.unstored or any(
            key in keys for keys in self.memory.retry.values()
        )

    def unreadable(self, channel: str, n: int) -> None:
        """Records a listing page held that name no article (no link): they count for totals."""
        self._run(channel).unreadable += n

    def page_listed(
        self,
        channel: str,
        total: int | None,
        page_size: int,
        *,
        last: bool = False,
        max_pages: int | None = None,
    ) -> Paging:
        """Every entry of a listing page went through :meth:`entry`; say whether to ask for
        the next page. ``total`` is what the portal says the channel holds, ``last`` that the
        platform's own pager has no next page."""
        run = self._run(channel)
        run.pages += 1
        if total is not None:
            run.total = total
        if run.pages == 1:
            self._check_first_page(channel, run)
        decision = self._paging(channel, run, last, max_pages, page_size)
        run.page_entries = run.page_keyed = run.page_new = run.page_fresh = 0
        run.page_keys = []
        if decision is not Paging.NEXT:
            run.outcome = decision
            self._count(f"paging/{decision.value}")
        return decision

    def _paging(
        self, channel: str, run: _ChannelRun, last: bool, max_pages: int | None, page_size: int
    ) -> Paging:
        held = len(run.seen) + run.unreadable
        if not run.page_entries:
            return self._end_or_cut(run, held)
        if run.total is not None and held >= run.total:
            return Paging.END
        if last:
            return self._end_or_cut(run, held)
        if run.page_new == 0 and run.page_keyed:
            self._count("paging/repeated_page")
            return Paging.CUT  # the same entries again: the portal ignores the page number
        if self._may_stop_early(channel, run, run.page_fresh):
            return Paging.KNOWN
        cap = self.rules.page_cap(len(self.memory.roster(channel)), page_size, run.total)
        if run.pages >= cap or (max_pages is not None and run.pages >= max_pages):
            self._count("paging/page_cap" if run.pages >= cap else "paging/max_pages")
            return Paging.CUT
        return Paging.NEXT

    def _check_first_page(self, channel: str, run: _ChannelRun) -> None:
        """New entries go on top and push the rest down: the entries of the first page that
        are not new must be the top of the last run's first page. Anything else — an entry
        removed, one pinned or re-sorted to the top, a reversed order — lists to the end."""
        if not run.page_keys:
            return  # an empty page says nothing of the order
        run.first_page = tuple(run.page_keys)
        before = self.memory.channel(channel).first_page
        if not before:
            return
        roster = self.memory.roster(channel)
        old = [k for k in run.page_keys if k in roster]
        if old != list(before[: len(old)]):
            run.reconcile = True
            self._count("paging/first_page_moved")
            self._raised += [k for k in _raised(old, before) if k not in self._raised]

    def _end_or_cut(self, run: _ChannelRun, held: int) -> Paging:
        if run.total is None or held >= run.total:
            return Paging.END
        self._count("paging/short_of_total")
        return Paging.CUT  # the pages ran out before the total: the total is not believed

    def _may_stop_early(self, channel: str, run: _ChannelRun, fresh: int) -> bool:
        memory = self.memory.channel(channel)
        if self.full or fresh or run.reconcile or not memory.backfilled:
            return False
        if memory.ended_at is None or (self.now - memory.ended_at) / DAY >= self.rules.relist_days:
            self._count("paging/relist_due")
            return False
        if self.memory.retry.get(channel, frozenset()) - self._retried.get(channel, set()):
            return False  # it still owes a listing of something no run could store
        if run.total is None:
            return True
        expected = len(self.memory.roster(channel) | run.seen) + (
            self.memory.channel(channel).count_offset
        )
        if run.total != expected:
            self._count("paging/count_mismatch")
            return False
        return True

    def listing_failed(self, channel: str) -> None:
        """A listing page of the channel failed: this run concludes nothing from the channel."""
        run = self._run(channel)
        run.failed = True

    def expects_more(self, channel: str) -> bool:
        """True while the run has not decided how the channel's listing ended."""
        return self._run(channel).outcome is None

    # --- after the listings --------------------------------------------------------------------
    def follow_ups(self) -> list[PageCheck]:
        """The page requests to make once every listing is done: confirmations of articles a
        full listing lacked, re-checks of known entries a first page raised to its top, then
        re-checks that are due, within the budget. Asked once."""
        if self._follow_ups_given:
            return []
        self._follow_ups_given = True
        budget = self.rules.budget
        checks: list[PageCheck] = []
        for key in self._confirmations():
            if len(checks) >= budget:
                break
            known = self.memory.articles[key]
            checks.append(PageCheck(key, known.url, "confirm", known.etag, known.last_modified))
        given = {c.key for c in checks}
        for key, url in self._moved():
            if len(checks) >= budget:
                break
            if key not in given:
                checks.append(PageCheck(key, url, "moved"))
                given.add(key)
        for key in self._raised:
            if len(checks) >= budget:
                break
            known = self.memory.articles.get(key)
            if key in given or key in self._fetching or known is None or known.withdrawn:
                continue
            if self.can_fetch(known.url):
                checks.append(PageCheck(key, known.url, "recheck", known.etag, known.last_modified))
                given.add(key)
                self._count("follow_ups/raised")
        for key in self._due():
            if len(checks) >= budget:
                break
            if key in given:
                continue
            known = self.memory.articles[key]
            checks.append(PageCheck(key, known.url, "recheck", known.etag, known.last_modified))
        self._count("follow_ups/confirm", sum(c.purpose == "confirm" for c in checks))
        self._count("follow_ups/recheck", sum(c.purpose == "recheck" for c in checks))
        return checks

    def _ended(self) -> list[str]:
        return sorted(
            code
            for code, run in self._channels.items()
            if run.outcome is Paging.END and not run.failed
        )

    def _missing(self, channel: str) -> list[str]:
        """Live articles the channel listed before that no listing of this run shows."""
        return sorted(
            (
                key
                for key in self.memory.roster(channel)
                if key not in self._listed_anywhere
                and key in self.memory.articles
                and not self.memory.articles[key].withdrawn
            ),
            key=_order,
        )

    def _askable(self, key: str) -> bool:
        return self.can_fetch(self.memory.articles[key].url)

    def _suspicious(self, channel: str) -> bool:
        live = [
            k
            for k in self.memory.roster(channel)
            if k in self.memory.articles and not self.memory.articles[k].withdrawn
        ]
        missing = self._missing(channel)
        return len(missing) > max(3, len(live) // 2)

    def _confirmations(self) -> list[str]:
        keys: list[str] = []
        for channel in self._ended():
            missing = self._missing(channel)
            if self._suspicious(channel):
                self._count("listing/suspicious")
                missing = missing[: self.rules.suspicious_sample]
            keys += [k for k in missing if k not in keys and self._askable(k)]
        return keys

    def _due(self) -> list[str]:
        # an article without a schedule was stored by a run that did not finish: it gets
        # one when this run closes
        due = [
            (known.next_check_at, key)
            for key, known in self.memory.articles.items()
            if key not in self._fetching
            and known.url
            and known.next_check_at is not None
            and known.next_check_at <= self.now
            and self.can_fetch(known.url)
        ]
        return [key for _, key in sorted(due)]

    def _moved(self) -> list[tuple[str, str]]:
        """Known live articles this run listed only under URLs other than the stored one (Gansu
        republishes a moved article under its new column's folder, and the old URL answers
        404): their page at a listed URL, so the stored URL follows and no re-check of the
        old one withdraws a listed article."""
        moved = []
        for key, urls in sorted(self._listed_urls.items()):
            known = self.memory.articles.get(key)
            if known is None or known.withdrawn or key in self._fetching or known.url in urls:
                continue
            url = (
                min(u for u in urls if self.can_fetch(u))
                if any(map(self.can_fetch, urls))
                else None
            )
            if url is not None:
                moved.append((key, url))
        return moved

    def page_answered(
        self, key: str, answer: PageAnswer, page_hash: str | None = None, purpose: str = "fetch"
    ) -> bool:
        """What a known article's page said. Returns True when the page's content should be
        stored (it changed, or its stored copy has nothing to compare with)."""
        known = self.memory.articles.get(key)
        if known is None:
            return answer is PageAnswer.OK
        self._answers[key] = (answer, page_hash, purpose)
        self._count(f"{purpose}/{answer.value}")
        if answer is not PageAnswer.OK:
            return False
        # nothing to compare with (stored from a listing): the store compares the content
        changed = page_hash is None or known.page_hash is None or page_hash != known.page_hash
        if purpose != "fetch":
            self._count(f"{purpose}/{'changed' if changed else 'unchanged'}")
        return changed or known.withdrawn or purpose in ("fetch", "moved")

    # --- what the run learned ------------------------------------------------------------------
    def journal(self, healthy: bool) -> Journal:
        """The writes of this run. ``healthy``: the run finished and stored what it fetched —
        only then does a full listing change rosters and mark channels backfilled."""
        memory = self.memory
        journal = Journal(now=self.now)
        journal.listed = {k for k in self._listed_anywhere if k in memory.articles}

        # pages that answered: withdrawals, restorations and the re-check schedule
        for key, (answer, page_hash, _purpose) in sorted(self._answers.items()):
            known = memory.articles[key]
            if answer is PageAnswer.GONE:
                if not known.withdrawn:
                    journal.withdraw.add(key)
            elif answer in (PageAnswer.OK, PageAnswer.NOT_MODIFIED) and known.withdrawn:
                journal.restore.add(key)
            if answer is PageAnswer.FAILED:
                continue  # due again next run
            changed = (
                answer is PageAnswer.OK
                and known.page_hash is not None
                and page_hash != known.page_hash
            )
            interval = self.rules.next_interval(known.check_interval, changed)
            journal.schedule[key] = ScheduleUpdate(
                self.now + timedelta(days=interval), interval, self.now
            )
        # listed again: a withdrawn article that is listed is not withdrawn (its page, when
        # fetched, may say otherwise: then that answer wins)
        for key in journal.listed:
            if memory.articles[key].withdrawn and key not in journal.withdraw:
                if self._answers.get(key, (PageAnswer.OK,))[0] is not PageAnswer.GONE:
                    journal.restore.add(key)

        # rosters and the channels of each article
        rosters = {code: set(keys) for code, keys in memory.rosters.items()}
        for code, run in self._channels.items():
            roster = rosters.setdefault(code, set())
            roster.update(run.listed)
            ended = run.outcome is Paging.END and not run.failed and healthy
            if not ended or self._suspicious(code):
                continue  # nothing is concluded from what such a listing lacked
            # the roster is what the listing showed, but for live articles it lacked whose page
            # was not asked yet (beyond the budget): they are asked next run
            missing = set(self._missing(code))
            for key in list(roster):
                if key in run.seen:
                    continue
                answer = self._answers.get(key, (None,))[0]
                unasked = answer is None or answer is PageAnswer.FAILED
                if not (key in missing and self._askable(key) and unasked):
                    roster.discard(key)
            total = run.total if run.total is not None else len(run.seen) + run.unreadable
            first_page = run.first_page if run.first_page is not None else ()
            journal.channel_states[code] = ChannelMemory(
                True, total - len(run.seen), self.now, first_page
            )
        for code, run in self._channels.items():
            # a channel whose paging stopped undecided (a list page failed) keeps the first
            # page it had: the next run still sees what moved and lists it to its end
            undecided = run.failed or run.outcome is None
            if code not in journal.channel_states and run.first_page is not None and not undecided:
                old = memory.channel(code)
                if old.first_page != run.first_page:
                    journal.channel_states[code] = replace(old, first_page=run.first_page)
        for code, roster in rosters.items():
            before = memory.roster(code)
            added, removed = roster - before, before - roster
            if added or removed:
                journal.roster_changes[code] = (added, set(removed))
        # an article's channels are the channels whose listings show it; one that no listing
        # shows any more keeps the channels it had
        for key in set(memory.articles) | set(self._listed_anywhere):
            after = {code for code, roster in rosters.items() if key in roster}
            known = memory.articles.get(key)
            if after and (known is None or after != set(known.channels)):
                journal.channels[key] = sorted(after)
        journal.counts = dict(self.counts)
        return journal

"""The incremental policy, case by case: the histories that withdrew live articles before, and
the bounds the README promises (one run when the counts or the first page show a change, the
periodic full listing when nothing does)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crawler.incremental.policy import Paging, Rules
from tests.portal_model import ModelPortal, ModelStore, crawl

CST = timezone(timedelta(hours=8))
T0 = datetime(2025, 6, 1, 9, tzinfo=CST)
RULES = Rules(max_interval_days=10, budget=30, relist_days=15)


def portal_of(sizes: dict[str, int], body_in_listing: bool = False) -> ModelPortal:
    portal = ModelPortal(list(sizes), per_page=5, body_in_listing=body_in_listing)
    for channel, size in sizes.items():
        for i in range(size):
            portal.add(channel, T0 - timedelta(days=i + 1), T0)
    return portal


def first_run(portal: ModelPortal) -> ModelStore:
    store = ModelStore()
    crawl(portal, store, T0, RULES)
    assert len(store.articles) == len(portal.articles)
    return store


def withdrawn(store: ModelStore) -> set[str]:
    return {k for k, a in store.articles.items() if a.withdrawn}


def test_a_withdrawal_on_the_first_page_is_marked_by_the_next_run():
    portal = portal_of({"a": 12})
    store = first_run(portal)
    portal.articles["k2"].live = False
    report = crawl(portal, store, T0 + timedelta(hours=6), RULES)
    assert withdrawn(store) == {"k2"}
    assert report.paging["a"] is Paging.END and report.counts["follow_ups/confirm"] == 1


def test_a_withdrawal_deep_down_is_marked_by_the_next_run_through_the_count():
    portal = portal_of({"a": 12})
    store = first_run(portal)
    portal.articles["k11"].live = False  # page 3
    crawl(portal, store, T0 + timedelta(hours=6), RULES)
    assert withdrawn(store) == {"k11"}


def test_an_old_entry_pinned_without_a_flag_withdraws_nothing():
    portal = portal_of({"a": 12})
    store = first_run(portal)
    portal.articles["k12"].top = True  # the oldest, re-sorted to the top
    report = crawl(portal, store, T0 + timedelta(hours=6), RULES)
    assert withdrawn(store) == set() and report.counts.get("paging/first_page_moved") == 1
    # and the run after that stops on the first page again
    report = crawl(portal, store, T0 + timedelta(hours=12), RULES)
    assert report.paging["a"] is Paging.KNOWN and report.requests == 1


def test_a_reversed_order_and_a_failing_page_withdraw_nothing():
    portal = portal_of({"a": 12, "b": 7})
    store = first_run(portal)
    portal.reversed_channels.add("a")
    portal.failing_pages.add(("b", 2))
    crawl(portal, store, T0 + timedelta(hours=6), RULES)
    assert withdrawn(store) == set()


def test_a_channel_empty_for_one_run_withdraws_nothing_and_loses_no_channel():
    portal = portal_of({"a": 12})
    store = first_run(portal)
    portal.empty_channels.add("a")
    report = crawl(portal, store, T0 + timedelta(hours=6), RULES)
    assert withdrawn(store) == set() and report.counts["listing/suspicious"] == 1
    # only a small sample of pages was asked, and every article keeps its channel
    assert report.counts["follow_ups/confirm"] == RULES.suspicious_sample
    assert all(a.channels == ["a"] for a in store.articles.values())


def test_a_moved_article_takes_its_new_channel_and_leaves_the_old_one():
    portal = portal_of({"a": 8, "b": 8})
    store = first_run(portal)
    portal.articles["k3"].channels = ["b"]
    crawl(portal, store, T0 + timedelta(hours=6), RULES)
    assert store.articles["k3"].channels == ["b"] and withdrawn(store) == set()


def test_an_addition_hidden_by_a_removal_is_found_by_the_periodic_full_listing():
    portal = portal_of({"a": 12})
    store = first_run(portal)
    # one entry removed deep down, one old entry added deep down: the count is the same and
    # the first page did not move
    portal.articles["k11"].live = False
    added = portal.add("a", T0 - timedelta(days=9.5), T0)
    now = T0 + timedelta(days=1)
    crawl(portal, store, now, RULES)
    assert added.key not in store.articles  # what the README says the counts cannot show
    while now < T0 + timedelta(days=RULES.relist_days + 1):
        now += timedelta(days=1)
        crawl(portal, store, now, RULES)
    assert added.key in store.articles and withdrawn(store) == {"k11"}


def test_a_run_with_no_change_lists_one_page_per_channel_and_rechecks_within_the_budget():
    portal = portal_of({"a": 40, "b": 40, "c": 40}, body_in_listing=False)
    store = first_run(portal)
    report = crawl(portal, store, T0 + timedelta(days=30), Rules(budget=7, relist_days=60))
    assert report.requests == 3 + 7
    assert report.counts["follow_ups/recheck"] == 7


def test_an_edit_the_listing_does_not_show_is_found_by_a_recheck_and_the_interval_adapts():
    portal = portal_of({"a": 6}, body_in_listing=False)
    store = first_run(portal)
    interval = store.articles["k1"].check_interval
    assert interval == 1.0  # published a day before: re-checked after a day
    portal.articles["k1"].body += "（更正）"
    crawl(portal, store, T0 + timedelta(days=1, hours=1), RULES)
    assert store.articles["k1"].body.endswith("（更正）")
    assert store.articles["k1"].check_interval == RULES.min_interval_days  # changed: shrinks
    crawl(portal, store, T0 + timedelta(days=2, hours=2), RULES)
    assert store.articles["k1"].check_interval == 1.4  # unchanged: grows


def _list(policy, pages, total, asked=15):  # type: ignore[no-untyped-def]
    """Feed listing pages to a policy as the spider does; return the decisions."""
    decisions = []
    for keys in pages:
        for key in keys:
            policy.entry("a", key, "fp-" + key)
        decisions.append(policy.page_listed("a", total, asked))
        if decisions[-1] is not Paging.NEXT:
            break
    return decisions


def test_a_total_the_pages_do_not_bear_out_ends_paging_without_an_end():
    from crawler.incremental.policy import Memory, RunPolicy

    policy = RunPolicy(Memory(), T0)
    page = [f"k{i}" for i in range(15)]
    assert _list(policy, [page, []], total=10**12) == [Paging.NEXT, Paging.CUT]
    policy = RunPolicy(Memory(), T0)
    assert _list(policy, [page, page], total=10**12) == [Paging.NEXT, Paging.CUT]
    state = policy.journal(healthy=True).channel_states["a"]
    assert not state.backfilled and state.ended_at is None  # not listed to its end


def test_fresh_entries_forever_stop_at_the_page_cap():
    from crawler.incremental.policy import Memory, RunPolicy

    policy = RunPolicy(Memory(), T0, rules=Rules(page_cap_floor=5, page_cap_max=12))
    pages = [[f"p{n}-{i}" for i in range(15)] for n in range(50)]
    decisions = _list(policy, pages, total=10**12)
    assert len(decisions) == 12 and decisions[-1] is Paging.CUT  # page_cap_max


def test_a_first_crawl_of_a_big_channel_is_not_cut_by_the_cap():
    from crawler.incremental.policy import Memory, RunPolicy

    policy = RunPolicy(Memory(), T0, rules=Rules(page_cap_floor=5, page_cap_max=100))
    pages = [[f"p{n}-{i}" for i in range(15)] for n in range(40)]
    decisions = _list(policy, pages, total=600)
    assert len(decisions) == 40 and decisions[-1] is Paging.END


def test_a_portal_that_caps_the_page_size_is_listed_to_its_real_end():
    from crawler.incremental.policy import Memory, RunPolicy

    policy = RunPolicy(Memory(), T0)
    pages = [[f"k{n}-{i}" for i in range(10)] for n in range(8)]  # asked 15, given 10
    decisions = _list(policy, pages, total=80)
    assert decisions == [Paging.NEXT] * 7 + [Paging.END]
    assert policy.journal(healthy=True).channel_states["a"].ended_at == T0


def test_an_entry_raised_to_the_top_of_page_one_is_rechecked_in_the_same_run():
    # TRS re-sorts an edited article to the top, its title and date unchanged: the listing
    # shows nothing new, only the order does (found by the TRS history, kept here)
    portal = portal_of({"a": 12})
    store = first_run(portal)
    portal.articles["k4"].body += "（更正）"
    portal.articles["k4"].top = True
    report = crawl(portal, store, T0 + timedelta(hours=6), RULES)
    assert store.articles["k4"].body.endswith("（更正）")
    assert report.counts["follow_ups/raised"] == 1 and withdrawn(store) == set()


def test_a_removal_from_page_one_behind_a_failing_page_two_is_found_by_the_next_run():
    portal = portal_of({"a": 12})
    store = first_run(portal)
    portal.articles["k2"].live = False
    portal.failing_pages.add(("a", 2))
    crawl(portal, store, T0 + timedelta(hours=6), RULES)
    assert withdrawn(store) == set()
    portal.clear_faults()
    report = crawl(portal, store, T0 + timedelta(hours=12), RULES)
    assert withdrawn(store) == {"k2"} and report.paging["a"] is Paging.END

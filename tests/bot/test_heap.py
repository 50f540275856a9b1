"""The started bot's heap is set aside from full collections; what is garbage then is collected first."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.heap import YOUNG_THRESHOLD, CollectorPacing, settle_heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    yield
    gc.unfreeze()  # the rest of the test session collects as it did before the test
    if frozen_before:
        gc.freeze()  # the session had set its heap aside (tests/conftest.py): set aside what is alive again
    gc.set_threshold(*thresholds)


def test_live_objects_are_frozen_and_garbage_cycles_are_collected_first(unfrozen: None) -> None:
    kept = [Node() for _ in range(100)]
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle only the collector can free
    gone = weakref.ref(a)
    del a, b
    before = gc.get_freeze_count()

    frozen = settle_heap()

    assert gone() is None, "the cycle was collected, not frozen"
    # frozen objects can still be freed by reference counting, so the count is not compared again later
    assert frozen >= before + len(kept)
    assert not any(obj is kept[0] for obj in gc.get_objects()), "frozen objects are out of the collector's lists"


def test_the_young_generation_is_collected_less_often_and_the_older_ones_keep_their_ratios(unfrozen: None) -> None:
    _young, middle, old = gc.get_threshold()
    settle_heap()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)


@pytest.fixture
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()


def test_the_collector_is_held_off_while_acks_wait_and_resumes_once_none_does(collector_restored: None) -> None:
    pacing = CollectorPacing(limit=10**9)
    pacing.start()

    pacing.arrived()
    assert not gc.isenabled(), "no collection pauses the loop while a request waits for its ack"
    pacing.arrived()  # a second request of the same burst
    assert not gc.isenabled()

    pacing.opened()
    assert gc.isenabled(), "the held-off collection runs before the work after the acks"


def test_a_flood_that_never_pauses_does_not_keep_the_collector_off_for_ever(collector_restored: None) -> None:
    pacing = CollectorPacing(limit=0)  # every young allocation is past the limit
    pacing.start()
    pacing.arrived()
    assert gc.isenabled(), "past the limit the collector runs as usual even while acks wait"

    held = CollectorPacing(limit=10**9)
    held.start()
    held.arrived()
    held.limit = 0  # the flood went on and the young generation grew past the limit
    held.arrived()
    assert gc.isenabled()


def test_the_collector_is_untouched_until_serve_starts_the_pacing(collector_restored: None) -> None:
    pacing = CollectorPacing()
    pacing.arrived()
    assert gc.isenabled(), "tests and the console, which never start it, keep the collector as it is"
    pacing.opened()
    assert gc.isenabled()

"""The started bot's heap is set aside from full collections; what is garbage then is collected first."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.heap import YOUNG_THRESHOLD, settle_heap


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

"""The run order for xdist's worksteal (tests/ordering.py): long tests at the head of each
worker's share, spread by expected time, every item kept exactly once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import cast

import pytest

from tests.ordering import long_tests_first, share_sizes


@dataclass(eq=False)
class FakeItem:
    nodeid: str
    slow: bool = False

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "slow" and self.slow else None


def _items() -> list[pytest.Item]:
    short = [FakeItem(f"tests/x/test_short.py::test_{i}") for i in range(10)]
    long = [FakeItem("tests/app/test_replicas.py::test_three"),
            FakeItem("tests/faults/test_kill_and_restart.py::test_kill"),
            FakeItem("tests/faults/test_duplicate_clicks.py::test_dup"),
            FakeItem("tests/z/test_unlisted.py::test_slow", slow=True)]
    return cast(list[pytest.Item], [*short[:5], long[0], *short[5:], *long[1:]])


def test_shares_are_the_ones_worksteal_hands_out() -> None:
    assert share_sizes(14, 2) == [7, 7]
    assert share_sizes(15, 2) == [7, 8]
    assert share_sizes(10, 3) == [3, 3, 4]


def test_each_share_starts_with_its_long_tests_and_nothing_is_lost() -> None:
    items = _items()
    ordered = long_tests_first(items, 2)
    assert sorted(i.nodeid for i in ordered) == sorted(i.nodeid for i in items)
    first, second = ordered[:7], ordered[7:]
    # 41 s alone in one share; 19 + 18.5 + 2 in the other
    assert first[0].nodeid.startswith("tests/app/test_replicas.py")
    assert [i.nodeid.split("::")[0] for i in second[:3]] == [
        "tests/faults/test_kill_and_restart.py", "tests/faults/test_duplicate_clicks.py", "tests/z/test_unlisted.py"]
    # the short tests keep their collection order
    shorts = [i.nodeid for i in ordered if "test_short" in i.nodeid]
    assert shorts == [f"tests/x/test_short.py::test_{i}" for i in range(10)]


def test_without_workers_the_longest_run_first() -> None:
    ordered = long_tests_first(_items(), 1)
    assert ordered[0].nodeid.startswith("tests/app/test_replicas.py")
    assert ordered[1].nodeid.startswith("tests/faults/test_kill_and_restart.py")


def test_n_auto_starts_one_worker_per_core_plus_two(pytestconfig: pytest.Config,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`pytest -n auto` (as the README says) runs as many workers as scripts/test: two more than
    the cores fill the tests' waits. The environment's override still wins."""
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert pytestconfig.hook.pytest_xdist_auto_num_workers(config=pytestconfig) == cores + 2
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "5")
    assert pytestconfig.hook.pytest_xdist_auto_num_workers(config=pytestconfig) == 5

"""Run order for pytest-xdist's worksteal: the longest tests first, one share per worker.

Worksteal hands each worker a contiguous share of the collected items and, when a worker runs
dry, moves the *tail* of the busiest worker's share to it. A 40 s end-to-end test collected
late therefore starts late and runs alone at the end while the other core idles. Here the
known-long tests are spread over the workers' shares (longest first, each to the share with the
least expected time so far, as in LPT scheduling) and put at the head of their share; the rest
keeps its collection order, so module fixtures and file locality are kept. Every item is still
run exactly once: only the order changes.

The expected seconds come from ``--durations=60`` of a whole run on the 2-core machine; a test
marked ``slow`` that is missing here counts as ``SLOW_DEFAULT``. Keep the table roughly right,
not exact: an error only costs some overlap.
"""

from __future__ import annotations

import os

import pytest

#: a `slow` test not listed below
SLOW_DEFAULT = 2.0

#: node-id prefix -> expected seconds (setup + call), measured with --durations=60
EXPECTED_SECONDS: dict[str, float] = {
    "tests/app/test_replicas.py::": 41.0,
    "tests/faults/test_kill_and_restart.py::": 19.0,
    "tests/faults/test_duplicate_clicks.py::": 18.5,
    "tests/app/test_replica_takeover.py::": 17.0,
    "tests/commands/slack/digest/test_digest_performance.py::": 11.5,  # each database
    "tests/security/test_fuzz.py::test_any_issue_form_state": 10.5,
    "tests/app/test_graceful_shutdown.py::": 10.5,
    "tests/faults/test_recovery_time.py::test_an_execution_whose_process_died": 10.3,
    "tests/faults/test_recovery_time.py::test_a_slow_provider_call": 9.5,
    "tests/faults/test_bulk_kill.py::": 8.7,
    "tests/faults/test_database_contention.py::test_an_approval_clicked_during_a_lock": 7.5,
    "tests/faults/test_database_contention.py::test_an_approval_that_cannot_be_recorded": 6.3,
    "tests/faults/test_database_contention.py::test_an_issue_form_is_acknowledged": 5.5,
    "tests/faults/test_recovery_time.py::test_an_approved_request_nobody_ran": 5.2,
    "tests/faults/test_slack_failures.py::test_a_hung_card_update": 4.8,
    "tests/bot/console/test_app.py::": 3.5,
    "tests/security/test_no_secrets_in_logs.py::": 3.1,
    # the not-slow lane's longest (--durations=80 of `-m "not slow"` at load 0.5), so that they start
    # at the head of a share rather than wherever collection put them
    "tests/commands/workflow/test_bulk.py::test_a_lost_bulk_result": 3.0,  # each database (batched writes)
    "tests/commands/ledger/test_unpaid_daily.py::test_unpaid_totals_follow_every_kind_of_write[postgresql]": 5.8,
    "tests/commands/workflow/test_bulk.py::test_120_rows_are_one_approval_and_two_bulk_submits": 2.5,  # each
    "tests/commands/slack/test_modal.py::test_any_submission_gives_a_draft_or_errors_never_an_exception": 3.3,
    "tests/app/test_bulk.py::test_the_corrected_file_is_approved_once_and_issued_in_two_bulk_submits": 3.1,
    "tests/commands/workflow/test_sweep_run.py::test_answers_are_written_in_batches": 2.6,  # each database
    "tests/commands/workflow/test_sweep_run.py::test_each_provider_runs_at_its_declared": 2.5,  # each database
}


def expected_seconds(item: pytest.Item) -> float:
    """What `item` is expected to take; 0 for the many short tests."""
    for prefix, seconds in EXPECTED_SECONDS.items():
        if item.nodeid.startswith(prefix):
            return seconds
    return SLOW_DEFAULT if item.get_closest_marker("slow") is not None else 0.0


def worker_count() -> int:
    """How many xdist workers share the items (1 without xdist)."""
    try:
        return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        return 1


def share_sizes(total: int, workers: int) -> list[int]:
    """The contiguous shares worksteal's first distribution gives each worker, in order."""
    sizes = []
    left = total
    for i in range(workers):
        size = left // (workers - i)
        sizes.append(size)
        left -= size
    return sizes


def long_tests_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """`items` reordered: each worker's share starts with its part of the long tests."""
    if workers < 1 or not items:
        return list(items)
    long = sorted((i for i in items if expected_seconds(i) > 0), key=lambda i: -expected_seconds(i))
    long_ids = {id(i) for i in long}
    rest = [i for i in items if id(i) not in long_ids]
    sizes = share_sizes(len(items), workers)
    loads = [0.0] * workers
    heads: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for item in long:
        open_shares = [w for w in range(workers) if len(heads[w]) < sizes[w]]
        target = min(open_shares, key=lambda w: (loads[w], w))
        heads[target].append(item)
        loads[target] += expected_seconds(item)
    ordered: list[pytest.Item] = []
    rest_iter = iter(rest)
    for w in range(workers):
        ordered.extend(heads[w])
        ordered.extend(next(rest_iter) for _ in range(sizes[w] - len(heads[w])))
    return ordered

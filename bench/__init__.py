"""Benchmarks anyone can run: `python -m bench [--quick] [--only ack,sweep,digest]`.

Each benchmark measures its own baseline in the same run (a bare Bolt app, the lower
bound of the provider calls, the same digest on a small table) and prints the ratio,
so the figures mean something on a noisy machine. See docs/benchmarks.md.
"""

from __future__ import annotations

__all__: list[str] = []

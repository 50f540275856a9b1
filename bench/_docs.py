"""`python -m bench --write-docs`: the figures in docs/benchmarks.md come from a run, never by hand.

Each benchmark owns one section of the document, between ``<!-- bench:NAME:start -->`` and
``<!-- bench:NAME:end -->``. A run replaces the sections of the benchmarks it ran (with the
date, the machine and the command that produced them) and leaves the others as they were, so
``--only digest --write-docs`` refreshes the digest's figures alone. A benchmark that failed to
run says so in its section instead of keeping figures that no longer describe the code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from bench._common import REPO, BenchResult

__all__ = ["DOCS", "render_section", "write_docs"]

DOCS = REPO / "docs" / "benchmarks.md"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def render_section(result: BenchResult, facts: dict[str, str], command: str) -> str:
    """The body of one benchmark's section: when, where, how, then its tables and notes."""
    lines = [f"`{command}`, {facts['date']}: {facts['nproc']} CPUs ({facts['cpu']}), {facts['memory']} RAM, "
             f"Python {facts['python']}, {facts['platform']}; {result.seconds:.0f} s.", ""]
    if result.error:
        return "\n".join([*lines, f"**Failed to run:** {result.error}"])
    lines += [*result.final_lines, ""] if result.final_lines else []
    lines += [result.markdown()]
    if result.notes:
        lines += ["", *[f"- {note}" for note in result.notes]]
    return "\n".join(lines)


def write_docs(path: Path, results: Sequence[BenchResult], facts: dict[str, str], command: str) -> None:
    """Replace the sections of `results` in `path` (appending a section that is missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    for result in results:
        start, end = _markers(result.name)
        block = f"{start}\n{render_section(result, facts, command)}\n{end}"
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
        found = pattern.search(text)
        if found:
            text = text[:found.start()] + block + text[found.end():]
        else:
            text = text.rstrip("\n") + f"\n\n### {result.name}\n\n{block}\n"
    path.write_text(text, encoding="utf-8")

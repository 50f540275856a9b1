"""`python -m bench [--quick] [--only ack,sweep,digest] [--markdown FILE]`.

Runs the benchmarks one after the other, each printing its table as it goes, then one
final line per benchmark and the targets as pass/miss. The exit status is non-zero
only when a benchmark could not run (a crash, a server that would not start); a
missed target is reported, never failed on, because timings on a shared 2-core
machine are not a test.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bench._common import REPO, BenchResult, machine_facts
from bench._docs import DOCS, write_docs

__all__ = ["BENCHMARKS", "main"]


def _ack(quick: bool) -> BenchResult:
    from bench import ack

    return ack.run(quick)


def _sweep(quick: bool) -> BenchResult:
    from bench import sweep

    return sweep.run(quick)


def _digest(quick: bool) -> BenchResult:
    from bench import digest

    return digest.run(quick)


def _start(quick: bool) -> BenchResult:
    from bench import start

    return start.run(quick)


def _provider_http(quick: bool) -> BenchResult:
    from bench import provider_http

    return provider_http.run(quick)


def _status(quick: bool) -> BenchResult:
    from bench import status

    return status.run(quick)


BENCHMARKS: dict[str, Callable[[bool], BenchResult]] = {"start": _start, "ack": _ack, "sweep": _sweep,
                                                        "digest": _digest}
BENCHMARKS.update({"provider_http": _provider_http, "status": _status})


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # turn SIGTERM into an exception so every `finally` stops its children and removes its files
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes (CI): proves the benchmarks run")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the result tables to this file")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"replace each benchmark's figures in {DOCS.relative_to(REPO)} with this run's")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    signal.signal(signal.SIGTERM, _terminate)

    facts = machine_facts()
    mode = "quick" if args.quick else "full"
    print(f"invoicebot benchmarks ({mode}): {facts['date']}; {facts['nproc']} CPUs ({facts['cpu']}), "
          f"{facts['memory']} RAM, Python {facts['python']}, {facts['platform']}", flush=True)
    results: list[BenchResult] = []
    for name in chosen:
        print(f"\n== {name}", flush=True)
        started = time.monotonic()
        try:
            result = BENCHMARKS[name](args.quick)
        except KeyboardInterrupt:
            print(f"\ninterrupted during {name}; children stopped and temporary files removed", file=sys.stderr)
            return 130
        except Exception as exc:
            # the frames, and the message cut short (a failed bulk insert quotes every row it had)
            print("".join(traceback.format_tb(exc.__traceback__)[-8:]), file=sys.stderr)
            print(f"{type(exc).__name__}: {str(exc)[:1500]}", file=sys.stderr)
            result = BenchResult(name, error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
        result.seconds = time.monotonic() - started
        results.append(result)

    print("\n== summary", flush=True)
    for result in results:
        if result.error:
            print(f"{result.name}: FAILED TO RUN: {result.error}")
            continue
        for line in result.final_lines:
            print(line)
        misses = [c for c in result.checks if c.ok is False]
        verdict = "all targets met" if not misses else f"{len(misses)} target(s) missed"
        print(f"{result.name}: {verdict} ({result.seconds:.0f} s)")
        for check in result.checks:
            if check.ok is not None:
                print(f"  [{check.verdict}] {check.what}: {check.measured} (target {check.target})")
        if result.growth:
            print("\n".join(["  growth:", *("  " + line for line in [result.growth_header, *result.growth])]))
        for note in result.notes:
            print(f"  note: {note}")
    if args.markdown is not None:
        _write_markdown(args.markdown, results, facts, mode)
    if args.write_docs:
        command = "python -m bench" + (" --quick" if args.quick else "") + \
            (f" --only {','.join(chosen)}" if chosen != list(BENCHMARKS) else "") + " --write-docs"
        write_docs(DOCS, results, facts, command)
        print(f"\nwrote {DOCS.relative_to(REPO)}")
    return 1 if any(r.error for r in results) else 0


def _write_markdown(path: Path, results: list[BenchResult], facts: dict[str, str], mode: str) -> None:
    parts = [f"Run ({mode}) on {facts['date']}: {facts['nproc']} CPUs ({facts['cpu']}), {facts['memory']} RAM, "
             f"Python {facts['python']}, {facts['platform']}.", ""]
    for result in results:
        parts.append(f"### {result.name}")
        parts.append("")
        if result.error:
            parts += [f"Failed to run: {result.error}", ""]
            continue
        parts += [result.markdown(), ""]
        parts += [f"- {note}" for note in result.notes]
        parts.append("")
    path.write_text("\n".join(parts), encoding="utf-8")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    sys.exit(main())

"""Shared pieces of the benchmarks: results, percentiles, child processes, machine facts.

Every benchmark measures its baseline in the same run and prints ratios, because this
machine (2 cores, shared) is noisy: an absolute figure from yesterday says little, a
ratio against a baseline measured a minute ago says a lot. Nothing here asserts a
timing; targets are printed as pass/miss.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import platform
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = [
    "REPEATS",
    "REPO",
    "BenchResult",
    "Check",
    "Child",
    "child_env",
    "fmt_ms",
    "free_port",
    "machine_facts",
    "median",
    "percentile",
    "proc_cpu_seconds",
    "python",
    "spread",
    "temp_dir",
]

#: Every figure is measured this many times (fresh processes where a process is measured)
#: and printed as min / median / max.
REPEATS = 3

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Check:
    """One target: what was asked, what was measured, and whether it was met (None: informational)."""

    what: str
    target: str
    measured: str
    ok: bool | None

    @property
    def verdict(self) -> str:
        return "info" if self.ok is None else ("pass" if self.ok else "MISS")


@dataclass
class BenchResult:
    """What one benchmark found; `final_lines` are printed again at the end of the run."""

    name: str
    final_lines: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    #: rows of a growth table (markdown), printed under `growth_header`
    growth: list[str] = field(default_factory=list)
    growth_header: str = ""

    def check(self, what: str, target: str, measured: str, ok: bool | None) -> None:
        self.checks.append(Check(what, target, measured, ok))

    def markdown(self) -> str:
        """A table per benchmark, ready for docs/benchmarks.md."""
        lines = ["| what | target | measured | result |", "|---|---|---|---|"]
        lines += [f"| {c.what} | {c.target} | {c.measured} | {c.verdict} |" for c in self.checks]
        if self.growth:
            lines += ["", self.growth_header, *self.growth]
        return "\n".join(lines)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 200 samples is the 198th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def spread(values: Sequence[float], fmt: str = "{:.3f}", unit: str = "") -> str:
    """``min / median / max`` of `values`, each formatted with `fmt` (then `unit`)."""
    if not values:
        return "n/a"
    return " / ".join(fmt.format(v) + unit for v in (min(values), median(values), max(values)))


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def free_port() -> int:
    """A loopback port free right now (a small race with other programs; fine on a test box)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine_facts() -> dict[str, str]:
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
                break
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count() or "?"),
        "memory": memory,
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), for "where did the time go"."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return math.nan
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"invoicebot-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def child_env(extra: Mapping[str, str], *, workdir: Path) -> dict[str, str]:
    """A clean environment for a child: no Slack or provider settings leak in from ours, and no
    `invoicebot.toml` from the working directory (INVOICEBOT_CONFIG points at a missing file)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "INVOICEBOT_CONFIG": str(workdir / "no-such-invoicebot.toml"),
        "MPLCONFIGDIR": str(workdir / "mpl"),
    })
    env.update(extra)
    return env


class Child:
    """A child process in its own process group, stopped (group and all) by `stop()`.

    `announce=True` children print one JSON line on stdout when they are ready
    (`bench._servers`); `wait_line()` reads it with a deadline.
    """

    def __init__(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], workdir: Path,
                 announce: bool = False) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            list(argv), env=dict(env), cwd=str(workdir), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if announce else self._log, stderr=self._log, start_new_session=True,
        )
        if announce:
            threading.Thread(target=self._pump, name=f"{name}-stdout", daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._lines.put(None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_line(self, timeout: float) -> dict[str, Any]:
        """The child's ready line (JSON), or RuntimeError with the tail of its log."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{self.name} did not start within {timeout:.0f} s\n{self.log_tail()}")
            try:
                line = self._lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"{self.name} exited ({self.proc.poll()}) before it was ready\n{self.log_tail()}")
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict):
                    return data

    def log_tail(self, chars: int = 2000) -> str:
        with contextlib.suppress(OSError):
            self._log.flush()
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 8.0) -> None:
        """SIGTERM to the child's group, then SIGKILL if it lingers."""
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(5)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self._log.close()


def python() -> str:
    return sys.executable

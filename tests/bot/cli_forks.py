"""`python -m bot.cli ...` run as a user runs it, each in a process of its own, at a fraction of the cost.

A fresh interpreter spends most of a configuration-mistake run (0.6-1 s of CPU) importing the
third-party libraries (SQLAlchemy, pydantic, aiohttp, slack_bolt, httpx) before our own code says
one line and exits. Here one server process (per test module) imports those libraries once, and
forks a child for each run: the child takes the run's environment, working folder, arguments and
output files, then runs ``bot.cli`` as ``__main__`` exactly as ``python -m`` does. Nothing of ours
(``bot``, ``commands``, ``providers``) is imported by the server, so each child imports our code
afresh under its own environment, as a new process would; only libraries that read nothing of
ours at import time are shared.

Run as a script (``python tests/bot/cli_forks.py``): it reads one JSON request a line on stdin,
``{"argv": [...], "env": {...}, "cwd": "...", "stdout": "...", "stderr": "..."}``, and answers
each with ``{"code": <exit code>}`` on stdout. `CliForks` is the test side.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: imported once by the server; libraries only (none reads our settings at import time)
PRELOAD = ("sqlalchemy", "sqlalchemy.ext.asyncio", "pydantic", "pydantic_settings", "aiohttp", "aiohttp.web",
           "httpx", "slack_sdk", "slack_bolt", "babel")


@dataclass(frozen=True)
class CliRun:
    """What one ``python -m bot.cli`` run came to."""

    returncode: int
    stdout: str
    stderr: str


class CliForks:
    """The test side: one server, started on first use, a forked child per run."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self._proc: subprocess.Popen[str] | None = None

    def run(self, args: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 60) -> CliRun:
        """``python -m bot.cli *args`` with exactly `env`, in `cwd`, stdin from /dev/null."""
        proc = self._server()
        out, err = cwd / ".cli-stdout", cwd / ".cli-stderr"
        request = {"argv": list(args), "env": dict(env), "cwd": str(cwd), "stdout": str(out), "stderr": str(err)}
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        ready, _w, _x = select.select([proc.stdout], [], [], timeout)
        if not ready:
            self.close(kill=True)
            raise TimeoutError(f"bot.cli {' '.join(args)} did not finish in {timeout} s")
        answer = proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"the bot.cli fork server ended (exit {proc.wait()})")
        code = int(json.loads(answer)["code"])
        return CliRun(code, out.read_text(errors="replace"), err.read_text(errors="replace"))

    def _server(self) -> subprocess.Popen[str]:
        if self._proc is None:
            self._proc = subprocess.Popen([sys.executable, __file__], env=self._env, stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True, start_new_session=True)
        return self._proc

    def close(self, *, kill: bool = False) -> None:
        """Stop the server (and, with `kill`, a child still running)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if kill:
            os.killpg(proc.pid, signal.SIGKILL)
        elif proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


# --------------------------------------------------------------------------- the server


def _child(request: Mapping[str, Any], path: list[str]) -> None:
    """In the forked child: become ``python -m bot.cli <argv>`` in the request's world; never returns."""
    import runpy
    import traceback

    code: Any = 0
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, name, flags in ((0, os.devnull, os.O_RDONLY),
                                (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            opened = os.open(name, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        # the server's stdin object may hold requests read ahead: the child reads its own /dev/null
        sys.stdin = open(0, encoding=sys.stdin.encoding, errors=sys.stdin.errors, closefd=False)  # noqa: SIM115
        sys.path[:] = [os.getcwd(), *path]  # as `python -m` in that folder: the folder first
        sys.argv = ["-m", *request["argv"]]
        runpy.run_module("bot.cli", run_name="__main__", alter_sys=True)
    except SystemExit as exc:  # as the interpreter ends on SystemExit
        code = exc.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
    except BaseException:  # as the interpreter reports an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code or 0)


def serve() -> None:
    """Import the libraries once, then fork a child per request line until stdin closes."""
    import contextlib
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):  # a library the product no longer uses
            importlib.import_module(name)
    path = sys.path[1:]  # without this script's folder
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request, path)
        _pid, status = os.waitpid(pid, 0)
        sys.stdout.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()

"""The `invoicebot` command runs `serve` under ``python -OO`` (bot/launch.py): 5 MB less at idle,
measured by bench/start.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.launch import optimized_restart
from tests.local_http import free_port
from tests.paths import REPO_ROOT


def test_serve_restarts_under_python_oo_with_the_same_arguments() -> None:
    argv = ["serve", "--http", "--port", "3000"]
    restart = optimized_restart(argv, {}, 0)
    assert restart is not None
    assert restart[0] == sys.executable
    assert restart[-7:] == ["-OO", "-m", "bot.cli", *argv]


def test_an_explicit_pythonoptimize_is_obeyed_and_nothing_else_restarts() -> None:
    assert optimized_restart(["serve"], {"PYTHONOPTIMIZE": "0"}, 0) is None  # debugging: asserts kept
    assert optimized_restart(["serve"], {}, 2) is None  # already restarted (or started with -OO)
    assert optimized_restart(["console"], {}, 0) is None
    assert optimized_restart(["migrate"], {}, 0) is None
    assert optimized_restart([], {}, 0) is None



def _serve_command_line(tmp_path: Path) -> str:
    """Start the installed `invoicebot serve`, wait for its first /health answer, and return the
    command line its process (the one we started) runs by then."""
    exe = Path(sys.executable).parent / "invoicebot"
    assert exe.exists(), "scripts/bootstrap installs the `invoicebot` command"
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "INVOICEBOT_CONFIG": str(tmp_path / "none.toml"),
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": "test-secret", "SLACK_API_URL": "http://127.0.0.1:9/api/",
           "MPLCONFIGDIR": str(tmp_path / "mpl")}
    child = subprocess.Popen([str(exe), "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
                             cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert child.poll() is None, child.stderr.read().decode()[-2000:] if child.stderr else ""
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # 503 "starting": it answers, so it has restarted and bound its port
            except OSError:
                assert time.monotonic() < deadline, "serve never answered /health"
                time.sleep(0.05)
        cmdline = Path(f"/proc/{child.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    finally:
        os.kill(child.pid, signal.SIGTERM)
        child.wait(timeout=60)
    return cmdline


def test_the_installed_command_serves_under_python_oo_in_the_same_process(tmp_path: Path) -> None:
    cmdline = _serve_command_line(tmp_path)
    assert " -OO -m bot.cli serve --http " in cmdline  # the process we started (same pid), restarted


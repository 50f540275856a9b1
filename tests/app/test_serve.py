"""`invoicebot serve` as a user runs it: a real process in HTTP mode."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.console.slack_double import SlackDoubleThread, SlackWebApiDouble
from bot.console.slack_requests import SlackRequestFactory
from tests.app.harness import BOT_TOKEN, SIGNING_SECRET
from tests.local_http import LOCAL_TLS, free_port

pytestmark = pytest.mark.slow  # starts `invoicebot serve` as a process



def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POPBILL_", "PAYSSAM_", "HIWORKS_",
                                                                    "ABILLIFY_", "INVOICEBOT_", "DATABASE_URL"))}
    env["PYTHONPATH"] = os.getcwd()
    # the suite reads English (tests/conftest.py); a process started here would otherwise be in
    # "auto", where a user Slack does not know reads the Korean channel default
    env["INVOICEBOT_LANGUAGE"] = os.environ.get("INVOICEBOT_LANGUAGE", "en")
    env.update(extra)
    return env


@pytest.fixture
def slack() -> Iterator[SlackDoubleThread]:
    thread = SlackDoubleThread(SlackWebApiDouble(valid_tokens={BOT_TOKEN}))
    thread.start()
    yield thread
    thread.stop()


def wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {process.stderr.read() if process.stderr else ''}")
        try:
            response = httpx.get(url + "/health", timeout=2, verify=LOCAL_TLS)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve never became healthy")


def test_serve_in_http_mode_is_healthy_and_answers_signed_requests(tmp_path: Path, slack: SlackDoubleThread) -> None:
    port = free_port()
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    SLACK_API_URL=slack.double.base_url, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1",
                                "--port", str(port)], env=env, cwd=tmp_path, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        health = wait_healthy(base, process).json()
        assert health["database"] == "ok" and health["scheduler"] == "running"
        assert set(health["sandbox_providers"]) == {"popbill", "payssam", "hiworks", "abillify"}
        factory = SlackRequestFactory(SIGNING_SECRET)
        request = factory.slash_command("help", user_id="U_ALICE", channel_id="C_FINANCE",
                                        response_url=slack.double.response_url())
        answer = httpx.post(base + "/slack/events", content=request.body, headers=request.headers, timeout=10,
                            verify=LOCAL_TLS)
        assert answer.status_code == 200 and "/invoice issue" in answer.text
        unsigned = httpx.post(base + "/slack/events", content=request.body,
                              headers={"Content-Type": request.content_type}, timeout=10,
                              verify=LOCAL_TLS)
        assert unsigned.status_code == 401
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-2000:]
    assert SIGNING_SECRET not in out + err and BOT_TOKEN not in out + err
    assert "SANDBOX" in err  # every sandboxed provider is announced
    assert "aside from the garbage collector" in err  # the started heap is frozen once serving (bot.heap)
    assert "waits while requests wait for their acks" in err  # bot.heap.CollectorPacing, wired to the ack gate
    assert "garbage collection resumed" in err  # held off while it started (bot.startup_gc)


def test_serve_refuses_production_on_sandboxes(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, INVOICEBOT_ENV="production",
                    DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(free_port())],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "production refuses to run providers on their sandboxes" in result.stderr


def test_serve_without_a_signing_secret_refuses_http_mode(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(free_port())],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr


def test_the_sandbox_command_prints_one_line_per_provider(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "sandbox"], env=clean_env(), cwd=tmp_path,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().split() for _ in range(4)]
        assert [name for name, _ in lines] == ["popbill", "payssam", "hiworks", "abillify"]
        for _name, url in lines:
            assert httpx.get(url + "/_sandbox/state", timeout=5, verify=LOCAL_TLS).status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=30)

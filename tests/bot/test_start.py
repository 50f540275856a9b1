"""`serve` starts without loading what it does not need yet (matplotlib, Alembic, the console,
cryptography, the holiday calendars, the provider sandboxes' code), and binds its port before
importing the bot at all.

Measured in bench/start.py: matplotlib and Alembic cost about a second and 50 MB at every
start, for a chart drawn once a day and migrations that are already applied; cryptography
(7 MB) is needed only with INVOICEBOT_ENCRYPTION_KEY, holidays (3 MB) on the first deadline
computed, the sandboxes' code only for providers without credentials, SQLAlchemy's PostgreSQL
dialect (every PostgreSQL driver's module, 2 MB) only on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.early_health import EarlyHealth
from commands.ledger import migrate
from commands.ledger.migrate import script_heads
from tests.paths import REPO_ROOT

HEAVY = ("matplotlib", "alembic", "mako", "bot.console.app", "bot.console.slack_double", "cryptography", "holidays",
         "openpyxl", "providers.sandbox.popbill", "providers.sandbox.hiworks", "sqlalchemy.dialects.postgresql")
#: what `bot.cli` must not import before `serve` has bound its port (`bot.early_health`)
BEFORE_LISTENING = ("sqlalchemy", "pydantic_settings", "slack_bolt", "slack_sdk", "aiohttp", "httpx", "bot.settings",
                    "bot.runtime", "bot.serve", "commands.ledger", "commands.workflow")


def _loaded_after(code: str, cwd: Path, watch: tuple[str, ...] = HEAVY) -> list[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {watch!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}, check=True)
    return [m for m in done.stdout.strip().split(",") if m]


@pytest.fixture(scope="module")
def serve_imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """One fresh process that imports what `serve` imports: which of `HEAVY` it loaded, and which of
    `ACK_MODELS` its imports left unbuilt (one process for both: an interpreter start is most of either)."""
    names = ", ".join(f"({name.rsplit('.', 1)[0]!r}, {name.rsplit('.', 1)[1]!r})" for name in ACK_MODELS)
    code = ("import importlib, json\nimport bot.cli, bot.serve, bot.runtime\n"
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
            f"unbuilt = [m + '.' + c for m, c in [{names}] if not getattr(importlib.import_module(m), c)"
            ".__pydantic_complete__]\nprint(json.dumps({'heavy': heavy, 'unbuilt': unbuilt}))")
    probe = f"import sys\n{code}"
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path_factory.mktemp("imports"), capture_output=True,
                          text=True, timeout=120, check=True,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    found: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_serve_imports_nothing_heavy(serve_imported: dict[str, list[str]]) -> None:
    assert serve_imported["heavy"] == []


def test_the_command_line_loads_nothing_of_the_bot_before_serve_listens(tmp_path: Path) -> None:
    code = "import bot.cli, bot.early_health"
    assert _loaded_after(code, tmp_path, BEFORE_LISTENING) == []


def _probe(early: EarlyHealth | None) -> tuple[int, object]:
    assert early is not None, "the port was not bound first"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{early.port}/health", timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_answers_health_before_reading_the_settings_and_hands_the_port_to_serve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.cli as cli
    import bot.config_errors as config_errors
    import bot.serve as serve_module
    from bot.settings import Settings

    bound: list[EarlyHealth | None] = []
    seen: list[tuple[str, tuple[int, object]]] = []
    real_listen = cli._listen_early

    def listen(args: argparse.Namespace) -> EarlyHealth | None:
        bound.append(real_listen(args))
        return bound[-1]

    def settings() -> Settings:
        seen.append(("reading settings", _probe(bound[0])))
        return Settings.model_construct()

    async def serve(_settings: Settings, **kwargs: Any) -> int:
        early = kwargs["early"]
        assert isinstance(early, EarlyHealth) and early is bound[0]
        seen.append(("serve", _probe(early)))
        early.close()
        return 0

    monkeypatch.setattr(cli, "_listen_early", listen)
    monkeypatch.setattr(config_errors, "load_settings_checked", settings)
    monkeypatch.setattr(serve_module, "serve", serve)
    assert cli.main(["serve", "--http", "--host", "127.0.0.1", "--port", "0"]) == 0
    starting = (503, {"ok": False, "starting": True})
    assert seen == [("reading settings", starting), ("serve", starting)]


#: what a started bot on SQLite, its providers on their sandboxes, holds at idle only if something loaded it
#: for nothing: the checks that follow are answered without them (bench/start.py, idle RSS)
IDLE_UNUSED = ("matplotlib", "alembic", "mako", "cryptography", "holidays", "openpyxl", "bot.console.app",
               "sqlalchemy.dialects.postgresql",
               # the features' code after the ack that nothing else loads: imported on first use
               "commands.slack.home", "commands.slack.blocks.settings", "commands.slack.blocks.provider_link",
               "commands.slack.modal.rows", "commands.slack.step_inputs",
               # the rarely used workflows and their Slack code (bulk, amend's execution, export, closure,
               # send-to-NTS, the status sweep) and the digest's reads and message: imported on first use
               "commands.workflow.bulk", "commands.workflow.bulk_parse", "commands.workflow.bulk_run",
               "commands.workflow.amend_exec", "commands.workflow.export", "commands.workflow.hometax",
               "commands.workflow.closure", "commands.workflow.send_nts", "commands.workflow.sweep",
               "commands.workflow.sweep_closure", "commands.workflow.sweep_plan", "commands.workflow.sweep_report",
               "commands.workflow.sweep_run", "commands.slack.blocks.bulk", "commands.slack.blocks.export",
               "commands.slack.digest.data", "commands.slack.digest.message", "commands.slack.chart",
               # the Store's bulk and sweep repositories: built on first access
               "commands.ledger.bulk", "commands.ledger.sweep_rows",
               # the digest's, App Home's and sweep's reads: resolved on first access (`digest_queries.__getattr__`)
               "commands.ledger.digest_queries.listings", "commands.ledger.digest_queries.activity",
               "commands.ledger.digest_queries.runs",
               # Babel's catalog tools: only to read a .po that was not compiled (`commands.i18n.core._from_po`)
               "babel.messages")
#: pydantic models (`defer_build`) an idle bot has not built, every model of a module or one class: the
#: providers' wire and request models, the workflow's results and the Block Kit cards, validated only by the
#: work after an ack, a webhook or a sandbox answering one
DEFERRED_MODELS = ("providers.hiworks.models", "providers.payssam._wire", "providers.payssam.callback",
                   "providers.abillify.webhooks", "providers.issued", "providers.base.BulkOutcome",
                   "providers.base.BulkResult", "providers.bizno", "commands.workflow.views",
                   "commands.slack.blocks.models",
                   *(f"providers.models.{name}" for name in ("Amounts", "DocumentRef", "StatusEvent", "DocumentStatus",
                                                             "BusinessStatus", "IssueRequest", "ResendRequest")))
#: ... and the models an ack validates itself (commands, the issue modal's submission): built at import, so
#: that their first build never lands on an ack
ACK_MODELS = ("providers.models.Party", "providers.models.LineItem", "commands.workflow.drafts.IssueDraft",
              "commands.slack.parser.models.IssueCommand", "commands.slack.parser.models.StatusCommand")
_BUILT = """
def built_models():
    import pydantic
    seen, stack, built = set(), [pydantic.BaseModel], []
    while stack:
        for cls in stack.pop().__subclasses__():
            if cls not in seen:
                seen.add(cls)
                stack.append(cls)
                name = cls.__module__ + "." + cls.__qualname__
                if DEFERRED & {cls.__module__, name} and cls.__dict__.get("__pydantic_complete__"):
                    built.append(name)
    return sorted(built)
"""
#: what `serve` itself (through `bot.cli`, as bench/start.py launches it) holds at idle only if something
#: loaded it for nothing: `IDLE_UNUSED`, and SQLAlchemy's ORM (`bot.lazy_orm`: the ledger uses Core only)
SERVE_IDLE_UNUSED = (*IDLE_UNUSED, "sqlalchemy.orm")
_SERVE_PROBE = """
import asyncio, json, os, signal, sys
import babel.core
import bot.heap

def settled():  # `serve` settles the heap once it is ready and no ack waits: the idle bot
    print(json.dumps({"loaded": [m for m in WATCH if m in sys.modules], "built": built_models(),
                      "babel_global_data": babel.core._global_data is not None}), flush=True)
    asyncio.get_running_loop().call_later(0.2, os.kill, os.getpid(), signal.SIGTERM)  # once it waits for one
    return 0

bot.heap.settle_heap = settled
from bot.cli import main
sys.exit(main(["serve", "--http", "--host", "127.0.0.1", "--port", "0"]))
"""


@pytest.fixture(scope="module")
def idle_serve(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`invoicebot serve` on its defaults (SQLite migrated, the four sandboxes in its process, the
    scheduler), started once for the tests below: what of `SERVE_IDLE_UNUSED` it holds once ready and
    idle, which of `DEFERRED_MODELS` it built, whether CLDR's global data is loaded, and its exit code
    on SIGTERM (a bot start is most of each test's cost: one start serves them all)."""
    folder = tmp_path_factory.mktemp("idle")
    url = f"sqlite+aiosqlite:///{folder / 'bot.db'}"
    migrate(url)
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin", "DATABASE_URL": url,
           "INVOICEBOT_CONFIG": str(folder / "none.toml"), "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": "test-secret", "SLACK_API_URL": "http://127.0.0.1:9/api/",
           "MPLCONFIGDIR": str(folder / "mpl")}
    code = f"WATCH = {SERVE_IDLE_UNUSED!r}\nDEFERRED = {set(DEFERRED_MODELS)!r}\n{_BUILT}\n{_SERVE_PROBE}"
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.stdout.strip(), done.stderr[-2000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    found["returncode"] = done.returncode
    found["stderr"] = done.stderr[-2000:]
    return found


def test_a_started_bot_idles_without_what_only_some_requests_need(idle_serve: dict[str, Any]) -> None:
    """A started bot loads neither the PostgreSQL dialect nor CLDR's global data (2 MB each) nor any
    module of `IDLE_UNUSED`, and builds no model of `DEFERRED_MODELS`."""
    assert [m for m in idle_serve["loaded"] if m in IDLE_UNUSED] == []
    assert idle_serve["built"] == []
    assert not idle_serve["babel_global_data"]


def test_serve_idles_without_what_only_some_requests_need(idle_serve: dict[str, Any]) -> None:
    """`invoicebot serve`, once ready, has loaded none of `SERVE_IDLE_UNUSED` (the ORM too) and still
    serves (exit 0 on SIGTERM)."""
    assert idle_serve["loaded"] == []
    assert idle_serve["returncode"] == 0, idle_serve["stderr"]


def test_the_models_an_ack_validates_are_built_at_import(serve_imported: dict[str, list[str]]) -> None:
    assert serve_imported["unbuilt"] == []


def test_opening_a_migrated_database_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    migrate(url)
    code = ("import asyncio\nfrom commands.ledger import Store\n"
            f"async def main():\n    s = await Store.open({url!r})\n    await s.close()\nasyncio.run(main())")
    assert _loaded_after(code, tmp_path) == []


def test_the_heads_read_from_the_files_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    from commands.ledger import alembic_config

    assert script_heads() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())

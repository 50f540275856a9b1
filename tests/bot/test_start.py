"""`serve` starts without loading what it does not need yet (matplotlib, Alembic, the console).

Measured in bench/start.py: matplotlib and Alembic cost about a second and 50 MB at every
start, for a chart drawn once a day and migrations that are already applied.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from commands.ledger import migrate
from commands.ledger.migrate import script_heads
from tests.paths import REPO_ROOT

HEAVY = ("matplotlib", "alembic", "mako", "bot.console.app", "bot.console.slack_double")


def _loaded_after(code: str, cwd: Path) -> list[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}, check=True)
    return [m for m in done.stdout.strip().split(",") if m]


def test_serve_imports_nothing_heavy(tmp_path: Path) -> None:
    assert _loaded_after("import bot.cli, bot.serve, bot.runtime", tmp_path) == []


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

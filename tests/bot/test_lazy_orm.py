"""`defer_orm`: SQLAlchemy's asyncio extension serves Core without loading the ORM, and becomes
the whole package, ORM and all, the first time something asks for an ORM name.

Each case runs in a fresh interpreter: this one imported the extension long ago.
"""

from __future__ import annotations

import json
import subprocess
import sys

import sqlalchemy.ext.asyncio

from bot.lazy_orm import PACKAGE, defer_orm
from tests.paths import REPO_ROOT

_PUBLIC = 'print(json.dumps(sorted(n for n in vars(sys.modules["sqlalchemy.ext.asyncio"]) if not n.startswith("_"))))'

_DEFERRED = """
import asyncio, json, sys
from bot.lazy_orm import defer_orm
assert defer_orm()
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
import sqlalchemy.ext.asyncio.engine as engine_module
assert AsyncEngine is engine_module.AsyncEngine and AsyncConnection is engine_module.AsyncConnection

async def core() -> object:
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.connect() as conn:
        found = (await conn.execute(text("SELECT 41 + 1"))).scalar()
    await engine.dispose()
    return found

assert asyncio.run(core()) == 42
assert "sqlalchemy.orm" not in sys.modules, "Core alone loaded the ORM"
from sqlalchemy.ext.asyncio import AsyncSession
assert "sqlalchemy.orm" in sys.modules

async def session() -> object:
    engine = create_async_engine("sqlite+aiosqlite://")
    async with AsyncSession(engine) as s:
        found = (await s.execute(text("SELECT 7"))).scalar()
    await engine.dispose()
    return found

assert asyncio.run(session()) == 7
"""


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_core_runs_without_the_orm_and_the_first_orm_name_completes_the_package() -> None:
    deferred = json.loads(_run(_DEFERRED + _PUBLIC))
    plain = json.loads(_run("import json, sys\nimport sqlalchemy.ext.asyncio\n" + _PUBLIC))
    assert deferred == plain  # once completed, the package is what a plain import makes


def test_a_sqlalchemy_laid_out_otherwise_imports_as_usual() -> None:
    code = """
import json, sys
import bot.lazy_orm as lazy
lazy._CORE_NAMES = {"engine": ("NoSuchName",)}
assert not lazy.defer_orm()
assert "sqlalchemy.ext.asyncio" not in sys.modules
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
"""
    _run(code)


def test_nothing_changes_when_the_extension_is_already_imported() -> None:
    before = sys.modules[PACKAGE]
    assert not defer_orm()
    assert sys.modules[PACKAGE] is before is sqlalchemy.ext.asyncio

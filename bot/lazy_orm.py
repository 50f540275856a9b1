"""SQLAlchemy's asyncio extension without its ORM half, until something asks for that half.

The ledger uses `AsyncEngine`, `AsyncConnection` and `create_async_engine` (Core, over a greenlet)
and never an ORM session. But ``sqlalchemy.ext.asyncio``'s package ``__init__`` also imports its
`AsyncSession` (``session.py``, ``scoping.py``), and with it all of ``sqlalchemy.orm``: 5.5 MB of
a started bot's idle RSS (89.6 -> 84.1 MB, bench/start.py's process measured 3 s after ready), for
code the bot never runs. A submodule cannot be imported without its package's ``__init__``, so
`defer_orm` puts the package in `sys.modules` itself, before anything imports it:

* its Core submodules (``engine``, ``result``, ``exc``, ``base``) import as usual and the package
  carries the names its ``__init__`` takes from them (`AsyncEngine`, `create_async_engine`, ...),
  the very same objects;
* the first name it does not have yet (`AsyncSession`, `async_sessionmaker`, ...) runs the
  package's own ``__init__`` in place (PEP 562 module ``__getattr__``), which loads the ORM then:
  the package ends up exactly as a plain import leaves it, only later.

Only `serve` calls it (`bot.cli`), before the settings import the ledger; it does nothing when the
extension is already imported, and any surprise (a SQLAlchemy whose package is laid out
differently) leaves the plain import in place rather than a half-made package.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from types import ModuleType
from typing import Any

__all__ = ["PACKAGE", "defer_orm"]

PACKAGE = "sqlalchemy.ext.asyncio"
#: the package's submodules: never completed through `__getattr__`, the import system loads them
_SUBMODULES = frozenset({"base", "engine", "exc", "result", "scoping", "session"})
#: the names the package's ``__init__`` takes from its Core submodules, given to it up front
_CORE_NAMES = {
    "engine": ("async_engine_from_config", "AsyncConnection", "AsyncEngine", "AsyncTransaction",
               "create_async_engine", "create_async_pool_from_url"),
    "result": ("AsyncMappingResult", "AsyncResult", "AsyncScalarResult", "AsyncTupleResult"),
}

log = logging.getLogger("invoicebot.lazy_orm")


def defer_orm() -> bool:
    """Install ``sqlalchemy.ext.asyncio`` with its Core half only; True when installed (False:
    already imported, or this SQLAlchemy is not laid out as expected and imports as usual)."""
    if PACKAGE in sys.modules:
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return False
    package = importlib.util.module_from_spec(spec)
    completed: list[bool] = []

    def complete(name: str) -> Any:
        """The package's own ``__init__``, run once, on the first name it does not have yet."""
        if name in _SUBMODULES or name.startswith("__") or completed:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
        completed.append(True)
        assert spec.loader is not None
        spec.loader.exec_module(package)
        return getattr(package, name)

    setattr(package, "__getattr__", complete)  # noqa: B010 (a module's __getattr__, PEP 562)
    sys.modules[PACKAGE] = package
    try:
        _give_core_names(package)
        _initialize_greenlet()
    except Exception:
        log.warning("SQLAlchemy's asyncio extension imported whole (its ORM too)", exc_info=True)
        for name in [PACKAGE, *(f"{PACKAGE}.{sub}" for sub in _SUBMODULES)]:
            sys.modules.pop(name, None)
        return False
    setattr(importlib.import_module("sqlalchemy.ext"), "asyncio", package)  # noqa: B010 (as the import system does)
    return True


def _give_core_names(package: ModuleType) -> None:
    for sub, names in _CORE_NAMES.items():
        module = importlib.import_module(f"{PACKAGE}.{sub}")
        for name in names:
            setattr(package, name, getattr(module, name))


def _initialize_greenlet() -> None:
    """What the package's ``__init__`` does at import: fail now, not at the first query, without greenlet."""
    from sqlalchemy.util import concurrency

    concurrency._concurrency_shim._initialize()

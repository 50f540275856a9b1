"""One compiled-statement cache for every engine a test process makes (installed by tests/conftest.py).

SQLAlchemy keeps the SQL it compiled for a statement in a cache of the engine's own, keyed by the
statement's structure *and the dialect instance*. The product makes one engine per process and
compiles each statement once. The tests make a new engine for nearly every test (a fresh database
each time), so every test compiled every statement it ran again: about 6% of the CPU of the
`not slow` lane (tests/commands/ledger + workflow: 50.8 s -> 47.8 s of CPU with this cache).

Passing one shared dictionary as the engines' cache alone would change nothing: the key holds the
dialect *instance*, and each engine has its own. So this cache replaces that part of the key by
what the compiled SQL can depend on: the dialect's class and every setting it holds once it has
connected (server version, paramstyle, flags read from the server, quoting rules' classes). Two
dialects alike in all of those compile any statement to the same SQL, so a test still runs the
SQL its own engine would have compiled; dialects that differ in anything never share an entry.
Only this test process's engines made through `commands.ledger.db.create_engine` use it.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Hashable
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import LRUCache

__all__ = ["SharedCompiledCache", "dialect_settings", "install"]

#: kept in a key as they are: plain values, and classes, modules and functions (by identity)
_AS_THEY_ARE = (int, str, bool, float, bytes, type(None), type, types.ModuleType, types.FunctionType,
                types.BuiltinFunctionType)
#: attribute under which a connected dialect keeps its settings (computed once per dialect)
_MEMO = "_invoicebot_test_settings"
#: values SQLAlchemy memoises on a dialect as it first uses it, derived from its class and settings
#: (left out so that a dialect's settings do not depend on what it has done so far)
_MEMOISED = frozenset({_MEMO, "_type_memos", "_supports_statement_cache", "_bind_typing_render_casts"})


def _setting(value: Any) -> Hashable:
    """A setting as part of a key: plain values as they are, classes/modules/functions by identity,
    any other object (an identifier preparer, a type compiler, caches) by its class."""
    if isinstance(value, _AS_THEY_ARE):
        return value
    if isinstance(value, tuple | frozenset):
        try:
            hash(value)
        except TypeError:
            return type(value)
        return value
    return type(value)


def dialect_settings(dialect: Dialect) -> tuple[Any, ...]:
    """The dialect's class and settings; memoised once the dialect has connected (its settings
    from the server are then read: SQLAlchemy compiles nothing for a connection before that)."""
    memo = dialect.__dict__.get(_MEMO)
    if memo is not None:
        return memo  # type: ignore[no-any-return]
    settings = (type(dialect), tuple(sorted((name, _setting(value)) for name, value in vars(dialect).items()
                                            if name not in _MEMOISED)))
    if dialect.server_version_info is not None:
        dialect.__dict__[_MEMO] = settings
    return settings


class SharedCompiledCache:
    """The mapping SQLAlchemy's compiled cache needs (`get`, item assignment, `len`), with the
    dialect instance in each key replaced by `dialect_settings`."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._entries: LRUCache[Any, Any] = LRUCache(capacity)
        self._lock = threading.Lock()

    @staticmethod
    def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
        return (dialect_settings(key[0]), *key[1:])

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self._entries.get(self._key(key), default)

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._entries[self._key(key)] = value

    def __len__(self) -> int:
        return len(self._entries)


#: the test process's one cache
SHARED = SharedCompiledCache()


def install() -> None:
    """Make every engine `commands.ledger.db.create_engine` builds in this process use `SHARED`."""
    from commands.ledger import db

    if getattr(db.create_async_engine, "_shares_compiled_cache", False):
        return
    original = db.create_async_engine

    def create_async_engine(*args: Any, **kwargs: Any) -> AsyncEngine:
        engine = original(*args, **kwargs)
        engine.sync_engine._compiled_cache = SHARED  # type: ignore[assignment]
        return engine

    create_async_engine._shares_compiled_cache = True  # type: ignore[attr-defined]
    db.create_async_engine = create_async_engine  # type: ignore[assignment]

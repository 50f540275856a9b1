"""A package's public names resolved from their modules on first access (PEP 562).

Packages whose names an idle bot does not need (`commands.ledger.digest_queries`,
`commands.slack.digest`, `commands.slack.blocks`'s export builders) keep their API (``q.unpaid``,
``from commands.slack.digest import post_digest``) while the modules behind it are imported only
when a name is first read: idle memory, `tests/bot/test_start.py`. Here, below every layer that
uses it, so the mechanism is written once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["homes", "lazy_getattr"]


def homes(groups: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """{name: module} from {module: names}."""
    return {name: module for module, names in groups.items() for name in names}


def lazy_getattr(package: str, where: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """The module-level ``__getattr__`` of `package`: a name of `where` is imported from its module
    (absolute), kept in the package's `namespace` (its ``globals()``) so it is looked up once."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__

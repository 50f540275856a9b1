"""Packages whose names load on first access still offer every name they list, each once."""

from __future__ import annotations

import importlib
import types

import pytest

from commands.ledger.lazy import homes, lazy_getattr

LAZY_PACKAGES = ("commands.ledger.digest_queries", "commands.slack.digest", "commands.slack.blocks")


def test_a_name_is_imported_from_its_module_on_first_access_and_kept() -> None:
    namespace: dict[str, object] = {}
    getattr_ = lazy_getattr("pkg", homes({"json": ("dumps",), "os.path": ("join",)}), namespace)
    assert getattr_("dumps") is importlib.import_module("json").dumps
    assert namespace == {"dumps": importlib.import_module("json").dumps}  # the next lookup never comes here
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'loads'"):
        getattr_("loads")


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_listed_name_of_a_lazy_package_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert isinstance(module, types.ModuleType)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == []
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018

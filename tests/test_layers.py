"""The layers hold: no import goes up a layer, and no module imports itself in a circle.

Every `import` in the product packages counts, including those inside functions (a
function-level import is how a cycle hides).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

PACKAGES = ("providers", "commands", "bot")
#: each layer and what it may import of the product (besides itself)
ALLOWED: dict[str, tuple[str, ...]] = {
    "providers": (),
    "commands.i18n": (),
    "commands.ledger": ("providers",),
    "commands.workflow": ("providers", "commands.ledger", "commands.i18n"),
    "commands.slack": ("providers", "commands.ledger", "commands.workflow", "commands.i18n"),
    "bot": ("providers", "commands"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def _modules() -> dict[str, Path]:
    """Every product module and its file, found once per test process (when a test first asks:
    at import time it cost every xdist worker the parse below during collection, whether or not
    it ran these tests)."""
    found = {}
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


def _imports(name: str, path: Path) -> Iterator[str]:
    """Product modules `name` imports (the longest known module each import names)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    modules = _modules()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target
                break


@functools.cache
def _graph() -> dict[str, list[str]]:
    """Each product module and the product modules it imports (about a second of CPU: once)."""
    return {name: sorted(set(_imports(name, path))) for name, path in _modules().items()}


def _layer(module: str) -> str:
    """The layer a module belongs to ("" for the bare `commands` package, which holds nothing)."""
    return max((layer for layer in ALLOWED if module == layer or module.startswith(layer + ".")), key=len,
               default="")


def test_the_product_has_modules_in_every_layer() -> None:
    for layer in ALLOWED:
        assert any(_layer(m) == layer for m in _modules()), f"no module found in {layer}"


@pytest.mark.parametrize("layer", list(ALLOWED))
def test_no_import_goes_up_a_layer(layer: str) -> None:
    wrong = []
    for module, targets in _graph().items():
        if _layer(module) != layer:
            continue
        for target in targets:
            target_layer = _layer(target)
            allowed = (layer, *ALLOWED[layer])
            if not any(target_layer == a or target_layer.startswith(a + ".") for a in allowed):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_no_module_imports_itself_in_a_circle() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in _graph().get(node, []):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(_graph()):
        if module not in index:
            visit(module)
    assert cycles == []

"""The `invoicebot` command's entry point: `serve` restarts itself under ``python -OO`` before
anything else is imported, then `bot.cli.main` runs the subcommand.

A server never reads a docstring, and ours and our libraries' are about 5 MB of an idle bot's
memory (81 against 76 MB idle, bench/start.py). Product code uses `assert` only to narrow types for
mypy, never to check input, so dropping asserts changes no behaviour. This module imports only
`os` and `sys`: the first interpreter does nothing the second one would do again.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

__all__ = ["entry", "optimized_restart"]


def optimized_restart(argv: Sequence[str], environ: Mapping[str, str], optimize: int) -> list[str] | None:
    """The command line that runs `serve` again under ``python -OO``, or None to go on as we are.

    Whoever sets PYTHONOPTIMIZE is obeyed as set (``PYTHONOPTIMIZE=0`` keeps docstrings and
    asserts, for debugging); the other subcommands run as they were started. The interpreter's
    own options (``-X``, ``-W``) are carried over.
    """
    if not argv or argv[0] != "serve" or optimize >= 2 or "PYTHONOPTIMIZE" in environ:
        return None
    keep = [f"-W{w}" for w in sys.warnoptions]
    keep += [f"-X{k}" if v is True else f"-X{k}={v}" for k, v in sys._xoptions.items()]
    return [sys.executable, *keep, "-OO", "-m", "bot.cli", *argv]


def entry() -> int:
    """`invoicebot ...`: the restart (the process keeps its id, its environment and its
    arguments), else the subcommand itself."""
    argv = sys.argv[1:]
    restart = optimized_restart(argv, os.environ, sys.flags.optimize)
    if restart is not None:
        os.execv(restart[0], restart)  # noqa: S606 - our own interpreter and module, the same arguments
    from bot.cli import main

    return main(argv)


if __name__ == "__main__":  # `python -m bot.launch serve ...`, as the installed command does
    sys.exit(entry())

"""Waiting for Ctrl-C or a TERM signal inside the event loop."""

from __future__ import annotations

import asyncio
import signal
import sys

__all__ = ["wait_for_signal"]


async def wait_for_signal() -> None:
    """Return when SIGINT or SIGTERM arrives (on Windows, only Ctrl-C ends the loop)."""
    stop = asyncio.Event()
    if sys.platform != "win32":
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()

"""Where the console's sandboxes keep their state and which ports they listen on.

The console keeps its documents in the database, so its sandboxes must keep theirs too: a
restarted console otherwise shows "issued" next to "Document ID does not exist" and links to
ports nobody listens on. The state lives beside the database file (``<db>.sandbox/``) and each
sandbox asks for a fixed port (a taken one falls back to a free port), as does the console's
webhook server, whose address is inside every Payssam bill's callbackUrl.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Final

from bot.settings import Settings

__all__ = ["SANDBOX_PORTS", "WEBHOOK_PORT", "port_or_free", "sandbox_state_dir"]

#: one fixed loopback port per provider sandbox, so a restart keeps every link valid
SANDBOX_PORTS: Final[dict[str, int]] = {"popbill": 18751, "payssam": 18752, "hiworks": 18753, "abillify": 18754}
#: the console's webhook server (payment callbacks name it when the bill is sent)
WEBHOOK_PORT: Final = 18750


def sandbox_state_dir(settings: Settings) -> Path | None:
    """``<database file>.sandbox``, or None when the database is not a file (PostgreSQL, memory)."""
    path = settings.database_path()
    if path is None or str(path) in ("", ":memory:"):
        return None
    return path.with_name(path.name + ".sandbox")


def port_or_free(port: int, host: str = "127.0.0.1") -> int:
    """`port` when it can be bound on `host`, else any free port."""
    for candidate in (port, 0):
        with socket.socket() as sock:
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free port on " + host)

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

__all__ = ["SANDBOX_PORTS", "WEBHOOK_PORT", "listening_socket", "sandbox_state_dir"]

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


def listening_socket(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A socket listening on `port` when it can be bound on `host`, else on any free port.

    The socket itself is handed to the server: finding a free port and binding it later left a
    second console (two test workers) time to take it in between (`address already in use`).
    """
    for candidate in (port, 0):
        sock = socket.socket()
        try:
            sock.bind((host, candidate))
        except OSError:
            sock.close()
            continue
        sock.listen(128)
        return sock
    raise OSError("no free port on " + host)

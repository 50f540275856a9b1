"""A sandbox's state kept in a file, so a team's demo data survives a restart of the console.

The console keeps its documents in the database; without this the sandboxes forgot theirs
on every restart, and `/invoice status` then met "document does not exist" for documents the
ledger calls issued. `SandboxStateFile` writes the state a sandbox's `reset_state` builds
(documents, tokens, counters) and its clock offset after every request that may have changed
them, atomically (a temporary file in the same directory, then `os.replace`), and loads it
back when the sandbox starts.

Format: pickle, because the states are object graphs (Popbill's item index points at the same
document objects as its MgtKey index, keys are tuples, records are dataclasses) that JSON
would flatten into copies. Loading uses an allow-list unpickler: only builtin containers,
dates, decimals, `itertools.count` and classes defined in `providers.sandbox` are accepted,
so a planted file cannot name arbitrary callables.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Final, Protocol

__all__ = ["SandboxStateFile", "StateHolder"]

log = logging.getLogger("invoicebot.sandbox")

_FORMAT: Final = 1
_ALLOWED: Final[dict[str, frozenset[str]]] = {
    "builtins": frozenset({"dict", "list", "set", "frozenset", "tuple", "str", "int", "float", "bool",
                           "bytes", "bytearray", "complex", "NoneType"}),
    "collections": frozenset({"OrderedDict", "defaultdict", "deque"}),
    "datetime": frozenset({"date", "datetime", "time", "timedelta", "timezone"}),
    "decimal": frozenset({"Decimal"}),
    "itertools": frozenset({"count"}),
}


class StateHolder(Protocol):
    """What a sandbox offers to be saved: its state by attribute name, and a clock offset."""

    @property
    def name(self) -> str:
        ...

    def persistent_state(self) -> dict[str, Any]:
        ...

    def restore_state(self, state: dict[str, Any]) -> None:
        ...


class _Unpickler(pickle.Unpickler):
    """Only the types a sandbox state is made of (see the module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        if name in _ALLOWED.get(module, frozenset()) or module.startswith("providers.sandbox."):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a sandbox state")


class SandboxStateFile:
    """The file one sandbox's state lives in (e.g. ``invoicebot.db.sandbox/payssam.state``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, holder: StateHolder) -> None:
        """Write the state atomically; a failure is logged, never raised into a request."""
        try:
            data = pickle.dumps({"format": _FORMAT, "state": holder.persistent_state()},
                                protocol=pickle.HIGHEST_PROTOCOL)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except Exception:
            log.exception("%s sandbox: could not save its state to %s", holder.name, self.path)

    def load(self, holder: StateHolder) -> bool:
        """Restore the saved state; False (state left as seeded) when there is none or it is unreadable."""
        if not self.path.exists():
            return False
        try:
            saved = _Unpickler(io.BytesIO(self.path.read_bytes())).load()
            state = saved.get("state") if isinstance(saved, dict) else None
            if not isinstance(saved, dict) or saved.get("format") != _FORMAT or not isinstance(state, dict):
                raise pickle.UnpicklingError("not a sandbox state file")
            holder.restore_state(state)
        except Exception as exc:
            log.warning("%s sandbox: ignoring the unreadable state in %s (%s); starting from the demo data",
                        holder.name, self.path, exc)
            return False
        return True

"""The console's webhook port: its own when free, another when taken, and held from the start."""

from __future__ import annotations

import socket

from bot.console.sandboxes import listening_socket
from tests.local_http import free_port


def test_the_fixed_port_is_taken_and_held_when_free() -> None:
    port = free_port()
    held = listening_socket(port)
    try:
        assert held.getsockname()[1] == port
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # already listening: nobody can take it before the server starts on it
    finally:
        held.close()


def test_a_second_console_gets_another_port_instead_of_failing_to_bind() -> None:
    port = free_port()
    first = listening_socket(port)
    try:
        second = listening_socket(port)
        try:
            assert second.getsockname()[1] != port
        finally:
            second.close()
    finally:
        first.close()

"""HTTP clients for the servers tests start on this machine (sandboxes, the bot, the Slack double).

httpx builds a verifying TLS context for every client made with its default ``verify=True``,
loading certifi's bundle: 20-25 ms of CPU each, 223 times in the not-slow lane and once per poll
in the loops that wait for a process's /health. These servers speak plain HTTP, so the clients
share the product's own context for plain-HTTP peers (`providers.http.tls_context`): built once,
trusting nothing, so a client sent to an HTTPS address by mistake fails closed.
"""

from __future__ import annotations

from providers.http import tls_context

__all__ = ["LOCAL_TLS"]

#: the `verify=` of every test client of a local plain-HTTP server
LOCAL_TLS = tls_context("http://127.0.0.1")

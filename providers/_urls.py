"""Request URLs under a provider's base URL, each parsed once, and a document's path without a parse.

httpx checks a URL string character by character, quotes and normalises its path each time one
is built (13 µs for a 45-character URL, measured with `timeit`; `URL.copy_with` checks every part
again: 17 µs). A client keeps the URLs it has built (`URL_CACHE` of them: Payssam's `/bill/read`,
Popbill's paths are the same on every call). Hiworks and Abillify name the document in the path,
so a status sweep builds a new URL for every document it reads: 6% of the sweep's CPU at 1,000
documents (py-spy over the rounds of `bench/sweep.py` at that size).

A relative path made only of characters httpx keeps as written (letters, digits, ``-``, ``_``,
``~``, ``/`` and upper-case ``%XX`` escapes, which our clients use to quote ids) and with no dot
segment, query or fragment is joined to the parsed base URL directly: httpx would produce the
same URL, component for component. That takes httpx's own parsed form (`httpx.URL._uri_reference`,
a named tuple), so whether the installed httpx still has it is checked once, against httpx's
own parse (`_JOIN_AGREES`); where it does not, every URL is parsed by httpx, as before.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

__all__ = ["URL_CACHE", "UrlJoiner"]

#: parsed URLs a client keeps; a client whose paths name documents clears it when full
URL_CACHE = 64

_PLAIN = re.compile(r"(?:[A-Za-z0-9_~-]|%[0-9A-F]{2})+(?:/(?:[A-Za-z0-9_~-]|%[0-9A-F]{2})+)*/?")


def _joined(base: httpx.URL, path: str) -> httpx.URL:
    """`base` (ending in ``/``, no query) with the plain relative `path` after it, unparsed."""
    reference: Any = base._uri_reference
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = reference._replace(path=reference.path + path, query=None, fragment=None)
    return url


def _join_agrees() -> bool:
    """Does joining give what httpx's own parse gives, on this httpx?"""
    base = httpx.URL("http://h.test:8080/api/")
    try:
        for path in ("v4/invoices/A-1", "bill/read/", "x/%EA%B0%80"):
            mine, theirs = _joined(base, path), httpx.URL(f"http://h.test:8080/api/{path}")
            if mine != theirs or mine.raw_path != theirs.raw_path or mine.port != theirs.port:
                return False
    except (AttributeError, TypeError, ValueError):
        return False
    return True


_JOIN_AGREES = _join_agrees()


class UrlJoiner:
    """The URLs of one client: relative paths under `prefix` (which ends in ``/``), or absolute URLs."""

    def __init__(self, prefix: str, *, capacity: int = URL_CACHE) -> None:
        self.prefix = prefix
        self._base = httpx.URL(prefix)
        self._plain_base = _JOIN_AGREES and "?" not in prefix and "#" not in prefix
        self._capacity = capacity
        self._urls: dict[str, httpx.URL] = {}

    def __call__(self, url: str) -> httpx.URL:
        found = self._urls.get(url)
        if found is None:
            found = self._build(url)
            if len(self._urls) >= self._capacity:
                self._urls.clear()
            self._urls[url] = found
        return found

    def __len__(self) -> int:
        return len(self._urls)

    def cached(self, url: str) -> httpx.URL | None:
        return self._urls.get(url)

    def _build(self, url: str) -> httpx.URL:
        if "://" in url:
            return httpx.URL(url)
        path = url.lstrip("/")
        if self._plain_base and _PLAIN.fullmatch(path):
            return _joined(self._base, path)
        return httpx.URL(self.prefix + path)

"""A provider client's URLs: the same as httpx builds them, a document's path joined without a parse."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from providers import _urls
from providers._urls import URL_CACHE, UrlJoiner

PREFIX = "http://provider.test:8080/api/"

PATHS = [
    "v4/invoices/HW-2026113000000123", "/v4/invoices/HW-1", "invoices/INV_1~a", "bill/read/", "x/%EA%B0%80",
    # not plain: httpx quotes, normalises or splits these, and they go through its parse
    "x/%ea%b0%80", "a b", "x/../y", "x/./y", "x//y", "q?x=1", "f#top", "한글/문서", "x.y/z", "", "/",
    "https://other.test/x?y=1",
]


def test_httpx_agrees_with_the_join_on_the_installed_version() -> None:
    assert _urls._JOIN_AGREES


@pytest.mark.parametrize("path", PATHS)
def test_every_url_is_the_one_httpx_builds_from_the_prefix(path: str) -> None:
    expected = httpx.URL(path if "://" in path else PREFIX + path.lstrip("/"))
    built = UrlJoiner(PREFIX)(path)
    assert str(built) == str(expected)
    assert built.raw_path == expected.raw_path
    assert (built.scheme, built.host, built.port, built.query, built.fragment) == \
        (expected.scheme, expected.host, expected.port, expected.query, expected.fragment)


def _counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    parsed: list[str] = []
    real = httpx._urls.urlparse  # type: ignore[attr-defined]

    def counting(url: str = "", **kwargs: Any) -> Any:
        parsed.append(url)
        return real(url, **kwargs)

    monkeypatch.setattr(httpx._urls, "urlparse", counting)  # type: ignore[attr-defined]
    return parsed


def test_a_documents_path_is_joined_without_a_parse_and_anything_else_is_parsed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    joiner = UrlJoiner(PREFIX)
    parsed = _counting_parses(monkeypatch)
    for index in range(10):
        joiner(f"/v4/invoices/HW-{index}")
    assert parsed == []
    joiner("a b")
    joiner("x/../y")
    assert parsed == [PREFIX + "a b", PREFIX + "x/../y"]


def test_without_httpxs_parsed_form_every_url_is_parsed_and_still_right(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(base: httpx.URL, path: str) -> httpx.URL:
        raise AttributeError("_uri_reference")

    monkeypatch.setattr(_urls, "_joined", missing)
    assert not _urls._join_agrees()
    monkeypatch.setattr(_urls, "_JOIN_AGREES", False)
    joiner = UrlJoiner(PREFIX)
    parsed = _counting_parses(monkeypatch)
    assert str(joiner("v4/invoices/HW-1")) == PREFIX + "v4/invoices/HW-1"
    assert parsed == [PREFIX + "v4/invoices/HW-1"]


def test_a_base_with_a_query_is_never_joined_by_hand() -> None:
    joiner = UrlJoiner("http://provider.test/api/?key=1")
    assert str(joiner("v4/x")) == str(httpx.URL("http://provider.test/api/?key=1v4/x"))


def test_the_urls_kept_are_reused_and_bounded() -> None:
    joiner = UrlJoiner(PREFIX)
    first = joiner("bill/read")
    assert joiner("bill/read") is first and joiner.cached("bill/read") is first
    for index in range(URL_CACHE * 2):
        joiner(f"v4/invoices/{index}")
    assert len(joiner) <= URL_CACHE
    assert joiner.cached("bill/read") is None

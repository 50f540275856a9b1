"""`providers.hiworks._answers`: the dates of a status read are read as strptime read them (the fast
paths skip strptime for the usual forms only)."""

from __future__ import annotations

import datetime as dt

import pytest

from providers.hiworks._answers import KST, _created_at, _parse_time


def _strptime(text: str, formats: tuple[str, ...]) -> dt.datetime | None:
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=KST)
        except ValueError:
            continue
    return None


@pytest.mark.parametrize("text", ["2026-11-30 09:30:01", "2026-11-30T09:30:01", "2026-11-30 09:30:01.123",
                                  "2026-02-30 09:30:01", "2026-11-30 24:00:00", "20261130093001", "2026-11-30",
                                  "", "2026/11/30 09:30:01"])
def test_mail_times_read_as_strptime_reads_them(text: str) -> None:
    formats = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S")
    assert _parse_time(text) == _strptime(text[:19], formats)


@pytest.mark.parametrize("document_id", ["20230209111316UBUQXWI9RDGATN8PISGD4FUBLJEY4C1S", "20231309111316X",
                                         "2023020911131", "２０２３０２０９１１１３１６", "", "DOC-1"])
def test_creation_times_read_as_strptime_reads_them(document_id: str) -> None:
    assert _created_at(document_id) == _strptime(document_id[:14], ("%Y%m%d%H%M%S",))

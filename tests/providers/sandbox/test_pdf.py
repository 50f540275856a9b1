"""The sandboxes' hand-written PDF is well formed: real offsets in its cross-reference table."""

from __future__ import annotations

import re

from providers.sandbox.pdf import render_pdf


def test_the_pdf_has_the_lines_and_a_cross_reference_table_with_real_offsets() -> None:
    data = render_pdf(["Popbill sandbox tax invoice", "MgtKey: INV-000001 (x)", "Total: 143000 KRW", "주식회사"])
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    assert b"(MgtKey: INV-000001 \\(x\\)) Tj" in data and b"(Total: 143000 KRW) Tj" in data
    assert b"(????) Tj" in data  # Helvetica has no Hangul
    start = int(re.search(rb"startxref\n(\d+)", data).group(1))  # type: ignore[union-attr]
    assert data[start:start + 4] == b"xref"
    offsets = [int(o) for o in re.findall(rb"(\d{10}) 00000 n ", data)]
    assert [data[o:o + 7] for o in offsets] == [b"%d 0 obj" % n for n in range(1, 6)]
    length = int(re.search(rb"/Length (\d+)>>", data).group(1))  # type: ignore[union-attr]
    stream = data.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0]
    assert len(stream) == length

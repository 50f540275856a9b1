"""A small, valid one-page PDF for the sandboxes' "PDF" downloads, written by hand (no dependency).

The page lists the document's number, NTS confirmation number and amounts in Helvetica, so a
test (or a person opening the file) can tell which document it is. The cross-reference table
carries real byte offsets, as a strict reader expects. Helvetica has no Hangul, so text outside
Latin-1 is replaced by ``?``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_pdf"]


def _escape(text: str) -> str:
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def render_pdf(lines: Sequence[str]) -> bytes:
    """A one-page A4 PDF showing `lines` (the first as a title)."""
    text = ["BT", "/F1 18 Tf", "72 770 Td", "22 TL"]
    for n, line in enumerate(lines):
        if n == 1:
            text.append("/F1 12 Tf")
        text.append(f"({_escape(line)}) Tj T*")
    text.append("ET")
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)

"""Hostile inputs for the containment tests: a PDF decompression bomb, and a stand-in worker task
that hangs or crashes on demand (PDFium's real crashes cannot be summoned at will)."""

from __future__ import annotations

import os
import signal
import time
import zlib


def bomb_pdf(inflated_mib: int = 1024) -> bytes:
    """~1 MB of PDF whose one content stream inflates to `inflated_mib` MiB of spaces."""
    packer = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    stream = b"".join(packer.compress(chunk) for _ in range(inflated_mib)) + packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << /Font << /F1 3 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def misbehave(data: bytes) -> dict:
    """A worker task: hang on b"hang", die of SIGSEGV on b"crash", else succeed."""
    if data == b"hang":
        time.sleep(600)
    if data == b"crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    return {"ok": True, "echo": len(data)}

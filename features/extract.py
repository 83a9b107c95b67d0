"""Bytes of a letter (PDF or text) to plain text, with a clear reason when that is impossible."""

from __future__ import annotations

import codecs
from pathlib import Path

# The bundled letters are 20-50 KB; anything this large is not a single letter.
MIB = 1024 * 1024
MAX_LETTER_BYTES = 5 * MIB
PAGE_BREAK = "\f"
# PDFium reports a hyphen that ends a line as U+FFFE (a Unicode noncharacter) and joins the two
# lines ("Pre\ufffeoperative"); the letters' line-end hyphens are printed ones ("x-rays").
PDFIUM_LINE_END_HYPHEN = "\ufffe"


class ExtractionError(ValueError):
    """The file cannot be turned into letter text; the message says why."""


def read_letter_text(path: str | Path, max_bytes: int = MAX_LETTER_BYTES) -> str:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ExtractionError(f"cannot read file: {exc.strerror}") from exc
    if size > max_bytes:
        raise ExtractionError(too_large(size, max_bytes))
    return letter_text_from_bytes(path.read_bytes())


def too_large(size: int, max_bytes: int) -> str:
    """One unit (MiB, as the limit is defined) for the size and the limit, so they compare at a glance."""
    return f"file is {size / MIB:.1f} MiB, larger than any letter (limit {max_bytes / MIB:.1f} MiB)"


def letter_text_from_bytes(data: bytes) -> str:
    """Sniff the content (not the file name): PDFs start with %PDF, anything else must be UTF-8 text."""
    if not data.strip():
        raise ExtractionError("empty file")
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return pdf_text(data)
    return decode_text(data)


def pdf_text(data: bytes) -> str:
    """Text of every page, pages separated by form feeds. The bundled PDFs are AES-encrypted
    with an empty password, which PDFium opens without one."""
    import pypdfium2 as pdfium  # imported here so text-only use never loads PDFium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ExtractionError(f"corrupt or truncated PDF ({exc})") from exc
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        pdf.close()
    text = PAGE_BREAK.join(pages).replace("\r\n", "\n").replace("\r", "\n").replace(PDFIUM_LINE_END_HYPHEN, "-")
    if not text.replace(PAGE_BREAK, "").strip():
        raise ExtractionError(f"PDF has no text layer ({len(pages)} pages, scanned image?); OCR is not supported")
    return text


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without a BOM), or UTF-16 with a BOM (what Windows tools save as "Unicode").
    UTF-16 must be recognised before the NUL check: half its bytes are NUL for English text."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16").replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError as exc:
            raise ExtractionError(
                f"not UTF-16 text despite its byte-order mark: invalid data at byte offset {exc.start}"
            ) from exc
    if b"\x00" in data[:8192]:
        raise ExtractionError("binary data: neither a PDF nor text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ExtractionError(
            f"not UTF-8 text: invalid byte 0x{data[exc.start]:02x} at line {line} (byte offset {exc.start})"
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")

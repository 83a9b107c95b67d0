"""Bytes to letter text: PDFs (real and generated here) and text files, and the files that
cannot be read, each refused with a reason that names the problem."""

from __future__ import annotations

import random

import pytest
from letters import (
    PAGE_BREAK,
    item,
    letter_lines,
    partial_heading,
    pdf_bytes,
    render,
    split_pages,
    write_pdf,
)

from features.extract import ExtractionError, letter_text_from_bytes, read_letter_text
from features.ingest import parse_file
from features.parser import parse_letter

LETTER = letter_lines(
    item(["MRI of the right knee without contrast and", "with gadolinium"], "Overturned"),
    item(
        partial_heading("Physical therapy 12 sessions", "Physical therapy 6 sessions", "Physical therapy 6 sessions"),
        decision_alone=True,
    ),
    item(
        "Retro DOS: 7.10.15 Cyclobenzaprine 2% cream",
        rationale=["The requested Pre-", "operative cream is not medically necessary."],
    ),
)


def reason(data: bytes) -> str:
    with pytest.raises(ExtractionError) as exc:
        letter_text_from_bytes(data)
    return str(exc.value)


# --- PDFs --------------------------------------------------------------------------------------


def test_generated_pdf_is_read_and_parsed(tmp_path):
    path = write_pdf(tmp_path / "synthetic.pdf", LETTER)
    text = read_letter_text(path)
    assert text.count(PAGE_BREAK) == len(split_pages(LETTER)) - 1
    letter = parse_letter(text)
    assert letter.case_number == "CM16-0000001"
    assert [(i.treatment, i.decision) for i in letter.items] == [
        ("MRI of the right knee without contrast and with gadolinium", "Overturned"),
        ("Physical therapy 6 sessions", "Upheld"),
        ("Retro DOS: 7.10.15 Cyclobenzaprine 2% cream", "Upheld"),
    ]
    assert letter.items[1].partial_approval.original_request == "Physical therapy 12 sessions"


def test_pdf_line_end_hyphen_is_a_hyphen():
    # PDFium returns a hyphen that ends a line as U+FFFE and joins the lines.
    text = letter_text_from_bytes(pdf_bytes([["The requested Pre-", "operative EKG and x-", "rays."]]))
    assert "\ufffe" not in text
    assert "Pre-operative EKG and x-rays." in text


def test_pdf_text_matches_rendered_text():
    """The generated PDF gives the parser the same letter as the plain rendering."""
    from_pdf = parse_letter(letter_text_from_bytes(pdf_bytes(split_pages(LETTER))))
    from_text = parse_letter(render(LETTER))
    assert from_pdf == from_text


def test_content_is_sniffed_not_the_file_name(tmp_path):
    path = write_pdf(tmp_path / "letter.txt", LETTER)
    assert parse_letter(read_letter_text(path)).items[0].decision == "Overturned"


def test_real_pdf_text(pdf_paths):
    text = read_letter_text(pdf_paths[0])
    assert text.startswith("Case Number: CM16-0213037\n")
    assert text.count(PAGE_BREAK) >= 1 and "\r" not in text
    assert "IMR ISSUES, DECISIONS AND RATIONALES" in text


def test_truncated_real_pdf(pdf_paths):
    data = pdf_paths[0].read_bytes()
    assert reason(data[: len(data) // 2]).startswith("corrupt or truncated PDF (")


def test_truncated_generated_pdf():
    data = pdf_bytes(split_pages(LETTER))
    assert reason(data[: len(data) // 2]).startswith("corrupt or truncated PDF (")


def test_pdf_without_text_layer():
    assert reason(pdf_bytes([[], []])) == "PDF has no text layer (2 pages, scanned image?); OCR is not supported"


# --- text --------------------------------------------------------------------------------------


def test_text_line_endings_and_byte_order_mark():
    text = letter_text_from_bytes(b"\xef\xbb\xbfline one\r\nline two\rline three\n")
    assert text == "line one\nline two\nline three\n"


def test_seed_text_is_read_as_is(seed_paths):
    text = read_letter_text(seed_paths[0])
    assert "\n\nMAXIMUS Federal Services sent the complete case file" in text  # blank line between lines


def test_empty_file(tmp_path):
    assert reason(b"") == "empty file"
    assert reason(b"  \n\n\t \n") == "empty file"
    (tmp_path / "empty.txt").write_bytes(b"")
    assert parse_file(tmp_path / "empty.txt")[2] == "empty file"


def test_binary_garbage():
    rng = random.Random(7)
    noise = [bytes(rng.randrange(256) for _ in range(n)) for n in (4000, 100)]
    garbage = noise[0] + b"\x00\x00" + noise[1]
    assert reason(garbage) == "binary data: neither a PDF nor text"


def test_non_utf8_text_names_the_line():
    data = "HOW THE IMR FINAL DETERMINATION WAS MADE\nsecond line\nthe caf\u00e9 on line three\n".encode("latin-1")
    assert reason(data) == "not UTF-8 text: invalid byte 0xe9 at line 3 (byte offset 60)"


def test_file_larger_than_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 300_000)
    with pytest.raises(ExtractionError, match=r"file is 0\.3 MiB, larger than any letter \(limit 0\.2 MiB\)"):
        read_letter_text(path, max_bytes=200_000)
    letter, sha, why = parse_file(path, max_bytes=200_000)
    assert (letter, sha) == (None, None)
    assert "larger than any letter" in why


def test_missing_file(tmp_path):
    with pytest.raises(ExtractionError, match="cannot read file"):
        read_letter_text(tmp_path / "nope.pdf")
    assert parse_file(tmp_path / "nope.pdf")[2] == "no such file"
    assert parse_file(tmp_path)[2] == "not a regular file"

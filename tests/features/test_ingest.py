"""Files and folders to the per-item dataset: every input accounted for, splits by letter,
deterministic; and the `imr` command line."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PDF_DIR, SEED_DIR, missing_real_letters
from letters import (
    CASE_NUMBER,
    item,
    letter_lines,
    render,
    simple_letter,
    simple_letter_lines,
    write_pdf,
)

from features.errors import InputError
from features.ingest import ingest, ingest_files
from training.imr import main

REPO = Path(__file__).resolve().parents[2]


# Good letters: case number -> decisions. 4 letters with an overturned item and 3 without, so
# that the stratified 70/15/15 split puts at least one letter in every split.
GOOD = {
    "CM16-0000001": "UO",
    "CM16-0000002": "U",
    "CM16-0000003": "O",
    "CM16-0000004": "UUU",
    "CM16-0000005": "O",
    "CM16-0000006": "OU",
    "CM16-0000007": "U",
}
PDF_CASE = "CM16-0000003"  # written as a PDF, in a subfolder


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    """Good letters (text and PDF), bad files and two kinds of duplicate, in one folder."""
    folder = tmp_path / "letters"
    (folder / "sub").mkdir(parents=True)
    for case, decisions in GOOD.items():
        if case == PDF_CASE:
            write_pdf(folder / "sub" / f"{case}.pdf", simple_letter_lines(case, decisions))
        else:
            (folder / f"{case}.txt").write_text(simple_letter(case, decisions))
    # bad files
    (folder / "empty.txt").write_bytes(b"")
    (folder / "garbage.pdf").write_bytes(b"\x00\x01\x02 not a pdf \xff\xfe" * 50)
    (folder / "latin1.txt").write_bytes("Dear Sir,\nR\u00e9sum\u00e9 attached.\n".encode("latin-1"))
    (folder / "minutes.txt").write_text("Minutes of the March meeting.\n")
    # duplicates: the same bytes under another name; the same case number with other bytes
    (folder / "copy_of_0000001.txt").write_bytes((folder / "CM16-0000001.txt").read_bytes())
    # an earlier decision date: the later letter (CM16-0000002.txt) is the one kept
    resent = simple_letter("CM16-0000002", "O").replace("Decision Date: 02/01/2017", "Decision Date: 01/20/2017")
    (folder / "resent_0000002.txt").write_text(resent)
    return folder


EXPECTED_STATUS = {
    **{f"{case}.txt": ("parsed", None) for case in GOOD if case != PDF_CASE},
    f"{PDF_CASE}.pdf": ("parsed", None),
    "copy_of_0000001.txt": ("duplicate", "same content as "),
    "empty.txt": ("rejected", "empty file"),
    "garbage.pdf": ("rejected", "binary data: neither a PDF nor text"),
    "latin1.txt": ("rejected", "not UTF-8 text: invalid byte 0xe9 at line 2"),
    "minutes.txt": ("rejected", "not an IMR Final Determination Letter"),
    "resent_0000002.txt": ("duplicate", "same case number CM16-0000002 as "),
}


def check_report_files(files: list[dict]) -> None:
    by_name = {Path(f["path"]).name: f for f in files}
    assert sorted(by_name) == sorted(EXPECTED_STATUS)
    for name, (status, reason) in EXPECTED_STATUS.items():
        f = by_name[name]
        assert f["status"] == status, name
        if reason is None:
            assert f["reason"] is None and f["items"] > 0
        else:
            assert f["reason"].startswith(reason), (name, f["reason"])
            assert f["items"] == 0
    assert by_name["copy_of_0000001.txt"]["reason"].endswith("CM16-0000001.txt")
    assert by_name["resent_0000002.txt"]["reason"].endswith("CM16-0000002.txt")


def test_ingest_files_accounts_for_every_file(mixed_folder):
    results = ingest_files([mixed_folder])
    check_report_files([{"path": r.path, "status": r.status, "reason": r.reason, "items": r.items} for r in results])
    parsed = {r.letter_id: "".join(i.decision[0] for i in r.letter.items) for r in results if r.status == "parsed"}
    assert parsed == GOOD


def test_folder_skips_non_letter_suffixes_but_named_files_are_reported(tmp_path):
    (tmp_path / "README.md").write_text("About these letters.\n")
    (tmp_path / "CM16-0000001.txt").write_text(simple_letter("CM16-0000001", "U"))
    assert [Path(r.path).name for r in ingest_files([tmp_path])] == ["CM16-0000001.txt"]
    [readme] = ingest_files([tmp_path / "README.md"])
    assert readme.status == "rejected" and "not an IMR Final Determination Letter" in readme.reason


def test_cli_ingest_writes_dataset_parquet_and_report(mixed_folder, tmp_path, capsys):
    import datasets
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    assert main(["ingest", str(mixed_folder), "--out", str(out)]) == 0
    assert "13 files: 7 parsed, 4 rejected, 2 duplicate; 11 items, 4 overturned" in capsys.readouterr().out

    report = json.loads((out / "report.json").read_text())
    check_report_files(report["files"])
    assert (report["total_files"], report["parsed"], report["rejected"], report["duplicate"]) == (13, 7, 4, 2)
    assert (report["items"], report["overturned"]) == (11, 4)

    dsd = datasets.load_from_disk(str(out / "dataset"))
    assert sorted(dsd) == ["test", "train", "validation"]
    letter_ids = {}
    for split in ("train", "validation", "test"):
        table = pq.read_table(out / "parquet" / f"{split}.parquet")
        assert table.num_rows == dsd[split].num_rows == report["splits"][split]["items"]
        for letter_id in set(table.column("letter_id").to_pylist()):
            assert letter_id not in letter_ids, f"{letter_id} in {letter_ids.get(letter_id)} and {split}"
            letter_ids[letter_id] = split
    assert sorted(letter_ids) == sorted(GOOD)
    assert sum(dsd[s].num_rows for s in dsd) == 11


def test_cli_strict_fails_only_when_a_file_is_rejected(mixed_folder, tmp_path):
    assert main(["ingest", str(mixed_folder), "--out", str(tmp_path / "a"), "--strict"]) == 1
    good = [p for p in mixed_folder.rglob("*") if p.stem in GOOD or p.name == "copy_of_0000001.txt"]
    # a duplicate is not a failure
    assert main(["ingest", *map(str, good), "--out", str(tmp_path / "b"), "--strict"]) == 0


def many_letters(folder: Path, n: int = 40) -> list[Path]:
    rng = random.Random(1)
    paths = []
    for k in range(n):
        case = f"CM17-{k:07d}"
        path = folder / f"{case}.txt"
        path.write_text(simple_letter(case, "".join(rng.choice("UUUO") for _ in range(rng.randint(1, 3)))))
        paths.append(path)
    return paths


def split_of(dsd) -> dict[str, str]:
    return {letter_id: split for split in dsd for letter_id in dsd[split]["letter_id"]}


def test_split_is_deterministic_whatever_the_input_order(tmp_path):
    paths = many_letters(tmp_path)
    shuffled = list(paths)
    random.Random(5).shuffle(shuffled)
    dsd, report = ingest(paths, seed=0)
    assignment = split_of(dsd)
    assert len(assignment) == 40 and set(assignment.values()) == {"train", "validation", "test"}
    assert split_of(ingest(list(reversed(paths)), seed=0)[0]) == assignment
    assert split_of(ingest(shuffled, seed=0)[0]) == assignment
    assert split_of(ingest(paths, seed=1)[0]) != assignment
    # stratified on "has an overturned item": each split gets some of those letters
    assert all(report["splits"][s]["overturned"] > 0 for s in ("train", "validation", "test"))


def test_ingest_of_a_single_letter(tmp_path):
    path = tmp_path / "CM16-0000001.txt"
    path.write_text(simple_letter("CM16-0000001", "UO"))
    dsd, report = ingest([path])
    assert report["parsed"] == 1
    # the letter's split is a hash of its case number: it is in one split, the others are empty
    assert sorted(dsd[s].num_rows for s in ("train", "validation", "test")) == [0, 0, 2]
    assert dsd["validation"].column_names == dsd["train"].column_names == dsd["test"].column_names


def test_ingest_with_nothing_parsed_names_the_files(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(InputError, match=r"nothing to ingest: .*no letter parsed from 1 file.*empty\.txt: empty file"):
        ingest([tmp_path])


def test_real_letters_ingest_counts():
    if not list(PDF_DIR.glob("*.pdf")) or not list(SEED_DIR.glob("*.txt")):
        missing_real_letters(f"real letters not found in {PDF_DIR.parent}")
    results = ingest_files([PDF_DIR, SEED_DIR])
    assert [r.status for r in results].count("parsed") == len(results) == 152
    assert sum(r.items for r in results) == 336
    assert sum(i.decision == "Overturned" for r in results for i in r.letter.items) == 36


# --- imr parse ---------------------------------------------------------------------------------


@pytest.mark.slow  # runs imr parse in a subprocess
def test_imr_parse_prints_one_json_object_per_file_in_order(tmp_path):
    imr = Path(sys.executable).with_name("imr")
    if not imr.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    good = tmp_path / "b_good.txt"
    good.write_text(render(letter_lines(item("MRI of the knee", "Overturned"))))
    bad = tmp_path / "a_bad.txt"
    bad.write_text("not a letter\n")
    args = [str(imr), "parse", str(good), str(bad), str(good)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["source"], r["ok"]) for r in records] == [(str(good), True), (str(bad), False), (str(good), True)]
    assert records[0]["letter"]["case_number"] == CASE_NUMBER
    assert records[0]["letter"]["items"][0]["decision"] == "Overturned"
    assert "not an IMR Final Determination Letter" in records[1]["error"]
    strict = subprocess.run(args + ["--strict"], capture_output=True, text=True, timeout=60)
    assert strict.returncode == 1


@pytest.mark.slow  # starts a child Python
def test_imr_parse_does_not_import_torch_or_datasets(tmp_path):
    letter = tmp_path / "letter.txt"
    letter.write_text(render(letter_lines(item("MRI of the knee"))))
    code = (
        "import sys; from training.imr import main; "
        f"rc = main(['parse', {str(letter)!r}]); "
        "assert rc == 0; "
        "heavy = [m for m in ('torch', 'datasets', 'transformers', 'mlflow') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ok"] is True

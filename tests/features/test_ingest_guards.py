"""The `imr ingest` faults of issue 24, each probed as the issue describes it: a damaged parse
store, two writers on one --out, unbounded --workers, signals mid-run, bad limits, --out given as
a link, and a letter rewritten in place. Each test failed before its fix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from letters import simple_letter

from features.contain import default_workers
from training.imr import main

IMR = Path(sys.executable).with_name("imr")
HUGE_WORKERS = 10_000  # the probe; capped at the cores, so it starts only that many


def letters_folder(folder: Path, cases: range) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in cases:
        case = f"CM18-{k:07d}"
        (folder / f"{case}.txt").write_text(simple_letter(case, "UO" if k % 3 == 0 else "U"))
    return folder


def report_of(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def rows_of(out: Path) -> list[tuple]:
    import pyarrow.parquet as pq

    rows = []
    for split in ("train", "validation", "test"):
        table = pq.read_table(out / "parquet" / f"{split}.parquet", columns=["letter_id", "item_index", "decision"])
        rows += zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True)
    return sorted(rows)


def leftovers(folder: Path) -> list[str]:
    """Hidden siblings an ingest leaves when it does not clean up (temporary, old, lock)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- a damaged parse store (medium 3) ---------------------------------------------------------


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("shard", ["rows", "outcomes", "paths"])
def test_a_truncated_store_shard_is_named_and_only_its_run_is_parsed_again(tmp_path, capsys, shard):
    letters = letters_folder(tmp_path / "letters", range(8))
    out = tmp_path / "out"
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    letters_folder(letters, range(8, 11))  # a second run: its own outcomes and rows shards
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    intact = rows_of(out)
    store = out / "store"
    second = sorted(store.glob(f"{shard}-*.parquet"))[-1] if shard != "paths" else store / "paths.parquet"
    truncate(second)
    capsys.readouterr()
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "damaged" in line]
    assert str(second) in line and "Traceback" not in err, err
    run = report_of(out)["run"]
    # a run's rows and outcomes are dropped together: that run's 3 letters are parsed again
    assert run["parsed_now"] == (0 if shard == "paths" else 3), run
    assert rows_of(out) == intact and report_of(out)["parsed"] == 11
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0  # the store is whole again
    assert report_of(out)["run"]["parsed_now"] == 0 and "damaged" not in capsys.readouterr().err


def test_a_rows_shard_damaged_inside_is_found_as_it_is_read_and_its_run_parsed_again(tmp_path, capsys):
    """A flipped byte inside a page (the footer intact) is found by the page checksum only when the
    rows are read back: named in one line, and the ingest starts again without that run."""
    import pyarrow.parquet as pq

    letters = letters_folder(tmp_path / "letters", range(6))
    out = tmp_path / "out"
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    intact = rows_of(out)
    [rows] = (out / "store").glob("rows-*.parquet")
    chunk = pq.ParquetFile(rows).metadata.row_group(0).column(0)
    last_data_byte = (chunk.dictionary_page_offset or chunk.data_page_offset) + chunk.total_compressed_size - 1
    data = bytearray(rows.read_bytes())
    data[last_data_byte] ^= 0xFF
    rows.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "damaged" in line]
    assert str(rows) in line and "Traceback" not in err, err
    assert report_of(out)["run"]["parsed_now"] == 6 and rows_of(out) == intact
    assert leftovers(tmp_path) == []
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    assert report_of(out)["run"]["parsed_now"] == 0 and "damaged" not in capsys.readouterr().err


# --- one writer per --out (medium 4), and what a killed writer leaves (low) -------------------


def start_imr(*args: str) -> subprocess.Popen:
    if not IMR.exists():
        pytest.fail(f"console script not installed next to {sys.executable}")
    return subprocess.Popen(
        [str(IMR), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def wait_for_temporary(proc: subprocess.Popen, parent: Path, timeout_s: float = 60) -> Path:
    """The running ingest's temporary output folder, once it exists (it holds --out by then)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [p for p in parent.glob(".*.tmp-*") if p.name.endswith(f"-{proc.pid}")]
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the ingest never started writing")


def wait_for_a_starting_worker(proc: subprocess.Popen, timeout_s: float = 60) -> None:
    """Until a parsing worker is a little way into its start-up (Python's own, ~50 ms, is over,
    the imports of another second or so are under way): a signal now would make Python in the
    worker print a KeyboardInterrupt traceback, were it not held off."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in psutil.Process(proc.pid).children():
            try:
                if any("spawn_main" in part for part in child.cmdline()):
                    time.sleep(0.2)
                    return
            except psutil.NoSuchProcess:
                continue
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("no worker started")


def end(proc: subprocess.Popen) -> None:
    """Kill what a test started and is still running (the ingest and its workers)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


@pytest.mark.slow  # runs the imr CLI in a subprocess
def test_a_second_writer_on_the_same_out_is_refused_naming_the_holder(tmp_path, capsys):
    letters = letters_folder(tmp_path / "letters", range(40))
    out = tmp_path / "out"
    first = start_imr("ingest", str(letters), "--out", str(out), "--rebuild", "--workers", "1")
    try:
        wait_for_temporary(first, tmp_path)
        os.kill(first.pid, signal.SIGSTOP)  # held mid-run, so the second certainly meets it
        capsys.readouterr()
        assert main(["ingest", str(letters), "--out", str(out), "--rebuild", "--workers", "1"]) == 2
        [line] = capsys.readouterr().err.splitlines()
        assert f"pid {first.pid}" in line and str(out) in line and "--wait" in line, line
        os.kill(first.pid, signal.SIGCONT)
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
    finally:
        end(first)
    assert report_of(out)["parsed"] == 40 and leftovers(tmp_path) == []


@pytest.mark.slow  # runs the imr CLI in a subprocess
def test_wait_queues_behind_the_holder(tmp_path):
    letters = letters_folder(tmp_path / "letters", range(20))
    out = tmp_path / "out"
    first = start_imr("ingest", str(letters), "--out", str(out), "--workers", "1")
    second = None
    try:
        wait_for_temporary(first, tmp_path)
        os.kill(first.pid, signal.SIGSTOP)
        second = start_imr("ingest", str(letters), "--out", str(out), "--workers", "1", "--wait")
        time.sleep(3)
        assert second.poll() is None  # waiting, not writing
        assert not [p for p in tmp_path.glob(".*.tmp-*") if p.name.endswith(f"-{second.pid}")]
        os.kill(first.pid, signal.SIGCONT)
        assert first.wait(timeout=300) == 0
        _, err = second.communicate(timeout=300)
        assert second.returncode == 0, err
        assert f"waiting for pid {first.pid}" in err, err
    finally:
        end(first)
        if second is not None:
            end(second)
    assert report_of(out)["run"]["parsed_now"] == 0  # the second read the first's complete output


@pytest.mark.slow  # runs the imr CLI in a subprocess
def test_a_killed_writer_neither_blocks_the_next_run_nor_leaves_its_temporary_folder(tmp_path):
    letters = letters_folder(tmp_path / "letters", range(20))
    out = tmp_path / "out"
    killed = start_imr("ingest", str(letters), "--out", str(out), "--workers", "1")
    try:
        temporary = wait_for_temporary(killed, tmp_path)
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=60)
    finally:
        end(killed)
    assert temporary.exists()  # what SIGKILL leaves behind
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    assert report_of(out)["parsed"] == 20 and leftovers(tmp_path) == []


def test_an_output_moved_aside_by_a_killed_swap_is_put_back(tmp_path, capsys):
    """A writer killed between the two renames that replace --out leaves it only as `.out.old-PID`:
    the next run puts it back (and so reuses its store) rather than deleting it as a leftover."""
    letters = letters_folder(tmp_path / "letters", range(5))
    out = tmp_path / "out"
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    out.rename(tmp_path / ".out.old-999999")
    capsys.readouterr()
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    assert "restored" in capsys.readouterr().err
    assert report_of(out)["run"]["parsed_now"] == 0 and leftovers(tmp_path) == []


# --- --workers capped, signals (medium 8 and low) ---------------------------------------------


def test_workers_are_capped_at_the_cores_and_the_cap_is_said(tmp_path, capsys):
    letters = letters_folder(tmp_path / "letters", range(3))
    out = tmp_path / "out"
    cores = default_workers()
    assert main(["ingest", str(letters), "--out", str(out), "--workers", str(cores + 3)]) == 0
    err = capsys.readouterr().err
    assert f"--workers {cores + 3} capped at {cores}" in err, err
    assert report_of(out)["run"]["workers"] == cores


@pytest.mark.slow  # runs the imr CLI in a subprocess
@pytest.mark.parametrize(
    "signum, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_signal_mid_ingest_is_one_line_and_cleans_up(tmp_path, signum, code, word):
    """SIGINT goes to the whole process group (Ctrl-C at a terminal), SIGTERM to imr alone (`kill`),
    while the workers are starting: no worker prints a traceback, the temporary folder goes."""
    letters = letters_folder(tmp_path / "letters", range(40))
    out = tmp_path / "out"
    proc = start_imr("ingest", str(letters), "--out", str(out), "--workers", str(HUGE_WORKERS))
    try:
        wait_for_a_starting_worker(proc)
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
        _, err = proc.communicate(timeout=120)
    finally:
        end(proc)
    assert proc.returncode == code, err
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert lines[0].startswith(f"imr ingest: --workers {HUGE_WORKERS} capped at "), err
    assert lines[1:] == [f"imr ingest: {word}"], err
    assert leftovers(tmp_path) == [] and not out.exists()


# --- limits that make no sense (low) ----------------------------------------------------------


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--timeout", "-1", "must be more than 0 seconds"),
        ("--timeout", "0", "must be more than 0 seconds"),
        ("--memory-limit", "1", "at least 128 MiB"),
    ],
)
def test_limits_that_cannot_work_are_refused_in_one_line(tmp_path, capsys, flag, value, message):
    letters = letters_folder(tmp_path / "letters", range(2))
    with pytest.raises(SystemExit) as exit_:
        main(["ingest", str(letters), "--out", str(tmp_path / "out"), flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: {message}" in err.splitlines()[-1] and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


# --- --out given as a link (low) --------------------------------------------------------------


def test_out_given_as_a_link_is_written_through_to_its_target(tmp_path):
    letters = letters_folder(tmp_path / "letters", range(4))
    target = tmp_path / "target"
    link = tmp_path / "linkout"
    link.symlink_to(target, target_is_directory=True)
    for _ in range(2):  # the first run creates the target, the second replaces it
        assert main(["ingest", str(letters), "--out", str(link), "--workers", "1"]) == 0
        assert link.is_symlink() and os.readlink(link) == str(target)
        assert report_of(target)["parsed"] == 4
        assert leftovers(tmp_path) == []


# --- the incremental check (low) --------------------------------------------------------------


def test_a_letter_rewritten_in_place_with_the_same_size_and_mtime_is_parsed_again(tmp_path):
    letters = tmp_path / "letters"
    letters.mkdir()
    letter = letters / "letter.txt"
    letter.write_text(simple_letter("CM18-0000001", "U"))
    out = tmp_path / "out"
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    before = os.stat(letter)
    with letter.open("r+") as f:  # in place: same inode, same size
        f.write(simple_letter("CM18-0000002", "U"))
    os.utime(letter, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(letter)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert main(["ingest", str(letters), "--out", str(out), "--workers", "1"]) == 0
    assert rows_of(out) == [("CM18-0000002", 0, "Upheld")]
    assert report_of(out)["run"]["parsed_now"] == 1

"""Reading a corpus without holding it (training.data.source, training.data.loading): an ingest
output's Parquet blocks in the order training numbers its items; a split's records a batch at a time;
an ingest report read a line at a time, its files bounded, its data digest that of every letter."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from features.ingest import write_report
from training.imr import main


@pytest.fixture(scope="module")
def ingested(small_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("blocks") / "ingest"
    assert main(["ingest", str(small_corpus), "--out", str(out), "--progress", "off"]) == 0
    return out


def test_parquet_blocks_follow_the_items_order(ingested):
    import datasets

    from training.data.source import ItemSource
    from training.data.splits import all_items

    dsd = datasets.load_from_disk(str(ingested / "dataset"))
    rows = all_items(dsd)
    source = ItemSource.of(dsd, ingested, block_items=7)
    assert source.origin.endswith("parquet") and len(source.blocks) >= 3  # row groups are the smallest blocks
    assert source.column("letter_id") == rows["letter_id"]
    assert source.column("item_index") == rows["item_index"]
    chosen = np.array([0, 5, 6, 17, len(rows) - 1])
    assert source.column("case_summary", chosen) == [rows[int(i)]["case_summary"] for i in chosen]
    in_memory = ItemSource.of(dsd, None, block_items=7)
    assert len(in_memory.blocks) > 3 and max(map(len, in_memory.blocks)) == 7
    assert in_memory.column("treatment") == rows["treatment"]
    assert in_memory.column("case_summary", chosen) == [rows[int(i)]["case_summary"] for i in chosen]


def test_a_damaged_output_is_named(ingested, tmp_path):
    import shutil

    import datasets

    from features.errors import InputError
    from training.data.source import ItemSource

    copy = tmp_path / "ingest"
    shutil.copytree(ingested, copy)
    for part in (copy / "parquet" / "test.parquet").glob("part-*.parquet"):
        part.unlink()
    dsd = datasets.load_from_disk(str(copy / "dataset"))
    with pytest.raises(InputError, match=r"parquet/test.parquet has 0 items"):
        ItemSource.of(dsd, copy)


def test_record_batches_of_a_fold_are_its_records(ingested):
    from training.config import DataConfig, TrainConfig
    from training.data.loading import load_splits
    from training.data.splits import corpus_items
    from training.families.baseline import BaselineModelConfig

    cfg = TrainConfig[BaselineModelConfig](model=BaselineModelConfig(), data=DataConfig(dataset=str(ingested)))
    dsd, _ = load_splits(cfg.data)
    items = corpus_items(dsd, "pre_decision", cfg.data.dataset_path())
    fold = items.select(np.arange(1, len(items), 3))
    batches = list(fold.record_batches(batch=4))
    assert max(len(b) for b in batches) <= 4
    assert [r for b in batches for r in b] == fold.records()


def _report(n_parsed: int, n_rejected: int) -> dict:
    files = [
        {
            "path": f"/l/{k}.txt",
            "status": "parsed",
            "reason": None,
            "items": 2,
            "sha256": hashlib.sha256(str(k).encode()).hexdigest(),
        }
        for k in range(n_parsed)
    ]
    files += [
        {"path": f"/bad/{k}.pdf", "status": "rejected", "reason": "not a letter", "items": 0} for k in range(n_rejected)
    ]
    return {"files": files, "total_files": len(files), "parsed": n_parsed, "rejected": n_rejected, "splits": {}}


def test_a_large_report_is_read_a_line_at_a_time(tmp_path):
    from training.data.loading import read_report, report_digest

    full = _report(3000, 25)
    write_report(tmp_path / "report.json", full)
    read = read_report(tmp_path / "report.json", keep=10)
    assert [f["status"] for f in read["files"]] == ["rejected"] * 10
    assert read["files_not_listed"] == 3015 and read["total_files"] == 3025 and read["parsed"] == 3000
    hashes = sorted(f["sha256"] for f in full["files"] if f["status"] == "parsed")
    assert read["data_digest"] == hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:12] == report_digest(full)
    small = read_report(tmp_path / "report.json", keep=5000)
    assert small["files"] == json.loads((tmp_path / "report.json").read_text())["files"]
    assert "files_not_listed" not in small

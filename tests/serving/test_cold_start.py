"""What `imr predict` imports for a baseline model, checked in child processes (a module imported
once stays in sys.modules, so only a fresh interpreter shows what a command needs):

- neither torch nor transformers, whether the version is downloaded or read from the model cache;
  no MLflow at all when the cache holds the version and the store is SQLite; and the precedents and
  criteria (what `--explain` adds) only with `--explain`;
- the same answer where torch, transformers and onnxruntime cannot be imported at all (an install
  without them);
- skops trusts the same scikit-learn types when it lists them with torch hidden
  (serving.skops_trust.skops_io) as with torch importable.

Times are benchmarks/bench_cold_start.py's job; nothing here is timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from training.imr import main

pytestmark = pytest.mark.slow  # every test starts a Python process
HEAVY = ("torch", "transformers", "onnxruntime", "mlflow", "serving.precedents", "serving.criteria")
# A finder under which the named packages cannot be imported, as if they were not installed.
NOT_INSTALLED = """
import importlib.abc, sys
class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {names!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, NotInstalled())
"""
PREDICT = """
import json, sys
from training.imr import main
code = main(["predict", "--model", {model!r}, "--input", {requests!r}, *{flags!r}])
print(json.dumps({{"code": code, "imported": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def child(code: str, **env: str) -> dict:
    """The JSON the child Python prints last, with the parent's environment plus `env`."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=os.environ | env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    return {"last": json.loads(lines[-1]), "rows": [json.loads(line) for line in lines[:-1]]}


@pytest.fixture(scope="module")
def requests(tmp_path_factory):
    path = tmp_path_factory.mktemp("cold") / "r.jsonl"
    path.write_text(json.dumps({"treatment": "Lumbar epidural steroid injection", "case_summary": "Low back pain."}))
    return str(path)


@pytest.fixture(scope="module")
def baseline(raw_baseline_store):
    """models:/NAME@testing of the session's raw baseline, MLFLOW_TRACKING_URI at its store."""
    return f"models:/{raw_baseline_store.name}@{raw_baseline_store.alias}"


def test_predict_with_a_baseline_imports_no_torch_and_from_the_cache_no_mlflow(baseline, requests, tmp_path):
    cache = str(tmp_path / "model-cache")
    code = PREDICT.format(model=baseline, requests=requests, heavy=HEAVY, flags=[])
    downloaded = child(code, IMR_MODEL_CACHE=cache)
    assert downloaded["last"] == {"code": 0, "imported": ["mlflow"]}  # asked MLflow for the download
    cached = child(code, IMR_MODEL_CACHE=cache)
    assert cached["last"] == {"code": 0, "imported": []}
    assert cached["rows"] == downloaded["rows"] and "p_overturned" in cached["rows"][0]
    explain = PREDICT.format(model=baseline, requests=requests, heavy=HEAVY, flags=["--explain"])
    explained = child(explain, IMR_MODEL_CACHE=cache)
    assert explained["last"]["imported"] == ["serving.precedents", "serving.criteria"]
    assert explained["rows"][0]["p_overturned"] == cached["rows"][0]["p_overturned"]
    assert {"reasons", "precedents", "criteria"} <= set(explained["rows"][0])


def test_a_predictor_loaded_without_evidence_refuses_to_explain(baseline):
    from serving.predictor import load_predictor

    plain = load_predictor(baseline, evidence=False)
    assert (plain.precedents, plain.criteria) == (None, None)
    assert plain.predict([{"treatment": "MRI of the lumbar spine"}])
    with pytest.raises(ValueError, match="without its evidence"):
        plain.predict([{"treatment": "MRI of the lumbar spine"}], explain=True)


def test_predict_with_a_baseline_needs_no_torch_transformers_or_onnxruntime(baseline, requests, tmp_path, capsys):
    blocked = NOT_INSTALLED.format(names={"torch", "transformers", "onnxruntime"})
    code = blocked + PREDICT.format(model=baseline, requests=requests, heavy=HEAVY, flags=[])
    without = child(code, IMR_MODEL_CACHE="off")
    assert without["last"] == {"code": 0, "imported": ["mlflow"]}
    assert main(["predict", "--model", baseline, "--input", requests]) == 0
    here = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert without["rows"] == here


def test_skops_trusts_the_same_types_when_torch_is_hidden():
    listed = "from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as names\n"
    report = "import json, sys; print(json.dumps({'torch': 'torch' in sys.modules, 'names': sorted(names)}))"
    hidden = child("from serving.skops_trust import skops_io; skops_io()\n" + listed + report)["last"]
    plain = child("import skops.io\n" + listed + report)["last"]
    assert hidden["torch"] is False and plain["torch"] is True  # torch is installed here, and skops alone loads it
    assert hidden["names"] == plain["names"] and len(plain["names"]) > 100
    assert "sklearn.linear_model._logistic.LogisticRegression" in hidden["names"]

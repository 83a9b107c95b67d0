"""`imr train`: registered by the `imr` entry point; imports training code only when run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_train_command(sub) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config and track the run in MLflow")
    p.add_argument("--config", required=True, type=Path, help="YAML config, e.g. configs/baseline.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set model.classifier.C=0.5 (repeatable)")
    p.add_argument("--summary", type=Path, help="write {run_id, model_uri, metrics} as JSON here")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("compare", help="tracked runs side by side, best test AUROC first")
    p.add_argument("--experiment", default="imr-outcome")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("ui", help="start the MLflow UI on the project's tracking store (loopback)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.set_defaults(func=cmd_ui)


def cmd_train(args: argparse.Namespace) -> int:
    from training.config import ConfigError, load_config

    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as exc:
        print(f"imr train: {exc}", file=sys.stderr)
        return 2
    result = train(cfg)
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(json.dumps(result.summary(), indent=2) + "\n")
    print_result(result)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from training.compare import render, run_rows

    try:
        rows = run_rows(args.experiment)
    except LookupError as exc:
        print(f"imr compare: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render(rows, args.format))
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    import os
    import subprocess

    from training.tracking import tracking_uri

    uri = tracking_uri()
    print(f"MLflow UI for {uri} at http://{args.host}:{args.port}", file=sys.stderr)
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow_bin), "ui", "--backend-store-uri", uri, "--host", args.host, "--port", str(args.port)]
    return subprocess.call(command, env=os.environ.copy())


def train(cfg):
    if cfg.model.family == "baseline":
        from training.baseline import train as train_family
    else:
        from training.transformer import train as train_family
    return train_family(cfg)


def print_result(result) -> None:
    m = result.metrics
    if not result.model_uri:  # cross-validation: estimates only, nothing registered
        print(f"cross-validation over {m.get('cv_folds_run', 0):.0f} folds (run {result.run_id})")
        for name in ("test_roc_auc", "test_pr_auc", "test_f1", "test_brier", "ref_category_test_roc_auc"):
            print(f"  {name:<28}{m[f'cv_{name}_mean']:.3f} +/- {m[f'cv_{name}_std']:.3f}")
        print(f"  pooled out-of-fold AUROC {m['cv_oof_roc_auc_r0']:.3f} "
              f"(95% CI {m['cv_oof_r0_roc_auc_ci_low']:.3f}-{m['cv_oof_r0_roc_auc_ci_high']:.3f})")
        return
    rows = [("model", ""), ("ref_upheld", "ref_upheld_"), ("ref_category", "ref_category_")]
    print(f"{'test':<14}{'AUROC':>8}{'PR-AUC':>8}{'prec':>7}{'recall':>7}{'F1':>7}{'acc':>7}{'Brier':>8}")
    for label, prefix in rows:
        g = lambda k: m.get(f"{prefix}test_{k}", float("nan"))  # noqa: E731
        print(f"{label:<14}{g('roc_auc'):>8.3f}{g('pr_auc'):>8.3f}{g('precision'):>7.3f}{g('recall'):>7.3f}"
              f"{g('f1'):>7.3f}{g('accuracy'):>7.3f}{g('brier'):>8.3f}")
    print(f"model AUROC 95% CI {m['test_roc_auc_ci_low']:.3f}-{m['test_roc_auc_ci_high']:.3f}, "
          f"PR-AUC 95% CI {m['test_pr_auc_ci_low']:.3f}-{m['test_pr_auc_ci_high']:.3f} (bootstrap over test letters)")
    if "test_roc_auc_diff_vs_baseline" in m:
        print(f"AUROC minus the baseline's on the same split: {m['test_roc_auc_diff_vs_baseline']:+.3f} "
              f"(95% CI {m['test_roc_auc_diff_vs_baseline_ci_low']:+.3f} to {m['test_roc_auc_diff_vs_baseline_ci_high']:+.3f})")
    print(f"threshold {result.threshold:.4f} (chosen on validation)")
    print(f"run {result.run_id}\nmodel {result.model_uri}")
    print("compare runs:  .venv/bin/imr compare    MLflow UI:  .venv/bin/imr ui  (http://127.0.0.1:5000)")
    print(f"score a request:  echo '{{\"treatment\": \"MRI of the lumbar spine\"}}' > req.jsonl && "
          f".venv/bin/imr predict --model {result.model_uri} --input req.jsonl")

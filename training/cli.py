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


def train(cfg):
    if cfg.model.family == "baseline":
        from training.baseline import train as train_family
    else:
        from training.transformer import train as train_family
    return train_family(cfg)


def print_result(result) -> None:
    m = result.metrics
    rows = [("model", ""), ("ref_upheld", "ref_upheld_"), ("ref_category", "ref_category_")]
    print(f"{'test':<14}{'AUROC':>8}{'PR-AUC':>8}{'prec':>7}{'recall':>7}{'F1':>7}{'acc':>7}{'Brier':>8}")
    for label, prefix in rows:
        g = lambda k: m.get(f"{prefix}test_{k}", float("nan"))  # noqa: E731
        print(f"{label:<14}{g('roc_auc'):>8.3f}{g('pr_auc'):>8.3f}{g('precision'):>7.3f}{g('recall'):>7.3f}"
              f"{g('f1'):>7.3f}{g('accuracy'):>7.3f}{g('brier'):>8.3f}")
    print(f"threshold {result.threshold:.4f} (chosen on validation)")
    print(f"run {result.run_id}\nmodel {result.model_uri}")
    print("compare runs:  .venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000")
    print(f"score a request:  echo '{{\"treatment\": \"MRI of the lumbar spine\"}}' > req.jsonl && "
          f".venv/bin/imr predict --model {result.model_uri} --input req.jsonl")

"""`imr train`: registered by the `imr` entry point; imports training code only when run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from serving.store import EXPERIMENT


def add_train_command(sub) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config and track the run in MLflow")
    p.add_argument("--config", required=True, type=Path, help="YAML config, e.g. configs/baseline.yaml")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set model.classifier.C=0.5 (repeatable)",
    )
    p.add_argument("--summary", type=Path, help="write {run_id, model_uri, metrics} as JSON here")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("compare", help="tracked runs side by side, best test AUROC first")
    p.add_argument("--experiment", default=EXPERIMENT)
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="also write the runs' out-of-fold ROC, precision-recall and reliability curves, with the "
        "reference predictors, to FILE (.png, .pdf or .svg)",
    )
    p.add_argument(
        "--runs",
        nargs="+",
        default=[],
        metavar="RUN",
        help="run names or ids to plot, in legend order (default: every listed cross-validation run)",
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("ui", help="start the MLflow UI on the project's tracking store (loopback)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--experiment", default=EXPERIMENT, help="the experiment whose runs page to link to")
    p.set_defaults(func=cmd_ui)


def cmd_train(args: argparse.Namespace) -> int:
    finished: list = []  # the TrainResult, once train() has returned it
    try:
        return _train_and_report(args, finished)
    except KeyboardInterrupt as exc:
        print(f"imr train: interrupted; {interrupted_outcome(exc, finished)}", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports a command that Ctrl-C stopped


def _train_and_report(args: argparse.Namespace, finished: list) -> int:
    from training.config import ConfigError
    from training.config_loading import load_config
    from training.data.folds import FoldError
    from training.run.train import UndefinedMetricsError, train

    try:
        cfg = load_config(args.config, args.overrides)
        finished.append(train(cfg))
    except (ConfigError, FoldError, UndefinedMetricsError) as exc:
        print(f"imr train: {exc}", file=sys.stderr)
        return 2
    result = finished[0]
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(json.dumps(result.summary(), indent=2) + "\n")
    print_result(result)
    return 0


def interrupted_outcome(exc: KeyboardInterrupt, finished: list) -> str:
    """What an interrupt left behind: the notes the run and the registry added to it on their way
    out (training.tracking.top_level_run, training.reporting.model_registry.VersionRegistration)."""
    if finished:
        return f"{finished[0].model_uri} was registered and its run had finished"
    return "; ".join(getattr(exc, "__notes__", [])) or "nothing was registered"


def cmd_compare(args: argparse.Namespace) -> int:
    from training.reporting.compare_table import render, run_rows

    try:
        rows = run_rows(args.experiment)
    except LookupError as exc:
        print(f"imr compare: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render(rows, args.format))
    if args.plot:
        from training.reporting.compare_plot import PlotError, write_plot

        try:
            plotted, skipped = write_plot(rows, args.runs, args.plot)
        except PlotError as exc:
            print(f"imr compare: {exc}", file=sys.stderr)
            return 2
        if skipped:
            print(f"not plotted (no out-of-fold predictions): {', '.join(skipped)}", file=sys.stderr)
        print(f"plot of {', '.join(plotted)}: {args.plot}", file=sys.stderr)
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from serving.store import tracking_uri
    from training.reporting.ui_process import run_until_signalled, ui_links

    uri = tracking_uri()
    base = f"http://{args.host}:{args.port}"
    print(f"MLflow UI for {uri} at {base}", file=sys.stderr)
    for line in ui_links(base, args.experiment):
        print(line, file=sys.stderr)
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow_bin), "ui", "--backend-store-uri", uri, "--host", args.host, "--port", str(args.port)]
    return run_until_signalled(command)


def print_result(result) -> None:
    m = result.metrics
    if "cv_roc_auc" in m:
        _print_cv(m)
    else:
        _print_split(m)
    print(f"threshold {result.threshold:.4f}; base rate {m['base_rate']:.3f}")
    print(f"run {result.run_id}\nmodel {result.model_uri}")
    print("compare runs:  .venv/bin/imr compare    MLflow UI:  .venv/bin/imr ui  (http://127.0.0.1:5000)")
    print(
        f'score a request:  echo \'{{"treatment": "MRI of the lumbar spine"}}\' > req.jsonl && '
        f".venv/bin/imr predict --model {result.model_uri} --input req.jsonl"
    )


def _print_cv(m: dict) -> None:
    from training.metrics.out_of_fold import MODEL, REF_BASE_RATE, REF_CATEGORY, WRITER

    print("out-of-fold (every letter; 95% CI over letters)")
    print(f"{'':<14}{'AUROC':>8}{'95% CI':>14}{'PR-AUC':>8}{'Brier':>8}{'skill':>8}{'ECE':>7}{'mean p':>8}{'F1':>7}")
    rows = [("model", MODEL), *([("writer_shift", WRITER)] if f"{WRITER}roc_auc" in m else [])]
    for label, prefix in (*rows, ("ref_base_rate", REF_BASE_RATE), ("ref_category", REF_CATEGORY)):
        g = lambda k, prefix=prefix: m.get(f"{prefix}{k}", float("nan"))
        ci = f"{g('roc_auc_ci_low'):.3f}-{g('roc_auc_ci_high'):.3f}"
        print(
            f"{label:<14}{g('roc_auc'):>8.3f}{ci:>14}{g('pr_auc'):>8.3f}{g('brier'):>8.4f}{g('brier_skill'):>8.3f}"
            f"{g('ece'):>7.3f}{g('mean_p'):>8.3f}{g('f1'):>7.3f}"
        )
    if f"{WRITER}roc_auc" in m:
        print("writer_shift: the same cross-validation with one case-summary writer template held out per fold")
    for prefix, folds in ((MODEL, "folds"), (WRITER, "writer-shift folds")):
        for d in sorted(k for k in m if k.startswith(f"{prefix}diff_vs_") and k.endswith("_roc_auc")):
            name, b = (
                d.removeprefix(f"{prefix}diff_vs_").removesuffix("_roc_auc"),
                d.replace("_roc_auc", "_brier_skill"),
            )
            print(
                f"minus the {name} on the same {folds}: AUROC {m[d]:+.3f} (95% CI {m[d + '_ci_low']:+.3f} to "
                f"{m[d + '_ci_high']:+.3f}), Brier skill {m[b]:+.3f} ({m[b + '_ci_low']:+.3f} to "
                f"{m[b + '_ci_high']:+.3f})"
            )


def _print_split(m: dict) -> None:
    rows = [("model", ""), ("ref_upheld", "ref_upheld_"), ("ref_category", "ref_category_")]
    print(f"{'test':<14}{'AUROC':>8}{'PR-AUC':>8}{'prec':>7}{'recall':>7}{'F1':>7}{'acc':>7}{'Brier':>8}")
    for label, prefix in rows:
        g = lambda k, prefix=prefix: m.get(f"{prefix}test_{k}", float("nan"))
        print(
            f"{label:<14}{g('roc_auc'):>8.3f}{g('pr_auc'):>8.3f}{g('precision'):>7.3f}{g('recall'):>7.3f}"
            f"{g('f1'):>7.3f}{g('accuracy'):>7.3f}{g('brier'):>8.3f}"
        )
    print(
        f"model AUROC 95% CI {m['test_roc_auc_ci_low']:.3f}-{m['test_roc_auc_ci_high']:.3f}, "
        f"PR-AUC 95% CI {m['test_pr_auc_ci_low']:.3f}-{m['test_pr_auc_ci_high']:.3f} (bootstrap over test letters)"
    )
    if "test_roc_auc_diff_vs_baseline" in m:
        print(
            f"AUROC minus the baseline's on the same split: {m['test_roc_auc_diff_vs_baseline']:+.3f} "
            f"(95% CI {m['test_roc_auc_diff_vs_baseline_ci_low']:+.3f} to "
            f"{m['test_roc_auc_diff_vs_baseline_ci_high']:+.3f})"
        )

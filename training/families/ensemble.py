"""Ensemble family: the baseline and the transformer combined on their out-of-fold scores.

The two families err on different letters, so a combiner of their scores can rank better than
either, but on a few hundred items it can also just add noise. What fit() does, on the letters it
is given (a cross-validation fold's training letters, or every letter for the model that ships):

1. inner K-fold by letter: each member is fitted on the other inner folds and scores the held-out
   one, so every training item gets an honest score from each member;
2. the combiner weighs the members' standardised logits, fitted on those scores: by default the
   convex weights that rank them best within the inner folds (`combiner.method: auc_weights`; a
   member that only adds noise gets weight 0), or a class-weighted logistic regression
   (`logistic`; a member whose weight comes out negative is dropped and the rest refitted).
   Either way the raw score is centred the same way in every fold, so the pooled out-of-fold
   ranking is not shifted by each fold's base rate;
3. every member is refitted on all the letters into `members/<family>/`, a packaged model of its
   own, and the combiner is written as `combiner.json` (serving.ensemble_scorer applies it).

Calibration and shrinkage come after, as for every family (training.run.train, configs/ensemble.yaml:
`calibration: sigmoid`): Platt scaling fitted on held-out ensemble scores only (cross-fitted in
cross-validation). Its slope is the shrinkage toward the base rate: near 0 where the combined score
carries no signal, when the answer is the base rate and Brier skill is 0 up to noise.

Run under `evaluation.mode: cv`, this whole fit happens once per outer fold, so the estimate is
nested: no outer test letter is seen by the members, the combiner or the calibrator.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import mlflow
import numpy as np
import yaml
from pydantic import Field, field_validator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from serving.ensemble_scorer import COMBINER_FILE, MEMBERS_DIR, member_logits
from serving.model_dir import META_FILE
from training.config import ModelConfig, Strict, TrainConfig, with_model
from training.data.folds import item_folds
from training.data.splits import Split
from training.families.baseline import BaselineModelConfig
from training.families.family import RunFacts, interval
from training.families.packaging import PackagedModel, fit_packaged
from training.families.transformer import TransformerModelConfig

# Each member is a family's own `model:` section, told apart by its `family` key.
MemberConfig = Annotated[BaselineModelConfig | TransformerModelConfig, Field(discriminator="family")]


class CombinerConfig(Strict):
    # "auc_weights": the convex weights (on a grid) of the members' standardised logits that rank the
    # inner out-of-fold scores best (mean AUROC within inner folds; ties: the weights nearest equal);
    # "logistic": a class-weighted logistic regression on them, negative weights dropped. Both measured
    # on the bundled letters (docs/evaluation.md, "The ensemble"): alike under writer shift, auc_weights better
    # calibrated under letter folds.
    method: Literal["auc_weights", "logistic"] = "auc_weights"
    grid_step: float = Field(default=0.1, gt=0, le=0.5)  # auc_weights
    C: float = Field(default=1.0, gt=0)  # logistic

    @field_validator("grid_step")
    @classmethod
    def _divides_one(cls, step: float) -> float:
        if abs(1 / step - round(1 / step)) > 1e-9:
            raise ValueError(f"must divide 1 into whole steps (0.1, 0.25, 0.5...), got {step}")
        return step


class EnsembleModelConfig(ModelConfig):
    family: Literal["ensemble"] = "ensemble"
    # Members, one per family: a `model:` section, or `{config: <a run config's YAML>, <key>: <value>...}`
    # for the model section of that file with the given keys replaced, so the ensemble combines the
    # very models configs/baseline.yaml and configs/transformer.yaml train.
    members: list[MemberConfig] = [BaselineModelConfig(), TransformerModelConfig(export_onnx=False)]
    inner_folds: int = Field(default=3, ge=2)  # inner K-fold by letter for the combiner's training scores
    combiner: CombinerConfig = CombinerConfig()

    @field_validator("members", mode="before")
    @classmethod
    def _read_member_configs(cls, members: Any) -> Any:
        return [_member_section(m) for m in members] if isinstance(members, list) else members

    @field_validator("members")
    @classmethod
    def _distinct_families(cls, members: list[ModelConfig]) -> list[ModelConfig]:
        names = [m.family for m in members]
        if len(members) < 2 or len(set(names)) != len(names):
            raise ValueError(f"needs two or more members of different families, got {names}")
        return members


def _member_section(member: Any) -> Any:
    """A member given as `{config: path, ...}`: the model section of that YAML file (the path is
    relative to the working directory, as data.sources are), updated with the other keys."""
    if not isinstance(member, dict) or "config" not in member:
        return member
    path = Path(member["config"])
    try:
        section = (yaml.safe_load(path.read_text()) or {}).get("model") or {}
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise ValueError(f"config {str(path)!r}: cannot read its model section ({type(exc).__name__})") from None
    return {**section, **{k: v for k, v in member.items() if k != "config"}}


def members_by_name(cfg: TrainConfig) -> dict[str, ModelConfig]:
    """Each member's model section by its name (its family): also the references a run pairs against."""
    return {m.family: m for m in cfg.model.members}


def fit(cfg: TrainConfig, train: Split, validation: Split | None, model_dir: Path, families: Mapping) -> tuple:
    """`families` is the registry (training.families.registry.FAMILIES), passed in by its entry for this family."""
    members = members_by_name(cfg)
    names = list(members)
    member_cfgs = {name: with_model(cfg, model) for name, model in members.items()}
    inner = item_folds(train.letter_keys, train.y, cfg.model.inner_folds, 1, cfg.seed)
    inner_p = np.full((len(train), len(names)), np.nan)
    inner_fold = np.full(len(train), -1)
    for f in inner:
        inner_fold[f.test] = f.index
        held = train.select(f.test)
        for j, name in enumerate(names):
            folder = model_dir / "inner" / f"fold{f.index}" / name
            model = _fit_member(member_cfgs[name], families, train.select(f.train), folder, f"inner{f.index}")
            inner_p[f.test, j] = model.score(held)
    shutil.rmtree(model_dir / "inner")  # the inner folds' models were only there to score
    combiner = fit_combiner(inner_p, train.y, inner_fold, names, cfg.model.combiner)

    files = [COMBINER_FILE]
    for name in names:
        model = _fit_member(member_cfgs[name], families, train, model_dir / MEMBERS_DIR / name, "all")
        files += [f"{MEMBERS_DIR}/{name}/{file}" for file in [*model.files, META_FILE]]
    (model_dir / COMBINER_FILE).write_text(json.dumps(combiner, indent=2))
    return files, {"members": names}


def check_data(cfg: TrainConfig, n_train_items: int, families: Mapping) -> None:
    """Each member's own check, against the smallest set it is fitted on: an inner fold's training items."""
    inner_items = n_train_items * (cfg.model.inner_folds - 1) // cfg.model.inner_folds
    for model in cfg.model.members:
        families[model.family].check_data(with_model(cfg, model), inner_items)


def _fit_member(cfg: TrainConfig, families: Mapping, train: Split, folder: Path, stage: str) -> PackagedModel:
    """One member fitted in a nested MLflow run of its own: a family logs its params and metrics into
    the active run, and several members (and inner folds) are fitted within one fold's run."""
    with mlflow.start_run(run_name=f"member-{cfg.model.family}-{stage}", nested=True):
        mlflow.set_tags({"stage": "ensemble_member", "model_family": cfg.model.family, "ensemble_stage": stage})
        return fit_packaged(cfg, families[cfg.model.family], train, None, folder)


def fit_combiner(p: np.ndarray, y: np.ndarray, fold: np.ndarray, names: list[str], cfg: CombinerConfig) -> dict:
    """The combiner spec (serving.ensemble_scorer.combine) from the members' inner out-of-fold
    probabilities `p` (items x members) and each item's inner fold."""
    z = member_logits(p)
    mean, scale = z.mean(axis=0), z.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (z - mean) / scale
    y = np.asarray(y, dtype=int)
    if cfg.method == "auc_weights":
        coef, intercept = _auc_weights(z, y, np.asarray(fold), cfg.grid_step), 0.0
    else:
        coef, intercept = _logistic_weights(z, y, cfg.C)
    return {
        "members": names,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": coef.tolist(),
        "intercept": intercept,
    }


def simplex_grid(members: int, step: float) -> np.ndarray:
    """Every weight vector of `members` non-negative multiples of `step` that sum to 1."""
    n = round(1 / step)
    points = [c for c in itertools.product(range(n + 1), repeat=members - 1) if sum(c) <= n]
    return np.array([[*c, n - sum(c)] for c in points], dtype=float) / n


def _auc_weights(z: np.ndarray, y: np.ndarray, fold: np.ndarray, step: float) -> np.ndarray:
    folds = [fold == k for k in np.unique(fold) if len(np.unique(y[fold == k])) == 2]
    equal = np.full(z.shape[1], 1 / z.shape[1])
    if not folds:  # no inner fold holds both classes: nothing to rank by
        return equal
    grid = simplex_grid(z.shape[1], step)
    auc = np.array([np.mean([roc_auc_score(y[f], z[f] @ w) for f in folds]) for w in grid])
    best = np.flatnonzero(auc >= auc.max() - 1e-12)
    return grid[best[np.argmin(np.linalg.norm(grid[best] - equal, axis=1))]]


def _logistic_weights(z: np.ndarray, y: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    keep = np.ones(z.shape[1], dtype=bool)
    while keep.any():
        lr = LogisticRegression(C=C, class_weight="balanced").fit(z[:, keep], y)
        if (lr.coef_[0] >= 0).all():
            coef = np.zeros(z.shape[1])
            coef[keep] = lr.coef_[0]
            return coef, float(lr.intercept_[0])
        keep[np.flatnonzero(keep)[lr.coef_[0] < 0]] = False  # pulling against the label here: noise
    return np.zeros(z.shape[1]), 0.0


# ---------------------------------------------------------------- what it says about itself

_COMBINERS = {
    "auc_weights": "the convex weights that rank best within inner folds",
    "logistic": "a class-weighted logistic regression",
}


def describe(cfg: TrainConfig) -> str:
    m = cfg.model
    names = " + ".join(member.family for member in m.members)
    return (
        f"ensemble of {names}: {_COMBINERS[m.combiner.method]} on their standardised logits from "
        f"{m.inner_folds}-fold inner CV by letter, then {cfg.evaluation.calibration} calibration"
    )


def card_section(cfg: TrainConfig, facts: RunFacts) -> str:
    m, metrics = cfg.model, facts.metrics
    lines = [
        "## Model family: ensemble",
        f"- Members: {', '.join(member.family for member in m.members)}, each packaged as its own model under "
        "`members/<family>/`.",
        f"- Combiner: {_COMBINERS[m.combiner.method]} on the members' standardised logits, fitted on their "
        f"scores from {m.inner_folds}-fold inner cross-validation by letter; a member that only adds noise "
        "gets weight 0 (`combiner.json` has the numbers).",
        f"- Calibration: {cfg.evaluation.calibration}, fitted on held-out ensemble scores (cross-fitted in "
        "cross-validation); a Platt slope below 1 shrinks the answer toward the base rate, to it at 0.",
    ]
    for member in m.members:
        key = f"cv_diff_vs_{member.family}_"
        if f"{key}roc_auc" in metrics:
            lines.append(
                f"- Minus the {member.family} on the same folds: AUROC {interval(metrics, f'{key}roc_auc', True)}; "
                f"Brier skill {interval(metrics, f'{key}brier_skill', True)}."
            )
    return "\n".join(lines) + "\n"

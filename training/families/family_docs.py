"""What each model family says about itself: one sentence for a run's description and a section
of its model card. Read through the family registry (training.families.registry), so the run and the card
never branch on the family's name."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from training.config import TrainConfig


@dataclass
class RunFacts:
    """What a run logged, as the card reads it: metrics (the run's own plus any logged by the family,
    e.g. onnx_*), params, tags, and the metrics of the nested runs its params point to, keyed by the
    param name without `_run_id` (e.g. `domain_adaptation`)."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    linked: dict[str, dict[str, float]] = field(default_factory=dict)


def _num(value: float, digits: int = 3, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _interval(m: dict, key: str, signed: bool = False) -> str:
    low, high = m.get(f"{key}_ci_low", math.nan), m.get(f"{key}_ci_high", math.nan)
    return (
        f"{_num(m.get(key, math.nan), signed=signed)} "
        f"(95% CI {_num(low, signed=signed)} to {_num(high, signed=signed)})"
    )


# ---------------------------------------------------------------- baseline


def _tfidf_words(t) -> str:
    grams = (
        f"{t.ngram_range[0]}-{t.ngram_range[1]}-grams"
        if t.ngram_range[0] != t.ngram_range[1]
        else f"{t.ngram_range[0]}-grams"
    )
    cap = f"up to {t.max_features:,} features" if t.max_features else "no feature cap"
    stop = f", {t.stop_words} stop words removed" if t.stop_words else ""
    return f"{t.analyzer} {grams}, min_df {t.min_df}, {cap}{', sublinear tf' if t.sublinear_tf else ''}{stop}"


def baseline_describe(cfg: TrainConfig) -> str:
    m = cfg.model
    return (
        f"TF-IDF ({_tfidf_words(m.text_tfidf)}) + logistic regression (C={m.classifier.C:g}, "
        f"class_weight {m.classifier.class_weight})"
    )


def baseline_card(cfg: TrainConfig, facts: RunFacts) -> str:
    m = cfg.model
    extra = []
    if m.treatment_tfidf is not None:
        extra.append(f"a TF-IDF of the treatment name ({_tfidf_words(m.treatment_tfidf)})")
    if m.metadata_columns:
        extra.append("one-hot treatment category and sex, scaled age, days since injury and partial approval")
    blocks = "; plus " + " and ".join(extra) if extra else " (no other feature block)"
    return f"""## Model family: TF-IDF + logistic regression (baseline)
- Features: TF-IDF of the `{cfg.data.feature_view}` text ({_tfidf_words(m.text_tfidf)}){blocks}.
- Classifier: logistic regression, C={m.classifier.C:g}, class_weight {m.classifier.class_weight}, \
max_iter {m.classifier.max_iter}; saved with skops (no pickle).
- What it leans on: the 25 terms with the largest weights toward Overturned and toward Upheld are in the run's \
`top_terms.md` artifact.
"""


# ---------------------------------------------------------------- transformer


def transformer_describe(cfg: TrainConfig) -> str:
    m = cfg.model
    if m.recipe == "frozen_encoder":
        return (
            f"frozen {m.base_model} + logistic head on its mean-pooled embedding: {m.max_length} tokens, "
            f"head C from {_grid(m.head_c_grid)} by inner CV"
        )
    if m.recipe == "setfit":
        s = m.setfit
        return (
            f"SetFit on {m.base_model}: contrastive training ({s.num_iterations} iteration(s), {s.epochs} epoch(s), "
            f"learning rate {s.learning_rate:g}, {_frozen(m.freeze_layers)}) + logistic head on the mean-pooled "
            f"embedding, {m.max_length} tokens"
        )
    adapted = ", domain-adapted on the train letters (masked LM)" if m.domain_adaptation.enabled else ""
    return (
        f"fine-tuned {m.base_model}{adapted}: {m.max_length} tokens, {m.epochs:g} epoch(s), "
        f"{_frozen(m.freeze_layers)}, learning rate {m.learning_rate:g}"
    )


def _grid(values: list[float]) -> str:
    return "/".join(f"{v:g}" for v in values)


def _frozen(layers: int) -> str:
    return f"embeddings and lower {layers} layer(s) frozen" if layers else "every layer trained"


def _base_model_lines(cfg: TrainConfig, facts: RunFacts) -> list[str]:
    m = cfg.model
    actual = facts.tags.get("base_model_sha256")
    if m.base_sha256:
        pinned = f"sha256 `{m.base_sha256}` of model.safetensors, checked before loading"
    else:
        pinned = "not pinned (base_sha256: null)" + (f"; loaded weights had sha256 `{actual}`" if actual else "")
    head_rate = f" (head {m.head_learning_rate:g})" if m.head_learning_rate else ""
    return [
        f"- Base model: `{m.base_model}`; {pinned}.",
        (
            f"- Input: {m.max_length} tokens, the first {m.head_fraction:.0%} from the start of the text (treatment "
            f"first), the rest from the end of the case summary."
        ),
        _recipe_line(cfg, head_rate),
    ]


def _recipe_line(cfg: TrainConfig, head_rate: str) -> str:
    m = cfg.model
    head = (
        f"a logistic-regression head (class weights {m.class_weight}) on the mean-pooled, L2-normalised "
        f"embedding, its C chosen from {_grid(m.head_c_grid)} by grouped inner CV on the training letters "
        f"(param `head_C`); head weights in `head.safetensors`"
    )
    if m.recipe == "frozen_encoder":
        return f"- Recipe `frozen_encoder`: the base encoder unchanged, {head}."
    if m.recipe == "setfit":
        s = m.setfit
        return (
            f"- Recipe `setfit`: the encoder first trained contrastively with SetFit ({s.num_iterations} "
            f"iteration(s) of pairs per item, {s.epochs} epoch(s), batch {s.batch_size}, learning rate "
            f"{s.learning_rate:g}, {_frozen(m.freeze_layers)}), then {head}."
        )
    return (
        f"- Recipe `fine_tune`: {m.epochs:g} epoch(s), batch {m.batch_size}, learning rate "
        f"{m.learning_rate:g}{head_rate}, weight decay {m.weight_decay:g}, class weights {m.class_weight}, "
        f"{_frozen(m.freeze_layers)}. "
        f"Trainer arguments are in the nested `fine-tuning` run."
    )


def _domain_adaptation_lines(cfg: TrainConfig, facts: RunFacts) -> list[str]:
    da = cfg.model.domain_adaptation
    if not da.enabled:
        return ["- Domain adaptation: off (the base encoder was fine-tuned directly)."]
    line = (
        f"- Domain adaptation: {da.epochs:g} epoch(s) of masked-LM pretraining on the train letters' case "
        f"summaries, treatments and guidelines (mask rate {da.mlm_probability:g}), before fine-tuning."
    )
    mlm = facts.linked.get("domain_adaptation", {})
    if "val_mlm_loss_before" in mlm:
        line += (
            f" Held-out MLM loss {_num(mlm['val_mlm_loss_before'])} before, "
            f"{_num(mlm.get('val_mlm_loss_after', math.nan))} after (perplexity "
            f"{_num(mlm.get('val_perplexity_before', math.nan), 1)} to "
            f"{_num(mlm.get('val_perplexity_after', math.nan), 1)})."
        )
    return [line]


def _versus_baseline_lines(facts: RunFacts) -> list[str]:
    m = facts.metrics
    if "cv_diff_vs_baseline_roc_auc" in m:
        return [
            (
                "- Paired difference against the default baseline on the same folds and letter resamples "
                "(this model minus the baseline):"
            ),
            (
                f"  AUROC {_interval(m, 'cv_diff_vs_baseline_roc_auc', signed=True)}; "
                f"Brier skill {_interval(m, 'cv_diff_vs_baseline_brier_skill', signed=True)}."
            ),
        ]
    if "test_roc_auc_diff_vs_baseline" in m:
        return [
            (
                "- Paired difference against the default baseline on the same test split: AUROC "
                f"{_interval(m, 'test_roc_auc_diff_vs_baseline', signed=True)}."
            )
        ]
    return ["- Not compared with the baseline in this run (model.compare_with_baseline: false)."]


def _onnx_lines(cfg: TrainConfig, facts: RunFacts) -> list[str]:
    if not cfg.model.export_onnx:
        return ["- ONNX: not exported (model.export_onnx: false)."]
    if cfg.model.recipe != "fine_tune":
        return [f"- ONNX: not exported (the {cfg.model.recipe} recipe is scored with PyTorch only)."]
    m = facts.metrics
    line = (
        "- ONNX: an int8 export (dynamic quantisation) ships beside the PyTorch weights; "
        "`imr predict --backend onnx` uses it."
    )
    if "onnx_max_abs_diff" in m:
        line += (
            f" On {int(m.get('onnx_items', 0))} training items its probabilities differ from PyTorch's by "
            f"{_num(m['onnx_max_abs_diff'], 4)} at most (mean {_num(m.get('onnx_mean_abs_diff', math.nan), 4)}); "
            f"{_num(m.get('onnx_items_per_s', math.nan), 0)} items/s against PyTorch's "
            f"{_num(m.get('torch_items_per_s', math.nan), 0)} on the training machine's CPU."
        )
    return [line]


def transformer_card(cfg: TrainConfig, facts: RunFacts) -> str:
    lines = [
        f"## Model family: transformer ({cfg.model.recipe})",
        *_base_model_lines(cfg, facts),
        *_domain_adaptation_lines(cfg, facts),
        *_versus_baseline_lines(facts),
        *_onnx_lines(cfg, facts),
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- ensemble


_COMBINERS = {
    "auc_weights": "the convex weights that rank best within inner folds",
    "logistic": "a class-weighted logistic regression",
}


def ensemble_describe(cfg: TrainConfig) -> str:
    m = cfg.model
    names = " + ".join(member.family for member in m.members)
    return (
        f"ensemble of {names}: {_COMBINERS[m.combiner.method]} on their standardised logits from "
        f"{m.inner_folds}-fold inner CV by letter, then {cfg.evaluation.calibration} calibration"
    )


def ensemble_card(cfg: TrainConfig, facts: RunFacts) -> str:
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
                f"- Minus the {member.family} on the same folds: AUROC {_interval(metrics, f'{key}roc_auc', True)}; "
                f"Brier skill {_interval(metrics, f'{key}brier_skill', True)}."
            )
    return "\n".join(lines) + "\n"

"""What each model family says about itself: one sentence for a run's description and a section
of its model card. Read through the family registry (training.families), so the run and the card
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
    return f"{t.analyzer} {grams}, min_df {t.min_df}, {cap}{', sublinear tf' if t.sublinear_tf else ''}"


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
    adapted = ", domain-adapted on the train letters (masked LM)" if m.domain_adaptation.enabled else ""
    return (
        f"fine-tuned {m.base_model}{adapted}: {m.max_length} tokens, {m.epochs:g} epoch(s), "
        f"{_frozen(m.freeze_layers)}, learning rate {m.learning_rate:g}"
    )


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
        (
            f"- Fine-tuning: {m.epochs:g} epoch(s), batch {m.batch_size}, learning rate "
            f"{m.learning_rate:g}{head_rate}, weight decay {m.weight_decay:g}, class weights {m.class_weight}, "
            f"{_frozen(m.freeze_layers)}. "
            f"Trainer arguments are in the nested `fine-tuning` run."
        ),
    ]


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
        "## Model family: fine-tuned transformer",
        *_base_model_lines(cfg, facts),
        *_domain_adaptation_lines(cfg, facts),
        *_versus_baseline_lines(facts),
        *_onnx_lines(cfg, facts),
    ]
    return "\n".join(lines) + "\n"

"""What the transformer family says about itself: one sentence for a run's description and its section
of the model card (the recipe, the base model and its hash, domain adaptation, the paired difference
against the baseline, the ONNX export)."""

from __future__ import annotations

import math

from training.config import TrainConfig
from training.families.family import RunFacts, interval, number


def describe(cfg: TrainConfig) -> str:
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
            f" Held-out MLM loss {number(mlm['val_mlm_loss_before'])} before, "
            f"{number(mlm.get('val_mlm_loss_after', math.nan))} after (perplexity "
            f"{number(mlm.get('val_perplexity_before', math.nan), 1)} to "
            f"{number(mlm.get('val_perplexity_after', math.nan), 1)})."
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
                f"  AUROC {interval(m, 'cv_diff_vs_baseline_roc_auc', signed=True)}; "
                f"Brier skill {interval(m, 'cv_diff_vs_baseline_brier_skill', signed=True)}."
            ),
        ]
    if "test_roc_auc_diff_vs_baseline" in m:
        return [
            (
                "- Paired difference against the default baseline on the same test split: AUROC "
                f"{interval(m, 'test_roc_auc_diff_vs_baseline', signed=True)}."
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
            f"{number(m['onnx_max_abs_diff'], 4)} at most (mean {number(m.get('onnx_mean_abs_diff', math.nan), 4)}); "
            f"{number(m.get('onnx_items_per_s', math.nan), 0)} items/s against PyTorch's "
            f"{number(m.get('torch_items_per_s', math.nan), 0)} on the training machine's CPU."
        )
    return [line]


def card_section(cfg: TrainConfig, facts: RunFacts) -> str:
    lines = [
        f"## Model family: transformer ({cfg.model.recipe})",
        *_base_model_lines(cfg, facts),
        *_domain_adaptation_lines(cfg, facts),
        *_versus_baseline_lines(facts),
        *_onnx_lines(cfg, facts),
    ]
    return "\n".join(lines) + "\n"

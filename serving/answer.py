"""What a person reads beside a probability, built here once for the page, `imr predict` and the HTTP
API (and worded the same in the model card): where the probability lies relative to the base rate
(its band), and how far to trust the model, in plain words. Both come from the packaged evaluation
(serving.model_evaluation), never from a tuned threshold.

The band an answer names is the range its probability falls in (serving.model_evaluation.Bands, fixed
at training time from the out-of-fold probabilities) when that range is `shown`; otherwise, and always
when the model's cross-validated skill does not support telling requests apart, it is "about usual".
A band is never "higher than usual" for a probability below the base rate, nor "lower than usual" above
it, whatever the package says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from serving.model_evaluation import ABOUT, HIGHER, LOWER


def _pct(p: float, digits: int = 1) -> str:
    return f"{100 * p:.{digits}f}%"


def _range(row: Mapping[str, Any]) -> str:
    if row["band"] == LOWER:
        return f"below {_pct(row['high'])}"
    if row["band"] == HIGHER:
        return f"above {_pct(row['low'])}"
    return f"from {_pct(row['low'])} to {_pct(row['high'])}"


def scored_alike(p: float, bands: Mapping[str, Any]) -> Mapping[str, Any]:
    """The band row whose range holds `p` (lower below the lower edge, higher above the upper edge)."""
    name = LOWER if p < bands["lower_edge"] else HIGHER if p > bands["upper_edge"] else ABOUT
    return next(row for row in bands["rows"] if row["band"] == name)


def band_label(p: float, base_rate: float | None, bands: Mapping[str, Any]) -> str:
    """The band an answer names: the range's own only where it is shown and on the right side of the
    base rate, else "about usual"."""
    row = scored_alike(p, bands)
    if not (bands["skill_supported"] and row["shown"]) or base_rate is None:
        return ABOUT
    if (row["band"] == HIGHER and p < base_rate) or (row["band"] == LOWER and p > base_rate):
        return ABOUT
    return row["band"]


def _observed(row: Mapping[str, Any]) -> str:
    if row["observed_rate"] is None:
        return f"the model scored no decided item {_range(row)}"
    ci = ""
    if row["observed_ci_low"] is not None and row["observed_ci_high"] is not None:
        ci = f" (95% CI {_pct(row['observed_ci_low'], 0)} to {_pct(row['observed_ci_high'], 0)})"
    return f"of decided items it scored {_range(row)}, {_pct(row['observed_rate'], 0)} were overturned{ci}"


def answer_for(p: float, base_rate: float | None, evaluation: Mapping[str, Any] | None) -> dict[str, Any]:
    """`band`, `observed_rate_scored_alike` and `answer` (a sentence) for one probability; null band
    and rate for a model packaged without bands."""
    head = f"{_pct(p)} against a base rate of {_pct(base_rate)}" if base_rate is not None else _pct(p)
    bands = (evaluation or {}).get("bands")
    if not bands:
        return {"band": None, "observed_rate_scored_alike": None, "answer": f"{head}."}
    row, label = scored_alike(p, bands), band_label(p, base_rate, bands)
    if not bands["skill_supported"]:
        text = f"{head}: {label}. The model cannot tell this request from the average one; {_observed(row)}."
    elif label == ABOUT:
        text = f"{head}: {label}; {_observed(row)}, not clearly different from the base rate."
    else:
        text = f"{head}: {label}; {_observed(row)}."
    return {"band": label, "observed_rate_scored_alike": row["observed_rate"], "answer": text}


def _in_100(value: float) -> str:
    return f"{round(100 * value)}"


def _finite(*values) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def _ranking(evaluation: Mapping[str, Any]) -> str | None:
    """The ranking sentence: within-fold AUROC in cross-validation (pairs ranked by one model), the
    test split's AUROC in split mode."""
    e = evaluation
    key = "within_fold_roc_auc" if e.get("protocol") == "cv" else "roc_auc"
    auc, low, high = e.get(key), e.get(f"{key}_ci_low"), e.get(f"{key}_ci_high")
    if not _finite(auc, low, high):
        return None
    letters = f"{e['letters']} letters" if e.get("letters") else "letters"
    text = (
        f"Tested on {letters} it was not trained on: when it compared an overturned item with an upheld one, "
        f"it put the overturned one higher {_in_100(auc)} times in 100 (a coin: 50; the range we are 95% sure "
        f"of: {_in_100(low)} to {_in_100(high)})."
    )
    w, wl, wh = (e.get(f"writer_within_fold_roc_auc{s}") for s in ("", "_ci_low", "_ci_high"))
    if _finite(w, wl, wh):
        text += f" When the letter's writer was new to it too: {_in_100(w)} in 100 ({_in_100(wl)} to {_in_100(wh)})."
    return text


def brier_wording(skill_ci_low: float, skill_ci_high: float) -> str:
    """Better than, no better than or worse than quoting the base rate, by Brier skill's 95% CI."""
    if skill_ci_low > 0:
        return "better than"
    if skill_ci_high < 0:
        return "worse than"
    return "no better than"


def trust_sentence(evaluation: Mapping[str, Any] | None) -> str | None:
    """How far to trust the model, in plain words, from its own packaged figures (None without them)."""
    if not evaluation:
        return None
    parts = [_ranking(evaluation)]
    low, high, base = (evaluation.get(k) for k in ("brier_skill_ci_low", "brier_skill_ci_high", "base_rate"))
    if _finite(low, high, base):
        parts.append(f"Its probabilities are {brier_wording(low, high)} quoting the {_pct(base)} base rate.")
    text = " ".join(p for p in parts if p)
    return text or None

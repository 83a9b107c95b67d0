"""The score bands a served answer is placed in (serving.model_evaluation.Bands), measured on
out-of-fold probabilities at training time, and the rule for when an answer may name one.

Edges: the tertiles of the probabilities serving would have answered (out of fold, every repeat
pooled), moved out to the base rate where they lie on its other side, so that the lower band lies
wholly below the base rate and the higher band wholly above it:

    lower edge = min(1st tertile, base rate)     lower band:  p <  lower edge
    upper edge = max(2nd tertile, base rate)     higher band: p >  upper edge
                                                 about usual: the rest

Each band's observed overturn rate is the share of the decided items scored in it that IMR overturned
(every repeat pooled), with a 95% interval from the letter bootstrap every other interval comes from.

The rule (fixed before any result was looked at; README and the model card state it). An answer names a
band other than "about usual" only when both hold:

1. skill: the lower 95% bound of the within-fold AUROC (training.metrics.within_fold) is above 0.5 both
   under letter folds (`cv_`) and under writer shift (`cv_writer_`); a run without writer shift, or in
   split mode, never meets it;
2. the band: its observed overturn rate's 95% interval lies wholly on its side of the base rate (below
   it for the lower band, above it for the higher one).

Otherwise the answer says "about usual": the model cannot tell the request from the average one.
"""

from __future__ import annotations

import math

import numpy as np

from serving.model_evaluation import ABOUT, HIGHER, LOWER
from training.metrics.bootstrap import letter_bootstrap, percentile_interval
from training.metrics.within_fold import NAME as WITHIN_FOLD

CHANCE = 0.5
SKILL_PREFIXES = {"cv_": "letter folds", "cv_writer_": "writer shift"}


def band_edges(prob, base_rate: float) -> tuple[float, float]:
    """(lower edge, upper edge) of the pooled probabilities `prob`, around `base_rate`."""
    first, second = np.quantile(np.asarray(prob, dtype=float).ravel(), [1 / 3, 2 / 3])
    return float(min(first, base_rate)), float(max(second, base_rate))


def band_members(prob: np.ndarray, lower: float, upper: float) -> dict[str, np.ndarray]:
    """Boolean masks (the shape of `prob`) of each band, as serving.answer.scored_alike assigns them."""
    return {LOWER: prob < lower, HIGHER: prob > upper, ABOUT: (prob >= lower) & (prob <= upper)}


def skill_supported(metrics: dict[str, float]) -> tuple[bool, str]:
    """Rule 1, and its figures in words."""
    lows = {where: metrics.get(f"{prefix}{WITHIN_FOLD}_ci_low", math.nan) for prefix, where in SKILL_PREFIXES.items()}
    words = ", ".join(
        f"{where} {low:.3f}" if math.isfinite(low) else f"{where} not measured" for where, low in lows.items()
    )
    held = all(math.isfinite(low) and low > CHANCE for low in lows.values())
    verdict = "above 0.5 under both" if held else "not above 0.5 under both"
    return held, f"lower 95% bound of the within-fold AUROC: {words}; {verdict}"


def _shown(band: str, supported: bool, low: float, high: float, base_rate: float) -> bool:
    if band == ABOUT:
        return True
    if not supported or not (math.isfinite(low) and math.isfinite(high)):
        return False
    return high < base_rate if band == LOWER else low > base_rate


def score_bands(y, prob, groups, base_rate: float, metrics: dict[str, float], samples: int, seed: int) -> dict:
    """The Bands of serving.model_evaluation, from the served out-of-fold probabilities `prob`
    (repeats x items) of items `y` grouped by letter `groups`."""
    y = np.asarray(y, dtype=int)
    prob = np.atleast_2d(np.asarray(prob, dtype=float))
    repeats = len(prob)
    lower, upper = band_edges(prob, base_rate)
    members = {name: mask.sum(axis=0).astype(float) for name, mask in band_members(prob, lower, upper).items()}

    def rates(weights: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for name, count in members.items():
            scored, overturned = weights @ count, weights @ (count * y)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[name] = np.where(scored > 0, overturned / scored, np.nan)
        return out

    draws = letter_bootstrap(y, groups, samples, seed, rates)
    supported, skill = skill_supported(metrics)
    ranges = {LOWER: (0.0, lower), ABOUT: (lower, upper), HIGHER: (upper, 1.0)}
    rows = []
    for name in (LOWER, ABOUT, HIGHER):
        count = members[name]
        scored = float(count.sum())
        low, high = percentile_interval(draws[name][np.isfinite(draws[name])])
        rows.append(
            {
                "band": name,
                "low": ranges[name][0],
                "high": ranges[name][1],
                "items": round(scored / repeats),
                "overturned": round(float(count @ y) / repeats),
                "observed_rate": float(count @ y) / scored if scored else None,
                "observed_ci_low": low if math.isfinite(low) else None,
                "observed_ci_high": high if math.isfinite(high) else None,
                "shown": _shown(name, supported, low, high, base_rate),
            }
        )
    return {"lower_edge": lower, "upper_edge": upper, "skill_supported": supported, "skill": skill, "rows": rows}

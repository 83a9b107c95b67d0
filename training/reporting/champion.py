"""`imr promote`: choose the model a user should serve, by a rule fixed in advance, and give it the
registry alias `champion`.

The rule. Candidates are the versions that hold the candidate alias (`candidate`: each family's newest
trained version) in every registered model of the store. A candidate is eligible when its run was
cross-validated with writer shift and logged the figures below, and its registered version is complete
(it carries its manifest's sha256). Among the eligible ones the champion is the one with

1. the highest lower 95% bound of the within-fold AUROC under writer shift
   (`cv_writer_within_fold_roc_auc_ci_low`, training.metrics.within_fold): the ranking a model keeps,
   at worst, on a request from a writer it never saw, which is what every new request is;
2. ties (equal to 3 decimals) broken by the higher Brier skill under letter folds (`cv_brier_skill`),
   then by the registered model's name.

Order of work: every candidate is read and checked, the winner's files are downloaded and every hash
verified, the promotion is recorded as a run (the table, the reason and the forest chart of every
candidate's AUROC and Brier skill with their CIs); only then is `champion` set on the winner and taken
from any other registered model that held it, and each candidate model's description rewritten to say
where its aliases are (training.reporting.model_registry.alias_lines).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from serving.model_dir import MANIFEST_SHA256_TAG
from training.metrics.out_of_fold import MODEL, WRITER
from training.metrics.within_fold import NAME as WITHIN_FOLD

CHAMPION = "champion"
RULE_KEY = f"{WRITER}{WITHIN_FOLD}_ci_low"
TIE_KEY = f"{MODEL}brier_skill"
RULE = (
    "the highest lower 95% bound of the within-fold AUROC under writer shift; ties (to 3 decimals) by the "
    "higher Brier skill under letter folds, then by name"
)
# What the table, the chart and the rule read from a candidate's run.
NEEDED = [
    f"{prefix}{name}{end}"
    for prefix in (MODEL, WRITER)
    for name in (WITHIN_FOLD, "brier_skill")
    for end in ("", "_ci_low", "_ci_high")
]


class PromotionError(LookupError):
    """No candidate can be promoted; nothing was changed."""


@dataclass
class Candidate:
    name: str  # the registered model
    version: str
    run_id: str
    run_name: str
    family: str
    metrics: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # why it is not eligible; empty: eligible

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def sort_key(self) -> tuple:
        return (-round(self.metrics[RULE_KEY], 3), -round(self.metrics[TIE_KEY], 3), self.name)


def read_candidates(client, alias: str) -> list[Candidate]:
    """Every registered model's version under `alias`, with its run's figures and its problems."""
    found = []
    for model in client.search_registered_models(max_results=1000):
        if alias not in model.aliases:
            continue
        version = client.get_model_version(model.name, model.aliases[alias])
        run = client.get_run(version.run_id)
        c = Candidate(
            model.name,
            str(version.version),
            version.run_id,
            run.info.run_name,
            version.tags.get("family", "?"),
            dict(run.data.metrics),
        )
        if run.data.tags.get("evaluation_mode") != "cv":
            c.problems.append("not cross-validated")
        missing = [k for k in NEEDED if not math.isfinite(c.metrics.get(k, math.nan))]
        if missing:
            c.problems.append(f"no {', '.join(missing)} (trained without writer shift, or before it was logged)")
        if MANIFEST_SHA256_TAG not in version.tags:
            c.problems.append(f"version has no {MANIFEST_SHA256_TAG} tag (registered incomplete or before it)")
        found.append(c)
    return sorted(found, key=lambda c: c.name)


def choose(candidates: list[Candidate]) -> tuple[Candidate, str]:
    """The champion by the rule, and why, in words."""
    eligible = [c for c in ranked(candidates) if not c.problems]
    if not eligible:
        raise PromotionError(
            "no candidate can be promoted: "
            + ("; ".join(f"{c.name} v{c.version}: {', '.join(c.problems)}" for c in candidates) or "none found")
        )
    best, rest = eligible[0], eligible[1:]
    low = best.metrics[RULE_KEY]
    reason = f"{best.name} v{best.version} ({best.family}): lower 95% bound of its within-fold AUROC under writer "
    reason += f"shift {low:.3f}"
    if rest:
        runner = rest[0]
        tie = round(runner.metrics[RULE_KEY], 3) == round(low, 3)
        versus = (
            f"tied with {runner.name} at {runner.metrics[RULE_KEY]:.3f}, its Brier skill {best.metrics[TIE_KEY]:+.3f} "
            f"against {runner.metrics[TIE_KEY]:+.3f}"
            if tie
            else f"against {runner.metrics[RULE_KEY]:.3f} for the next, {runner.name}"
        )
        reason += f", {versus}"
    if low <= 0.5:
        reason += "; no candidate is surely better than a coin on a new writer's letters (the bound is not above 0.5)"
    return best, reason + "."


def _with_ci(m: dict[str, float], key: str) -> str:
    value, low, high = (m.get(k, math.nan) for k in (key, f"{key}_ci_low", f"{key}_ci_high"))
    return "n/a" if not math.isfinite(value) else f"{value:.3f} ({low:.3f} to {high:.3f})"


def ranked(candidates: list[Candidate]) -> list[Candidate]:
    """Eligible candidates best first by the rule, then the others by name."""
    eligible = sorted((c for c in candidates if not c.problems), key=Candidate.sort_key)
    return eligible + sorted((c for c in candidates if c.problems), key=lambda c: c.name)


def table(candidates: list[Candidate], champion: Candidate | None) -> str:
    """The candidates, best first by the rule, as a plain-text table."""
    header = ["model", "version", "family", "writer shift AUROC within fold", "AUROC within fold", "Brier skill"]
    rows = [
        [
            ("* " if c is champion else "  ") + c.name,
            c.version,
            c.family,
            _with_ci(c.metrics, f"{WRITER}{WITHIN_FOLD}"),
            _with_ci(c.metrics, f"{MODEL}{WITHIN_FOLD}"),
            _with_ci(c.metrics, f"{MODEL}brier_skill"),
        ]
        + ([f"not eligible: {'; '.join(c.problems)}"] if c.problems else [])
        for c in ranked(candidates)
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(v.ljust(w) for v, w in zip(cells, [*widths, 0])).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]) + "\n"


def verify_files(candidate: Candidate) -> None:
    """Download the version and check its manifest against the registry's tag and every file's sha256
    (serving.model_dir): the alias never moves to a version that would not load."""
    import mlflow

    from serving.model_dir import META_FILE, read_verified_meta, verify_registered_manifest

    client = mlflow.MlflowClient()
    tag = client.get_model_version(candidate.name, candidate.version).tags[MANIFEST_SHA256_TAG]
    with tempfile.TemporaryDirectory(prefix="imr-promote-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=candidate.uri, dst_path=tmp))
        found = [p.parent for p in [local / META_FILE, *local.glob(f"artifacts/*/{META_FILE}")] if p.is_file()]
        if not found:
            raise PromotionError(f"{candidate.uri} holds no imr-outcome model ({META_FILE} not found); nothing changed")
        model_dir = found[0]
        verify_registered_manifest(model_dir, tag, f"{candidate.name} version {candidate.version}")
        read_verified_meta(model_dir)

"""`imr promote` carried out (the rule and its checks: training.reporting.champion): the promotion
recorded as a run, then the registry changed, last."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from training.reporting.champion import (
    CHAMPION,
    RULE,
    Candidate,
    choose,
    ranked,
    read_candidates,
    table,
    verify_files,
)


@dataclass
class Promotion:
    candidates: list[Candidate]
    champion: Candidate
    reason: str
    table: str
    run_id: str | None = None  # the promotion's run; None in a dry run
    taken_from: tuple[str, ...] = ()  # registered models that held `champion` before and no longer do
    unchanged: bool = False  # the champion already held the alias


def promote(alias: str, experiment: str | None = None, plot: Path | None = None, dry_run: bool = False) -> Promotion:
    """Choose, check, record, then move `champion` (see the module docstring of training.reporting.champion).
    The promotion is recorded in `experiment`, by default the champion's own run's. Raises
    champion.PromotionError (no eligible candidate) or serving.model_dir.ModelIntegrityError (the winner's
    files do not verify) before anything is changed."""
    import matplotlib.pyplot as plt
    from mlflow import MlflowClient

    from serving.store import open_store
    from training.reporting.experiment import open_experiment
    from training.reporting.forest_plot import forest_figure

    open_store()
    client = MlflowClient()
    candidates = read_candidates(client, alias)
    champion, reason = choose(candidates)
    verify_files(champion)
    result = Promotion(candidates, champion, reason, table(candidates, champion))
    figure = forest_figure(ranked(candidates), champion)
    try:
        if plot is not None:
            plot.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(plot, dpi=110)
        if dry_run:
            return result
        champion_run = client.get_run(champion.run_id)
        open_experiment(experiment or client.get_experiment(champion_run.info.experiment_id).name)
        result.run_id = _record(result, alias, figure)
    finally:
        plt.close(figure)
    _move_alias(client, result, alias)
    return result


def _record(result: Promotion, alias: str, figure) -> str:
    """A top-level run of the experiment holding the table, the reason and the forest chart."""
    import mlflow

    from training.reporting.run_info import NOTE_TAG
    from training.reporting.ui_views import COMPARE_TAG, compare_view_state

    c = result.champion
    note = (
        f"**`imr promote`** set `@{CHAMPION}` on `{c.uri}` among the `@{alias}` versions.\n\n"
        f"**Rule**: {RULE}.\n\n**Why**: {result.reason}\n\n```\n{result.table}```\n"
    )
    with mlflow.start_run(run_name=f"promote-{c.family}-{c.name}-v{c.version}") as run:
        mlflow.set_tags({"stage": "promotion", "champion": c.uri, NOTE_TAG: note})
        mlflow.log_text(result.table, "candidates.txt")
        mlflow.log_figure(figure, "forest.png")
    experiment_id = run.info.experiment_id
    runs = [candidate.run_id for candidate in result.candidates]
    mlflow.MlflowClient().set_experiment_tag(experiment_id, COMPARE_TAG, compare_view_state(runs))
    return run.info.run_id


def _move_alias(client, result: Promotion, alias: str) -> None:
    """`champion` on the winner, then off every other model, then each description made true."""
    from training.reporting.model_registry import registry_aliases, rewrite_alias_line

    c = result.champion
    before = registry_aliases(client)
    result.unchanged = before.get(c.name, {}).get(CHAMPION) == c.version
    client.set_registered_model_alias(c.name, CHAMPION, c.version)
    result.taken_from = tuple(sorted(n for n, a in before.items() if CHAMPION in a and n != c.name))
    for name in result.taken_from:
        client.delete_registered_model_alias(name, CHAMPION)
    after = registry_aliases(client)
    for model in client.search_registered_models(max_results=1000):
        text = rewrite_alias_line(model.description or "", model.name, after)
        if text is not None and text != model.description:
            client.update_registered_model(model.name, description=text)

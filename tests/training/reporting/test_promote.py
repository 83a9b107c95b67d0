"""`imr promote` (training.reporting.champion, training.reporting.promotion): the champion rule on
candidates written by hand, then on a store with two families (conftest_transformer.two_families: a
baseline and a tiny transformer, cross-validated with writer shift): the table and the reason, the
alias set on the rule's choice and taken from the other model, the descriptions made true, the
promotion recorded as a run with its forest chart, and `@champion` of the other model refused with
the aliases that exist."""

from __future__ import annotations

import math

import pytest

from training.imr import main
from training.reporting.champion import NEEDED, RULE_KEY, TIE_KEY, Candidate, PromotionError, choose, table


def candidate(name: str, low: float, skill: float = 0.0, **changes) -> Candidate:
    metrics = {key: 0.6 for key in NEEDED} | {RULE_KEY: low, TIE_KEY: skill} | changes
    return Candidate(name, "1", f"run-{name}", f"{name}-run", name.split("-")[-1], metrics)


# --- the rule, on candidates written by hand --------------------------------------------------


def test_the_best_lower_bound_under_writer_shift_wins():
    best, reason = choose([candidate("imr-a", 0.52), candidate("imr-b", 0.55), candidate("imr-c", 0.41)])
    assert best.name == "imr-b"
    assert "lower 95% bound of its within-fold AUROC under writer shift 0.550" in reason
    assert "against 0.520 for the next, imr-a" in reason and "coin" not in reason


def test_ties_go_to_brier_skill_then_to_the_name():
    best, reason = choose([candidate("imr-a", 0.5201, skill=-0.01), candidate("imr-b", 0.5199, skill=0.02)])
    assert best.name == "imr-b" and "tied with imr-a" in reason and "+0.020 against -0.010" in reason
    best, _ = choose([candidate("imr-b", 0.53, skill=0.01), candidate("imr-a", 0.53, skill=0.01)])
    assert best.name == "imr-a"


def test_a_candidate_without_the_figures_is_not_eligible_and_none_is_an_error():
    lacking = candidate("imr-a", 0.9)
    lacking.metrics[RULE_KEY] = math.nan
    lacking.problems.append("no cv_writer_within_fold_roc_auc_ci_low")
    best, reason = choose([lacking, candidate("imr-b", 0.45)])
    assert best.name == "imr-b"
    assert "no candidate is surely better than a coin" in reason  # 0.45: the bound is not above 0.5
    assert "not eligible: no cv_writer_within_fold_roc_auc_ci_low" in table([lacking, best], best)
    with pytest.raises(PromotionError, match="no candidate can be promoted: imr-a v1: no cv_writer"):
        choose([lacking])
    with pytest.raises(PromotionError, match="none found"):
        choose([])


# --- imr promote on a store with two families -------------------------------------------------


def expected_champion(store) -> str:
    """The rule applied directly to the two runs' logged metrics."""
    import mlflow

    client = mlflow.MlflowClient()
    scored = []
    for family, result in store.results.items():
        m = client.get_run(result.run_id).data.metrics
        scored.append((-round(m[RULE_KEY], 3), -round(m[TIE_KEY], 3), store.names[family]))
    return min(scored)[2]


def test_a_dry_run_changes_nothing(two_families_env, capsys):
    from mlflow import MlflowClient

    store = two_families_env
    assert main(["promote", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: @champion not moved" in out
    assert all(name in out for name in store.names.values())
    assert all("champion" not in m.aliases for m in MlflowClient().search_registered_models())


def test_promote_sets_champion_on_the_rules_choice_and_says_why(two_families_env, tmp_path, capsys):
    import mlflow
    from mlflow import MlflowClient

    from serving.predictor import ModelNotFoundError, load_predictor

    store = two_families_env
    winner = expected_champion(store)
    (loser,) = set(store.names.values()) - {winner}
    forest = tmp_path / "forest.png"
    assert main(["promote", "--plot", str(forest)]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert out.splitlines()[0].split()[:3] == ["model", "version", "family"]
    assert f"* {winner}" in out and f"  {loser}" in out  # the table marks the champion
    assert f"champion: {winner} v1" in out and "lower 95% bound of its within-fold AUROC under writer shift" in out
    assert f"models:/{winner}@champion (models:/{winner}/1) now holds @champion" in out
    assert forest.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    client = MlflowClient()
    models = {m.name: m for m in client.search_registered_models()}
    assert models[winner].aliases == {"candidate": 1, "champion": 1}
    assert "champion" not in models[loser].aliases
    serve = f"`imr serve --model models:/{winner}@champion`"
    assert f"this model holds it (version 1): {serve}" in models[winner].description
    assert f"does not hold it; {serve} serves it" in models[loser].description
    assert load_predictor(f"models:/{winner}@champion").model_name == winner
    with pytest.raises(ModelNotFoundError, match=rf"champion is held by models:/{winner}@champion"):
        load_predictor(f"models:/{loser}@champion")

    # recorded: a top-level run of the experiment with the table, the reason and the forest chart
    run = client.get_run(out.split("recorded in run ")[1].split()[0])
    assert run.info.run_name == f"promote-{winner.split('-')[-1]}-{winner}-v1"
    assert run.data.tags["champion"] == f"models:/{winner}/1"
    assert RULE_KEY not in run.data.metrics and "**Rule**" in run.data.tags["mlflow.note.content"]
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"candidates.txt", "forest.png"}
    # and the chart view compares exactly the candidates
    from training.reporting.ui_views import COMPARE_TAG

    view = mlflow.get_experiment(store.experiment_id).tags[COMPARE_TAG]
    assert all(r.run_id in view for r in store.results.values())

    # promoting again changes nothing but says so
    assert main(["promote"]) == 0
    assert f"models:/{winner}@champion (models:/{winner}/1) already held it" in capsys.readouterr().out

"""serving.store.open_store: the one function that points MLflow at the project's tracking store
(tracking and registry URI) and, when asked, at an experiment with its tags."""

from __future__ import annotations

from pathlib import Path

from conftest import tracking_store

from serving.store import _artifact_location, open_store, tracking_uri


def test_both_uris_point_at_the_one_tracking_uri(tmp_path):
    import mlflow

    with tracking_store(tmp_path / "store"):
        mlflow.set_registry_uri(f"sqlite:///{tmp_path}/elsewhere.db")  # a registry left pointing elsewhere
        uri = open_store()
        assert uri == tracking_uri() and uri.endswith(f"{tmp_path}/store/mlflow.db")
        assert mlflow.get_tracking_uri() == uri and mlflow.get_registry_uri() == uri


def test_an_experiment_is_made_beside_the_store_and_keeps_the_tags_named_in_keep(tmp_path):
    import mlflow

    with tracking_store(tmp_path / "store"):
        open_store("imr-tests-store", tags={"kind": "a", "note": "ours"}, keep=("note",))
        experiment = mlflow.get_experiment_by_name("imr-tests-store")
        with mlflow.start_run() as run:  # the active experiment
            assert run.info.experiment_id == experiment.experiment_id
        assert Path(experiment.artifact_location.removeprefix("file://")) == (tmp_path / "store" / "mlartifacts")
        assert experiment.tags["kind"] == "a" and experiment.tags["note"] == "ours"
        mlflow.MlflowClient().set_experiment_tag(experiment.experiment_id, "note", "a user's own note")
        open_store("imr-tests-store", tags={"kind": "b", "note": "ours", "new": "1"}, keep=("note",))
        tags = mlflow.get_experiment(experiment.experiment_id).tags
        assert tags["kind"] == "b" and tags["new"] == "1" and tags["note"] == "a user's own note"


def test_a_tracking_server_places_its_own_artifacts():
    assert _artifact_location("http://127.0.0.1:5000") is None
    assert _artifact_location("sqlite:////srv/mlflow/mlflow.db") == "file:///srv/mlflow/mlartifacts"

"""MLflow set-up and the logging every run shares."""

from __future__ import annotations

from pathlib import Path

import mlflow

from serving.store import tracking_uri


def setup(experiment: str) -> str:
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=_artifact_location(uri))
    mlflow.set_experiment(experiment)
    return uri


def _artifact_location(uri: str) -> str | None:
    """Artifacts of a SQLite store go beside the database file, not into whatever folder the
    command happened to run in; a tracking server decides for itself."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    return None


def flat_params(tree: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_params(value, f"{name}."))
        else:
            out[name] = str(value)
    return out


def log_splits(dsd, sources: list[str]) -> None:
    """Each split as an MLflow dataset (schema, profile and digest; the rows stay on disk)."""
    import warnings

    import mlflow.data

    for split, ds in dsd.items():
        if ds.num_rows == 0:  # mlflow.data cannot describe an empty table; the ingest report counts it
            continue
        with warnings.catch_warnings():  # schema hints about nullable ints and ambiguous local sources
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(
                ds.to_pandas(), source=",".join(sources), targets="label", name=f"imr-letters-{split}"
            )
        mlflow.log_input(dataset, context=split)


def log_figures(figs: dict, folder: str) -> None:
    import matplotlib.pyplot as plt

    for name, fig in figs.items():
        mlflow.log_figure(fig, f"{folder}/{name}")
        plt.close(fig)

"""The MLflow pyfunc wrapper every model family is logged as, so `mlflow models serve`,
`mlflow.pyfunc.load_model` and `imr predict` all run the same scorer."""

from __future__ import annotations

import importlib
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from serving.model_dir import read_verified_meta

ARTIFACT_KEY = "model_dir"


class IMRPythonModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from serving.ood import load_distribution_check
        from serving.scorers import load_scorer

        model_dir = context.artifacts[ARTIFACT_KEY]
        self.scorer = load_scorer(model_dir)
        self.meta = self.scorer.meta
        self.check = load_distribution_check(model_dir, self.meta)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """The predict API's fields without the model's name and version (MLflow knows neither)."""
        from serving.prediction import SCORE_FIELDS, score_items

        rows = score_items(self.scorer, self.check, model_input.to_dict("records"))
        return pd.DataFrame(rows, columns=list(SCORE_FIELDS))


def input_example() -> pd.DataFrame:
    """A made-up request (never real clinical text, which must not be logged)."""
    return pd.DataFrame(
        [
            {
                "treatment": "Physical therapy 2 times a week for 6 weeks for the lumbar spine",
                "case_summary": "The injured worker is a 45 year old female with low back pain after lifting a box.",
                "claims_administrator_guideline": "Decision based on MTUS Chronic Pain Medical Treatment 2016.",
                "patient_age": 45.0,
                "patient_sex": "female",
                "days_since_injury": 60.0,
                "partial_approval": False,
                "original_request": "",
                "authorized_portion": "",
            }
        ]
    )


def log_packaged_model(model_dir):
    """Log `model_dir` as a pyfunc model in the active run, without registering it: the caller
    registers a version once everything the version needs is logged (training.reporting.model_registry). Returns
    MLflow's ModelInfo (`model_uri` is the logged model's models:/m-<id>)."""
    read_verified_meta(model_dir)  # never log a folder that does not verify
    return mlflow.pyfunc.log_model(
        name="model",
        # Models-from-code: MLflow stores the entry script, not a cloudpickle of the wrapper.
        python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
        artifacts={ARTIFACT_KEY: str(model_dir)},
        code_paths=[_package_dir("features"), _package_dir("serving")],
        signature=model_signature(),
        input_example=input_example(),
        pip_requirements=pip_requirements(),
    )


RUNTIME_PACKAGES = (
    "mlflow",
    "scikit-learn",
    "skops",
    "numpy",
    "pandas",
    "scipy",
    "pydantic",
    "pypdfium2",
    "torch",
    "transformers",
    "onnxruntime",
    "safetensors",
    "tokenizers",
)


def pip_requirements() -> list[str]:
    """What the logged code (features/, serving/) needs, pinned to the versions that trained it.
    Listed explicitly: MLflow's inference would start a subprocess per run, and it lists this
    project itself (not on PyPI) while missing pydantic."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in RUNTIME_PACKAGES:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pass
    return pins


def model_signature():
    """Only `treatment` is required; every other field may be left out. Ages and day counts are
    typed Any: whole numbers arrive as int64, a batch with some missing as float64 with NaN, and
    MLflow converts neither way; ItemRecord validates the values in the scorer."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import AnyType

    from features.views import ItemRecord, item_field_types

    mlflow_type = {"string": "string", "bool": "boolean", "int": AnyType()}
    inputs = Schema(
        [
            ColSpec(mlflow_type[kind], name, required=ItemRecord.model_fields[name].is_required())
            for name, kind in item_field_types().items()
        ]
    )
    return ModelSignature(inputs=inputs, outputs=Schema(_output_columns()))


def _output_columns():
    """The output columns from serving.prediction.ItemScore, so the two cannot disagree; a field
    that may be null (e.g. base_rate of an old model) is not required."""
    import types
    from typing import Literal, Union, get_args, get_origin

    from mlflow.types import ColSpec

    from serving.prediction import ItemScore

    columns = []
    for name, field in ItemScore.model_fields.items():
        union = get_origin(field.annotation) in (types.UnionType, Union)
        nullable = union and type(None) in get_args(field.annotation)
        base = next(a for a in get_args(field.annotation) if a is not type(None)) if nullable else field.annotation
        kind = "string" if get_origin(base) is Literal else {float: "double", bool: "boolean", str: "string"}[base]
        columns.append(ColSpec(kind, name, required=not nullable))
    return columns


def _package_dir(name: str) -> str:
    return str(Path(importlib.import_module(name).__file__).parent)

"""Models-from-code entry point that MLflow stores with each logged model (no pickle)."""

from mlflow.models import set_model

from serving.pyfunc_model import IMRPythonModel

set_model(IMRPythonModel())

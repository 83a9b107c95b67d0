"""Training: fits the model families on ingested letters, evaluates them by cross-validation over
letters, and registers the packaged model serving loads, tracked in MLflow. The rooms, top down (the
import contracts in pyproject.toml keep each one to the rooms below it):

- imr.py, cli.py: the `imr` command line (imr.py is the dispatcher that sees every package).
- run/: one training run: cross-validation, references, writer shift, leakage audit, registration.
- config_loading.py: a YAML config (with --set overrides) read as the config of the family it names.
- reporting/: what a run tells a reader: run names, descriptions, model card, registry descriptions,
  plots, `imr compare` and the MLflow UI.
- families/: the model families (baseline, transformer, ensemble), their registry and packaging.
- metrics/: the numbers a run reports (out-of-fold metrics, bootstrap intervals, references).
- data/, tracking.py, markdown.py: the letters a run trains on, the MLflow logging every run shares,
  markdown tables.
- config.py: the sections every run's config has.
"""

"""Which signal generalizes across letters? Nested cross-validation of the issue-9 hypotheses (study.py),
their feature blocks (models.py, request_features.py); the write-up and results are in README.md."""

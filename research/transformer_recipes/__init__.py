"""Which transformer recipe for a few hundred items? Nested cross-validation of fine_tune, frozen_encoder
and setfit against the baseline (study.py); the write-up and results are in README.md."""

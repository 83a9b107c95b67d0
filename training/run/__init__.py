"""One training run, shared by every family (train): out-of-fold predictions over letter folds
(cross_validation) and their cross-fitted calibration, the paired differences against reference
models (references), the writer-shift protocol (writer_shift), the leakage audit, and registration."""

"""The numbers a run reports, computed without MLflow or plotting: pooled out-of-fold metrics and their
names (out_of_fold), the letter bootstrap behind every interval (bootstrap), metrics at a threshold
(binary), calibration error, the reference predictors, and the per-category table."""

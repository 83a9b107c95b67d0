"""The letters a run trains on: an ingest loaded into splits (loading), item sets with their model
inputs (splits), and cross-validation folds by letter and by writer (folds)."""

# The environment lives in .venv; it is (re)built when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/imr ingest ../shared/data/dwc-imr-letters ../shared/data/seed-letters --out outputs/ingest
	$(VENV)/bin/imr train --config configs/baseline.yaml --summary outputs/baseline_summary.json
	$(VENV)/bin/imr train --config configs/transformer.yaml --summary outputs/transformer_summary.json
	$(VENV)/bin/imr train --config configs/ensemble.yaml --summary outputs/ensemble_summary.json
	$(VENV)/bin/imr compare --plot outputs/compare.png

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python -m pytest

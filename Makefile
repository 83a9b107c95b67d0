# The environment lives in .venv; it is (re)built when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test chromium

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
	$(VENV)/bin/imr train --config configs/criteria.yaml --summary outputs/criteria_summary.json
	$(VENV)/bin/imr compare --plot outputs/compare.png
	$(VENV)/bin/imr promote --plot outputs/forest.png

# With ../shared/data beside the checkout, a real-letter test that cannot find the letters fails
# instead of skipping (tests/conftest.py); pytest's exit 5 ("no tests collected") fails too.
test: $(STAMP) chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest

# The browser tests drive Debian's headless Chromium: installed here when it is missing and we are
# root (a fresh CI machine); otherwise make stops with the command to run. IMR_ALLOW_NO_BROWSER=1
# skips the browser tests instead, by name.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	|| [ "$$IMR_ALLOW_NO_BROWSER" = 1 ] \
	|| if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser tests" >&2; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "make test: the browser tests need Debian's chromium; run: sudo apt-get install -y chromium" >&2; \
		exit 1; \
	fi

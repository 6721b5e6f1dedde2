#!/usr/bin/env bash
# Create .venv (if missing) and install triage with its test dependencies into it.
# Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# torch is pinned to the CPU wheel (2.13.0) in pyproject.toml; pip finds it locally.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"

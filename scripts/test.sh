#!/usr/bin/env bash
# Set up and run the whole test suite: the import contract of the layers, unit tests on a fake
# embedder, integration tests on the bundled encoder, the store tests on SQLite and on a real PostgreSQL server that this script
# installs (Debian package) and starts on 127.0.0.1, and the web pages in headless Chromium
# (Debian package, also installed here when missing) with axe-core's accessibility checks (npm
# package, installed here). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The architecture is a contract (pyproject.toml [tool.importlinter]): a wrong-way import fails here.
.venv/bin/lint-imports
export HF_HUB_OFFLINE=1
TRIAGE_TEST_CHROMIUM=$(bash scripts/chromium.sh)
export TRIAGE_TEST_CHROMIUM
# axe-core (npm) for the accessibility checks of the pages
TRIAGE_TEST_AXE=$(bash scripts/axe.sh)
export TRIAGE_TEST_AXE
TRIAGE_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start)
export TRIAGE_TEST_POSTGRES_URL
trap 'bash scripts/postgres.sh stop' EXIT
.venv/bin/python -m pytest "$@"

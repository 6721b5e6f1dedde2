#!/usr/bin/env bash
# Set up and run the whole test suite (unit tests on a fake embedder, integration tests on the
# bundled encoder). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"

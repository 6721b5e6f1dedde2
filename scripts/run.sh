#!/usr/bin/env bash
# Set up, train the default bot if needed, and open the terminal chat on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
MODEL=${TRIAGE_MODEL_DIR:-models/default}
if [ ! -f "$MODEL/manifest.json" ] || [ -n "$(find training_data -newer "$MODEL/manifest.json" -print -quit)" ]; then
  .venv/bin/triage train --data training_data --out "$MODEL"
fi
exec .venv/bin/triage chat --model "$MODEL"

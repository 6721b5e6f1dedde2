#!/usr/bin/env bash
# Set up, train the default bot if needed, and serve it on the embedded default (SQLite file
# triage.db). Prints the URL. Ctrl-C stops it. `triage chat --model models/default` is the
# terminal alternative.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
MODEL=${TRIAGE_MODEL_DIR:-models/default}
if [ ! -f "$MODEL/manifest.json" ] || [ -n "$(find training_data -newer "$MODEL/manifest.json" -print -quit)" ]; then
  .venv/bin/triage train --data training_data --out "$MODEL"
fi
# The held-out evaluation, for the dashboard's plots (redone whenever the model is newer).
REPORT=${TRIAGE_REPORTS_DIR:-reports}/default_bot
if [ ! -f "$REPORT/report.json" ] || [ "$MODEL/manifest.json" -nt "$REPORT/report.json" ]; then
  .venv/bin/triage evaluate --model "$MODEL" --data eval_data/default_bot --report "$REPORT" > /dev/null \
    || echo "warning: the evaluation failed; the dashboard will show no evaluation plots" >&2
fi
# A local admin key (agent + editor + admin roles), made once and kept in .triage/ (not committed).
if [ -z "${TRIAGE_ADMINS:-}" ]; then
  mkdir -p .triage
  [ -s .triage/admin_key ] || .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(24))" > .triage/admin_key
  export TRIAGE_ADMINS="{\"admin\": \"$(cat .triage/admin_key)\"}"
  echo "admin API key (agent, editor and admin roles): $(cat .triage/admin_key)  (stored in .triage/admin_key)"
fi
exec .venv/bin/triage serve --model "$MODEL"

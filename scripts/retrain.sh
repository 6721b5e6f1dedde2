#!/usr/bin/env bash
# Retrain from what the desk learned, and promote the result if it passes the gates:
#   export (live FAQ + reviewed examples) -> merge with the training data -> train -> compare -> promote
#
#   scripts/retrain.sh --db URL --registry DIR --name NAME [--data training_data]
#                      [--test eval_data/default_bot] [--current MODEL_DIR] [--no-promote]
#
# The served model is the newest promotion in the database (`triage models`), else --current
# (default models/default). Extra `triage train` options go in TRAIN_ARGS (e.g. "--no-fine-tune").
# Every step prints what it did; the first failing step stops the script (promotion refused: the
# candidate stays in the registry, nothing changes for the servers).
set -euo pipefail
cd "$(dirname "$0")/.."

TRIAGE=${TRIAGE:-".venv/bin/python -m bot.interfaces.cli"}
DB="" REGISTRY="" NAME="" DATA=training_data TEST=eval_data/default_bot CURRENT="" PROMOTE=1
while [ $# -gt 0 ]; do
  case "$1" in
    --db) DB=$2; shift 2 ;;
    --registry) REGISTRY=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --test) TEST=$2; shift 2 ;;
    --current) CURRENT=$2; shift 2 ;;
    --no-promote) PROMOTE=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "retrain.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$DB" ] || [ -z "$REGISTRY" ] || [ -z "$NAME" ]; then
  echo "retrain.sh: --db, --registry and --name are required (see --help)" >&2; exit 2
fi
if [ -e "$REGISTRY/$NAME" ]; then
  echo "retrain.sh: $REGISTRY/$NAME exists already: choose a new --name" >&2; exit 2
fi
if [ -z "$CURRENT" ]; then
  CURRENT=$($TRIAGE models --db "$DB" --current-path)
  CURRENT=${CURRENT:-models/default}
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/triage-retrain.XXXXXX")
echo "== served model: $CURRENT; work directory: $WORK"

echo "== 1/5 export"
$TRIAGE export --db "$DB" --model "$CURRENT" --out "$WORK/export"

echo "== 2/5 merge into a copy of $DATA"
cp -r "$DATA" "$WORK/data"
cp "$WORK/export/faq.yml" "$WORK/data/faq.yml"
if [ -f "$WORK/export/nlu_reviewed.yml" ]; then cp "$WORK/export/nlu_reviewed.yml" "$WORK/data/nlu_reviewed.yml"; fi

echo "== 3/5 train $REGISTRY/$NAME"
mkdir -p "$REGISTRY"
# shellcheck disable=SC2086
$TRIAGE train --data "$WORK/data" --out "$REGISTRY/$NAME" ${TRAIN_ARGS:-}

echo "== 4/5 compare against the served model on $TEST"
$TRIAGE compare --model "$CURRENT" --model "$REGISTRY/$NAME" --data "$TEST" --report "$WORK/compare"

if [ "$PROMOTE" = 1 ]; then
  echo "== 5/5 promote (golden questions and the compare gate)"
  $TRIAGE promote --registry "$REGISTRY" --model "$NAME" --data "$TEST" --db "$DB" --current "$CURRENT"
else
  echo "== 5/5 skipped (--no-promote): triage promote --registry $REGISTRY --model $NAME --data $TEST --db $DB"
fi
echo "== the merged data and the comparison report are in $WORK"

#!/usr/bin/env bash
# Load test with locust (installed here into the project's .venv): two `triage serve` processes
# on one PostgreSQL database (started from Debian packages by scripts/postgres.sh), end users and
# agents from scripts/locustfile.py, headless, loopback only, bounded in time.
#   bash scripts/load_test.sh [users=40] [seconds=60]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-40}
SECONDS_=${2:-60}
[ -x .venv/bin/python ] || bash scripts/setup.sh
.venv/bin/python -c "import locust" 2>/dev/null || .venv/bin/pip install -q "locust>=2.20"
export HF_HUB_OFFLINE=1
[ -f models/default/manifest.json ] || .venv/bin/triage train --data training_data --out models/default
ADMIN_URL=$(bash scripts/postgres.sh start)
DB="load_$(date +%s)"
.venv/bin/python - "$ADMIN_URL" "$DB" <<'PY'
import sys
from sqlalchemy import create_engine, text
e = create_engine(sys.argv[1].replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
with e.connect() as c:
    c.execute(text(f'CREATE DATABASE "{sys.argv[2]}"'))
PY
DB_URL="${ADMIN_URL%/*}/$DB"
export TRIAGE_AGENTS='{"load": "load-agent-key-123456"}' TRIAGE_CLIENT_RATE_PER_MINUTE=1000000 \
       TRIAGE_CONVERSATION_RATE_PER_MINUTE=1000000
OUT=$(mktemp -d)
.venv/bin/triage serve --model models/default --db "$DB_URL" --port 8791 > "$OUT/a.log" 2>&1 &
A=$!
.venv/bin/triage serve --model models/default --db "$DB_URL" --port 8792 > "$OUT/b.log" 2>&1 &
B=$!
trap 'kill $A $B 2>/dev/null; wait $A $B 2>/dev/null || true' EXIT
for port in 8791 8792; do
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/ready" > /dev/null && break
    sleep 0.2
  done
done
export TRIAGE_LOAD_HOSTS="http://127.0.0.1:8791,http://127.0.0.1:8792"
.venv/bin/locust -f scripts/locustfile.py --headless -u "$USERS" -r 10 -t "${SECONDS_}s" \
  --host http://127.0.0.1:8791 --csv "$OUT/load" --only-summary 2>&1 | tail -30
echo "per request type (req/s, p50, p95, p99 ms, failures):"
.venv/bin/python - "$OUT/load_stats.csv" <<'PY'
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print(f"{r['Type']:5} {r['Name']:42} {float(r['Requests/s']):7.1f} req/s  p50 {r['50%']:>5}  "
          f"p95 {r['95%']:>5}  p99 {r['99%']:>5}  failures {r['Failure Count']}")
PY

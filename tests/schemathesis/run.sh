#!/usr/bin/env bash
# Runs schemathesis (PyPI, 4.x) with every check against a real server: `ledger
# serve` on a fresh SQLite file with an admin token, seeded with curl (a user, a
# ledger, an expense, a budget, an import), whose ids `schemathesis.toml` pins as
# the path parameters. Bounded: SCHEMATHESIS_MAX_TIME seconds (default 180).
# Exits non-zero on any failure. Under CI=true a missing schemathesis fails;
# otherwise it is installed with pip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if ! command -v schemathesis >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then
        echo "schemathesis is missing: python3 -m pip install schemathesis" >&2
        exit 1
    fi
    python3 -m pip install --quiet schemathesis
fi
schemathesis --version

# LEDGER_BIN: a binary already built (a test build's, say), to skip this build.
binary="${LEDGER_BIN:-}"
if [ -z "$binary" ]; then
    cargo build --quiet --locked -p gateway --bin ledger
    binary="$root/target/debug/ledger"
fi

work="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

admin="schemathesis-admin-$RANDOM$RANDOM"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
"$binary" serve --database-url "sqlite:$work/ledger.db" --bind "127.0.0.1:$port" \
    --admin-token "$admin" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null

# Seeds: one call each, failing loudly. `field` reads one key of a JSON answer.
call() {
    local method="$1" path="$2" token="$3" body="${4:-}"
    curl -fsS -X "$method" "$base$path" -H "authorization: Bearer $token" \
        -H 'content-type: application/json' ${body:+--data "$body"}
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

LEDGER_TOKEN="$(call POST /v1/users "$admin" '{"name":"Schemathesis"}' | field token)"
LEDGER_ID="$(call POST /v1/ledgers "$LEDGER_TOKEN" '{"name":"Home","currency":"EUR","timezone":"Europe/Berlin"}' | field ledger_id)"
EXPENSE_ID="$(call POST "/v1/ledgers/$LEDGER_ID/expenses" "$LEDGER_TOKEN" \
    '{"amount":"12.50","occurred_on":"2026-11-12","category":"food","merchant":"Market"}' | field expense_id)"
BUDGET_ID="$(python3 -c 'import uuid; print(uuid.uuid4())')"
call PUT "/v1/ledgers/$LEDGER_ID/budgets/$BUDGET_ID" "$LEDGER_TOKEN" \
    '{"category":"food","amount":"500.00","period":"monthly","thresholds":[80,100]}' >/dev/null
# A second expense, so the first page of one has a next_cursor to pin.
call POST "/v1/ledgers/$LEDGER_ID/expenses" "$LEDGER_TOKEN" \
    '{"amount":"4.10","occurred_on":"2026-11-13","category":"food","merchant":"Bakery"}' >/dev/null
EXPENSE_CURSOR="$(call GET "/v1/ledgers/$LEDGER_ID/expenses?limit=1" "$LEDGER_TOKEN" | field next_cursor)"
AS_OF="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
IMPORT_ID="$(curl -fsS -X POST "$base/v1/ledgers/$LEDGER_ID/imports?format=csv" \
    -H "authorization: Bearer $LEDGER_TOKEN" -H 'content-type: text/csv' \
    --data-binary $'date,amount,description\n2026-11-10,-3.20,Bakery\n' | field import_id)"
export LEDGER_TOKEN LEDGER_ID EXPENSE_ID BUDGET_ID IMPORT_ID EXPENSE_CURSOR AS_OF

# /v1/ws is excluded: a protocol upgrade that an HTTP request generator can only
# get a 400 from; the black-box suite tests the socket (tests/blackbox/live_socket.rs,
# protocol.rs).
# Run from the temporary directory: schemathesis keeps its cache (.schemathesis/)
# in the working directory, which must not be the checkout.
status=0
(cd "$work" && PYTHONPATH="$here" SCHEMATHESIS_HOOKS=hooks schemathesis --config-file "$here/schemathesis.toml" run "$base/v1/openapi.json" \
    --checks all \
    --exclude-path /v1/ws \
    --workers 2 \
    --max-time "${SCHEMATHESIS_MAX_TIME:-180}" \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
    --seed "${SCHEMATHESIS_SEED:-11}" \
    --report junit --report-dir "$work/report") || status=$?
if [ "$status" -ne 0 ]; then
    echo "schemathesis failed; the server's log:" >&2
    tail -n 50 "$work/server.log" >&2
fi
exit "$status"

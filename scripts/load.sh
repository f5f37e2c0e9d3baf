#!/usr/bin/env bash
# Load test: seeds the benchmark dataset (examples/analytics_bench.rs, kept afterwards: the
# benchmark organization has 2,000 campaigns, 10,000 ad groups and 30,000 ads with two years of
# days), starts a release `adpilot serve` on it, logs in as the large organization's user, and
# drives its pages with oha at 1, 8 and 32 concurrent users: the dashboard (last 30 days) at
# each level and over a custom two-year range, the rule editor's live check (POST
# /rules/check), a campaign page (its ad groups) and an ad group page (its ads). Prints
# requests/s, p50/p95/p99, errors, and the server's idle and peak memory. Traffic goes to
# 127.0.0.1 only.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bash scripts/load.sh
#
# Settings (environment): SCALE (share of the 50 smaller organizations, default 1 = the full
# ~16M rows), DURATION (seconds per run, default 15), LOAD_DB (reuse a kept database instead of
# seeding one), PORT (default 18080).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL superuser URL}"
SCALE="${SCALE:-1}"
DURATION="${DURATION:-15}"
PORT="${PORT:-18080}"
BASE="http://127.0.0.1:${PORT}"

if ! command -v oha >/dev/null 2>&1; then
  echo "installing oha (cargo install oha)..." >&2
  cargo install oha --locked >&2
fi

cargo build --release --bin adpilot --example analytics_bench >&2

if [ -z "${LOAD_DB:-}" ]; then
  echo "seeding the benchmark dataset (scale ${SCALE})..." >&2
  LOAD_DB=$(cargo run --release --example analytics_bench -- --scale "$SCALE" --requests 1 --keep \
    | tee /dev/stderr | sed -n 's/^kept database //p')
fi
[ -n "$LOAD_DB" ] || { echo "no database to load" >&2; exit 1; }
DB_URL="${DATABASE_URL%/*}/${LOAD_DB}"
APP_URL=$(printf '%s' "$DB_URL" | sed -E 's#://[^@/]*@#://adpilot_app:benchpassword0000@#')

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The benchmark seeds its vault with this key (examples/analytics_bench.rs).
ADPILOT_SECRET_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ADPILOT_DB_APP_PASSWORD=benchpassword0000 \
DATABASE_URL="$DB_URL" ADPILOT_APP_DATABASE_URL="$APP_URL" \
ADPILOT_BIND="127.0.0.1:${PORT}" ADPILOT_BASE_URL="$BASE" ADPILOT_DATA_DIR="$work/data" \
RUST_LOG=warn \
  target/release/adpilot serve --db-pool-size 16 >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$BASE/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

# A first start catches up on every schedule (the nightly backup of the whole database, the
# first alert checks of every organization, their deliveries): measure once that work is done,
# as the server runs day to day; the periodic jobs still fire during the runs.
settled=""
for _ in $(seq 1 600); do
  busy=$(psql -X -At "$DB_URL" -c "SELECT count(*) FROM jobs WHERE state = 'running' OR (state = 'queued' AND run_at <= now())")
  [ "$busy" = "0" ] && { settled=1; break; }
  sleep 1
done
[ -n "$settled" ] || echo "warning: the server's start-up jobs were still running after 10 minutes" >&2

# Log in through the real form (CSRF token from the page, session cookie into a jar).
jar="$work/cookies"
csrf() { sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1; }
token=$(curl -fsS -c "$jar" -b "$jar" "$BASE/login" | csrf)
curl -fsS -o /dev/null -c "$jar" -b "$jar" -H "Origin: $BASE" \
  --data-urlencode "csrf_token=$token" --data-urlencode "email=bench@example.com" \
  --data-urlencode "password=a good long password" "$BASE/login"
cookie=$(awk '$6 ~ /adpilot/ {print $6"="$7}' "$jar" | paste -sd';' -)
token=$(curl -fsS -b "$jar" "$BASE/rules/new" | csrf)
campaign=$(curl -fsS -b "$jar" "$BASE/dashboard?range=last_30" \
  | grep -o 'href="/campaigns/[0-9a-f-]\{36\}' | head -n1 | sed 's/href="//')
[ -n "$campaign" ] || { echo "no campaign link on the dashboard: not logged in?" >&2; exit 1; }
adgroup=$(curl -fsS -b "$jar" "$BASE$campaign?range=last_30" \
  | grep -o 'href="/ad-groups/[0-9a-f-]\{36\}' | head -n1 | sed 's/href="//')
[ -n "$adgroup" ] || { echo "no ad group link on the campaign page" >&2; exit 1; }
two_years="from=$(date -u -d '730 days ago' +%F)&to=$(date -u +%F)"
idle=$(sed -n 's/^VmRSS:\s*//p' "/proc/$server_pid/status")

rule='rule "Stop losers"
  when cpa > 50 on each of last 3 days and clicks in last 7 days >= 100
  then pause
  check every 15 minutes'

run() { # name concurrency oha-args...
  local name=$1 c=$2
  shift 2
  oha --no-tui --output-format json -z "${DURATION}s" -c "$c" -H "Cookie: $cookie" "$@" \
    >"$work/out.json"
  python3 - "$name" "$c" "$work/out.json" <<'PY'
import json, sys
name, c, path = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(path))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
ok = sum(v for k, v in codes.items() if k.startswith("2"))
bad = sum(v for k, v in codes.items() if not k.startswith("2"))
ms = lambda x: f"{x * 1000:7.1f}" if x is not None else "     - "
print(f"{name:<16} {c:>4} {s['requestsPerSec']:9.1f} {ms(p['p50'])} {ms(p['p95'])} {ms(p['p99'])} {ok:>8} {bad:>6}")
PY
}

echo
echo "adpilot load: database ${LOAD_DB}, ${DURATION} s per run, $(nproc) cores, after the start-up jobs finished"
printf '%-16s %4s %9s %7s %7s %7s %8s %6s\n' page users "req/s" "p50 ms" "p95 ms" "p99 ms" ok errors
for c in 1 8 32; do
  run dashboard "$c" "$BASE/dashboard?range=last_30"
  run "dash ad groups" "$c" "$BASE/dashboard?range=last_30&level=ad_group"
  run "dash ads" "$c" "$BASE/dashboard?range=last_30&level=ad"
  run "dash 2 years" "$c" "$BASE/dashboard?range=custom&${two_years}"
  run "rule check" "$c" -m POST -H "Origin: $BASE" -H "X-CSRF-Token: $token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    -d "text=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$rule")" \
    "$BASE/rules/check"
  run campaign "$c" "$BASE$campaign"
  run "ad group" "$c" "$BASE$adgroup"
done
peak=$(sed -n 's/^VmHWM:\s*//p' "/proc/$server_pid/status")
echo "server memory: idle after start-up ${idle}, peak (VmHWM) ${peak}"
echo "(the database ${LOAD_DB} is kept: LOAD_DB=${LOAD_DB} reruns without seeding; DROP DATABASE ${LOAD_DB} removes it)"

#!/usr/bin/env bash
# The five-minute tour (`make demo`): start lakeflight on its default ports with the default
# data directory, load a month of the demo shop into bronze, build silver and gold with dbt
# through POST /transform, and print three queries with their answers. The server is stopped
# at the end; `make run` starts it again on the same data.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bin="$repo/bin/lakeflight"
flight="${LAKEFLIGHT_FLIGHT_ADDR:-127.0.0.1:31337}"
http="${LAKEFLIGHT_HTTP_ADDR:-127.0.0.1:8080}"
log="$(mktemp -t lakeflight-demo-XXXXXX.log)"

if curl -fsS "http://$http/health" >/dev/null 2>&1; then
  echo "demo: something already answers on $http: stop it (or set LAKEFLIGHT_HTTP_ADDR/LAKEFLIGHT_FLIGHT_ADDR)" >&2
  exit 1
fi

echo "== starting lakeflight (log: $log)"
"$bin" serve --flight-addr "$flight" --http-addr "$http" >"$log" 2>&1 &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://$http/ready" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "demo: lakeflight exited; its log:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "http://$http/ready" >/dev/null || { echo "demo: lakeflight not ready after 60 s" >&2; exit 1; }

echo "== lakeflight demo: 30 days of the shop into bronze"
"$bin" demo --server "$flight"

echo "== POST /transform: dbt builds silver and gold inside lakeflight"
run="$(curl -fsS -XPOST "http://$http/transform")"
id="$(printf '%s' "$run" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')"
echo "run $id queued"
status=queued
for _ in $(seq 1 600); do
  # The run's own status is its second field (nodes have statuses too).
  status="$(curl -fsS "http://$http/transform/$id" | sed -n 's/^{"id":"[^"]*","status":"\([a-z]*\)".*/\1/p')"
  case "$status" in success | failed | canceled) break ;; esac
  sleep 1
done
echo "run $id: $status"
if [[ "$status" != success ]]; then
  curl -fsS "http://$http/transform/$id" >&2
  exit 1
fi

q() {
  echo
  echo "-- $1"
  "$bin" query --server "$flight" --format table "$2"
}
q "Revenue of the last week" \
  "SELECT order_date, orders, revenue FROM gold.daily_revenue ORDER BY order_date DESC LIMIT 7"
q "The five best customers" \
  "SELECT full_name, country_code, orders, lifetime_value FROM gold.dim_customers ORDER BY lifetime_value DESC LIMIT 5"
q "Every build is a snapshot: fct_orders' history" \
  "SELECT snapshot_id, operation, summary['lakeflight.query-tag'] AS built_by FROM iceberg_snapshots('gold.fct_orders')"
echo
echo "== done: 'make run' serves the same data; 'lakeflight demo --step 1' adds a day, then POST /transform again"

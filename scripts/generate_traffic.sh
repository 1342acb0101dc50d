#!/usr/bin/env bash
# Drives the Storage API with the traffic its users know: 1000 PUT -> GET -> DELETE cycles on ids 1-8,
# 8 in parallel, then prints how many answers of each status came back.
#
#   scripts/generate_traffic.sh                      # against http://localhost:5000
#   BASE_URL=http://127.0.0.1:5001 scripts/generate_traffic.sh
#   scripts/generate_traffic.sh http://storage-api:5000 [cycles]
#
# Each of the 8 workers owns one id, so the cycles never step on each other: any status other than
# 200 (PUT, GET) and 204 (DELETE) is the service's doing. Exit code 1 if any request got a 5xx or no answer.
set -euo pipefail

base_url="${1:-${BASE_URL:-http://localhost:5000}}"
cycles="${2:-${CYCLES:-1000}}"
workers=8

if ! [[ "$cycles" =~ ^[0-9]+$ ]] || (( cycles < workers )); then
  echo "cycles must be a whole number >= ${workers}, got '${cycles}'" >&2
  exit 2
fi
if ! curl -fsS --max-time 5 -o /dev/null "${base_url}/healthz"; then
  echo "no Storage API answering at ${base_url} (GET /healthz failed)" >&2
  exit 2
fi

worker() {
  local id="$1" rounds="$2" base="$3" i
  for ((i = 0; i < rounds; i++)); do
    # One line per request: "<method> <status>"; 000 means no answer.
    printf 'PUT %s\n' "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -X PUT \
      --data-binary "payload ${id} ${i}" "${base}/api/buckets/${id}" 2>/dev/null || true)"
    printf 'GET %s\n' "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "${base}/api/buckets/${id}" 2>/dev/null || true)"
    printf 'DELETE %s\n' "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -X DELETE \
      "${base}/api/buckets/${id}" 2>/dev/null || true)"
  done
}
export -f worker

echo "sending ${cycles} PUT -> GET -> DELETE cycles to ${base_url} (${workers} in parallel)..."
start=$(date +%s)
results=$(
  for id in $(seq 1 "$workers"); do
    # The first (cycles % workers) workers do one extra cycle, so the total is exactly $cycles.
    rounds=$(( cycles / workers + (id <= cycles % workers ? 1 : 0) ))
    echo "$id $rounds"
  done | xargs -P "$workers" -L 1 bash -c 'worker "$0" "$1" "'"$base_url"'"'
)
elapsed=$(( $(date +%s) - start ))

echo "done in ${elapsed}s; answers by method and status:"
sort <<<"$results" | uniq -c | awk '{ printf "  %-6s %s  %d\n", $2, ($3 == "000" ? "none" : $3), $1 }'
if grep -qE ' (5[0-9][0-9]|000)$' <<<"$results"; then
  echo "some requests got a 5xx or no answer" >&2
  exit 1
fi

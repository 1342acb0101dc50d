#!/usr/bin/env bash
# Drives the Storage API with the traffic its users know: PUT -> GET -> DELETE cycles on ids 1-8, up to 8
# in parallel, then prints how many answers of each status came back.
# Each worker owns one id, so the cycles never step on each other: any status other than 200 (PUT, GET)
# and 204 (DELETE) is the service's doing.
set -euo pipefail

usage() {
  cat <<'TEXT'
usage: scripts/generate_traffic.sh [BASE_URL] [CYCLES]

  BASE_URL  the API's address (default: $BASE_URL, else http://localhost:${API_PORT:-5000})
  CYCLES    PUT -> GET -> DELETE cycles, 8 in parallel (default: $CYCLES, else 1000)

Prints the answers by method and status. Exit 0: all fine; 1: a 5xx or no answer; 2: bad
arguments, curl missing, or nothing answering GET BASE_URL/healthz.
TEXT
}
fail() { echo "generate_traffic.sh: $*" >&2; exit 2; }

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  -*) fail "unknown option '$1' (see --help)" ;;
esac
(( $# <= 2 )) || fail "at most 2 arguments, got $# (see --help)"
base_url="${1:-${BASE_URL:-http://localhost:${API_PORT:-5000}}}"
cycles="${2:-${CYCLES:-1000}}"
[[ "$base_url" =~ ^https?://[^/]+ ]] || fail "BASE_URL must start with http:// or https://, got '${base_url}'"
# A trailing slash would make every path start with //, which the API does not route.
base_url="${base_url%/}"
[[ "$cycles" =~ ^[1-9][0-9]*$ ]] || fail "CYCLES must be a whole number from 1, got '${cycles}'"
command -v curl >/dev/null || fail "'curl' is not installed (apt-get install curl)"
workers=$(( cycles < 8 ? cycles : 8 ))

if ! curl -fsS --max-time 5 -o /dev/null "${base_url}/healthz"; then
  fail "no Storage API answering at ${base_url} (GET /healthz failed)"
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

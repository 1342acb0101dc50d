#!/usr/bin/env bash
# Deletes the local kind cluster "storage-api" and everything in it (the in-memory store, Prometheus'
# TSDB, the Grafana admin Secret). Idempotent: no cluster, nothing to do.
set -euo pipefail

readonly cluster=storage-api
case "${1:-}" in
  "") ;;
  -h | --help) echo "usage: scripts/kind-down.sh   deletes the kind cluster '$cluster' (no arguments)"; exit 0 ;;
  *) echo "kind-down: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac
if ! command -v kind >/dev/null; then
  echo "kind-down: 'kind' is not installed (prerequisites: docs/kubernetes.md)" >&2
  exit 1
fi

# Captured first: `kind get clusters | grep -q` could fail under pipefail when grep exits early.
clusters="$(kind get clusters 2>/dev/null)"
if grep -qx "$cluster" <<<"$clusters"; then
  kind delete cluster --name "$cluster"
else
  echo "no kind cluster '$cluster'; nothing to delete."
fi

#!/usr/bin/env bash
# Deletes the local kind cluster "storage-api" and everything in it (the in-memory store, Prometheus'
# TSDB, the Grafana admin Secret). Idempotent: no cluster, nothing to do.
set -euo pipefail

readonly cluster=storage-api

# Captured first: `kind get clusters | grep -q` could fail under pipefail when grep exits early.
clusters="$(kind get clusters 2>/dev/null)"
if grep -qx "$cluster" <<<"$clusters"; then
  kind delete cluster --name "$cluster"
else
  echo "no kind cluster '$cluster'; nothing to delete."
fi

#!/usr/bin/env bash
# Creates the Secret grafana-admin (keys admin-user, admin-password) in namespace storage-api, with a random
# password, unless it exists already; an existing Secret is never changed, so the password stays the same
# across `tilt up`/`tilt down` and redeploys. The Secret is not in the repository on purpose.
#
#   scripts/ensure-grafana-secret.sh KUBE_CONTEXT
#
# Called by the Tiltfile (with the context Tilt deploys to) and by scripts/kind-deploy.sh.
# Read the password:  kubectl -n storage-api get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d
set -euo pipefail

readonly namespace=storage-api secret=grafana-admin
usage="usage: scripts/ensure-grafana-secret.sh KUBE_CONTEXT   creates Secret $namespace/$secret if missing"
case "${1:-}" in
  -h | --help) echo "$usage"; exit 0 ;;
  "" | -*) echo "ensure-grafana-secret: expected a kubectl context name, got '${1:-}' ($usage)" >&2; exit 2 ;;
esac
(( $# == 1 )) || { echo "ensure-grafana-secret: one argument expected, got $# ($usage)" >&2; exit 2; }
command -v kubectl >/dev/null || { echo "ensure-grafana-secret: 'kubectl' is not installed" >&2; exit 1; }
context="$1"
repo_root="$(cd "$(dirname "$0")/.." && pwd)"

kc() { kubectl --context "$context" "$@"; }

# On the very first run the namespace does not exist yet (Tilt and kubectl apply it after this script).
# Create it from the same manifest the kustomization renders, so its Pod Security labels apply from the start.
if ! kc get namespace "$namespace" >/dev/null 2>&1; then
  kc apply -f "$repo_root/k8s/base/namespace.yaml"
fi

if kc -n "$namespace" get secret "$secret" >/dev/null 2>&1; then
  echo "Secret $namespace/$secret exists; keeping its password."
  exit 0
fi

# 24 random bytes -> 32 base64 characters, no tool beyond coreutils needed.
password="$(head -c 24 /dev/urandom | base64)"
# Through stdin, so the password never appears on a command line (visible in `ps`). `create`, not
# `apply`: should another run have created the Secret in the meantime, this fails instead of replacing it.
kc create -f - <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: ${secret}
  namespace: ${namespace}
  labels:
    app.kubernetes.io/part-of: storage-api
type: Opaque
stringData:
  admin-user: admin
  admin-password: "${password}"
YAML
echo "Created Secret $namespace/$secret with a random admin password. Read it with:"
echo "  kubectl --context $context -n $namespace get secret $secret -o jsonpath='{.data.admin-password}' | base64 -d"

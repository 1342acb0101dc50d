#!/usr/bin/env bash
# Deploys the stack to the kind cluster without Tilt, exactly as the manifests in k8s/ describe it:
# builds the production image under the tag the Deployment pins, copies it into the kind node (there is no
# registry; imagePullPolicy is Never), creates the Grafana admin Secret if missing, applies k8s/ and waits
# for the rollouts. Re-running it redeploys the API with a freshly built image (the store starts empty).
set -euo pipefail

readonly cluster=storage-api context=kind-storage-api namespace=storage-api
case "${1:-}" in
  "") ;;
  -h | --help)
    echo "usage: scripts/kind-deploy.sh   builds the image, loads it into kind cluster '$cluster', applies k8s/ (no arguments)"
    exit 0
    ;;
  *) echo "kind-deploy: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac
for tool in docker kind kubectl; do
  if ! command -v "$tool" >/dev/null; then
    echo "kind-deploy: '$tool' is not installed (prerequisites: docs/kubernetes.md)" >&2
    exit 1
  fi
done
cd "$(dirname "$0")/.."

# The image reference the manifests pin (storage-api:<package.json version>), read from the render itself
# so this script can never build a tag the Deployment does not use.
image="$(kubectl kustomize k8s | sed -n 's/^ *image: \(storage-api:[^[:space:]]*\)$/\1/p')"
if [[ -z "$image" ]]; then
  echo "kind-deploy: no storage-api image reference found in the rendered k8s/ manifests" >&2
  exit 1
fi

# buildx (Docker's default builder) attaches a provenance attestation, and with Docker's containerd image
# store `kind load` then fails ("content digest ... not found"); the legacy builder has neither.
if docker buildx version >/dev/null 2>&1; then
  docker buildx build --load --provenance=false --target production --tag "$image" .
else
  docker build --target production --tag "$image" .
fi
kind load docker-image "$image" --name "$cluster"
scripts/ensure-grafana-secret.sh "$context"

# With the same tag, `kubectl apply` sees no change to the pod template and would keep the old image running.
had_api=false
if kubectl --context "$context" -n "$namespace" get deployment storage-api >/dev/null 2>&1; then
  had_api=true
fi
kubectl --context "$context" apply -k k8s
if [[ "$had_api" == true ]]; then
  kubectl --context "$context" -n "$namespace" rollout restart deployment/storage-api
fi

for deployment in storage-api prometheus alertmanager grafana; do
  kubectl --context "$context" -n "$namespace" rollout status "deployment/$deployment" --timeout=180s
done

cat <<TEXT
Deployed. Reach the services through port-forwards (each blocks; run them in separate terminals):
  kubectl --context $context -n $namespace port-forward service/storage-api 5000:5000
  kubectl --context $context -n $namespace port-forward service/prometheus 9090:9090
  kubectl --context $context -n $namespace port-forward service/alertmanager 9093:9093
  kubectl --context $context -n $namespace port-forward service/grafana 3000:3000
TEXT

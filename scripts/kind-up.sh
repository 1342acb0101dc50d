#!/usr/bin/env bash
# Creates the local kind cluster "storage-api" (kubectl context kind-storage-api), the only cluster the
# Tiltfile and scripts/kind-deploy.sh deploy to, and makes it the current kubectl context.
# Idempotent: an existing cluster is kept as it is (with everything deployed in it).
#
# No local image registry, although Tilt's docs recommend one for kind: without one, Tilt detects kind and
# copies each image it builds into the node with `kind load`. That copies the whole image instead of the
# changed layers, but here a full image build only happens when package.json or bun.lock change (code
# changes are live-updated into the running container), so the registry would mostly add a container to
# run, a port to keep free and containerd configuration to maintain.
set -euo pipefail

readonly cluster=storage-api
# The kind release the node image below is built for; another minor version may not run it correctly.
readonly kind_release=v0.33
# kind v0.33.0 lists this node image (Kubernetes v1.37.0) in its release notes; the digest pins the exact
# image built for that kind release, as kind's notes require. k8s/base/namespace.yaml enforces the Pod
# Security rules of the same Kubernetes minor version.
readonly node_image="kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"

case "${1:-}" in
  "") ;;
  -h | --help)
    echo "usage: scripts/kind-up.sh   creates the kind cluster '$cluster' (kind $kind_release.x) if missing (no arguments)"
    exit 0
    ;;
  *) echo "kind-up: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac
for tool in docker kind kubectl; do
  if ! command -v "$tool" >/dev/null; then
    echo "kind-up: '$tool' is not installed (prerequisites: docs/kubernetes.md)" >&2
    exit 1
  fi
done
# `kind version` prints "kind v0.33.0 go1.25.1 linux/amd64" (pkg/cmd/kind/version in kind's source).
kind_version="$(kind version 2>/dev/null || true)"
if [[ ! "$kind_version" =~ ^kind\ (v[0-9]+\.[0-9]+)\.[0-9]+ ]] || [[ "${BASH_REMATCH[1]}" != "$kind_release" ]]; then
  echo "kind-up: needs kind $kind_release.x, the release its node image is built for; found: ${kind_version:-nothing}" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "kind-up: the Docker daemon is not reachable; kind runs the cluster node as a Docker container" >&2
  exit 1
fi

# Captured first: `kind get clusters | grep -q` could fail under pipefail when grep exits early.
clusters="$(kind get clusters 2>/dev/null)"
if grep -qx "$cluster" <<<"$clusters"; then
  echo "kind cluster '$cluster' already exists; keeping it."
else
  # --wait: return only once the control plane is ready, so `tilt up` right after this works.
  kind create cluster --name "$cluster" --image "$node_image" --wait 180s
fi

# kind switches the context when it creates the cluster; do it for an existing cluster too, so `tilt up`
# and kubectl talk to this cluster.
kubectl config use-context "kind-$cluster"
kubectl get nodes

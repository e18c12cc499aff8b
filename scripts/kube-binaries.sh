#!/usr/bin/env bash
# Builds a real kube-apiserver, kubectl and helm from the Go module proxy,
# once per version, into a cache directory, and prints the directory. The Kubernetes
# tests use them (PALISADE_KUBE_BIN, set by scripts/test). A cold build takes
# about 5-10 minutes on 2 cores; later runs reuse the binaries.
set -euo pipefail
V=${PALISADE_KUBE_VERSION:-1.37.1}
SV=0.${V#1.}
cache=${PALISADE_KUBE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/palisade/kube-v$V}
HELM=${PALISADE_HELM_VERSION:-4.3.2}
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ! -x "$cache/helm" ]; then
  mkdir -p "$work/helm" && (cd "$work/helm" && printf 'module helmbuild\n\ngo 1.26\n' > go.mod &&
    go get -tool "helm.sh/helm/v4/cmd/helm@v$HELM" >&2 &&
    go build -trimpath -ldflags "-s -w" -o "$cache/helm.tmp" helm.sh/helm/v4/cmd/helm >&2) &&
    mv "$cache/helm.tmp" "$cache/helm"
fi
if [ -x "$cache/kube-apiserver" ] && [ -x "$cache/kubectl" ]; then
  echo "$cache"
  exit 0
fi
cd "$work"
go mod download -json "k8s.io/kubernetes@v$V" >/dev/null
mod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$V.mod
{
  printf 'module kubebuild\n\ngo 1.26\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$V"
  sed -n '/^replace (/,/^)/p' "$mod" | awk -v sv="$SV" '/=> \.\/staging/{printf "\t%s => %s v%s\n",$1,$1,sv}'
  printf ')\n'
} > go.mod
go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$V" >&2
go get -tool "k8s.io/kubernetes/cmd/kubectl@v$V" >&2
minor=${V#1.}; minor=${minor%%.*}
ldf="-s -w -X k8s.io/component-base/version.gitVersion=v$V -X k8s.io/component-base/version.gitMajor=1"
ldf="$ldf -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=v$V"
go build -trimpath -ldflags "$ldf" -o "$cache/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
go build -trimpath -ldflags "$ldf" -o "$cache/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl >&2
mv "$cache/kube-apiserver.tmp" "$cache/kube-apiserver"
mv "$cache/kubectl.tmp" "$cache/kubectl"
echo "$cache"

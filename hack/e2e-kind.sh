#!/usr/bin/env bash
# End to end on a real cluster, for people with Docker and kind (this project's CI has neither):
# builds the image, installs the chart, applies the samples, waits for the datacenter and resolves a Consul name from a pod.
set -euo pipefail
cd "$(dirname "$0")/.."
cluster="${KIND_CLUSTER:-consul-operator-e2e}"
image="consul-operator/consul-operator:e2e"

command -v kind >/dev/null || { echo "kind is needed: https://kind.sigs.k8s.io" >&2; exit 1; }
command -v docker >/dev/null || { echo "docker is needed" >&2; exit 1; }
bash hack/install-tools.sh
export PATH="$PWD/.tools/bin:$PATH"

kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster"
docker build -t "$image" .
kind load docker-image "$image" --name "$cluster"

helm upgrade --install consul-operator charts/consul-operator --namespace consul-operator --create-namespace \
  --set image.repository="${image%:*}" --set image.tag="${image##*:}" --wait

kubectl create namespace consul --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -k config/samples
kubectl -n consul wait consulcluster/consul --for=condition=Ready --timeout=10m

# CoreDNS reloads its Corefile within about two minutes; ask until it answers. With ACLs default-deny, Consul answers DNS
# only once the anonymous token has a DNS policy, which the operator sets up from issue 5 on.
for attempt in $(seq 1 30); do
  if kubectl run "dns-check-$attempt" --rm -i --restart=Never --image=busybox:1.36 -- nslookup consul.service.consul; then
    echo "consul.service.consul resolves from a pod"
    exit 0
  fi
  sleep 10
done
echo "consul.service.consul did not resolve" >&2
exit 1

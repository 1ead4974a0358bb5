#!/usr/bin/env bash
# The one way the operator is published: the Dockerfile runs this, and CI runs it and starts the result, so the image
# build cannot rot unnoticed. ReadyToRun halves start-up (measured: render 0.75 s JIT, 0.45 s R2R); Native AOT and
# trimming are off because KubernetesClient and System.Text.Json here rely on reflection.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: publish.sh OUTPUT_DIR [extra dotnet publish arguments]}"
shift
dotnet publish src/ConsulOperator/ConsulOperator.csproj -c Release -r linux-x64 --self-contained false \
  -p:PublishReadyToRun=true -o "$out" "$@"

#!/usr/bin/env bash
# Runs every benchmark and prints the results as Markdown (docs/benchmarks.md holds a full run with its machine and date).
#   bash bench/run.sh          full: BenchmarkDotNet's default job, 1 to 1,000 clusters (about 15 minutes on 2 cores)
#   bash bench/run.sh --quick  a minute or two; CI runs it only to prove the benchmarks still run
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
[ "${1:-}" = "--quick" ] && quick=true
out=artifacts/benchmarks
mkdir -p "$out"

bash hack/publish.sh artifacts/publish >/dev/null
dotnet build bench/ConsulOperator.Benchmarks -c Release >/dev/null
bench() { dotnet run -c Release --no-build --project bench/ConsulOperator.Benchmarks -- "$@"; }
binary="$PWD/artifacts/publish/consul-operator"

echo "## Results"
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); $(dotnet --version | sed 's/^/.NET SDK /'); $(date -u +%Y-%m-%d)."
echo

if $quick; then
  bench micro --filter '*' --job dry --artifacts "$out/micro" | grep -E '^\|' || true
  runs=2 clusters=1,10 resync=5 reactions=20
else
  bench micro --filter '*' --artifacts "$out/micro" | grep -E '^\|' || true
  runs=5 clusters=1,10,100,1000 resync=20 reactions=200
fi

echo
echo "### Cold render (a fresh process: key generation, then building the objects)"
echo
echo "| run | issue CA and 6 certificates | build 18 objects |"
echo "|---:|---:|---:|"
for i in $(seq 1 "$runs"); do
  read -r issue build _ < <(bench cold-render)
  echo "| $i | $issue ms | $build ms |"
done
echo

bench startup "$binary" --runs "$runs"
bench operator "$binary" --clusters "$clusters" --resync-seconds "$resync" --reactions "$reactions" --storm

#!/usr/bin/env bash
# The plugin fuzzer, run longer than the suite runs it: several seeds, many cases each, against the published
# plugin in throwaway pcni-* namespaces (needs root). Prints each seed's counts and keeps the reports.
# Usage: bench/fuzz/run.sh [runs-per-seed] [seeds...]     (default: 2000 runs for seeds 1 2 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
runs=${1:-2000}; shift || true
seeds=("${@:-1 2 3}"); read -r -a seeds <<<"${seeds[*]}"
if [[ ! -x artifacts/bin/patronus-cni ]]; then
  dotnet publish src/Patronus.Cni/Patronus.Cni.csproj -c Release -r linux-x64 -v q -nologo -o artifacts/publish/patronus-cni
  mkdir -p artifacts/bin && install -m 0755 artifacts/publish/patronus-cni/patronus-cni artifacts/bin/patronus-cni
fi
dotnet build tests/Patronus.Cni.Tests/Patronus.Cni.Tests.csproj -c Release -v q -nologo >/dev/null
mkdir -p artifacts/fuzz
status=0
for seed in "${seeds[@]}"; do
  report="artifacts/fuzz/seed-$seed.txt"
  rm -f "$report"
  if ! PATRONUS_ARTIFACTS="$PWD/artifacts/bin" PATRONUS_FUZZ_RUNS=$runs PATRONUS_FUZZ_SEED=$seed PATRONUS_FUZZ_REPORT="$PWD/$report" \
      dotnet test tests/Patronus.Cni.Tests/Patronus.Cni.Tests.csproj -c Release --no-build -v q -nologo \
      --filter "FullyQualifiedName~PluginFuzzTests" > "artifacts/fuzz/seed-$seed.log" 2>&1; then
    status=1
  fi
  if [[ -f $report ]]; then head -4 "$report"; else echo "seed $seed: no report (see artifacts/fuzz/seed-$seed.log)"; fi
done
echo "reports: artifacts/fuzz/"
exit $status

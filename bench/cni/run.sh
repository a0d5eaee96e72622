#!/usr/bin/env bash
# Pod lifecycle benchmark: patronus-cni against the reference bridge + host-local, side by side.
# Usage: bench/cni/run.sh [iterations]   (needs root; everything happens in throwaway pcni-bench-* namespaces)
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [[ ! -x artifacts/bin/patronus-cni ]]; then
  dotnet publish src/Patronus.Cni/Patronus.Cni.csproj -c Release -r linux-x64 -v q -nologo -o artifacts/publish/patronus-cni
  mkdir -p artifacts/bin && install -m 0755 artifacts/publish/patronus-cni/patronus-cni artifacts/bin/patronus-cni
fi
dotnet run -c Release --project bench/cni/Patronus.Cni.Bench -- "${1:-100}" "$PWD/artifacts/bin/patronus-cni"

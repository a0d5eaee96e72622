#!/usr/bin/env bash
# Restores, builds and publishes everything into artifacts/bin/:
#   patronus-cni    NativeAOT, self-contained (copied onto nodes as is)
#   patronus        the operator CLI (framework-dependent, ReadyToRun, in artifacts/lib/patronus)
#   patronus-agent  the node agent (framework-dependent, ReadyToRun, in artifacts/lib/patronus-agent), with the eBPF
#                   datapath's programs (bpf/*.c compiled by clang -target bpf) in artifacts/lib/patronus-agent/bpf/
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
command -v clang >/dev/null || { echo "clang is needed to compile bpf/*.c: run scripts/install-prereqs.sh" >&2; exit 1; }
dotnet restore Patronus.slnx -v q
dotnet build Patronus.slnx -c Release --no-restore -v q -nologo
mkdir -p artifacts/bin artifacts/lib
dotnet publish src/Patronus.Cni/Patronus.Cni.csproj -c Release -r linux-x64 -v q -nologo -o artifacts/publish/patronus-cni
install -m 0755 artifacts/publish/patronus-cni/patronus-cni artifacts/bin/patronus-cni
for app in patronus:Patronus.Cli patronus-agent:Patronus.Agent; do
  name=${app%%:*}; project=${app##*:}
  # ReadyToRun: precompiled code instead of JIT at every start. Both start often (every CLI command; an agent per lab
  # node), and on two cores JIT made a one-node `lab reach` 1.1 s (a third) slower. Still framework-dependent.
  # A fresh folder: nothing of an earlier publish (another layout) lingers into the image.
  rm -rf "artifacts/lib/$name"
  dotnet publish "src/$project/$project.csproj" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
    -v q -nologo -o "artifacts/lib/$name"
  ln -sfn "../lib/$name/$name" "artifacts/bin/$name"
done
echo "built: $(ls artifacts/bin | tr '\n' ' ')"

#!/usr/bin/env bash
# Installs what building, testing and the demo need on a fresh Debian machine. Idempotent:
# packages already present are not fetched again.
set -euo pipefail
packages=(
  iproute2 nftables libnftables1 containernetworking-plugins podman runc
  wireguard-go wireguard-tools iperf3 busybox-static iputils-ping sqlite3 procps
  # The eBPF datapath: clang/llvm compile bpf/*.c at build time (UAPI headers from linux-libc-dev, bpf_helpers.h
  # from libbpf-dev); the agent loads them through libbpf1. bpftool: the tests read pinned maps with it.
  clang llvm libbpf-dev libbpf1 linux-libc-dev bpftool
  # scripts/build-image.sh: the image's Debian root file system, extracted without a registry.
  mmdebstrap
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v dotnet >/dev/null; then
  echo "the .NET 10 SDK is required (dotnet on PATH)" >&2
  exit 1
fi

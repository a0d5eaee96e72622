#!/usr/bin/env bash
# Builds the Patronus image (localhost/patronus:dev, the image deploy/daemonset.yaml names) from artifacts/ without
# any registry:
#   1. a Debian root file system holding image/packages and their dependencies, extracted by mmdebstrap (no
#      maintainer scripts, no shell, no package manager), trimmed of documentation and locales, plus the .NET runtime
#      the agent and the CLI were built against; imported with `podman import` as localhost/patronus-base:HASH.
#   2. `podman build -f image/Containerfile` adds the published binaries.
# Each step is skipped when its inputs did not change: the root file system is cached in artifacts/image/ by the hash
# of image/packages, the base by the hash of everything it holds, the image by the hash of the binaries too.
# Run ./build.sh first. Options: --tag NAME (default localhost/patronus:dev), --save FILE (also write the image as an
# archive, for `ctr -n k8s.io images import FILE` or `docker load -i FILE` on a node).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=localhost/patronus:dev
save=
while (($#)); do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --save) save=$2; shift 2 ;;
    *) echo "build-image.sh: unknown option $1 (options: --tag NAME, --save FILE)" >&2; exit 2 ;;
  esac
done
for f in artifacts/bin/patronus-cni artifacts/lib/patronus-agent/patronus-agent artifacts/lib/patronus/patronus; do
  [[ -e $f ]] || { echo "build-image.sh: $f is missing: run ./build.sh first" >&2; exit 1; }
done
command -v mmdebstrap >/dev/null || { echo "build-image.sh: mmdebstrap is missing: run scripts/install-prereqs.sh" >&2; exit 1; }
suite=bookworm
mirror=${PATRONUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=artifacts/image
mkdir -p "$cache"
# One build at a time: the test suite and a user may both ask for the image.
exec 9>"$cache/.lock"
flock 9

hash_of() { sha256sum | cut -c1-16; }

# 1. The Debian root file system, only when the package list changed.
packages=$(grep -v '^\s*#' image/packages | grep -v '^\s*$' | tr '\n' ',' | sed 's/,$//')
rootfs_hash=$(printf '%s %s\n' "$suite" "$packages" | hash_of)
rootfs=$cache/rootfs-$rootfs_hash.tar
if [[ ! -s $rootfs ]]; then
  echo "root file system: extracting $packages from Debian $suite"
  mmdebstrap --quiet --format=tar --variant=extract --include="$packages" "$suite" "$rootfs.tmp" "$mirror"
  mv "$rootfs.tmp" "$rootfs"
fi

# The .NET runtime the binaries were built against (shared frameworks and the host resolver), from the SDK's install.
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
runtime_version=$(dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" { v = $2 } END { print v }')
aspnet_version=$(dotnet --list-runtimes | awk '$1 == "Microsoft.AspNetCore.App" { v = $2 } END { print v }')
fxr_version=$(ls "$dotnet_root/host/fxr" | sort -V | tail -1)
[[ -n $runtime_version && -n $aspnet_version ]] || { echo "build-image.sh: no .NET runtime found in $dotnet_root" >&2; exit 1; }

# 2. The base: root file system + runtime + launchers' links, only when one of them changed.
base_inputs=$( { echo "$rootfs_hash $runtime_version $aspnet_version $fxr_version"; sha256sum "$0" image/Containerfile; } | hash_of)
base=localhost/patronus-base:$base_inputs
if ! podman image exists "$base"; then
  echo "base image: $base"
  stage=$cache/base
  rm -rf "$stage" && mkdir -p "$stage"
  tar -C "$stage" -xf "$rootfs"
  # Documentation, manual pages, locales and gconv modules are never read (the binaries use invariant globalization);
  # the packages' copyright files stay.
  find "$stage/usr/share/doc" -type f ! -name copyright -delete
  rm -rf "$stage"/usr/share/{man,info,locale,lintian,bug} "$stage"/usr/lib/x86_64-linux-gnu/gconv
  mkdir -p "$stage/usr/share/dotnet/host/fxr" "$stage/usr/share/dotnet/shared/Microsoft.NETCore.App" "$stage/usr/share/dotnet/shared/Microsoft.AspNetCore.App"
  cp -a "$dotnet_root/dotnet" "$stage/usr/share/dotnet/"
  cp -a "$dotnet_root/host/fxr/$fxr_version" "$stage/usr/share/dotnet/host/fxr/"
  cp -a "$dotnet_root/shared/Microsoft.NETCore.App/$runtime_version" "$stage/usr/share/dotnet/shared/Microsoft.NETCore.App/"
  cp -a "$dotnet_root/shared/Microsoft.AspNetCore.App/$aspnet_version" "$stage/usr/share/dotnet/shared/Microsoft.AspNetCore.App/"
  mkdir -p "$stage/usr/local/bin" "$stage"/{tmp,proc,sys,dev,run,etc,root} "$stage/var/run/patronus" "$stage/var/lib/patronus"
  chmod 1777 "$stage/tmp"
  ln -sfn /opt/patronus/lib/patronus-agent/patronus-agent "$stage/usr/local/bin/patronus-agent"
  ln -sfn /opt/patronus/lib/patronus/patronus "$stage/usr/local/bin/patronus"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n' > "$stage/etc/passwd"
  printf 'root:x:0:\n' > "$stage/etc/group"
  # The loader's cache, so libraries resolve without searching every directory.
  ldconfig -r "$stage"
  tar -C "$stage" --numeric-owner -cf "$cache/base.tar" .
  podman import --quiet \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin' \
    --change 'ENV DOTNET_ROOT=/usr/share/dotnet' \
    --change 'ENV DOTNET_CLI_TELEMETRY_OPTOUT=1' \
    "$cache/base.tar" "$base" >/dev/null
  rm -rf "$stage" "$cache/base.tar"
fi

# 3. The image: the base and the published binaries, without what never runs on linux-x64 (other platforms' native
#    libraries, debug symbols).
context=$cache/context
rm -rf "$context" && mkdir -p "$context/bin" "$context/lib"
cp -a artifacts/bin/patronus-cni "$context/bin/"
for app in patronus-agent patronus; do
  cp -a "artifacts/lib/$app" "$context/lib/"
  if [[ -d $context/lib/$app/runtimes ]]; then
    find "$context/lib/$app/runtimes" -mindepth 1 -maxdepth 1 ! -name linux-x64 ! -name unix -exec rm -rf {} +
  fi
  find "$context/lib/$app" -name '*.pdb' -delete
done
inputs=$( { echo "$base"; cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum; } | hash_of)
if [[ $(podman image inspect --format '{{index .Config.Labels "io.patronus.inputs"}}' "$tag" 2>/dev/null) != "$inputs" ]]; then
  echo "image: $tag"
  podman build --quiet --pull=never --build-arg "BASE=$base" --label "io.patronus.inputs=$inputs" -f image/Containerfile -t "$tag" "$context" >/dev/null
fi
rm -rf "$context"
if [[ -n $save ]]; then
  rm -f "$save"
  podman save --quiet --format docker-archive -o "$save" "$tag"
fi
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "$tag: $((size / 1000000)) MB ($(podman image inspect --format '{{.Id}}' "$tag" | cut -c1-12))"

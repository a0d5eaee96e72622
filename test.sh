#!/usr/bin/env bash
# Runs every test: installs prerequisites, builds and publishes (the kernel tests drive the
# published binaries), then runs each test project. Must run as root: the integration tests
# create throwaway network namespaces (never touching the root namespace).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-prereqs.sh
./build.sh
export PATRONUS_ARTIFACTS="$PWD/artifacts/bin"
mkdir -p artifacts/test-results
status=0
passed=0; failed=0; skipped=0
for project in tests/*/*.csproj; do
  # Helper programs the tests start (e.g. the IPAM stress tool) live beside the test projects.
  grep -q '<IsTestProject>true</IsTestProject>' "$project" || continue
  name=$(basename "$project" .csproj)
  echo "== $name"
  if ! dotnet test "$project" -c Release --no-build -v q -nologo \
      --logger "trx;LogFileName=$PWD/artifacts/test-results/$name.trx" \
      --logger "console;verbosity=normal" > "artifacts/test-results/$name.log" 2>&1; then
    status=1
  fi
  grep -E "^(Passed|Failed)!|Total tests| error " "artifacts/test-results/$name.log" | tail -5 || true
  # Each failure with the first lines of its message: a CI log must say why, not only what.
  grep -A6 -E "^\s+Failed " "artifacts/test-results/$name.log" | head -80 || true
  trx="artifacts/test-results/$name.trx"
  if [[ -f $trx ]]; then
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
    p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
    n=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${n:-0}))
  else
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed, $skipped skipped"
exit $status

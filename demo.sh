#!/usr/bin/env bash
# The demo: builds everything, then wires a small application (frontend, backend, database and a
# client in another namespace) into pods with the real patronus-cni, runs a real patronus-agent,
# and measures who reaches whom with real packets: first with no policy, then with the
# application's NetworkPolicies. Everything lives in network namespaces that are removed at the end.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-prereqs.sh
./build.sh
examples=examples/three-tier
echo
echo "== The application with no NetworkPolicy: every pod reaches every pod"
artifacts/bin/patronus lab reach -f $examples/cluster.yaml
echo
echo "== The same application with its policies ($examples/policies.yaml), measured in the kernel"
artifacts/bin/patronus lab reach -f $examples/cluster.yaml -f $examples/policies.yaml
echo
echo "== What the policy engine predicts for the same manifests, and why the client cannot reach the database"
artifacts/bin/patronus policy reach -f $examples/cluster.yaml -f $examples/policies.yaml
artifacts/bin/patronus policy explain -f $examples/cluster.yaml -f $examples/policies.yaml \
  --from outside/client --to shop/database --port 5432/TCP

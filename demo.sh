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
echo
echo "== A lab left running: three nodes (examples/lab/lab.yaml), node-1 and node-2 on one subnet, node-3 on another"
lab=demo-$$
trap 'artifacts/bin/patronus lab down --name "$lab" >/dev/null 2>&1 || true' EXIT
artifacts/bin/patronus lab up -f examples/lab/lab.yaml --name "$lab"
artifacts/bin/patronus lab status --name "$lab"
echo
echo "== The agents' routes on node-1: directly to node-2's pods, over the VXLAN overlay to node-3's"
ip netns exec "$lab.cluster-a.node-1" ip route show proto 77
echo
echo "== Who reaches whom across the three nodes, measured in the running lab"
artifacts/bin/patronus lab reach --name "$lab"
artifacts/bin/patronus lab down --name "$lab"

#!/usr/bin/env bash
# The demo: builds everything, then wires a small application (frontend, backend, database and a
# client in another namespace) into pods with the real patronus-cni, runs a real patronus-agent,
# and measures who reaches whom with real packets: first with no policy, then with the
# application's NetworkPolicies; then a lab of three nodes left running, routed by the agents; then three clusters
# joined by the SD-WAN mesh over emulated WAN links. Everything lives in network namespaces removed at the end.
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
mesh=mesh-$$
tmp=$(mktemp -d)
trap 'artifacts/bin/patronus lab down --name "$lab" >/dev/null 2>&1 || true; artifacts/bin/patronus lab down --name "$mesh" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
artifacts/bin/patronus lab up -f examples/lab/lab.yaml --name "$lab"
artifacts/bin/patronus lab status --name "$lab"
echo
echo "== The agents' routes on node-1: directly to node-2's pods, over the VXLAN overlay to node-3's"
ip netns exec "$lab.cluster-a.node-1" ip route show proto 77
echo
echo "== Who reaches whom across the three nodes, measured in the running lab"
artifacts/bin/patronus lab reach --name "$lab"
artifacts/bin/patronus lab down --name "$lab"
echo
echo "== The SD-WAN mesh: three clusters (examples/mesh/lab.yaml), each with a WireGuard gateway, joined over four WAN links"
artifacts/bin/patronus lab up -f examples/mesh/lab.yaml --name "$mesh"
labs=${PATRONUS_LAB_DIR:-/var/run/patronus/labs}
aws=$labs/$mesh/aws-us-west-2/gw/agent.sock
pod_ip() { ip netns exec "$mesh.$1" ip -4 -o addr show eth0 | awk '{ print $4 }' | cut -d/ -f1; }
api=$(pod_ip gcp-us-central1.shop.api)
db=$(pod_ip onprem-dc1.data.db)
echo "The gateways found each other by signed announcements alone (no keys exchanged by hand):"
for _ in $(seq 1 60); do
  [[ $(artifacts/bin/patronus mesh status --socket "$aws" -o json | grep -o '"up":true' | wc -l) -ge 2 ]] && break
  sleep 1
done
artifacts/bin/patronus mesh status --socket "$aws"
artifacts/bin/patronus status --socket "$aws" | grep "Active tunnels"
echo
echo "== Pods reach pods in other clusters with their own addresses, from nodes that are not gateways too"
echo "aws-us-west-2 shop/web (node-2) -> gcp-us-central1 shop/api $api (node-2), over 'fiber' (5 ms each way):"
ip netns exec "$mesh.aws-us-west-2.shop.web" ping -c 3 -i 0.3 "$api" | tail -2
echo "onprem-dc1's database admits gcp-us-central1's range only (ipBlock 10.248.0.0/16): from gcp's api $db"
ip netns exec "$mesh.gcp-us-central1.shop.api" ping -c 2 -i 0.3 -W 1 "$db" | tail -2
echo "... and from aws's web, refused by the NetworkPolicy on the receiving side:"
ip netns exec "$mesh.aws-us-west-2.shop.web" ping -c 2 -i 0.3 -W 1 "$db" | tail -2 || true
echo
echo "== Two WAN paths between aws-us-west-2 and gcp-us-central1, probed inside their tunnels: fiber (5 ms) and backup (30 ms)"
for _ in $(seq 1 60); do
  [[ $(artifacts/bin/patronus paths --socket "$aws" -o json | grep -o '"state":"Up"' | wc -l) -ge 3 ]] && break
  sleep 1
done
artifacts/bin/patronus paths --socket "$aws"
echo
echo "== fiber is cut while web pings api every 20 ms: the gateways move the traffic to backup"
ip netns exec "$mesh.aws-us-west-2.shop.web" ping -c 150 -i 0.02 -W 1 "$api" > "$tmp/failover.txt" &
sleep 1
artifacts/bin/patronus lab wan fiber --name "$mesh" --down
wait
tail -2 "$tmp/failover.txt"
echo "(each lost ping is 20 ms without an answer, from the cut to traffic on backup)"
artifacts/bin/patronus paths --socket "$aws" | sed -n '1,8p'
artifacts/bin/patronus lab wan fiber --name "$mesh" --up >/dev/null
echo
echo "== WireGuard keys rotate (every 24 h, and on demand) without interrupting traffic"
ip netns exec "$mesh.aws-us-west-2.shop.web" ping -c 100 -i 0.02 -W 1 "$api" > "$tmp/rotation.txt" &
sleep 0.5
artifacts/bin/patronus mesh rotate-keys --socket "$aws"
wait
tail -2 "$tmp/rotation.txt"
echo "(web pinged api every 20 ms through the rotation: each lost ping is 20 ms without an answer)"
artifacts/bin/patronus lab down --name "$mesh"


#!/usr/bin/env bash
# Pod-to-pod TCP throughput on one node, across nodes with direct routes, and across nodes over the VXLAN overlay,
# in one persistent lab whose routing is the agents' (patronus lab up). Each round measures the three paths one
# after the other, so machine noise falls on all of them alike; medians over rounds, each as a ratio to the
# same-node figure. Needs root, iperf3 and ./build.sh's artifacts; everything lives in the lab's namespaces
# (pmn-*), removed at the end (also on failure or Ctrl-C).
# Usage: bench/multinode/run.sh [seconds=4] [rounds=5] [datapath=nftables]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-4}
rounds=${2:-5}
datapath=${3:-nftables}
command -v iperf3 >/dev/null || { echo "iperf3 is needed: run scripts/install-prereqs.sh" >&2; exit 1; }
[[ -x artifacts/bin/patronus ]] || ./build.sh
patronus=$PWD/artifacts/bin/patronus

work=$(mktemp -d /tmp/pmn-XXXXXX)
name=pmn-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
export PATRONUS_LAB_DIR=$work/labs
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  "$patronus" lab down --name "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat > "$work/lab.yaml" <<YAML
datapath: $datapath
clusters:
- id: bench
  nodes:
  - {name: node-1, subnet: s1}
  - {name: node-2, subnet: s1}
  - {name: node-3, subnet: s2}
  manifests: [pods.yaml]
YAML
cat > "$work/pods.yaml" <<'YAML'
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {name: server}, spec: {nodeName: node-1, containers: [{name: iperf3, image: none}]}}
- {apiVersion: v1, kind: Pod, metadata: {name: same-node}, spec: {nodeName: node-1, containers: [{name: iperf3, image: none}]}}
- {apiVersion: v1, kind: Pod, metadata: {name: direct}, spec: {nodeName: node-2, containers: [{name: iperf3, image: none}]}}
- {apiVersion: v1, kind: Pod, metadata: {name: vxlan}, spec: {nodeName: node-3, containers: [{name: iperf3, image: none}]}}
YAML
echo "building lab $name (3 nodes: node-1 and node-2 on s1, node-3 on s2; datapath $datapath)" >&2
"$patronus" lab up -f "$work/lab.yaml" --name "$name" >&2
netns() { echo "$name.bench.default.$1"; }
server_ip=$(ip netns exec "$(netns server)" ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
mtu=$(ip netns exec "$(netns server)" cat /sys/class/net/eth0/mtu)
echo "server $server_ip on node-1 (pod MTU $mtu); routes on node-1:" >&2
ip netns exec "$name.bench.node-1" ip route show proto 77 >&2

ip netns exec "$(netns server)" iperf3 -s -p 5201 >/dev/null 2>&1 &
server_pid=$!
sleep 0.5

# One iperf3 run (TCP, one stream): the receiver's Mbit/s.
measure() {
  ip netns exec "$(netns "$1")" iperf3 -c "$server_ip" -p 5201 -t "$seconds" -f m \
    | awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i-1) }'
}
declare -A results
paths=(same-node direct vxlan)
for round in $(seq 1 "$rounds"); do
  line="round $round:"
  for path in "${paths[@]}"; do
    value=$(measure "$path")
    results[$path]+="$value "
    line+=" $path $value"
  done
  echo "$line Mbit/s (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
reference=$(echo "${results[same-node]}" | median)
echo
echo "| path | median Mbit/s | ratio to same node | rounds (Mbit/s) |"
echo "| --- | ---: | ---: | --- |"
for path in "${paths[@]}"; do
  value=$(echo "${results[$path]}" | median)
  ratio=$(awk -v v="$value" -v r="$reference" 'BEGIN { printf "%.2f", v / r }')
  echo "| $path | $value | $ratio | ${results[$path]% } |"
done

#!/usr/bin/env bash
# Cross-cluster traffic through the mesh against the same WAN link without it, in one lab and one run: TCP
# throughput and round-trip time pod to pod (pod -> gateway -> WireGuard -> the link's relay -> gateway -> pod) and
# gateway to gateway on the link's own addresses (the relay alone). Rounds alternate the two so machine noise falls on
# both alike; medians, and the mesh's as a ratio to the bare link's. Then the hub gateway's agent and wireguard-go
# CPU over an idle spell with three peers. Needs root, iperf3 and ./build.sh's artifacts; everything lives in the
# lab's namespaces (pmesh-*), removed at the end (also on failure or Ctrl-C).
# Usage: bench/mesh/run.sh [seconds=4] [rounds=5] [idle-seconds=30]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-4}
rounds=${2:-5}
idle=${3:-30}
command -v iperf3 >/dev/null || { echo "iperf3 is needed: run scripts/install-prereqs.sh" >&2; exit 1; }
[[ -x artifacts/bin/patronus ]] || ./build.sh
patronus=$PWD/artifacts/bin/patronus

work=$(mktemp -d /tmp/pmesh-XXXXXX)
name=pmesh-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
export PATRONUS_LAB_DIR=$work/labs
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  "$patronus" lab down --name "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A hub cluster joined to three others, each by a link of its own: "wire" (no delay, no limit) carries the
# measurements, the other two give the hub its three peers.
cat > "$work/lab.yaml" <<YAML
clusters:
- {id: hub, podCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/16, nodes: [{name: gw, gateway: true}], manifests: [client.yaml]}
- {id: spoke-a, podCIDR: 10.248.0.0/16, serviceCIDR: 10.97.0.0/16, nodes: [{name: gw, gateway: true}], manifests: [server.yaml]}
- {id: spoke-b, podCIDR: 10.250.0.0/16, serviceCIDR: 10.98.0.0/16, nodes: [{name: gw, gateway: true}]}
- {id: spoke-c, podCIDR: 10.252.0.0/16, serviceCIDR: 10.99.0.0/16, nodes: [{name: gw, gateway: true}]}
wan:
- {id: wire, between: [hub, spoke-a]}
- {id: link-b, between: [hub, spoke-b], delay: 5ms}
- {id: link-c, between: [hub, spoke-c], delay: 5ms}
YAML
cat > "$work/client.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: client}
spec: {nodeName: gw, containers: [{name: c, image: none}]}
YAML
cat > "$work/server.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: server}
spec: {nodeName: gw, containers: [{name: s, image: none}]}
YAML
echo "building lab $name (a hub and three spokes, one link each)" >&2
"$patronus" lab up -f "$work/lab.yaml" --name "$name" >&2
client=$name.hub.default.client
server=$name.spoke-a.default.server
hub=$name.hub.gw
spoke=$name.spoke-a.gw
server_ip=$(ip netns exec "$server" ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
client_ip=$(ip netns exec "$client" ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
# The spoke gateway's address on "wire" (the first link: 198.18.0.0/24, the hub's gateway is .1).
spoke_wan=198.18.0.2
for _ in $(seq 1 120); do
  ip netns exec "$client" ping -c 1 -W 1 "$server_ip" >/dev/null 2>&1 && break
  sleep 0.5
done
ip netns exec "$client" ping -c 1 -W 1 "$server_ip" >/dev/null || { echo "the mesh never joined hub and spoke-a" >&2; exit 1; }

ip netns exec "$server" iperf3 -s -p 5201 >/dev/null 2>&1 & pids+=($!)
ip netns exec "$spoke" iperf3 -s -p 5202 >/dev/null 2>&1 & pids+=($!)
sleep 0.5

throughput() { # namespace destination port: the receiver's Mbit/s over one TCP stream
  ip netns exec "$1" iperf3 -c "$2" -p "$3" -t "$seconds" -f m \
    | awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i-1) }'
}
rtt() { # namespace destination: the mean of 50 pings 20 ms apart, in ms
  ip netns exec "$1" ping -q -c 50 -i 0.02 "$2" | awk -F'/' '/^rtt/ { print $5 }'
}
declare -A results
for round in $(seq 1 "$rounds"); do
  mesh=$(throughput "$client" "$server_ip" 5201); results[mesh-tcp]+="$mesh "
  bare=$(throughput "$hub" "$spoke_wan" 5202); results[bare-tcp]+="$bare "
  mesh_rtt=$(rtt "$client" "$server_ip"); results[mesh-rtt]+="$mesh_rtt "
  bare_rtt=$(rtt "$hub" "$spoke_wan"); results[bare-rtt]+="$bare_rtt "
  echo "round $round: TCP mesh $mesh bare $bare Mbit/s, RTT mesh $mesh_rtt bare $bare_rtt ms (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo
echo "| measure | through the mesh | bare WAN link | mesh / bare |"
echo "| --- | ---: | ---: | ---: |"
for what in tcp rtt; do
  m=$(echo "${results[mesh-$what]}" | median); b=$(echo "${results[bare-$what]}" | median)
  unit=$([[ $what == tcp ]] && echo "Mbit/s" || echo "ms")
  echo "| $what ($unit) | $m | $b | $(awk -v m="$m" -v b="$b" 'BEGIN { printf "%.2f", m / b }') |"
done

# Idle: no traffic but the mesh's own (announcements every 5 s, WireGuard keepalives every 25 s).
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
pids=()
agent=$(cat "$PATRONUS_LAB_DIR/$name/hub/gw/agent.pid")
peers=$(ip netns exec "$hub" ip route show proto 78 | wc -l)
device=$(ip netns exec "$hub" ip -o link show | awk -F': ' '$2 ~ /^wg-/ { print $2; exit }')
wg=$(pgrep -f "^wireguard-go $device$" || true)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
sleep 5
a0=$(ticks "$agent"); w0=$([[ -n $wg ]] && ticks "$wg" || echo 0)
sleep "$idle"
a1=$(ticks "$agent"); w1=$([[ -n $wg ]] && ticks "$wg" || echo 0)
echo
echo "idle ${idle} s with $peers remote ranges routed into the tunnel: agent $(awk -v d=$((a1 - a0)) -v hz="$hz" -v s="$idle" 'BEGIN { printf "%.2f", 100 * d / hz / s }')% of a core, wireguard-go $(awk -v d=$((w1 - w0)) -v hz="$hz" -v s="$idle" 'BEGIN { printf "%.2f", 100 * d / hz / s }')% (pid ${wg:-not found})"

#!/usr/bin/env bash
# Does XDP on a pod's host-side veth help? Measures the cheapest possible XDP program (XDP_PASS) against no
# program at all, on the benchmark's topology (a node namespace with a bridge, a client and a server pod on
# veths), iperf3 TCP one stream and UDP -b 0 -l 1400, alternating the two conditions every round.
# If even XDP_PASS costs throughput, no XDP policy program can beat the TC one here.
# Usage: bench/ebpf/xdp/xdp.sh [seconds=4] [rounds=5]   (root; throwaway namespaces, removed at exit)
set -euo pipefail
seconds=${1:-4}; rounds=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
id=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
node=pxdp-$id-node; client=pxdp-$id-client; server=pxdp-$id-server
work=$(mktemp -d)
cleanup() { pkill -F "$work/iperf.pid" 2>/dev/null || true; for ns in $client $server $node; do ip netns del $ns 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
clang -target bpf -O2 -g -I/usr/include/$(uname -m)-linux-gnu -c "$here/xdp_pass.c" -o "$work/xdp_pass.o"
for ns in $node $client $server; do ip netns add $ns; ip -n $ns link set lo up; done
ip -n $node link add br0 type bridge; ip -n $node link set br0 up
i=0
for pod in $client $server; do
  i=$((i + 1))
  ip -n $node link add veth$i type veth peer name eth0 netns $pod
  ip -n $node link set veth$i master br0 up
  ip -n $pod addr add 10.79.0.1$i/24 dev eth0; ip -n $pod link set eth0 up
done
ip netns exec $server iperf3 -s -D -I "$work/iperf.pid"; sleep 0.5
run() { # $1 tcp|udp -> Gbit/s received
  local mode=""; [[ $1 == udp ]] && mode="-u -b 0 -l 1400"
  ip netns exec $client iperf3 -c 10.79.0.12 -t $seconds $mode -J | python3 -c '
import json, sys; e = json.load(sys.stdin)["end"]
s = e.get("sum_received") if "sum_received" in e and "lost_percent" not in e.get("sum", {}) else e["sum"]
print(round(s["bits_per_second"] * (1 - s.get("lost_percent", 0) / 100) / 1e9, 3))'
}
echo "xdp on veth: ${seconds}s x $rounds rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 $rounds); do
  for cond in none xdp; do
    if [[ $cond == xdp ]]; then
      for v in veth1 veth2; do ip -n $node link set dev $v xdpdrv obj "$work/xdp_pass.o" sec xdp; done
    fi
    echo "round $r $cond tcp $(run tcp) udp $(run udp)"
    if [[ $cond == xdp ]]; then
      for v in veth1 veth2; do ip -n $node link set dev $v xdpdrv off; done
    fi
  done
done
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

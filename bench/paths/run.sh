#!/usr/bin/env bash
# Probe cost: CPU of one PathProber probing `paths` paths at the default interval, as % of one core, against `paths`
# ping processes sending to the same far ends at the same interval. Two throwaway namespaces (ppb-a-*, ppb-b-*) joined
# by one veth pair per path (10.78.<i>.1 near, 10.78.<i>.2 far); one ProbeResponder in the far namespace answers every
# path. Every process is measured the same way: utime + stime from /proc/PID/stat (exited threads included) between
# two samples `seconds` apart, after a warm-up. Each round measures every condition one after the other, so machine
# noise falls on all of them alike; medians over rounds. Needs root and ping; removes its namespaces at the end (also
# on failure or Ctrl-C).
# Usage: bench/paths/run.sh [seconds=30] [rounds=3] [paths=10]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
rounds=${2:-3}
paths=${3:-10}
warm=${PATHS_BENCH_WARMUP:-8}
port=7777
command -v ping >/dev/null || { echo "ping is needed (iputils-ping)" >&2; exit 1; }
(( paths >= 1 && paths <= 250 )) || { echo "paths must be 1 to 250" >&2; exit 1; }
dotnet build bench/paths/Patronus.Bench.Paths.csproj -c Release -v q -nologo >&2
bench=(dotnet "$PWD/bench/paths/bin/Release/net10.0/Patronus.Bench.Paths.dll")

suffix=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
near=ppb-a-$suffix
far=ppb-b-$suffix
work=$(mktemp -d /tmp/ppb-XXXXXX)
responder=
cleanup() {
  if [[ -n $responder ]]; then kill "$responder" 2>/dev/null || true; wait "$responder" 2>/dev/null || true; fi
  ip netns del "$near" 2>/dev/null || true
  ip netns del "$far" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$near"
ip netns add "$far"
ip -n "$near" link set lo up
ip -n "$far" link set lo up
for ((i = 0; i < paths; i++)); do
  ip -n "$near" link add "a$i" type veth peer name "b$i" netns "$far"
  ip -n "$near" addr add "10.78.$i.1/24" dev "a$i"
  ip -n "$far" addr add "10.78.$i.2/24" dev "b$i"
  ip -n "$near" link set "a$i" up
  ip -n "$far" link set "b$i" up
done

interval=$("${bench[@]}" interval)
hz=$(getconf CLK_TCK)
ticks() { local total=0 pid; for pid in "$@"; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done; echo "$total"; }
percent() { awk -v d="$1" -v hz="$hz" -v s="$seconds" 'BEGIN { printf "%.3f", 100 * d / hz / s }'; }

# The responder lives through every round: in the windows where nothing probes, it measures its own idle cost.
ip netns exec "$far" "${bench[@]}" respond "$port" 1000000 > "$work/respond.out" 2> "$work/respond.err" &
responder=$!
until grep -q ready "$work/respond.err" 2>/dev/null; do sleep 0.1; done

# measure NAME PID...: warm-up, then the PIDs' CPU over `seconds` (and the responder's over the same window); not in a
# subshell, so the results stay.
measure() {
  local name=$1; shift
  sleep "$warm"
  local t0 r0 t1 r1
  t0=$(ticks "$@"); r0=$(ticks "$responder")
  sleep "$seconds"
  t1=$(ticks "$@"); r1=$(ticks "$responder")
  results[$name]+="$(percent $((t1 - t0))) "
  responder_results[$name]+="$(percent $((r1 - r0))) "
  line+=" $name $(percent $((t1 - t0)))"
}

declare -A results responder_results
conditions=(runtime-idle prober-0 "prober-$paths" "ping-$paths")
run_time=$((warm + seconds + 3))
for round in $(seq 1 "$rounds"); do
  line="round $round:"

  ip netns exec "$near" "${bench[@]}" idle "$run_time" > "$work/idle.out" 2> "$work/idle.err" &
  pid=$!
  until grep -q ready "$work/idle.err" 2>/dev/null; do sleep 0.1; done
  measure runtime-idle "$pid"
  wait "$pid"

  for n in 0 "$paths"; do
    ip netns exec "$near" "${bench[@]}" probe "$n" "$port" "$run_time" > "$work/probe.out" 2> "$work/probe.err" &
    pid=$!
    until grep -q ready "$work/probe.err" 2>/dev/null; do sleep 0.1; done
    measure "prober-$n" "$pid"
    wait "$pid"
    echo "  $(cat "$work/probe.out")" >&2
  done

  pings=()
  for ((i = 0; i < paths; i++)); do
    ip netns exec "$near" ping -q -n -i "$interval" "10.78.$i.2" > "$work/ping-$i.out" 2>&1 &
    pings+=($!)
  done
  measure "ping-$paths" "${pings[@]}"
  kill -INT "${pings[@]}"
  wait "${pings[@]}" || true
  echo "  ping: $(grep -h 'packets transmitted' "$work"/ping-*.out | awk '{ sent += $1; received += $4 } END { printf "%d sent, %d received", sent, received }')" >&2

  echo "$line (% of a core; load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo
echo "$paths paths, probe interval $interval s, ${seconds} s per measurement, $rounds rounds, $(nproc) cores"
echo
echo "| process | median % of a core | rounds | responder (far side) median % |"
echo "| --- | ---: | --- | ---: |"
for c in "${conditions[@]}"; do
  echo "| $c | $(echo "${results[$c]}" | median) | ${results[$c]% } | $(echo "${responder_results[$c]}" | median) |"
done
idle=$(echo "${results[runtime-idle]}" | median)
prober=$(echo "${results[prober-$paths]}" | median)
empty=$(echo "${results[prober-0]}" | median)
ping=$(echo "${results[ping-$paths]}" | median)
responder_idle=$(echo "${responder_results[runtime-idle]}" | median)
responder_busy=$(echo "${responder_results[prober-$paths]}" | median)
echo
awk -v p="$prober" -v e="$empty" -v i="$idle" -v g="$ping" -v ri="$responder_idle" -v rb="$responder_busy" -v n="$paths" 'BEGIN {
  x = p - i
  printf "patronus: %.3f%% of a core (prober with %d paths %.3f%% minus the idle runtime %.3f%%), ping reference: %.3f%%", x, n, p, i, g
  if (g > 0) printf " (patronus / ping %.2f)", x / g
  printf "\nthe paths alone: %.3f%% (the prober with no paths, its tick loop and receive loop idling, costs %.3f%%)", p - e, e
  printf "\nresponder answering them: %.3f%% of a core over its idle %.3f%% (ping: the kernel answers)\n", rb - ri, ri
}'

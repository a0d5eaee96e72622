#!/usr/bin/env python3
"""Usage: echo_split.py NODE.pcap, a capture of the restart drill's node namespace
(nsenter --net=NODE tcpdump -i any -nn -U -w NODE.pcap tcp port 8080) taken while AgentRestartTests runs.

Splits every echo round trip on the wire of the restart drill (frontend .10 -> backend .20:8080, 1 byte each
way) into: datapath transit of each packet (entered the bridge from one veth, P, before TC ingress -> left on the
other veth, Out, after TC egress), server application time (request delivered -> echo sent), client application
time (echo delivered -> next request sent). Prints the worst of each."""
import subprocess, sys, re
lines = subprocess.run(["tcpdump", "-r", sys.argv[1], "-nn", "-tt", "-e", "-S"], capture_output=True, text=True).stdout.splitlines()
pat = re.compile(r"^(\d+\.\d+) \S+\s+(P|Out)\s+ifindex (\d+) .*?: (\S+) > (\S+): Flags \[([^\]]*)\], seq (\d+):(\d+), ack (\d+)")
events = []
for l in lines:
    m = pat.match(l)
    if m:
        t, d, ifi, src, dst, flags, s, e, a = m.groups()
        events.append((float(t), d, src.rsplit('.', 1)[0], int(s), int(e), int(a)))
# transit: per (direction, seq) first P to first Out
first = {}
transit = []
for t, d, src, s, e, a in events:
    k = (src, s, e)
    if d == "P": first.setdefault(k, t)
    elif k in first: transit.append((t - first.pop(k), t))
undelivered = len(first)
# request delivered (Out to backend, ends at seq e) -> the echo the backend sends (P, ack == e); echo delivered to
# the frontend (Out, ends at e) -> the next request (P, ack == e)
def pairs(delivered_from, sent_from):
    sent = {}
    for t, d, src, s, e, a in events:
        if d == "P" and src.endswith(sent_from): sent.setdefault(a, t)
    out = []
    for t, d, src, s, e, a in events:
        if d == "Out" and src.endswith(delivered_from) and e in sent: out.append((sent[e] - t, t))
    return out
server = pairs(".10", ".20")
client = pairs(".20", ".10")
req_out = [1 for ev in events if ev[1] == "Out" and ev[2].endswith(".10")]
def worst(xs): 
    x = max(xs) if xs else (0, 0)
    return f"{x[0]*1000:.1f} ms"
print(f"echoes on the wire {len(req_out)}; undelivered {undelivered}; worst datapath transit {worst(transit)}; worst server app {worst(server)}; worst client app {worst(client)}")

/* Maps shared by the programs on a pod's host-side veth, and their layouts.
 *
 * The agent (src/Patronus.Agent/Datapath/Ebpf/Maps/MapEncoding.cs) writes these byte for byte; a change
 * here is a change of map layout: bump PATRONUS_MAP_LAYOUT so a restarted agent pins a fresh set instead
 * of misreading the old one.
 */
#pragma once

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PATRONUS_MAP_LAYOUT 2

#define FAMILY_IPV4 4
#define FAMILY_IPV6 6

/* An address as hash keys hold it: IPv6 as is, IPv4 as ::ffff:a.b.c.d. The words only give the programs an
 * aligned way to order two addresses (conntrack keys); they are not a byte order of their own. */
struct address {
	union {
		__u8 bytes[16];
		__u64 words[2];
	};
};

/* endpoints: a local pod's address -> the rule sets in force for it. A value is replaced whole (a hash map
 * update swaps the element under RCU), so a packet reads either the old pair of rule sets or the new one,
 * never a mix. Rule set 0: not isolated in that direction (everything admitted). The counters index
 * drop_counters. */
struct endpoint_policy {
	__u32 ingress_ruleset;
	__u32 egress_ruleset;
	__u32 ingress_counter;
	__u32 egress_counter;
};

/* peer_rules (LPM trie): (rule set, family, peer prefix) -> how that peer is admitted. prefixlen counts
 * 40 bits for rule set and family, then the address bits. Entries of one rule set never overlap. */
struct peer_key {
	__u32 prefixlen;
	__u32 ruleset;
	__u8 family;
	__u8 address[16];
	__u8 pad[3];
};

#define PEER_ANY_PORT 1

struct peer_value {
	__u32 port_class;
	__u32 flags;
};

/* port_rules (LPM trie): (rule set, port class, protocol, destination port prefix) -> admitted. prefixlen
 * counts 56 bits for rule set, class and protocol, then port bits (port big-endian, so ranges are prefixes). */
struct port_key {
	__u32 prefixlen;
	__u32 ruleset;
	__u16 port_class;
	__u8 protocol;
	__u8 port[2];
	__u8 pad[3];
};

/* conntrack: our own. Both directions of a flow share one element, so one lookup answers a packet in either
 * direction: the key holds the flow's two ends in a fixed order (the lower address first, by words[0] then
 * words[1], then the lower port when the addresses are equal), each with its port. */
struct ct_key {
	struct address lower;
	struct address upper;
	__u16 lower_port; /* network order, as on the wire */
	__u16 upper_port; /* network order */
	__u8 protocol;
	__u8 pad[3];
};

/* Per direction of the flow (lower -> upper in bits 0-3, upper -> lower in bits 4-7), which checks admitted
 * packets of that direction, and whether a reply to it passed. A packet passes a check without rules if that
 * check admitted its direction before and the flow was answered (`ct state established`), or if it answers a
 * direction the opposite check of the same pod admitted. */
#define CT_EGRESS_ADMITTED 1
#define CT_INGRESS_ADMITTED 2
#define CT_REPLIED 4
#define CT_UPPER_SHIFT 4
#define CT_ANY_REPLIED (CT_REPLIED | (CT_REPLIED << CT_UPPER_SHIFT))

struct ct_value {
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns(), rewritten at most once per CT_REFRESH_NS */
	__u32 flags;
	__u32 pad;
};

struct drop_counter {
	__u64 packets;
	__u64 bytes;
};

#define MAX_ENDPOINTS 65536
#define MAX_RULE_ENTRIES 1048576
#define MAX_FLOWS 262144
#define MAX_DROP_COUNTERS 16384

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENDPOINTS);
	__type(key, struct address);
	__type(value, struct endpoint_policy);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MAX_RULE_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct peer_key);
	__type(value, struct peer_value);
} peer_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MAX_RULE_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct port_key);
	__type(value, __u32);
} port_rules SEC(".maps");

/* The node's own addresses: traffic from the node to a pod (kubelet probes) is never filtered, as in
 * the nftables datapath, where it does not pass the forward hook. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct address);
	__type(value, __u32);
} node_addresses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, struct ct_key);
	__type(value, struct ct_value);
} conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_DROP_COUNTERS);
	__type(key, __u32);
	__type(value, struct drop_counter);
} drop_counters SEC(".maps");

/* Which (namespace, policy, direction) each drop counter counts for: written and read by the agent only,
 * pinned beside the counters so a restarted agent attributes them the same way. */
#define DROP_COUNTER_NAME_SIZE 256

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_DROP_COUNTERS);
	__type(key, __u32);
	__type(value, char[DROP_COUNTER_NAME_SIZE]);
} drop_counter_names SEC(".maps");

/* Never used by a program: the agent replaces rcu_barrier's element before it deletes rule sets no endpoint
 * points at any more. Updating a map-of-maps from user space returns only after an RCU grace period
 * (maybe_wait_bpf_programs in kernel/bpf/syscall.c), so no program that could still hold an old rule set
 * id is running by then. Not pinned: each agent makes its own. */
struct rcu_barrier_inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rcu_barrier_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct rcu_barrier_inner_map);
} rcu_barrier SEC(".maps");

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* NetworkPolicy on a pod's host-side veth (the attach point Cilium's bpf_lxc.c also uses):
 *   from_pod: TC ingress of the host veth, i.e. packets the pod sends: its egress policy;
 *   to_pod:   TC egress of the host veth, i.e. packets the pod receives: its ingress policy.
 *
 * A packet costs the same whatever the number of policies: a hash lookup for the endpoint (its rule sets)
 * and two for the flow, then at most one LPM lookup on the peer and one on the port. Only UAPI types are used
 * (__sk_buff, direct packet access), so the object needs no relocation against the running kernel's
 * BTF and runs unchanged on any kernel with the features below (5.10+).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "patronus_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NS_PER_SECOND 1000000000ULL
/* Flow timeouts: close to nf_conntrack's for the cases NetworkPolicy cares about (replied TCP lives long,
 * replied UDP a few minutes, an unanswered flow briefly). */
#define REPLIED_TCP_TIMEOUT (3600 * NS_PER_SECOND)
#define REPLIED_TIMEOUT (180 * NS_PER_SECOND)
#define UNREPLIED_TIMEOUT (60 * NS_PER_SECOND)

#define IP_OFFSET_MASK 0x1fff

struct packet {
	struct address source;
	struct address destination;
	__u16 source_port;      /* network order; 0 when the protocol has none or the header is not there */
	__u16 destination_port; /* network order */
	__u8 protocol;
	__u8 family;
};

enum parse_result {
	PARSE_FILTER,
	PARSE_PASS, /* not IP, or IPv6 neighbour discovery: never filtered */
	PARSE_DROP, /* truncated IP header */
};

static __always_inline void mapped_ipv4(struct address *out, __be32 address)
{
	__builtin_memset(out->bytes, 0, 10);
	out->bytes[10] = 0xff;
	out->bytes[11] = 0xff;
	__builtin_memcpy(&out->bytes[12], &address, 4);
}

static __always_inline int has_ports(__u8 protocol)
{
	return protocol == IPPROTO_TCP || protocol == IPPROTO_UDP || protocol == IPPROTO_SCTP;
}

static __always_inline enum parse_result parse(struct __sk_buff *skb, struct packet *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	void *l4;

	if ((void *)(eth + 1) > data_end)
		return PARSE_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return PARSE_DROP;
		p->family = FAMILY_IPV4;
		p->protocol = ip->protocol;
		mapped_ipv4(&p->source, ip->saddr);
		mapped_ipv4(&p->destination, ip->daddr);
		/* A non-first fragment carries no ports: only a rule admitting every port can match it. */
		if (ip->frag_off & bpf_htons(IP_OFFSET_MASK))
			return PARSE_FILTER;
		l4 = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return PARSE_DROP;
		p->family = FAMILY_IPV6;
		p->protocol = ip6->nexthdr;
		__builtin_memcpy(p->source.bytes, &ip6->saddr, 16);
		__builtin_memcpy(p->destination.bytes, &ip6->daddr, 16);
		l4 = (void *)(ip6 + 1);
		if (p->protocol == IPPROTO_ICMPV6) {
			struct icmp6hdr *icmp6 = l4;
			if ((void *)(icmp6 + 1) > data_end)
				return PARSE_DROP;
			/* Router and neighbour solicitation/advertisement: IPv6 needs them between pods and
			 * conntrack never tracks them (the nftables datapath accepts them the same way). */
			if (icmp6->icmp6_type >= 133 && icmp6->icmp6_type <= 136)
				return PARSE_PASS;
		}
	} else {
		return PARSE_PASS;
	}

	if (has_ports(p->protocol) && l4 + 4 <= data_end) {
		__be16 *ports = l4;
		p->source_port = ports[0];
		p->destination_port = ports[1];
	}
	return PARSE_FILTER;
}

static __always_inline int fresh(const struct ct_value *ct, __u8 protocol, __u64 now)
{
	__u64 timeout = !(ct->flags & CT_REPLIED) ? UNREPLIED_TIMEOUT
		: protocol == IPPROTO_TCP ? REPLIED_TCP_TIMEOUT : REPLIED_TIMEOUT;
	return now - ct->last_seen_ns < timeout;
}

/* Does the rule set admit this peer on this protocol and destination port? */
static __always_inline int admitted(__u32 ruleset, const struct address *peer, const struct packet *p)
{
	struct peer_key peer_key = {};
	peer_key.ruleset = ruleset;
	peer_key.family = p->family;
	if (p->family == FAMILY_IPV4) {
		peer_key.prefixlen = 40 + 32;
		__builtin_memcpy(peer_key.address, &peer->bytes[12], 4);
	} else {
		peer_key.prefixlen = 40 + 128;
		__builtin_memcpy(peer_key.address, peer->bytes, 16);
	}
	struct peer_value *admission = bpf_map_lookup_elem(&peer_rules, &peer_key);
	if (!admission)
		return 0;
	if (admission->flags & PEER_ANY_PORT)
		return 1;
	if (!has_ports(p->protocol))
		return 0;

	struct port_key port_key = {};
	port_key.prefixlen = 56 + 16;
	port_key.ruleset = ruleset;
	port_key.port_class = (__u16)admission->port_class;
	port_key.protocol = p->protocol;
	__builtin_memcpy(port_key.port, &p->destination_port, 2);
	return bpf_map_lookup_elem(&port_rules, &port_key) != NULL;
}

static __always_inline void count_drop(__u32 counter, struct __sk_buff *skb)
{
	struct drop_counter *drops = bpf_map_lookup_elem(&drop_counters, &counter);
	if (drops) {
		drops->packets++;
		drops->bytes += skb->len;
	}
}

static __always_inline void remember(struct ct_key *key, struct ct_value *ct, __u32 admitted_by, __u8 protocol, __u64 now)
{
	if (ct && fresh(ct, protocol, now)) {
		if ((ct->flags & admitted_by) != admitted_by)
			__sync_fetch_and_or(&ct->flags, admitted_by);
		ct->last_seen_ns = now;
		return;
	}
	struct ct_value value = { .last_seen_ns = now, .flags = admitted_by };
	bpf_map_update_elem(&conntrack, key, &value, BPF_ANY);
}

/* ingress: the pod receives the packet (the peer is its source); egress: the pod sends it. */
static __always_inline int enforce(struct __sk_buff *skb, int ingress)
{
	struct packet p = {};
	switch (parse(skb, &p)) {
	case PARSE_PASS:
		return TC_ACT_OK;
	case PARSE_DROP:
		return TC_ACT_SHOT;
	case PARSE_FILTER:
		break;
	}

	struct address *local = ingress ? &p.destination : &p.source;
	struct address *peer = ingress ? &p.source : &p.destination;
	struct endpoint_policy *policy = bpf_map_lookup_elem(&endpoints, local);
	if (!policy)
		return TC_ACT_OK; /* not a pod of this node: the bridge's own address, say */

	__u32 mine = ingress ? CT_INGRESS_ADMITTED : CT_EGRESS_ADMITTED;
	__u32 opposite = ingress ? CT_EGRESS_ADMITTED : CT_INGRESS_ADMITTED;
	__u64 now = bpf_ktime_get_ns();

	struct ct_key forward = {
		.source = p.source,
		.destination = p.destination,
		.source_port = p.source_port,
		.destination_port = p.destination_port,
		.protocol = p.protocol,
	};
	struct ct_value *ct = bpf_map_lookup_elem(&conntrack, &forward);
	/* An established flow this check admitted before: like `ct state established accept`. */
	if (ct && (ct->flags & (mine | CT_REPLIED)) == (mine | CT_REPLIED) && fresh(ct, p.protocol, now)) {
		ct->last_seen_ns = now;
		return TC_ACT_OK;
	}

	/* A reply to a flow the opposite check of this same pod admitted. */
	struct ct_key reverse = {
		.source = p.destination,
		.destination = p.source,
		.source_port = p.destination_port,
		.destination_port = p.source_port,
		.protocol = p.protocol,
	};
	struct ct_value *original = bpf_map_lookup_elem(&conntrack, &reverse);
	if (original && (original->flags & opposite) && fresh(original, p.protocol, now)) {
		if (!(original->flags & CT_REPLIED))
			__sync_fetch_and_or(&original->flags, CT_REPLIED);
		original->last_seen_ns = now;
		return TC_ACT_OK;
	}

	if (ingress && bpf_map_lookup_elem(&node_addresses, &p.source)) {
		remember(&forward, ct, mine, p.protocol, now);
		return TC_ACT_OK;
	}

	/* Read once: the rule set stays consistent with itself even if the agent swaps the element now. */
	__u32 ruleset = ingress ? policy->ingress_ruleset : policy->egress_ruleset;
	__u32 counter = ingress ? policy->ingress_counter : policy->egress_counter;
	if (ruleset != 0 && !admitted(ruleset, peer, &p)) {
		count_drop(counter, skb);
		return TC_ACT_SHOT;
	}
	remember(&forward, ct, mine, p.protocol, now);
	return TC_ACT_OK;
}

SEC("tc")
int from_pod(struct __sk_buff *skb)
{
	return enforce(skb, 0);
}

SEC("tc")
int to_pod(struct __sk_buff *skb)
{
	return enforce(skb, 1);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* NetworkPolicy on a pod's host-side veth (the attach point Cilium's bpf_lxc.c also uses):
 *   from_pod: TC ingress of the host veth, i.e. packets the pod sends: its egress policy;
 *   to_pod:   TC egress of the host veth, i.e. packets the pod receives: its ingress policy.
 *
 * A packet costs the same whatever the number of policies. A packet of a flow already admitted (the bulk of
 * traffic) costs one hash lookup, of its flow, and no write but a timestamp once a second; any other packet
 * adds one hash lookup for the endpoint (its rule sets), then at most one LPM lookup on the peer and one on
 * the port. Only UAPI types are used (__sk_buff, direct packet access), so the object needs no relocation
 * against the running kernel's BTF and runs unchanged on any kernel with the features below (5.11+:
 * bpf_ktime_get_coarse_ns).
 *
 * Connection tracking is a map of our own (conntrack in patronus_maps.h), not the kernel's conntrack through
 * its BPF kfuncs. Both were built and measured with BPF_PROG_TEST_RUN (bench/ebpf/README.md, "Connection
 * tracking"): a packet of an established flow costs ~43 ns with the map and ~73 ns with the kfuncs (the lookup
 * takes and drops a reference on the shared nf_conn, and its timeout is rewritten every packet, since nothing
 * else refreshes it), a packet judged against 1,000 policies ~121 against ~177 ns, a new flow about the same
 * (~1.2-1.3 us, noisy). And at this hook, with no netfilter hook registered by this datapath, the kernel's
 * table only ever holds what the programs put there; the kfuncs track TCP and UDP only. Compiling with
 * -DPATRONUS_CT_KFUNC builds the kfunc variant the benchmark measures; the agent ships the map variant.
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
/* The flow's timestamp is rewritten at most this often: a write per packet would bounce the element's cache
 * line between the CPUs that carry the two directions (on a veth, the sender's), for no gain in precision
 * against timeouts of a minute or more. */
#define CT_REFRESH_NS NS_PER_SECOND

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

/* The flow a packet belongs to: its shared key, and which half of the flags is the packet's own direction. */
static __always_inline __u32 flow_key(const struct packet *p, struct ct_key *key)
{
	int source_lower = p->source.words[0] != p->destination.words[0] ? p->source.words[0] < p->destination.words[0]
		: p->source.words[1] != p->destination.words[1] ? p->source.words[1] < p->destination.words[1]
		: p->source_port <= p->destination_port;
	key->protocol = p->protocol;
	if (source_lower) {
		key->lower = p->source;
		key->upper = p->destination;
		key->lower_port = p->source_port;
		key->upper_port = p->destination_port;
		return 0;
	}
	key->lower = p->destination;
	key->upper = p->source;
	key->lower_port = p->destination_port;
	key->upper_port = p->source_port;
	return CT_UPPER_SHIFT;
}

static __always_inline __u64 timeout_of(__u32 flags, __u8 protocol)
{
	return !(flags & CT_ANY_REPLIED) ? UNREPLIED_TIMEOUT : protocol == IPPROTO_TCP ? REPLIED_TCP_TIMEOUT : REPLIED_TIMEOUT;
}

#ifndef PATRONUS_CT_KFUNC

struct flow {
	struct ct_key key;
	struct ct_value *ct; /* NULL when the flow is unknown or expired */
	__u32 flags;         /* both directions' flags of a live flow, 0 otherwise */
	__u64 now;
};

static __always_inline void flow_find(struct __sk_buff *skb, const struct packet *p, struct flow *f, __u32 shift)
{
	f->ct = bpf_map_lookup_elem(&conntrack, &f->key);
	if (!f->ct)
		return;
	f->now = bpf_ktime_get_coarse_ns();
	f->flags = f->ct->flags;
	if (f->now - f->ct->last_seen_ns >= timeout_of(f->flags, p->protocol)) {
		f->ct = NULL;
		f->flags = 0;
	}
}

/* A packet of the flow passed: keep the flow alive. */
static __always_inline void flow_touch(struct flow *f)
{
	if (f->now - f->ct->last_seen_ns >= CT_REFRESH_NS)
		f->ct->last_seen_ns = f->now;
}

/* Adds bits to a live flow's flags. */
static __always_inline void flow_mark(struct flow *f, __u32 bits)
{
	if ((f->flags & bits) != bits)
		__sync_fetch_and_or(&f->ct->flags, bits);
}

/* A check admitted the packet: record it on the flow, starting the flow if it is unknown or expired. */
static __always_inline void flow_remember(struct __sk_buff *skb, const struct packet *p, struct flow *f, __u32 bits)
{
	if (f->ct) {
		flow_mark(f, bits);
		flow_touch(f);
		return;
	}
	struct ct_value value = { .last_seen_ns = bpf_ktime_get_coarse_ns(), .flags = bits };
	bpf_map_update_elem(&conntrack, &f->key, &value, BPF_ANY);
}

static __always_inline void flow_release(struct flow *f)
{
}

#else /* PATRONUS_CT_KFUNC: the kernel's conntrack table, for the benchmark's comparison only */

/* The kfuncs' types, as the kernel's BTF has them (net/netfilter/nf_conntrack_bpf.c); the fields used are
 * relocated against the running kernel's BTF (CO-RE). */
struct nf_conn {
	__u32 mark;
} __attribute__((preserve_access_index));

struct nf_conn___init {
	__u32 mark;
} __attribute__((preserve_access_index));

struct bpf_ct_opts___local {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u16 ct_zone_id;
	__u8 ct_zone_dir;
	__u8 reserved[3];
};

#define BPF_F_CURRENT_NETNS (-1)

extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts___local *, __u32) __ksym;
extern struct nf_conn___init *bpf_skb_ct_alloc(struct __sk_buff *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts___local *, __u32) __ksym;
extern struct nf_conn *bpf_ct_insert_entry(struct nf_conn___init *) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;
extern void bpf_ct_set_timeout(struct nf_conn___init *, __u32) __ksym;
extern int bpf_ct_change_timeout(struct nf_conn *, __u32) __ksym;

/* The kernel's entry stands for both directions; its mark holds our flags, in the same two halves as the map
 * variant's, by the kernel's direction (original, reply) instead of address order. */
struct flow {
	struct ct_key key; /* unused: the layout of the caller stays the same */
	struct nf_conn *ct;
	__u32 flags;
	__u64 now;
	struct bpf_sock_tuple tuple;
	__u32 tuple_size;
	__u32 swap; /* the kernel's original direction is the flow's upper -> lower one */
	struct bpf_ct_opts___local opts;
};

#define CT_OPTS_SIZE 16

static __always_inline __u32 swap_halves(__u32 flags)
{
	return ((flags & 0xf) << CT_UPPER_SHIFT) | ((flags >> CT_UPPER_SHIFT) & 0xf);
}

static __always_inline void flow_find(struct __sk_buff *skb, const struct packet *p, struct flow *f, __u32 shift)
{
	if (p->family == FAMILY_IPV4) {
		__builtin_memcpy(&f->tuple.ipv4.saddr, &p->source.bytes[12], 4);
		__builtin_memcpy(&f->tuple.ipv4.daddr, &p->destination.bytes[12], 4);
		f->tuple.ipv4.sport = p->source_port;
		f->tuple.ipv4.dport = p->destination_port;
		f->tuple_size = sizeof(f->tuple.ipv4);
	} else {
		__builtin_memcpy(f->tuple.ipv6.saddr, p->source.bytes, 16);
		__builtin_memcpy(f->tuple.ipv6.daddr, p->destination.bytes, 16);
		f->tuple.ipv6.sport = p->source_port;
		f->tuple.ipv6.dport = p->destination_port;
		f->tuple_size = sizeof(f->tuple.ipv6);
	}
	f->opts.netns_id = BPF_F_CURRENT_NETNS;
	f->opts.l4proto = p->protocol;
	/* Only TCP and UDP are tracked by the kfuncs; other protocols are judged on every packet. */
	if (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP)
		return;
	/* Constant sizes in each branch: the verifier must see the tuple's length bounded. */
	if (f->tuple_size == sizeof(f->tuple.ipv4))
		f->ct = bpf_skb_ct_lookup(skb, &f->tuple, sizeof(f->tuple.ipv4), &f->opts, CT_OPTS_SIZE);
	else
		f->ct = bpf_skb_ct_lookup(skb, &f->tuple, sizeof(f->tuple.ipv6), &f->opts, CT_OPTS_SIZE);
	if (!f->ct)
		return;
	/* The mark's halves are by the kernel's direction (original low): turn them into the address order of
	 * flow_key, in which the packet's own half is at shift. */
	f->swap = (f->opts.dir == 0) != (shift == 0);
	f->flags = f->swap ? swap_halves(f->ct->mark) : f->ct->mark;
}

static __always_inline void flow_touch(struct flow *f)
{
	bpf_ct_change_timeout(f->ct, timeout_of(f->flags, f->opts.l4proto) / 1000000);
}

static __always_inline void flow_mark(struct flow *f, __u32 bits)
{
	if ((f->flags & bits) == bits)
		return;
	f->flags |= bits;
	f->ct->mark = f->swap ? swap_halves(f->flags) : f->flags;
}

static __always_inline void flow_remember(struct __sk_buff *skb, const struct packet *p, struct flow *f, __u32 bits)
{
	if (f->ct) {
		flow_mark(f, bits);
		flow_touch(f);
		return;
	}
	if (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP)
		return;
	struct nf_conn___init *fresh = f->tuple_size == sizeof(f->tuple.ipv4)
		? bpf_skb_ct_alloc(skb, &f->tuple, sizeof(f->tuple.ipv4), &f->opts, CT_OPTS_SIZE)
		: bpf_skb_ct_alloc(skb, &f->tuple, sizeof(f->tuple.ipv6), &f->opts, CT_OPTS_SIZE);
	if (!fresh)
		return;
	/* The new entry's original direction is this packet's: its half goes low. */
	fresh->mark = bits >= (1 << CT_UPPER_SHIFT) ? bits >> CT_UPPER_SHIFT : bits;
	bpf_ct_set_timeout(fresh, UNREPLIED_TIMEOUT / 1000000);
	struct nf_conn *inserted = bpf_ct_insert_entry(fresh);
	if (inserted)
		bpf_ct_release(inserted);
}

static __always_inline void flow_release(struct flow *f)
{
	if (f->ct)
		bpf_ct_release(f->ct);
}

#endif

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

static __always_inline int judge(struct __sk_buff *skb, const struct packet *p, struct flow *f, __u32 shift, int ingress)
{
	__u32 mine = (ingress ? CT_INGRESS_ADMITTED : CT_EGRESS_ADMITTED) << shift;
	__u32 opposite_shift = shift ^ CT_UPPER_SHIFT;
	__u32 opposite = (ingress ? CT_EGRESS_ADMITTED : CT_INGRESS_ADMITTED) << opposite_shift;

	/* An established flow this check admitted before: like `ct state established accept`. */
	__u32 established = mine | (CT_REPLIED << shift);
	if ((f->flags & established) == established) {
		flow_touch(f);
		return TC_ACT_OK;
	}
	/* A reply to a direction the opposite check of this same pod admitted. */
	if (f->flags & opposite) {
		flow_mark(f, CT_REPLIED << opposite_shift);
		flow_touch(f);
		return TC_ACT_OK;
	}

	const struct address *local = ingress ? &p->destination : &p->source;
	const struct address *peer = ingress ? &p->source : &p->destination;
	struct endpoint_policy *policy = bpf_map_lookup_elem(&endpoints, local);
	if (!policy)
		return TC_ACT_OK; /* not a pod of this node: the bridge's own address, say */

	if (ingress && bpf_map_lookup_elem(&node_addresses, &p->source)) {
		flow_remember(skb, p, f, mine);
		return TC_ACT_OK;
	}

	/* Read once: the rule set stays consistent with itself even if the agent swaps the element now. */
	__u32 ruleset = ingress ? policy->ingress_ruleset : policy->egress_ruleset;
	__u32 counter = ingress ? policy->ingress_counter : policy->egress_counter;
	if (ruleset != 0 && !admitted(ruleset, peer, p)) {
		count_drop(counter, skb);
		return TC_ACT_SHOT;
	}
	flow_remember(skb, p, f, mine);
	return TC_ACT_OK;
}

/* ingress: the pod receives the packet (the peer is its source); egress: the pod sends it. The flow is looked
 * up first: a packet of an admitted flow needs nothing else, not even its endpoint's rule sets. */
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

	struct flow f = {};
	__u32 shift = flow_key(&p, &f.key);
	flow_find(skb, &p, &f, shift);
	int verdict = judge(skb, &p, &f, shift, ingress);
	flow_release(&f);
	return verdict;
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

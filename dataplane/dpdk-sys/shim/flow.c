/* See flow.h. */
/* rte_flow_get_aged_flows is still experimental in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_flow.h>

#include "flow.h"

/* The arrays of one rule, filled from a descriptor. */
struct rule {
	struct rte_flow_attr attr;
	struct rte_flow_item items[6];
	struct rte_flow_action actions[6];
	struct rte_flow_item_vlan vlan, vlan_mask;
	struct rte_flow_item_ipv4 ip4, ip4_mask;
	struct rte_flow_item_ipv6 ip6, ip6_mask;
	struct rte_flow_item_tcp tcp, tcp_mask;
	struct rte_flow_item_udp udp, udp_mask;
	struct rte_flow_action_count count;
	struct rte_flow_action_age age;
	struct rte_flow_action_ethdev port;
	struct rte_flow_action_mark mark;
	struct rte_flow_action_queue queue;
};

static void fill(struct rule *r, const struct svcard_flow_desc *d)
{
	int i = 0, a = 0;

	memset(r, 0, sizeof(*r));
	if (d->transfer)
		r->attr.transfer = 1;
	else
		r->attr.ingress = 1;
	r->items[i++].type = RTE_FLOW_ITEM_TYPE_ETH;
	if (d->has_vlan) {
		r->vlan.tci = rte_cpu_to_be_16(d->vid & 0x0fff);
		r->vlan_mask.tci = rte_cpu_to_be_16(0x0fff);
		r->items[i].type = RTE_FLOW_ITEM_TYPE_VLAN;
		r->items[i].spec = &r->vlan;
		r->items[i++].mask = &r->vlan_mask;
	}
	if (d->family == 6) {
		memcpy(r->ip6.hdr.src_addr, d->src, 16);
		memcpy(r->ip6.hdr.dst_addr, d->dst, 16);
		r->ip6.hdr.proto = d->proto;
		memset(r->ip6_mask.hdr.src_addr, 0xff, 16);
		memset(r->ip6_mask.hdr.dst_addr, 0xff, 16);
		r->ip6_mask.hdr.proto = 0xff;
		r->items[i].type = RTE_FLOW_ITEM_TYPE_IPV6;
		r->items[i].spec = &r->ip6;
		r->items[i++].mask = &r->ip6_mask;
	} else {
		memcpy(&r->ip4.hdr.src_addr, d->src, 4);
		memcpy(&r->ip4.hdr.dst_addr, d->dst, 4);
		r->ip4.hdr.next_proto_id = d->proto;
		r->ip4_mask.hdr.src_addr = UINT32_MAX;
		r->ip4_mask.hdr.dst_addr = UINT32_MAX;
		r->ip4_mask.hdr.next_proto_id = 0xff;
		r->items[i].type = RTE_FLOW_ITEM_TYPE_IPV4;
		r->items[i].spec = &r->ip4;
		r->items[i++].mask = &r->ip4_mask;
	}
	if (d->proto == 6) {
		r->tcp.hdr.src_port = rte_cpu_to_be_16(d->sport);
		r->tcp.hdr.dst_port = rte_cpu_to_be_16(d->dport);
		r->tcp_mask.hdr.src_port = UINT16_MAX;
		r->tcp_mask.hdr.dst_port = UINT16_MAX;
		r->tcp_mask.hdr.tcp_flags = d->tcp_flags_clear;
		r->items[i].type = RTE_FLOW_ITEM_TYPE_TCP;
		r->items[i].spec = &r->tcp;
		r->items[i++].mask = &r->tcp_mask;
	} else if (d->proto == 17) {
		r->udp.hdr.src_port = rte_cpu_to_be_16(d->sport);
		r->udp.hdr.dst_port = rte_cpu_to_be_16(d->dport);
		r->udp_mask.hdr.src_port = UINT16_MAX;
		r->udp_mask.hdr.dst_port = UINT16_MAX;
		r->items[i].type = RTE_FLOW_ITEM_TYPE_UDP;
		r->items[i].spec = &r->udp;
		r->items[i++].mask = &r->udp_mask;
	}
	r->items[i].type = RTE_FLOW_ITEM_TYPE_END;

	if (d->count) {
		r->actions[a].type = RTE_FLOW_ACTION_TYPE_COUNT;
		r->actions[a++].conf = &r->count;
	}
	if (d->age_s) {
		r->age.timeout = d->age_s > 0xffffff ? 0xffffff : d->age_s;
		r->age.context = (void *)(uintptr_t)d->age_context;
		r->actions[a].type = RTE_FLOW_ACTION_TYPE_AGE;
		r->actions[a++].conf = &r->age;
	}
	switch (d->fate) {
	case 1:
		r->port.port_id = d->fwd_port;
		r->actions[a].type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT;
		r->actions[a++].conf = &r->port;
		break;
	case 2:
		r->actions[a++].type = RTE_FLOW_ACTION_TYPE_DROP;
		break;
	default:
		r->mark.id = d->mark;
		r->actions[a].type = RTE_FLOW_ACTION_TYPE_MARK;
		r->actions[a++].conf = &r->mark;
		r->queue.index = d->queue;
		r->actions[a].type = RTE_FLOW_ACTION_TYPE_QUEUE;
		r->actions[a++].conf = &r->queue;
		break;
	}
	r->actions[a].type = RTE_FLOW_ACTION_TYPE_END;
}

int svcard_flow_validate(uint16_t port_id, const struct svcard_flow_desc *d, const char **msg)
{
	struct rule r;
	struct rte_flow_error e;
	int rc;

	fill(&r, d);
	memset(&e, 0, sizeof(e));
	rc = rte_flow_validate(port_id, &r.attr, r.items, r.actions, &e);
	*msg = e.message;
	return rc;
}

struct rte_flow *svcard_flow_create(uint16_t port_id, const struct svcard_flow_desc *d,
				    int *err, const char **msg)
{
	struct rule r;
	struct rte_flow_error e;
	struct rte_flow *f;

	fill(&r, d);
	memset(&e, 0, sizeof(e));
	f = rte_flow_create(port_id, &r.attr, r.items, r.actions, &e);
	*err = f ? 0 : -rte_errno;
	*msg = e.message;
	return f;
}

int svcard_flow_destroy(uint16_t port_id, struct rte_flow *flow)
{
	struct rte_flow_error e;

	memset(&e, 0, sizeof(e));
	return rte_flow_destroy(port_id, flow, &e);
}

int svcard_flow_query_count(uint16_t port_id, struct rte_flow *flow, uint64_t *hits,
			    uint64_t *bytes)
{
	struct rte_flow_action action[2];
	struct rte_flow_query_count q;
	struct rte_flow_error e;
	int rc;

	memset(action, 0, sizeof(action));
	memset(&q, 0, sizeof(q));
	memset(&e, 0, sizeof(e));
	action[0].type = RTE_FLOW_ACTION_TYPE_COUNT;
	action[1].type = RTE_FLOW_ACTION_TYPE_END;
	rc = rte_flow_query(port_id, flow, action, &q, &e);
	*hits = q.hits_set ? q.hits : 0;
	*bytes = q.bytes_set ? q.bytes : 0;
	return rc;
}

int svcard_flow_aged(uint16_t port_id, uint64_t *ids, uint32_t n)
{
	void *contexts[256];
	struct rte_flow_error e;
	int rc, i;

	if (n > 256)
		n = 256;
	memset(&e, 0, sizeof(e));
	rc = rte_flow_get_aged_flows(port_id, contexts, n, &e);
	for (i = 0; i < rc; i++)
		ids[i] = (uint64_t)(uintptr_t)contexts[i];
	return rc;
}

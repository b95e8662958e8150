/* svcard dpdk-sys flow shim: one session direction's rte_flow rule from a flat descriptor.
 * rte_flow's item and action structs are unions and bitfields that differ between DPDK
 * releases; filling them here, in C against the installed headers, keeps the Rust side to
 * one plain struct. The pattern is ETH [/ VLAN] / IPV4|IPV6 [/ TCP|UDP] / END with full
 * masks on the fields given; the actions are [COUNT] [/ AGE] / PORT (REPRESENTED_PORT) |
 * DROP | MARK / QUEUE / END. */
#ifndef SVCARD_DPDK_FLOW_H
#define SVCARD_DPDK_FLOW_H

#include <stdint.h>

#include <rte_flow.h>

struct svcard_flow_desc {
	uint8_t transfer;        /* attr.transfer (else attr.ingress) */
	uint8_t family;          /* 4 or 6 */
	uint8_t proto;           /* IP protocol; TCP and UDP add their item */
	uint8_t has_vlan;        /* a VLAN item with vid */
	uint16_t vid;
	uint16_t sport, dport;   /* host order */
	uint8_t src[16], dst[16];/* IPv4 in the first 4 bytes */
	uint8_t tcp_flags_clear; /* TCP: these flags must be 0 (mask, spec 0) */
	uint8_t count;           /* COUNT */
	uint32_t age_s;          /* AGE with this timeout, 0: none */
	uint64_t age_context;    /* AGE: the value reported for the rule once it aged (not 0) */
	uint8_t fate;            /* 1 forward to fwd_port, 2 drop, 3 mark + queue */
	uint16_t fwd_port;       /* ethdev port id */
	uint32_t mark;
	uint16_t queue;
};

/* rte_flow_validate of the descriptor's rule on port_id; 0 or a negative errno, with the
 * PMD's message (or NULL) in *msg. */
int svcard_flow_validate(uint16_t port_id, const struct svcard_flow_desc *d, const char **msg);
/* rte_flow_create; NULL on failure with the negative errno in *err and the message in *msg. */
struct rte_flow *svcard_flow_create(uint16_t port_id, const struct svcard_flow_desc *d,
				    int *err, const char **msg);
/* rte_flow_destroy; 0 or a negative errno. */
int svcard_flow_destroy(uint16_t port_id, struct rte_flow *flow);
/* rte_flow_get_aged_flows: up to n of the AGE contexts of rules that aged out since the
 * last call, into ids; the number written or a negative errno. */
int svcard_flow_aged(uint16_t port_id, uint64_t *ids, uint32_t n);
/* rte_flow_query of the rule's COUNT action: hits and bytes since creation; 0 or a
 * negative errno. */
int svcard_flow_query_count(uint16_t port_id, struct rte_flow *flow, uint64_t *hits,
			    uint64_t *bytes);

#endif

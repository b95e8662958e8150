/* svcard dpdk-sys shim: the DPDK headers bindgen reads, and out-of-line wrappers for the
 * `static inline` functions (and the per-lcore rte_errno) that Rust cannot call directly.
 * Every wrapper is a one-line forward to the DPDK function of the same name. */
#ifndef SVCARD_DPDK_SHIM_H
#define SVCARD_DPDK_SHIM_H

#include <stdint.h>

#include <rte_config.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#include "flow.h"

/* rte_errno of the calling thread (it is a per-lcore TLS variable). */
int svcard_rte_errno(void);
/* rte_lcore_id(): the calling thread's lcore id, or UINT32_MAX (LCORE_ID_ANY). */
unsigned int svcard_rte_lcore_id(void);

/* rte_eth_rx_burst / rte_eth_tx_burst. */
uint16_t svcard_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
				 struct rte_mbuf **rx_pkts, uint16_t nb_pkts);
uint16_t svcard_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
				 struct rte_mbuf **tx_pkts, uint16_t nb_pkts);

/* rte_pktmbuf_alloc / rte_pktmbuf_free. */
struct rte_mbuf *svcard_rte_pktmbuf_alloc(struct rte_mempool *mp);
void svcard_rte_pktmbuf_free(struct rte_mbuf *m);

/* rte_pktmbuf_mtod(m, void *): the first segment's data pointer. */
void *svcard_rte_pktmbuf_mtod(struct rte_mbuf *m);
/* rte_pktmbuf_data_len / rte_pktmbuf_pkt_len. */
uint16_t svcard_rte_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t svcard_rte_pktmbuf_pkt_len(const struct rte_mbuf *m);
/* Sets data_len and pkt_len of a single-segment mbuf to len; 0 on success, -1 (nothing
 * changed) when the mbuf has several segments or len exceeds data_len + tailroom. */
int svcard_rte_pktmbuf_set_len(struct rte_mbuf *m, uint16_t len);
uint16_t svcard_rte_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t svcard_rte_pktmbuf_tailroom(const struct rte_mbuf *m);
uint16_t svcard_rte_pktmbuf_nb_segs(const struct rte_mbuf *m);
uint16_t svcard_rte_pktmbuf_data_room_size(struct rte_mempool *mp);
char *svcard_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
char *svcard_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *svcard_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
int svcard_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);

/* rte_mempool_in_use_count / rte_mempool_avail_count. */
unsigned int svcard_rte_mempool_in_use_count(const struct rte_mempool *mp);
unsigned int svcard_rte_mempool_avail_count(const struct rte_mempool *mp);

/* rte_prefetch0. */
void svcard_rte_prefetch0(const void *p);

#endif

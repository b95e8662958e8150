/* Out-of-line wrappers for DPDK's static inline functions; see shim.h. */
#include "shim.h"

#include <rte_prefetch.h>

int svcard_rte_errno(void) { return rte_errno; }

unsigned int svcard_rte_lcore_id(void) { return rte_lcore_id(); }

uint16_t svcard_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
				 struct rte_mbuf **rx_pkts, uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t svcard_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
				 struct rte_mbuf **tx_pkts, uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

struct rte_mbuf *svcard_rte_pktmbuf_alloc(struct rte_mempool *mp)
{
	return rte_pktmbuf_alloc(mp);
}

void svcard_rte_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }

void *svcard_rte_pktmbuf_mtod(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, void *);
}

uint16_t svcard_rte_pktmbuf_data_len(const struct rte_mbuf *m)
{
	return rte_pktmbuf_data_len(m);
}

uint32_t svcard_rte_pktmbuf_pkt_len(const struct rte_mbuf *m)
{
	return rte_pktmbuf_pkt_len(m);
}

int svcard_rte_pktmbuf_set_len(struct rte_mbuf *m, uint16_t len)
{
	uint32_t cap;

	if (m->nb_segs != 1)
		return -1;
	cap = (uint32_t)m->data_len + rte_pktmbuf_tailroom(m);
	if (len > cap)
		return -1;
	m->data_len = len;
	m->pkt_len = len;
	return 0;
}

uint16_t svcard_rte_pktmbuf_headroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_headroom(m);
}

uint16_t svcard_rte_pktmbuf_tailroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_tailroom(m);
}

uint16_t svcard_rte_pktmbuf_nb_segs(const struct rte_mbuf *m)
{
	return m->nb_segs;
}

uint16_t svcard_rte_pktmbuf_data_room_size(struct rte_mempool *mp)
{
	return rte_pktmbuf_data_room_size(mp);
}

char *svcard_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_append(m, len);
}

char *svcard_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_prepend(m, len);
}

char *svcard_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_adj(m, len);
}

int svcard_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_trim(m, len);
}

unsigned int svcard_rte_mempool_in_use_count(const struct rte_mempool *mp)
{
	return rte_mempool_in_use_count(mp);
}

unsigned int svcard_rte_mempool_avail_count(const struct rte_mempool *mp)
{
	return rte_mempool_avail_count(mp);
}

void svcard_rte_prefetch0(const void *p) { rte_prefetch0(p); }

/* See dpdk_frame_shim.h. */
#include "dpdk_frame_shim.h"

#include <string.h>

#include "drv_dpdk_frame.h"

void dpdk_frame_shim_tcp_csum(uint8_t *frame, uint16_t len, bool offload,
			      struct dpdk_frame_shim_out *out)
{
	struct rte_mbuf m;
	memset(&m, 0, sizeof m);
	m.buf_addr = frame;
	m.buf_len = len;
	m.data_off = 0;
	m.data_len = len;
	m.pkt_len = len;
	m.nb_segs = 1;
	drv_dpdk_frame_tcp_csum(&m, offload);
	out->ol_flags = m.ol_flags;
	out->l2_len = m.l2_len;
	out->l3_len = m.l3_len;
	out->tx_tcp_cksum = (m.ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM;
	out->tx_ipv4 = (m.ol_flags & RTE_MBUF_F_TX_IPV4) != 0;
}

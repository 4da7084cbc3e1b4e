/* Frame output shared by the dpdk driver's workers (drv_dpdk_worker.c)
 * and rpcrouter-bench's DPDK mode (bench/bench_io_dpdk.c): both run
 * dataplane/net's net_l3 + net_tcp over a DPDK port and hand it the same
 * two callbacks. Header-only (static inline) so the bench, which links only
 * the driver's EAL-free parts, needs no new library.
 *
 * Zero-copy tx (docs/adr/0005-dpdk-driver.md "Zero-copy tx"): a TCP
 * segment is built in its mbuf (drv_dpdk_seg_build: TCP header + payload
 * from the stack's send blocks behind NET_L3_HEADROOM), net_l3 writes the
 * IPv4 and Ethernet headers in place and calls tx_frame with a pointer
 * into that mbuf, and drv_dpdk_frame_take returns the same mbuf with its
 * lengths set. Frames net_l3 built in its own buffers (ARP, ICMP, RSTs
 * answering no connection, segments queued behind ARP) are copied into a
 * fresh mbuf. A stack that runs with csum_offload leaves each TCP frame's
 * checksum to drv_dpdk_frame_tcp_csum, which asks the port for it or
 * finishes it in software, port by port.
 *
 * Single-threaded: one struct drv_dpdk_seg per poll loop. */
#ifndef DRV_DPDK_FRAME_H
#define DRV_DPDK_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_mbuf.h>

#include "net_csum.h"
#include "net_eth.h"
#include "net_ipv4.h"
#include "net_tcp.h"

/* The segment being sent: set by drv_dpdk_seg_build, taken by
 * drv_dpdk_frame_take, released by drv_dpdk_seg_done. */
struct drv_dpdk_seg {
	struct rte_mbuf *m;
};

/* The TCP checksum of a frame about to leave by a port, from a stack that
 * runs with csum_offload: net_tcp left the pseudo-header sum in the field
 * (RFC 9293 3.1), as DPDK's tx offload wants it. offload: the port
 * computes the rest (the mbuf asks it to). Else it is finished here: the
 * one's complement sum of the segment with that field is the
 * pseudo-header's plus the segment's, so its complement is the checksum.
 * The segment's length is the IPv4 total length's (runt padding is not
 * the segment's); frames other than IPv4/TCP are left as they are. Per
 * frame and not per stack, so ports with and without offload can be
 * mixed (and a segment may leave by another port than its address's:
 * the weak end system routing of net_eth.h). */
static inline void drv_dpdk_frame_tcp_csum(struct rte_mbuf *m, bool offload)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	if (m->data_len < NET_L3_HEADROOM + 20 || (f[12] << 8 | f[13]) != NET_ETHERTYPE_IPV4 ||
	    f[NET_ETH_HLEN + 9] != NET_IPV4_PROTO_TCP)
		return;
	if (offload) {
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
		m->l2_len = NET_ETH_HLEN;
		m->l3_len = NET_IPV4_HLEN; /* net_ipv4_build_hdr writes no options */
		return;
	}
	uint16_t total = net_get16(f + NET_ETH_HLEN + 2);
	if (total < NET_IPV4_HLEN + 20 || total > m->data_len - NET_ETH_HLEN)
		return; /* never: we built it */
	uint8_t *tcp = f + NET_L3_HEADROOM;
	struct net_csum c;
	net_csum_init(&c);
	net_csum_add(&c, tcp, total - NET_IPV4_HLEN);
	net_put16(tcp + 16, net_csum_finish(&c));
}

/* An mbuf holding seg's TCP header and payload at NET_L3_HEADROOM, kept in
 * s until net_l3 sends it; *frame is where net_ipv4_send_frame builds the
 * frame and *len its length. NULL: the frame is too big (never: the stack
 * keeps to the MTU) or no mbuf is free (a lost frame: TCP retransmits).
 * The pool's data room (RTE_MBUF_DEFAULT_DATAROOM, 2048) holds a full
 * frame and net_eth_send's runt padding. */
static inline struct rte_mbuf *drv_dpdk_seg_build(struct drv_dpdk_seg *s, struct rte_mempool *pool,
						  const struct net_tcp_seg_out *seg, uint8_t **frame,
						  size_t *len)
{
	size_t n = NET_L3_HEADROOM + seg->hdr_len + seg->payload_len;
	if (n > NET_ETH_MAX_FRAME)
		return NULL;
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	if (m == NULL)
		return NULL;
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *o = f + NET_L3_HEADROOM;
	memcpy(o, seg->hdr, seg->hdr_len);
	o += seg->hdr_len;
	for (uint32_t i = 0; i < seg->iovcnt; i++) {
		memcpy(o, seg->iov[i].base, seg->iov[i].len);
		o += seg->iov[i].len;
	}
	s->m = m;
	*frame = f;
	*len = n;
	return m;
}

/* After net_ipv4_send_frame returned: an mbuf tx_frame did not take (the
 * segment was queued, copied, behind an ARP resolution, or dropped) is
 * freed. */
static inline void drv_dpdk_seg_done(struct drv_dpdk_seg *s)
{
	if (s->m != NULL) {
		rte_pktmbuf_free(s->m);
		s->m = NULL;
	}
}

/* For net_l3's tx_frame(frame, len): the mbuf to send. The segment's own
 * mbuf when frame is the one drv_dpdk_seg_build made (no copy), else a
 * fresh mbuf with a copy (*copied set). NULL: no mbuf free. */
static inline struct rte_mbuf *drv_dpdk_frame_take(struct drv_dpdk_seg *s, struct rte_mempool *pool,
						   const uint8_t *frame, size_t len, bool *copied)
{
	struct rte_mbuf *m = s->m;
	if (m != NULL && frame == rte_pktmbuf_mtod(m, const uint8_t *)) {
		s->m = NULL; /* the caller's tx burst owns it now */
		m->data_len = (uint16_t)len;
		m->pkt_len = (uint32_t)len;
		*copied = false;
		return m;
	}
	m = rte_pktmbuf_alloc(pool);
	if (m == NULL)
		return NULL;
	char *p = rte_pktmbuf_append(m, (uint16_t)len);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, frame, len);
	*copied = true;
	return m;
}

#endif

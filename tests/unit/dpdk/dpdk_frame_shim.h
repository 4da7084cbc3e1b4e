/* drv_dpdk_frame_tcp_csum (drivers/dpdk/drv_dpdk_frame.h) on an mbuf laid
 * over the caller's buffer, for test_dpdk_frame.cpp: DPDK's headers are not
 * pedantic C++17, so the mbuf lives in dpdk_frame_shim.c. No mempool, no
 * EAL. */
#ifndef DPDK_FRAME_SHIM_H
#define DPDK_FRAME_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dpdk_frame_shim_out {
	uint64_t ol_flags;
	unsigned l2_len, l3_len;
	bool tx_tcp_cksum, tx_ipv4; /* RTE_MBUF_F_TX_TCP_CKSUM / _TX_IPV4 set */
};

/* frame[0..len) is the mbuf's data; it is changed in place. */
void dpdk_frame_shim_tcp_csum(uint8_t *frame, uint16_t len, bool offload,
			      struct dpdk_frame_shim_out *out);

#ifdef __cplusplus
}
#endif
#endif

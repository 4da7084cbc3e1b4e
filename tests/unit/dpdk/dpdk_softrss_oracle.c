/* The test oracle for the steering: DPDK's own rte_softrss() over
 * struct rte_ipv4_tuple, in C (DPDK's headers do not compile as pedantic
 * C++17). Independent of drv_dpdk_steer.c's use of it: the tuple is built
 * here from the arguments. */
#include "dpdk_softrss_oracle.h"

#include <string.h>

#include <rte_thash.h>

uint32_t dpdk_oracle_softrss_v4(const uint8_t *key, uint32_t saddr, uint32_t daddr, uint16_t sport,
				uint16_t dport)
{
	union rte_thash_tuple t;

	memset(&t, 0, sizeof(t));
	t.v4.src_addr = saddr;
	t.v4.dst_addr = daddr;
	t.v4.sport = sport;
	t.v4.dport = dport;
	/* the key is read as uint32_t words: copy it to an aligned buffer */
	uint32_t k[10];
	memcpy(k, key, sizeof(k));
	return rte_softrss((uint32_t *)&t.v4, RTE_THASH_V4_L4_LEN, (const uint8_t *)k);
}

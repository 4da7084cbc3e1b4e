/* rte_softrss() for the steering test (dpdk_softrss_oracle.c). */
#ifndef DPDK_SOFTRSS_ORACLE_H
#define DPDK_SOFTRSS_ORACLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* rte_softrss over the IPv4 L4 tuple (host byte order), 40-byte key */
uint32_t dpdk_oracle_softrss_v4(const uint8_t *key, uint32_t saddr, uint32_t daddr, uint16_t sport,
				uint16_t dport);

#ifdef __cplusplus
}
#endif
#endif

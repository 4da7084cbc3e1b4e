/* Software flow steering: symmetric Toeplitz hash + RETA (see
 * drv_dpdk_steer.h for why and how it matches hardware RSS). */
#include "drv_dpdk_steer.h"

#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_thash.h>

_Static_assert(DRV_DPDK_RSS_IPV4 == RTE_ETH_RSS_IPV4, "RTE_ETH_RSS_IPV4 moved");
_Static_assert(DRV_DPDK_RSS_NONFRAG_IPV4_TCP == RTE_ETH_RSS_NONFRAG_IPV4_TCP,
	       "RTE_ETH_RSS_NONFRAG_IPV4_TCP moved");

/* The symmetric key: 0x6d5a repeated (Woo & Park, "Scalable TCP Session
 * Monitoring with Symmetric Receive-side Scaling", 2012). The Toeplitz
 * hash XORs, for every set input bit i, the 32 key bits starting at bit i;
 * with a key of period 16 those windows depend only on i mod 16, so the
 * hash is a function of the XOR of the tuple's 16-bit words, which does
 * not change when src/dst addresses and ports are swapped. */
static const uint8_t steer_key_sym[DRV_DPDK_STEER_KEY_LEN] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

void drv_dpdk_steer_key_fill(uint8_t *key, size_t len)
{
	for (size_t i = 0; i < len; i++)
		key[i] = steer_key_sym[i % 2];
}

int drv_dpdk_steer_init(struct drv_dpdk_steer *s, unsigned nworkers, unsigned reta_size)
{
	if (reta_size == 0)
		reta_size = 128;
	if (reta_size < 64 || reta_size > DRV_DPDK_STEER_RETA_MAX ||
	    (reta_size & (reta_size - 1)) != 0)
		return -EINVAL;
	if (nworkers == 0 || nworkers > DRV_DPDK_STEER_WORKERS_MAX || nworkers > reta_size)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	memcpy(s->key, steer_key_sym, sizeof(s->key));
	s->reta_size = reta_size;
	s->nworkers = nworkers;
	for (unsigned i = 0; i < reta_size; i++)
		s->reta[i] = (uint16_t)(i % nworkers);
	return 0;
}

uint32_t drv_dpdk_steer_hash(const struct drv_dpdk_steer *s, uint32_t saddr, uint32_t daddr,
			     uint16_t sport, uint16_t dport)
{
	struct rte_ipv4_tuple t;

	memset(&t, 0, sizeof(t));
	t.src_addr = saddr;
	t.dst_addr = daddr;
	t.sport = sport;
	t.dport = dport;
	return rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, s->key);
}

unsigned drv_dpdk_steer_worker(const struct drv_dpdk_steer *s, uint32_t saddr, uint32_t daddr,
			       uint16_t sport, uint16_t dport)
{
	return drv_dpdk_steer_worker_of_hash(s, drv_dpdk_steer_hash(s, saddr, daddr, sport, dport));
}

unsigned drv_dpdk_steer_worker_l3(const struct drv_dpdk_steer *s, uint32_t saddr, uint32_t daddr)
{
	struct rte_ipv4_tuple t;

	memset(&t, 0, sizeof(t));
	t.src_addr = saddr;
	t.dst_addr = daddr;
	return drv_dpdk_steer_worker_of_hash(
	    s, rte_softrss((uint32_t *)&t, RTE_THASH_V4_L3_LEN, s->key));
}

int drv_dpdk_steer_pick_sport(const struct drv_dpdk_steer *s, uint32_t laddr, uint32_t raddr,
			      uint16_t rport, unsigned worker, uint16_t lo, uint16_t hi,
			      uint16_t start, int (*port_free)(void *arg, uint16_t sport),
			      void *arg)
{
	if (worker >= s->nworkers || lo == 0 || lo > hi)
		return -EINVAL;
	uint32_t span = (uint32_t)hi - lo + 1;
	uint32_t off = (start >= lo && start <= hi) ? (uint32_t)(start - lo) : 0;

	/* Outgoing packets are laddr:sport -> raddr:rport; the replies hash
	 * the same (symmetric key), so one check covers both directions. */
	for (uint32_t n = 0; n < span; n++) {
		uint16_t port = (uint16_t)(lo + (off + n) % span);
		if (drv_dpdk_steer_worker(s, laddr, raddr, port, rport) != worker)
			continue;
		if (port_free == NULL || port_free(arg, port))
			return port;
	}
	return -EADDRNOTAVAIL;
}

enum drv_dpdk_rss_mode drv_dpdk_rss_decide(const struct drv_dpdk_rss_caps *caps,
					   unsigned nworkers, struct drv_dpdk_rss_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->reta_size = 128; /* software: the table pick_sport and steering share */
	if (nworkers <= 1) {
		plan->mode = DRV_DPDK_RSS_ONE_QUEUE;
		plan->why = "one worker: no flow steering";
		return plan->mode;
	}
	plan->mode = DRV_DPDK_RSS_SOFTWARE;
	unsigned r = caps->reta_size;
	if (caps->vdev)
		plan->why = "a vdev's RSS is no Toeplitz hash of our key: software steering";
	else if (!(caps->flow_type_rss_offloads & DRV_DPDK_RSS_NONFRAG_IPV4_TCP))
		plan->why = "the port's RSS does not hash TCP over IPv4: software steering";
	else if (caps->hash_key_size < 16)
		plan->why = "the port's RSS takes no key of ours: software steering";
	else if (r < 64 || r > DRV_DPDK_STEER_RETA_MAX || (r & (r - 1)) != 0 || r < nworkers)
		plan->why = "the port's RSS redirection table does not fit: software steering";
	else if (caps->max_rx_queues < nworkers)
		plan->why = "the port has fewer rx queues than workers";
	else {
		plan->mode = DRV_DPDK_RSS_HARDWARE;
		/* IPv4 too where offered: fragments and ICMP land on the L3
		 * hash's worker, as drv_dpdk_steer_worker_l3 says */
		plan->rss_hf = caps->flow_type_rss_offloads &
			       (DRV_DPDK_RSS_NONFRAG_IPV4_TCP | DRV_DPDK_RSS_IPV4);
		plan->reta_size = (uint16_t)r;
		plan->key_len = caps->hash_key_size;
		plan->why = "hardware RSS, symmetric key, RETA over the workers";
	}
	return plan->mode;
}

/* Software flow steering for the dpdk driver (issue 6): both directions of
 * a TCP connection are handled by one worker.
 *
 * The vdevs used here (net_memif, net_af_packet, net_tap) have no Toeplitz
 * RSS (docs/dpdk-notes.md section 4), so the driver computes, for every
 * packet a worker receives, the worker that owns its flow, and passes it
 * over a ring when that is another worker. The function is the one
 * hardware RSS computes: the Toeplitz hash (rte_softrss() of DPDK's
 * rte_thash.h, Microsoft RSS spec) of the IPv4 4-tuple with a *symmetric*
 * key (0x6d5a repeated: its period is 16 bits, so swapping the two
 * addresses and the two ports gives the same hash), its low bits indexing
 * a redirection table (RETA) of 128 or 512 entries that maps to a worker.
 * A port that has RSS, configured with drv_dpdk_steer.key and a RETA whose
 * entry i is queue reta[i] (queue index == worker index), delivers every
 * packet to the worker this function names, so software only re-checks.
 *
 * No EAL needed: everything here is plain arithmetic on the caller's
 * struct (no rte_malloc), so it runs in unit tests without rte_eal_init.
 *
 * All addresses and ports are in HOST byte order (convert with
 * rte_be_to_cpu_32/16 when reading them from a header).
 *
 * Threads: a struct drv_dpdk_steer is written once by drv_dpdk_steer_init
 * (control, before workers start) and then only read, by any thread.
 */
#ifndef DRV_DPDK_STEER_H
#define DRV_DPDK_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Toeplitz key length: 40 bytes, the rss_key_len most NICs take (ixgbe,
 * ice, mlx5, virtio); rte_softrss reads 4 bytes past the tuple, so a
 * 12-byte IPv4 L4 tuple needs only 16 of them. */
#define DRV_DPDK_STEER_KEY_LEN 40
/* largest RETA (the ice/i40e-class 512; ixgbe/virtio-class use 128) */
#define DRV_DPDK_STEER_RETA_MAX 512
/* at most one worker per RETA entry of the smallest table */
#define DRV_DPDK_STEER_WORKERS_MAX 128

struct drv_dpdk_steer {
	/* the symmetric key, in the byte order a NIC takes it
	 * (rte_eth_rss_conf.rss_key). First member: rte_softrss reads it as
	 * uint32_t words, so it needs the struct's 4-byte alignment. */
	uint8_t key[DRV_DPDK_STEER_KEY_LEN];
	/* RETA: entry i -> worker (== rx queue) index; entries i mod nworkers */
	uint16_t reta[DRV_DPDK_STEER_RETA_MAX];
	uint32_t reta_size; /* power of two, 64..DRV_DPDK_STEER_RETA_MAX */
	uint32_t nworkers;  /* 1..DRV_DPDK_STEER_WORKERS_MAX */
};

/* Fills *s: the 0x6d5a key, reta[i] = i % nworkers (what rte_eth_dev's
 * default RETA is for nworkers queues). reta_size: 128 or 512 normally
 * (any power of two 64..512; 0 means 128). Returns 0, or -EINVAL (nworkers
 * 0 or above DRV_DPDK_STEER_WORKERS_MAX or above reta_size, reta_size not
 * a power of two in range). */
int drv_dpdk_steer_init(struct drv_dpdk_steer *s, unsigned nworkers, unsigned reta_size);

/* Writes the symmetric key pattern (0x6d, 0x5a repeated) into key[0..len)
 * for a device whose hash key is not 40 bytes (rte_eth_dev_info.hash_key_size,
 * e.g. 52 on i40e): the hash of an IPv4 4-tuple reads only the first 16
 * bytes, so every length gives the same hash as drv_dpdk_steer.key. */
void drv_dpdk_steer_key_fill(uint8_t *key, size_t len);

/* The 32-bit Toeplitz hash of the IPv4 TCP/UDP 4-tuple, exactly
 * rte_softrss() over struct rte_ipv4_tuple with s->key (what a NIC stores
 * in mbuf->hash.rss for RTE_ETH_RSS_NONFRAG_IPV4_TCP). Symmetric. */
uint32_t drv_dpdk_steer_hash(const struct drv_dpdk_steer *s, uint32_t saddr, uint32_t daddr,
			     uint16_t sport, uint16_t dport);

/* The worker for a hash: reta[hash & (reta_size - 1)]. Use it directly
 * with mbuf->hash.rss when the port filled it (RTE_MBUF_F_RX_RSS_HASH) with
 * this key. */
static inline unsigned drv_dpdk_steer_worker_of_hash(const struct drv_dpdk_steer *s, uint32_t hash)
{
	return s->reta[hash & (s->reta_size - 1)];
}

/* The worker owning the flow (saddr:sport <-> daddr:dport), either
 * direction. */
unsigned drv_dpdk_steer_worker(const struct drv_dpdk_steer *s, uint32_t saddr, uint32_t daddr,
			       uint16_t sport, uint16_t dport);

/* The worker for a packet with no ports (ICMP, fragments): the L3-only
 * Toeplitz hash (RTE_THASH_V4_L3_LEN), also symmetric. */
unsigned drv_dpdk_steer_worker_l3(const struct drv_dpdk_steer *s, uint32_t saddr, uint32_t daddr);

/* For an outgoing connection laddr:? -> raddr:rport opened by worker
 * `worker`: a local port in [lo, hi] such that the connection's packets
 * (both directions) steer to `worker`, and port_free (may be NULL = every
 * port free) says it is free: port_free(arg, sport) returns 1 if local port
 * sport is free for (laddr, raddr, rport) (not in the caller's connection
 * table, not a listener), 0 if taken; arg is the caller's, passed through. The search starts at
 * `start` (clamped into the range; pass the caller's ephemeral cursor and advance it past the
 * result) and wraps once, so it is bounded by hi - lo + 1 hashes.
 *
 * Why a search and not rte_thash_get_complement/rte_thash_adjust_tuple:
 * those need an rte_thash_ctx, which is created with rte_zmalloc (EAL
 * memory) and which rewrites the key's bits under the helper's subtuple
 * (an LFSR m-sequence), breaking the symmetric key that steering both
 * directions relies on. With the 16-bit-periodic key, one in about
 * nworkers ports lands on a given worker, so the search takes ~nworkers
 * hashes (12-byte Toeplitz each) on average.
 *
 * Returns the port (lo..hi), -EINVAL (worker >= nworkers, lo > hi, lo 0),
 * or -EADDRNOTAVAIL (no free port in the range steers to worker). */
int drv_dpdk_steer_pick_sport(const struct drv_dpdk_steer *s, uint32_t laddr, uint32_t raddr,
			      uint16_t rport, unsigned worker, uint16_t lo, uint16_t hi,
			      uint16_t start, int (*port_free)(void *arg, uint16_t sport),
			      void *arg);


/* --- hardware RSS: use it where the port has it ----------------------------
 *
 * A port whose RSS hashes TCP over IPv4 with a key we may set is given the
 * symmetric key and a RETA of the workers (entry i -> queue i mod
 * nworkers, the drv_dpdk_steer table): it then puts every packet on the
 * queue of the worker drv_dpdk_steer_worker names, and the driver skips
 * the per-packet software hash: it reads the port's hash from the mbuf
 * (RTE_MBUF_F_RX_RSS_HASH) and looks the owner up in the RETA, so a
 * packet still reaches its owner if the port's table differs (ARP is
 * still copied to every worker). The
 * vdevs here (memif, af_packet, tap) have no such RSS, so they get
 * software steering, which stays correct whatever queue a packet used.
 *
 * The decision is plain arithmetic on the device's capabilities (the
 * fields of rte_eth_dev_info it reads, copied by the caller) so it is
 * unit-tested without EAL or hardware. */

/* rte_ethdev.h's RTE_ETH_RSS_* bits (DPDK 22.11; checked at compile time
 * in drv_dpdk_steer.c) */
#define DRV_DPDK_RSS_IPV4	      (1ull << 2)
#define DRV_DPDK_RSS_NONFRAG_IPV4_TCP (1ull << 4)

enum drv_dpdk_rss_mode {
	DRV_DPDK_RSS_ONE_QUEUE, /* one worker: no steering at all */
	DRV_DPDK_RSS_SOFTWARE,	/* the driver hashes every packet, rings to the owner */
	DRV_DPDK_RSS_HARDWARE,	/* the port's RSS with our key and RETA */
};

struct drv_dpdk_rss_caps {		 /* from rte_eth_dev_info */
	uint64_t flow_type_rss_offloads; /* RTE_ETH_RSS_* the port can hash */
	uint16_t reta_size;		 /* 0: no redirection table */
	uint8_t hash_key_size;		 /* 0: the port takes no key (or only its own) */
	uint16_t max_rx_queues;
	bool vdev; /* a virtual device (net_tap advertises RSS types it does not hash) */
};

struct drv_dpdk_rss_plan {
	enum drv_dpdk_rss_mode mode;
	uint64_t rss_hf;    /* HARDWARE: rte_eth_rss_conf.rss_hf */
	uint16_t reta_size; /* HARDWARE: the port's RETA; always: drv_dpdk_steer_init's */
	uint8_t key_len;    /* HARDWARE: rss_key_len (hash_key_size) */
	const char *why;    /* for the start-up log */
};

/* What to do on a port with caps for nworkers queues. Hardware needs TCP
 * over IPv4 in the offloads, a key size of at least 16 bytes (the IPv4
 * 4-tuple's hash reads 16; drv_dpdk_steer_key_fill fills any length), and
 * a RETA of 64..512 entries, a power of two, no smaller than nworkers.
 * The port must not be a vdev: net_tap lists ipv4-tcp and a 40-byte key
 * but programs no Toeplitz hash (docs/dpdk-notes.md 4). Anything else:
 * software (ONE_QUEUE for 1 worker). Returns the mode. */
enum drv_dpdk_rss_mode drv_dpdk_rss_decide(const struct drv_dpdk_rss_caps *caps,
					   unsigned nworkers, struct drv_dpdk_rss_plan *plan);

#ifdef __cplusplus
}
#endif
#endif

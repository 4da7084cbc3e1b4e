/* Internals shared by the dpdk driver's files. */
#ifndef DRV_DPDK_INT_H
#define DRV_DPDK_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "drv_dpdk.h"
#include "drv_dpdk_fault.h"
#include "drv_dpdk_steer.h"
#include "net_ipv4.h"
#include "net_tcp.h"

/* rx and tx bursts. 16, not DPDK's customary 32: a producer's link credit
 * (linkCapacity, qdrouterd's 250) comes back only in the flush after the
 * poll that forwarded its messages, and 32 full 1500-byte frames hold ~220
 * 100-byte transfers, nearly the whole window: the producer then waits a
 * poll for credit every poll. Over memif here (quiet, 2 rounds each): 32
 * gave 3.27-3.48M msg/s with the worker 60% busy, 16 gave 4.69-4.79M, 8
 * 4.88-5.00M; busy cycles per message 456-488, 486-498, 501-517. With
 * linkCapacity 1000, 32 and 16 both saturate the worker (5.3-5.5M). */
#define DRV_DPDK_BURST	    16
#define DRV_DPDK_RX_DESC    1024
#define DRV_DPDK_TX_DESC    1024
#define DRV_DPDK_MBUFS	    8191 /* per queue: 2^n - 1, as rte_mempool prefers */
#define DRV_DPDK_MBUF_CACHE 256
#define DRV_DPDK_IDLE_POLLS 256	 /* empty polls before the idle back-off sleeps */
#define DRV_DPDK_STEER_RING 4096 /* packets waiting for their owning worker */
/* ethdev ids the port_index map covers (RTE_MAX_ETHPORTS is 32 in Debian's
 * build; rte_config.h is not included here) */
#define DRV_DPDK_MAX_ETHDEV 1024

struct rte_mempool;
struct rte_ring;

/* One port, as drv_dpdk_setup left it. */
struct drv_dpdk_port {
	struct drv_dpdk_port_config cfg; /* spec, address, prefix, gateway */
	/* configured: rte_eth_dev_configure succeeded, so the port must be
	 * closed (its rx queues hold mbufs of our pools) before the pools go */
	bool configured, started;
	uint16_t port; /* the ethdev's id */
	char name[64];
	struct net_mac mac;
	struct rte_mempool *pools[DP_MAX_WORKERS]; /* per queue (= worker), on its socket */
	/* software flow steering: which worker owns a flow (the RETA can
	 * differ between ports: the hardware's size) */
	struct drv_dpdk_steer steer;
	/* DRV_DPDK_RSS_HARDWARE: the port's RSS already put each packet on
	 * its owner's queue; the workers skip the software hash */
	enum drv_dpdk_rss_mode rss_mode;
	const char *rss_why; /* the decision, for the start-up log */
	/* the port computes TCP checksums on tx and checks them on rx
	 * (offered both ways, and no fault injection: it corrupts frames
	 * after the port's rx check and before its tx sum); else the workers
	 * do, in software */
	bool csum_offload;
};

/* Written by control before the workers launch, read-only after. */
struct drv_dpdk_global {
	struct drv_dpdk_config cfg;
	bool eal_up;
	uint16_t n_queues;
	unsigned n_ports;
	struct drv_dpdk_port ports[DRV_DPDK_MAX_PORTS];
	/* ethdev id -> index in ports (a steered mbuf's m->port), 0xff: none */
	uint8_t port_index[DRV_DPDK_MAX_ETHDEV];
	uint64_t tsc_hz;
	unsigned lcores[DP_MAX_WORKERS];
	bool launched[DP_MAX_WORKERS];
	/* fault injection (tests): dpdkFaultInjection, parsed once */
	struct drv_dpdk_fault_spec fault;
	/* each worker's ring of packets other workers received for it, from
	 * any port (m->port says which; multi-producer, single-consumer;
	 * lock-free) */
	struct rte_ring *rings[DP_MAX_WORKERS];
	struct {
		uint16_t idx; /* control's listener index */
		uint16_t port;
		uint32_t addr;
	} listeners[NET_TCP_MAX_LISTENERS];
	unsigned n_listeners;
};

extern struct drv_dpdk_global drv_dpdk_g;

#endif

/* The dpdk driver (issue 6; docs/adr/0005-dpdk-driver.md): DPDK poll-mode
 * I/O on pinned lcores with the project's own ARP/IPv4/ICMP/TCP
 * (dataplane/net), under the unchanged AMQP engine of dp_worker.
 *
 * Life cycle, all from the control thread:
 *   drv_dpdk_setup()        EAL init (the calling thread becomes the main
 *                           lcore), the ports, one rx/tx queue pair and one
 *                           mempool per worker on each, port start
 *   drv_dpdk_add_listener() native TCP listeners every worker serves
 *   dp_worker_init(.., &drv_dpdk_ops)  per-worker stacks (worker_init)
 *   drv_dpdk_launch()       each worker's loop on its own worker lcore
 *   drv_dpdk_wait()         after DP_EVT_STOPPED from every worker
 *   drv_dpdk_teardown()     port stop/close, EAL cleanup
 *
 * The worker thread owns everything of its worker (queue pair, mempool
 * cache, stacks, flow table); the driver's globals are written before the
 * launch and only read after. */
#ifndef DRV_DPDK_H
#define DRV_DPDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_worker.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DRV_DPDK_MAX_PORTS 8

/* One port: its vdev spec ("net_tap0,iface=x") or PCI address, and the
 * native stack's address on it. */
struct drv_dpdk_port_config {
	const char *spec;
	uint32_t addr; /* host order */
	uint8_t prefix_len;
	uint32_t gateway; /* 0: none (at most one port has one: the default route) */
};

struct drv_dpdk_config {
	const char *eal;   /* EAL arguments, space-separated */
	const char *ports; /* n_ports 0: the only port, a vdev spec or PCI address */
	uint32_t addr;	   /* n_ports 0: our IPv4 address on it, host order */
	uint8_t prefix_len;
	uint32_t gateway;	  /* n_ports 0: its gateway; 0: none */
	uint32_t idle_backoff_us; /* 0: busy poll */
	const char *fault;	  /* fault injection spec, NULL/"": none */
	unsigned n_workers;
	bool hugepages; /* false: the EAL gets --no-huge (unless dpdkEal has it) */
	/* more than one port (dpdkPorts with ';'): every worker gets a queue
	 * pair on each; 0: the single port above */
	unsigned n_ports;
	struct drv_dpdk_port_config port[DRV_DPDK_MAX_PORTS];
	uint16_t mtu; /* every port's IP MTU (dpdkMtu); 0: 1500 */
};

/* 0, or -1 with the reason in err. */
int drv_dpdk_setup(const struct drv_dpdk_config *cfg, char *err, size_t errlen);
/* A listener (control's index) on addr (0: any of ours) and port. 0 or -1. */
int drv_dpdk_add_listener(uint16_t listener, uint32_t addr, uint16_t port);
/* The CPU worker i will run on (its lcore's), for pinning and stats. */
int drv_dpdk_worker_cpu(unsigned i);
/* Start w's loop (dp_worker_main) on its lcore. 0 or -1. */
int drv_dpdk_launch(struct dp_worker *w);
/* Wait for every launched worker to return. */
void drv_dpdk_wait(void);
void drv_dpdk_teardown(void);
/* "net_tap0 (port 0, 1 queue pair, 02:..:..)" for the start-up log (one
 * such part per port, "; "-separated). */
const char *drv_dpdk_describe(char *buf, size_t n);

extern const struct drv_ops drv_dpdk_ops;

#ifdef __cplusplus
}
#endif
#endif

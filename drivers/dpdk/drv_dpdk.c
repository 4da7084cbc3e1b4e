/* The dpdk driver, process-wide part: EAL, the port, queues and mempools,
 * listeners, lcore launch. See drv_dpdk.h; the per-worker poll loop is
 * drv_dpdk_worker.c. */
#include "drv_dpdk.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "drv_dpdk_int.h"
#include "drv_dpdk_mtu.h"
#include "drv_dpdk_name.h"
#include "drv_dpdk_unmap.h"

struct drv_dpdk_global drv_dpdk_g;

#define MAX_EAL_ARGS 128

static void errf(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

/* argv for rte_eal_init: our name, the configured arguments split at
 * spaces, and each port (a vdev, or a PCI address to allow). */
static int build_argv(const struct drv_dpdk_global *g, char *buf, size_t bufn, char **argv,
		      char portarg[][512])
{
	const struct drv_dpdk_config *cfg = &g->cfg;
	int argc = 0;
	bool no_huge = false;
	argv[argc++] = (char *)(uintptr_t) "rpcrouterd";
	snprintf(buf, bufn, "%s", cfg->eal ? cfg->eal : "");
	for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (argc >= MAX_EAL_ARGS - 2 - 2 * DRV_DPDK_MAX_PORTS)
			return -1;
		no_huge |= strcmp(t, "--no-huge") == 0;
		argv[argc++] = t;
	}
	if (!cfg->hugepages && !no_huge)
		argv[argc++] = (char *)(uintptr_t) "--no-huge"; /* dataplane hugepages: no */
	for (unsigned p = 0; p < g->n_ports; p++) {
		const char *spec = g->ports[p].cfg.spec;
		if (strncmp(spec, "net_", 4) == 0) {
			snprintf(portarg[p], 512, "--vdev=%s", spec);
		} else {
			argv[argc++] = (char *)(uintptr_t) "-a";
			snprintf(portarg[p], 512, "%s", spec);
		}
		argv[argc++] = portarg[p];
	}
	argv[argc] = NULL;
	return argc;
}

/* The RETA the steering computes (entry i -> worker i mod nq) into the
 * port, in its 64-entry groups. 0 or a negative errno. */
static int rss_reta_set(uint16_t port, const struct drv_dpdk_steer *st)
{
	struct rte_eth_rss_reta_entry64 reta[DRV_DPDK_STEER_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	memset(reta, 0, sizeof(reta));
	for (uint32_t i = 0; i < st->reta_size; i++) {
		reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
		reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = st->reta[i];
	}
	return rte_eth_dev_rss_reta_update(port, reta, (uint16_t)st->reta_size);
}

/* Port pp (already probed by the EAL) with nq queue pairs, its pools,
 * steering and RSS decision, started. 0, or -1 with the reason in err. */
static int port_setup(struct drv_dpdk_global *g, struct drv_dpdk_port *pp, unsigned pi, char *err,
		      size_t errlen)
{
	const char *spec = pp->cfg.spec;
	char name[256];
	drv_dpdk_port_name(spec, name, sizeof(name)); /* "3b:00.0" is "0000:3b:00.0" */
	uint16_t port;
	if (rte_eth_dev_get_port_by_name(name, &port) != 0) {
		/* one port: whatever the EAL found (a PCI address is not the
		 * ethdev's name on every bus) */
		if (g->n_ports != 1 || rte_eth_dev_count_avail() != 1) {
			errf(err, errlen, "dpdkPorts '%s': no such port (%u ports found)", spec,
			     (unsigned)rte_eth_dev_count_avail());
			return -1;
		}
		RTE_ETH_FOREACH_DEV(port) break;
	}
	if (port >= DRV_DPDK_MAX_ETHDEV || g->port_index[port] != 0xff) {
		errf(err, errlen, "dpdkPorts '%s': port %u is another entry's too", spec, port);
		return -1;
	}
	g->port_index[port] = (uint8_t)pi;
	pp->port = port;
	snprintf(pp->name, sizeof(pp->name), "%.63s", name);
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port, &info) != 0) {
		errf(err, errlen, "port %s: no device info", name);
		return -1;
	}
	/* its PMD unmaps the shared regions on the interrupt thread when
	 * the peer goes, under the workers' feet: drv_dpdk_unmap.h */
	if (info.driver_name && strcmp(info.driver_name, "net_memif") == 0)
		drv_dpdk_unmap_arm();
	/* dpdkMtu: the port's MTU and the data room of its pools */
	struct drv_dpdk_mtu_port mp = {name, info.driver_name, info.min_mtu, info.max_mtu,
				       info.max_rx_pktlen, drv_dpdk_memif_bsize(spec)};
	struct drv_dpdk_mtu_plan mtu;
	if (drv_dpdk_mtu_decide(&mp, g->cfg.mtu, &mtu, err, errlen) != 0)
		return -1;
	uint16_t nq = g->n_queues;
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		errf(err, errlen,
		     "port %s has %u rx / %u tx queues; %u workers need one pair each (af_packet: "
		     "qpairs=N)",
		     name, info.max_rx_queues, info.max_tx_queues, nq);
		return -1;
	}
	/* hardware RSS with the symmetric key where the port has it; else
	 * (the vdevs here: docs/dpdk-notes.md 4) the driver steers flows to
	 * their worker in software */
	struct drv_dpdk_rss_caps caps = {info.flow_type_rss_offloads, info.reta_size,
					 info.hash_key_size, info.max_rx_queues,
					 strncmp(spec, "net_", 4) == 0 /* as build_argv */};
	struct drv_dpdk_rss_plan plan;
	drv_dpdk_rss_decide(&caps, nq, &plan);
	static uint8_t rss_key[256];
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	if (mtu.set_port_mtu)
		conf.rxmode.mtu = mtu.mtu;
	if (plan.mode == DRV_DPDK_RSS_HARDWARE) {
		drv_dpdk_steer_key_fill(rss_key, plan.key_len);
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = plan.key_len;
		conf.rx_adv_conf.rss_conf.rss_hf = plan.rss_hf;
		/* the hash in every mbuf: the workers read the owner from it */
		if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
	}
	/* TCP checksums by the port where it offers both directions, else in
	 * software by the workers (drv_dpdk_frame_tcp_csum, rx_csum_ok) */
	pp->csum_offload = !g->fault.any &&
			   (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) &&
			   (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
	if (pp->csum_offload) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	}
	int rc = rte_eth_dev_configure(port, nq, nq, &conf);
	if (rc != 0 && pp->csum_offload) {
		pp->csum_offload = false; /* refused: checksums in software */
		conf.txmode.offloads &= ~RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
		conf.rxmode.offloads &= ~RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
		rc = rte_eth_dev_configure(port, nq, nq, &conf);
	}
	if (rc != 0 && plan.mode == DRV_DPDK_RSS_HARDWARE) {
		plan.mode = DRV_DPDK_RSS_SOFTWARE; /* the port refused our key: steer in software */
		plan.reta_size = 128;
		plan.why = "the port refused the RSS configuration: software steering";
		uint64_t txo = conf.txmode.offloads, rxo = conf.rxmode.offloads;
		memset(&conf, 0, sizeof(conf));
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
		conf.rxmode.mtu = mtu.set_port_mtu ? mtu.mtu : 0;
		conf.txmode.offloads = txo;
		conf.rxmode.offloads = rxo & ~RTE_ETH_RX_OFFLOAD_RSS_HASH;
		rc = rte_eth_dev_configure(port, nq, nq, &conf);
	}
	if (rc != 0) {
		errf(err, errlen, "port %s: configure %u queues: %s", name, nq, rte_strerror(-rc));
		return -1;
	}
	pp->configured = true;
	uint16_t nrx = DRV_DPDK_RX_DESC, ntx = DRV_DPDK_TX_DESC;
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	int sock = rte_eth_dev_socket_id(port);
	if (sock < 0)
		sock = (int)rte_socket_id(); /* a vdev has no NUMA node: ours */
	for (uint16_t q = 0; q < nq; q++) {
		char pname[RTE_MEMPOOL_NAMESIZE];
		/* port 0's keep their old names */
		if (pi == 0)
			snprintf(pname, sizeof(pname), "rr_mbuf_%u", q);
		else
			snprintf(pname, sizeof(pname), "rr_mbuf_p%u_%u", pi, q);
		/* on the port's socket (NUMA): the NIC DMAs into it */
		pp->pools[q] = rte_pktmbuf_pool_create(pname, DRV_DPDK_MBUFS, DRV_DPDK_MBUF_CACHE, 0,
						       mtu.data_room, sock);
		if (pp->pools[q] == NULL) {
			errf(err, errlen,
			     "mempool for port %s queue %u (%u mbufs of %u bytes on socket %d): %s "
			     "(more EAL memory: -m)",
			     name, q, DRV_DPDK_MBUFS, mtu.data_room, sock, rte_strerror(rte_errno));
			return -1;
		}
		rc = rte_eth_rx_queue_setup(port, q, nrx, (unsigned)sock, NULL, pp->pools[q]);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, q, ntx, (unsigned)sock, NULL);
		if (rc != 0) {
			errf(err, errlen, "port %s: queue %u setup: %s", name, q,
			     rte_strerror(-rc));
			return -1;
		}
	}
	/* both directions of a connection on one worker (DESIGN.md): the
	 * vdevs here pick rx queues by their own hash, so a packet that lands
	 * on another worker's queue crosses to its owner on a ring */
	if (drv_dpdk_steer_init(&pp->steer, nq, plan.reta_size) != 0) {
		errf(err, errlen, "flow steering for %u workers", nq);
		return -1;
	}
	rc = rte_eth_dev_start(port);
	if (rc != 0) {
		errf(err, errlen, "port %s: start: %s", name, rte_strerror(-rc));
		return -1;
	}
	pp->started = true;
	if (plan.mode == DRV_DPDK_RSS_HARDWARE && rss_reta_set(port, &pp->steer) != 0) {
		/* the default RETA (i mod nq) is ours anyway on most PMDs, but
		 * unconfirmed: software re-steers whatever lands elsewhere */
		plan.mode = DRV_DPDK_RSS_SOFTWARE;
		plan.why = "the port refused our RSS redirection table: software steering";
	}
	pp->rss_mode = plan.mode;
	pp->rss_why = plan.why;
	struct rte_ether_addr ea;
	rte_eth_macaddr_get(port, &ea);
	memcpy(pp->mac.b, ea.addr_bytes, 6);
	if (strncmp(name, "net_tap", 7) == 0) {
		/* net_tap gives the kernel's side of the tap the port's own MAC
		 * (its mac= devarg sets both), so the kernel's frames would carry
		 * our source MAC and be dropped as looped (RFC 826 has no rule
		 * for it; net_eth counts eth_rx_bad_src). The tap delivers every
		 * frame the kernel sends to the PMD whatever its destination, so
		 * the native stack answers ARP with a MAC of its own: the port's,
		 * locally administered, last byte changed. */
		pp->mac.b[0] = (uint8_t)((pp->mac.b[0] | 0x02) & ~0x01);
		pp->mac.b[5] ^= 0x5a;
	}
	return 0;
}

int drv_dpdk_setup(const struct drv_dpdk_config *cfg, char *err, size_t errlen)
{
	struct drv_dpdk_global *g = &drv_dpdk_g;
	memset(g, 0, sizeof(*g));
	memset(g->port_index, 0xff, sizeof(g->port_index));
	g->cfg = *cfg;
	if (g->cfg.mtu == 0)
		g->cfg.mtu = NET_ETH_MTU_DEFAULT;
	if (cfg->n_workers == 0 || cfg->n_workers > DP_MAX_WORKERS) {
		errf(err, errlen, "%u workers", cfg->n_workers);
		return -1;
	}
	if (cfg->n_ports > DRV_DPDK_MAX_PORTS) {
		errf(err, errlen, "%u ports (at most %u)", cfg->n_ports, DRV_DPDK_MAX_PORTS);
		return -1;
	}
	if (cfg->n_ports == 0) {
		/* the single-port fields */
		g->n_ports = 1;
		g->ports[0].cfg = (struct drv_dpdk_port_config){cfg->ports, cfg->addr,
								cfg->prefix_len, cfg->gateway};
	} else {
		g->n_ports = cfg->n_ports;
		for (unsigned p = 0; p < cfg->n_ports; p++)
			g->ports[p].cfg = cfg->port[p];
	}
	for (unsigned p = 0; p < g->n_ports; p++)
		if (g->ports[p].cfg.spec == NULL || g->ports[p].cfg.spec[0] == 0) {
			errf(err, errlen, "dpdkPorts: port %u has no spec", p);
			return -1;
		}
	static char buf[4096], portarg[DRV_DPDK_MAX_PORTS][512];
	static char *argv[MAX_EAL_ARGS];
	int argc = build_argv(g, buf, sizeof(buf), argv, portarg);
	if (argc < 0) {
		errf(err, errlen, "dpdkEal: more than %d arguments",
		     MAX_EAL_ARGS - 2 - 2 * DRV_DPDK_MAX_PORTS);
		return -1;
	}
	/* rte_eal_init consumes (permutes) argv; it stays ours (static) */
	if (rte_eal_init(argc, argv) < 0) {
		errf(err, errlen, "EAL initialisation failed (dpdkEal '%s'): %s", cfg->eal,
		     rte_strerror(rte_errno));
		return -1;
	}
	g->eal_up = true;
	/* worker i runs on the i-th worker lcore (the main lcore is control's) */
	unsigned n = 0;
	unsigned lc;
	RTE_LCORE_FOREACH_WORKER(lc)
	{
		if (n < DP_MAX_WORKERS)
			g->lcores[n++] = lc;
	}
	if (n < cfg->n_workers) {
		errf(err, errlen,
		     "dpdkEal gives %u worker lcore%s besides the main one (control's); %u "
		     "worker%s need as many (e.g. -l 0,1 for 1 worker)",
		     n, n == 1 ? "" : "s", cfg->n_workers, cfg->n_workers == 1 ? "" : "s");
		return -1;
	}
	uint16_t nq = (uint16_t)cfg->n_workers;
	g->n_queues = nq;
	char why[256];
	if (drv_dpdk_fault_parse(cfg->fault, &g->fault, why, sizeof(why)) != 0) {
		errf(err, errlen, "dpdkFaultInjection: %s", why);
		return -1;
	}
	for (unsigned p = 0; p < g->n_ports; p++)
		if (port_setup(g, &g->ports[p], p, err, errlen) != 0)
			return -1;
	for (uint16_t q = 0; q < nq && nq > 1; q++) {
		char rname[RTE_RING_NAMESIZE];
		snprintf(rname, sizeof(rname), "rr_steer_%u", q);
		/* on the NUMA node of the worker that dequeues it (its only
		 * consumer), not control's */
		int sock = (int)rte_lcore_to_socket_id(g->lcores[q]);
		g->rings[q] = rte_ring_create(rname, DRV_DPDK_STEER_RING, sock, RING_F_SC_DEQ);
		if (g->rings[q] == NULL) {
			errf(err, errlen, "steering ring %u: %s", q, rte_strerror(rte_errno));
			return -1;
		}
	}
	g->tsc_hz = rte_get_tsc_hz();
	return 0;
}

int drv_dpdk_add_listener(uint16_t listener, uint32_t addr, uint16_t port)
{
	struct drv_dpdk_global *g = &drv_dpdk_g;
	if (g->n_listeners >= NET_TCP_MAX_LISTENERS)
		return -1;
	g->listeners[g->n_listeners].idx = listener;
	g->listeners[g->n_listeners].addr = addr;
	g->listeners[g->n_listeners].port = port;
	g->n_listeners++;
	return 0;
}

int drv_dpdk_worker_cpu(unsigned i)
{
	struct drv_dpdk_global *g = &drv_dpdk_g;
	if (!g->eal_up || i >= g->cfg.n_workers)
		return -1;
	return (int)rte_lcore_to_cpu_id((int)g->lcores[i]);
}

static int lcore_main(void *arg)
{
	dp_worker_main(arg);
	return 0;
}

int drv_dpdk_launch(struct dp_worker *w)
{
	struct drv_dpdk_global *g = &drv_dpdk_g;
	if (w->id >= g->cfg.n_workers)
		return -1;
	if (rte_eal_remote_launch(lcore_main, w, g->lcores[w->id]) != 0)
		return -1;
	g->launched[w->id] = true;
	return 0;
}

void drv_dpdk_wait(void)
{
	struct drv_dpdk_global *g = &drv_dpdk_g;
	for (unsigned i = 0; i < g->cfg.n_workers; i++)
		if (g->launched[i]) {
			rte_eal_wait_lcore(g->lcores[i]);
			g->launched[i] = false;
		}
}

void drv_dpdk_teardown(void)
{
	struct drv_dpdk_global *g = &drv_dpdk_g;
	if (!g->eal_up)
		return;
	/* every port that got as far as configure is closed, started or not
	 * (a set-up that failed at a later port's queues or start leaves
	 * earlier ones configured), before the pools its queues hold go */
	for (unsigned p = 0; p < g->n_ports; p++)
		if (g->ports[p].configured) {
			if (g->ports[p].started)
				rte_eth_dev_stop(g->ports[p].port);
			rte_eth_dev_close(g->ports[p].port);
			g->ports[p].started = false;
			g->ports[p].configured = false;
		}
	for (unsigned q = 0; q < DP_MAX_WORKERS; q++)
		if (g->rings[q]) {
			struct rte_mbuf *m;
			while (rte_ring_sc_dequeue(g->rings[q], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(g->rings[q]);
			g->rings[q] = NULL;
		}
	for (unsigned p = 0; p < g->n_ports; p++)
		for (unsigned q = 0; q < DP_MAX_WORKERS; q++)
			if (g->ports[p].pools[q]) {
				rte_mempool_free(g->ports[p].pools[q]);
				g->ports[p].pools[q] = NULL;
			}
	rte_eal_cleanup();
	g->eal_up = false;
}

const char *drv_dpdk_describe(char *buf, size_t n)
{
	struct drv_dpdk_global *g = &drv_dpdk_g;
	size_t off = 0;
	buf[0] = 0;
	for (unsigned p = 0; p < g->n_ports && off < n; p++) {
		const struct drv_dpdk_port *pp = &g->ports[p];
		char mac[18];
		net_mac_format(&pp->mac, mac, sizeof(mac));
		int k = snprintf(buf + off, n - off,
				 "%s%s (port %u, %u queue pair%s, %s; %s; TCP checksums %s)",
				 p ? "; " : "", pp->name, pp->port, g->n_queues,
				 g->n_queues == 1 ? "" : "s", mac, pp->rss_why ? pp->rss_why : "",
				 pp->csum_offload ? "by the port" : "in software");
		if (k < 0)
			break;
		off += (size_t)k;
	}
	if (off < n)
		snprintf(buf + off, n - off, "; MTU %u (TCP MSS %u)", g->cfg.mtu,
			 net_tcp_mss_for_mtu(g->cfg.mtu));
	return buf;
}

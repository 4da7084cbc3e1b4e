/* Jumbo frames (dpdkMtu, docs/dpdk.md "MTU and jumbo frames"): what a port
 * is asked for at configure time and how large its mbufs must be, decided
 * from the port's device info alone (no EAL call: unit-tested in
 * tests/unit/dpdk).
 *
 * The native stack sends IP datagrams of at most the MTU (net_l3_config.mtu)
 * and announces MSS = MTU - 40 (net_tcp_mss_for_mtu); a received frame must
 * land in one mbuf, so the pool's data room holds the largest frame the
 * port may deliver: the MTU, the Ethernet header, a VLAN tag and the FCS
 * where a port leaves them in. */
#ifndef DRV_DPDK_MTU_H
#define DRV_DPDK_MTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What rte_eth_dev_info_get says about the port. */
struct drv_dpdk_mtu_port {
	const char *name;	 /* for messages */
	const char *driver_name; /* dev_info.driver_name ("net_memif", ...) */
	uint16_t min_mtu, max_mtu;
	uint32_t max_rx_pktlen;
	uint32_t memif_bsize; /* net_memif: bsize= of its spec (drv_dpdk_memif_bsize) */
};

struct drv_dpdk_mtu_plan {
	/* rxmode.mtu = mtu at rte_eth_dev_configure; false: the ethdev default
	 * (1500) is kept: mtu is 1500, or the port is net_memif, which has
	 * no MTU of its own (both ends must be given the same dpdkMtu, and
	 * buffers that hold a whole frame: see drv_dpdk_mtu_decide) */
	bool set_port_mtu;
	uint16_t mtu;
	uint16_t data_room; /* the mbuf pool's data room, RTE_PKTMBUF_HEADROOM included */
};

/* The mbuf data room (headroom included) for frames of an IP MTU of mtu:
 * never below DPDK's default 2048-byte room. */
uint16_t drv_dpdk_mtu_data_room(uint16_t mtu);

/* net_memif's buffer size in spec ("net_memif0,...,bsize=9216"), read as
 * the PMD reads it (rte_eth_memif.c memif_set_bs through rte_kvargs): the
 * last bsize= wins, in decimal; the PMD's default 2048 without one. A value
 * the PMD refuses (0, over 65535, not a number) never gets here: the EAL's
 * probe of the port fails first. */
uint32_t drv_dpdk_memif_bsize(const char *spec);

/* The plan for mtu (576-9000) on port p: 0, or -1 with the reason in err
 * (an MTU the port cannot take, with the port's own limits named).
 * net_memif must hold a frame in one buffer (bsize >= MTU + 14): DPDK
 * 22.11's memif leaves a stale "next" flag on descriptors of a frame that
 * spanned buffers, and later frames in those slots arrive joined to what
 * follows them (fixed upstream in f7a52200d4, "net/memif: fix descriptor
 * Tx flags corruption", 2026; docs/dpdk-notes.md). */
int drv_dpdk_mtu_decide(const struct drv_dpdk_mtu_port *p, uint16_t mtu,
		           struct drv_dpdk_mtu_plan *out, char *err, size_t errlen);

/* The gap between two polls (TSC cycles) past which the worker counts it
 * as stalled (preempted or stopped) rather than busy: 200 us, plus what a
 * poll's own work can take at most, a full burst of burst frames of the
 * MTU on each of n_ports ports at DRV_DPDK_STALL_CYCLES_PER_BYTE (the
 * engine and stack cost ~2.3 cycles per byte of 100-byte messages; 4
 * leaves room). So at MTU 9000 a poll with full bursts (~130 us of work a
 * port) is busy, not stalled. */
#define DRV_DPDK_STALL_CYCLES_PER_BYTE 4u
uint64_t drv_dpdk_stall_tsc(uint64_t tsc_hz, unsigned n_ports, unsigned burst, uint16_t mtu);

#ifdef __cplusplus
}
#endif
#endif

/* dpdkMtu: the port's MTU request and its pool's data room (drv_dpdk_mtu.h). */
#include "drv_dpdk_mtu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_config.h>
#include <rte_mbuf_core.h>

#include "net_eth.h"

/* A frame past the IP MTU: Ethernet header, one 802.1Q tag and the FCS
 * (a port that does not strip them hands them in; the stack drops tagged
 * frames, but the mbuf must hold one to count it) */
#define FRAME_OVERHEAD (NET_ETH_HLEN + NET_ETH_VLAN_HLEN + 4)

uint16_t drv_dpdk_mtu_data_room(uint16_t mtu)
{
	uint32_t room = (uint32_t)mtu + FRAME_OVERHEAD;
	if (room < RTE_MBUF_DEFAULT_DATAROOM)
		room = RTE_MBUF_DEFAULT_DATAROOM;
	room = (room + 63u) & ~63u; /* whole cache lines */
	return (uint16_t)(room + RTE_PKTMBUF_HEADROOM);
}

uint32_t drv_dpdk_memif_bsize(const char *spec)
{
	/* the devargs are comma-separated key=value pairs after the name */
	uint32_t bsize = 2048; /* ETH_MEMIF_DEFAULT_PKT_BUFFER_SIZE */
	for (const char *p = spec ? strchr(spec, ',') : NULL; p; p = strchr(p + 1, ','))
		if (strncmp(p + 1, "bsize=", 6) == 0) {
			unsigned long v = strtoul(p + 7, NULL, 10);
			bsize = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		}
	return bsize;
}

int drv_dpdk_mtu_decide(const struct drv_dpdk_mtu_port *p, uint16_t mtu,
		      struct drv_dpdk_mtu_plan *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->mtu = mtu;
	out->data_room = drv_dpdk_mtu_data_room(mtu);
	if (mtu < NET_ETH_MTU_MIN || mtu > NET_ETH_MTU_MAX) {
		snprintf(err, errlen, "dpdkMtu %u: the native stack takes %u-%u", mtu,
			 NET_ETH_MTU_MIN, NET_ETH_MTU_MAX);
		return -1;
	}
	bool memif = p->driver_name && strcmp(p->driver_name, "net_memif") == 0;
	if (memif && (uint32_t)mtu + NET_ETH_HLEN > p->memif_bsize) {
		snprintf(err, errlen,
			 "port %s: dpdkMtu %u needs bsize=%u or more in the port's spec (and the "
			 "same at its peer): a frame must fit one memif buffer (%u now), since DPDK "
			 "22.11's memif corrupts frames that span buffers",
			 p->name, mtu, mtu + NET_ETH_HLEN, p->memif_bsize);
		return -1;
	}
	if (mtu == NET_ETH_MTU_DEFAULT || memif)
		return 0;
	/* what rte_eth_dev_configure checks (its error is only logged):
	 * the MTU within the port's range and, with the port's overhead,
	 * within its largest frame; said here with the port's numbers */
	uint32_t overhead = p->max_mtu != UINT16_MAX && p->max_rx_pktlen > p->max_mtu
				? p->max_rx_pktlen - p->max_mtu
				: NET_ETH_HLEN + 4;
	if (mtu > p->max_mtu || (uint32_t)mtu + overhead > p->max_rx_pktlen) {
		snprintf(err, errlen,
			 "port %s: dpdkMtu %u is more than the port takes (it reports an MTU up to "
			 "%u and frames up to %u bytes; DPDK 22.11's net_tap and net_af_packet take "
			 "1500 only; jumbo frames need a NIC that has them, or net_memif)",
			 p->name, mtu, p->max_mtu, p->max_rx_pktlen);
		return -1;
	}
	if (mtu < p->min_mtu) {
		snprintf(err, errlen, "port %s: dpdkMtu %u is below the port's smallest MTU %u",
			 p->name, mtu, p->min_mtu);
		return -1;
	}
	out->set_port_mtu = true;
	return 0;
}

uint64_t drv_dpdk_stall_tsc(uint64_t tsc_hz, unsigned n_ports, unsigned burst, uint16_t mtu)
{
	uint64_t frame = (uint64_t)(mtu ? mtu : NET_ETH_MTU_DEFAULT) + 14u;
	return tsc_hz / 5000u + (uint64_t)n_ports * burst * frame * DRV_DPDK_STALL_CYCLES_PER_BYTE;
}

/* The ethdev name of a dpdkPorts entry: what rte_eth_dev_get_port_by_name
 * finds after the EAL probed the entry (no EAL call: unit-tested in
 * tests/unit/dpdk). */
#ifndef DRV_DPDK_NAME_H
#define DRV_DPDK_NAME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The name in spec ("net_memif0,role=server", "0000:3b:00.0,txq_inline=64",
 * "3b:00.0"): the text before the first comma, with a PCI address written
 * as the PCI bus names its devices (domain:bus:device.function, lower-case
 * hex: rte_pci_device_name), since the EAL's -a takes "3b:00.0" but the
 * ethdev is "0000:3b:00.0". Anything else (a vdev, another bus) is kept as
 * written. out gets at most n - 1 characters and a NUL. */
void drv_dpdk_port_name(const char *spec, char *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif

/* dpdkPorts entry -> ethdev name (drv_dpdk_name.h). */
#include "drv_dpdk_name.h"

#include <stdio.h>
#include <string.h>

#include <rte_pci.h>

void drv_dpdk_port_name(const char *spec, char *out, size_t n)
{
	if (n == 0)
		return;
	const char *comma = strchr(spec, ',');
	size_t len = comma ? (size_t)(comma - spec) : strlen(spec);
	char name[256];
	snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) ? len : sizeof(name) - 1),
		 spec);
	/* DPDK's own parser: "DDDD:BB:DD.F" and "BB:DD.F", nothing after it */
	struct rte_pci_addr a;
	if (strncmp(name, "net_", 4) != 0 && rte_pci_addr_parse(name, &a) == 0) {
		/* it panics under PCI_PRI_STR_SIZE, and that size cuts an
		 * 8-digit domain with a 2-digit function (which its parser takes) */
		char pci[PCI_PRI_STR_SIZE + 8];
		rte_pci_device_name(&a, pci, sizeof(pci));
		snprintf(out, n, "%s", pci);
	} else {
		snprintf(out, n, "%s", name);
	}
}

/* The dataplane section's dpdk* attributes (docs/config.md, `dataplane`):
 * dpdkPorts, dpdkAddress and dpdkGateway with their ';'-separated
 * entries (one per port), dpdkEal, dpdkIdleBackoffUs, dpdkFaultInjection,
 * into cfg->dataplane.dpdk; and what the dpdk driver needs of the whole
 * configuration (ctl_config_check_dpdk: its EAL arguments, a port and an
 * address, listeners it can serve). Loaded for control/ctl_config.c
 * (ctl_config_int.h); every problem goes to cfg->diag with file and line. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config_int.h"
#include "net/net_eth.h" /* the MTU range the native stack takes */
#ifdef RR_HAVE_DPDK
#include "drv_dpdk_fault.h"
#endif

/* "a.b.c.d" (with "/len" when prefix_len is not NULL) into a host-order
 * address; false if malformed. */
static bool parse_ipv4(const char *v, uint32_t *addr, uint8_t *prefix_len)
{
	char buf[32];
	const char *slash = strchr(v, '/');
	size_t n = slash ? (size_t)(slash - v) : strlen(v);
	if (n == 0 || n >= sizeof(buf) || (slash != NULL) != (prefix_len != NULL))
		return false;
	memcpy(buf, v, n);
	buf[n] = 0;
	struct in_addr in;
	if (inet_pton(AF_INET, buf, &in) != 1)
		return false;
	*addr = ntohl(in.s_addr);
	if (prefix_len) {
		/* digits only: strtoul alone takes " 24", "+24" */
		if (slash[1] < '0' || slash[1] > '9')
			return false;
		char *end;
		errno = 0;
		unsigned long l = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || l < 1 || l > 32)
			return false;
		*prefix_len = (uint8_t)l;
	}
	return true;
}

/* buf split at ';' in place into out (empty entries kept); the number of
 * entries, max + 1 when there are more than max. */
static unsigned split_semi(char *buf, char **out, unsigned max)
{
	unsigned n = 0;
	for (char *p = buf;;) {
		char *semi = strchr(p, ';');
		if (semi)
			*semi = 0;
		if (n == max)
			return max + 1;
		out[n++] = p;
		if (semi == NULL)
			return n;
		p = semi + 1;
	}
}

/* The number of ';'-separated entries of v, however many (for messages:
 * split_semi stops counting past its max). */
static unsigned count_entries(const char *v)
{
	unsigned n = 1;
	for (; *v; v++)
		n += *v == ';';
	return n;
}

static uint32_t prefix_mask(uint8_t len)
{
	return len ? ~0u << (32 - len) : 0;
}

/* dpdkPorts: one port spec, or several separated by ';' (a spec keeps its
 * commas: net_tap0,iface=a;net_tap1,iface=b); no two name one device. */
static void load_dpdk_ports(struct ctl_config *cfg, const struct ctl_entity *e)
{
	struct ctl_dpdk *d = &cfg->dataplane.dpdk;
	unsigned line = ctl_entity_line(e, CTL_DATAPLANE_DPDK_PORTS);
	const char *v = d->ports;
	if (v == NULL)
		return;
	d->ports_buf = strdup(v);
	if (d->ports_buf == NULL) {
		fail(cfg, RR_E_NOMEM, line, "out of memory");
		return;
	}
	char *spec[CTL_DPDK_MAX_PORTS];
	unsigned n = split_semi(d->ports_buf, spec, CTL_DPDK_MAX_PORTS);
	if (n > CTL_DPDK_MAX_PORTS) {
		fail(cfg, RR_E_CONFIG_VALUE, line,
		     "dataplane: dpdkPorts: more than %u ports (%u entries separated by ';')",
		     CTL_DPDK_MAX_PORTS, count_entries(v));
		return;
	}
	/* the driver hands each to the EAL as one argument of at most
	 * CTL_DPDK_MAX_SPEC bytes ("--vdev=SPEC"); a longer one would be cut */
	for (unsigned i = 0; i < n; i++)
		if (strlen(spec[i]) > CTL_DPDK_MAX_SPEC) {
			fail(cfg, RR_E_CONFIG_VALUE, line,
			     "dataplane: dpdkPorts: port %u ('%.40s...') is %zu bytes long, longer "
			     "than a port spec can be (%u bytes)",
			     i, spec[i], strlen(spec[i]), CTL_DPDK_MAX_SPEC);
			return;
		}
	for (unsigned i = 0; i < n; i++)
		if (spec[i][0] == 0 || strpbrk(spec[i], " \t")) {
			fail(cfg, RR_E_CONFIG_VALUE, line,
			     "dataplane: dpdkPorts '%.80s' is not one vdev spec or PCI address, or "
			     "several separated by ';' (e.g. dpdkPorts: net_tap0,iface=rrtap0)",
			     v);
			return;
		}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++) {
			size_t li = strcspn(spec[i], ","), lj = strcspn(spec[j], ",");
			if (li == lj && strncmp(spec[i], spec[j], li) == 0) {
				fail(cfg, RR_E_CONFIG_VALUE, line,
				     "dataplane: dpdkPorts: port '%.*s' is given twice", (int)li,
				     spec[i]);
				return;
			}
		}
	d->n_ports = n;
	for (unsigned i = 0; i < n; i++)
		d->port[i].spec = spec[i];
}

/* The ';'-separated entries of a per-port dpdk attribute (dpdkAddress,
 * dpdkGateway): its text (NULL: not given, or longer than buf holds:
 * reported) and line; the entries split in buf, their count in *n
 * (CTL_DPDK_MAX_PORTS + 1: too many; count_entries(v) says how many). */
static const char *port_entries(struct ctl_config *cfg, const struct ctl_entity *e, unsigned attr,
				char *buf, size_t len, char **out, unsigned *n, unsigned *line)
{
	const char *v = e->values[attr];
	*line = ctl_entity_line(e, attr);
	*n = 0;
	if (v == NULL)
		return NULL;
	size_t vlen = strlen(v);
	if (vlen >= len) {
		fail(cfg, RR_E_CONFIG_VALUE, *line,
		     "dataplane: %s '%.40s...' is %zu bytes long, longer than it can be (%zu "
		     "bytes)",
		     e->def->attrs[attr].name, v, vlen, len - 1);
		return NULL;
	}
	memcpy(buf, v, vlen + 1);
	*n = split_semi(buf, out, CTL_DPDK_MAX_PORTS);
	return v;
}

/* dpdkAddress: an address/prefix per port, in dpdkPorts order, ';'
 * between them; subnets must not overlap (a destination's port would be
 * ambiguous). */
static void load_dpdk_addresses(struct ctl_config *cfg, const struct ctl_entity *e)
{
	struct ctl_dpdk *d = &cfg->dataplane.dpdk;
	char buf[CTL_DPDK_MAX_LIST + 1], *a[CTL_DPDK_MAX_PORTS];
	unsigned n, line;
	const char *v =
	    port_entries(cfg, e, CTL_DATAPLANE_DPDK_ADDRESS, buf, sizeof(buf), a, &n, &line);
	if (v == NULL)
		return;
	struct ctl_dpdk_port got[CTL_DPDK_MAX_PORTS];
	memset(got, 0, sizeof(got));
	for (unsigned i = 0; i < n && i < CTL_DPDK_MAX_PORTS; i++)
		if (!parse_ipv4(a[i], &got[i].addr, &got[i].prefix_len) || got[i].addr == 0) {
			fail(cfg, RR_E_CONFIG_VALUE, line,
			     "dataplane: dpdkAddress '%.80s' is not an IPv4 address with a prefix "
			     "length (e.g. dpdkAddress: 10.77.0.2/24)",
			     n == 1 ? v : a[i]);
			return;
		}
	if (d->ports && d->n_ports == 0)
		return; /* dpdkPorts is wrong already */
	unsigned np = d->ports ? d->n_ports : 1;
	if (n != np) {
		fail(cfg, RR_E_CONFIG_VALUE, line,
		     "dataplane: dpdkAddress has %u entr%s for %u port%s (dpdkPorts): one "
		     "address/prefix per port, in the same order, separated by ';'",
		     count_entries(v), n == 1 ? "y" : "ies", np, np == 1 ? "" : "s");
		return;
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++) {
			uint32_t m =
			    prefix_mask(got[i].prefix_len < got[j].prefix_len ? got[i].prefix_len
									      : got[j].prefix_len);
			if ((got[i].addr & m) == (got[j].addr & m)) {
				fail(cfg, RR_E_CONFIG_VALUE, line,
				     "dataplane: dpdkAddress: %.40s and %.40s overlap (each port "
				     "needs a subnet of its own)",
				     a[j], a[i]);
				return;
			}
		}
	d->addr = got[0].addr;
	d->prefix_len = got[0].prefix_len;
	for (unsigned i = 0; i < n && d->ports; i++) {
		d->port[i].addr = got[i].addr;
		d->port[i].prefix_len = got[i].prefix_len;
	}
}

/* dpdkGateway: one address (with several ports: the gateway of the port
 * whose subnet holds it), or an entry per port with empty ones
 * (;10.78.0.1); one default route at most. */
static void load_dpdk_gateways(struct ctl_config *cfg, const struct ctl_entity *e)
{
	struct ctl_dpdk *d = &cfg->dataplane.dpdk;
	char buf[CTL_DPDK_MAX_LIST + 1], *a[CTL_DPDK_MAX_PORTS];
	unsigned n, line;
	const char *v =
	    port_entries(cfg, e, CTL_DATAPLANE_DPDK_GATEWAY, buf, sizeof(buf), a, &n, &line);
	if (v == NULL)
		return;
	if (n > CTL_DPDK_MAX_PORTS) {
		/* before looking at them: the split stopped at the cap, so the
		 * entries past it were not seen (a gateway there among them) */
		unsigned np = d->n_ports ? d->n_ports : 1;
		fail(cfg, RR_E_CONFIG_VALUE, line,
		     "dataplane: dpdkGateway has %u entries for %u port%s (dpdkPorts): one, or one "
		     "per port in the same order (empty for none), separated by ';'",
		     count_entries(v), np, np == 1 ? "" : "s");
		return;
	}
	uint32_t gw[CTL_DPDK_MAX_PORTS];
	unsigned given_n = 0, which = 0;
	for (unsigned i = 0; i < n && i < CTL_DPDK_MAX_PORTS; i++) {
		gw[i] = 0;
		if (a[i][0] == 0 && n > 1)
			continue; /* no gateway on this port */
		if (!parse_ipv4(a[i], &gw[i], NULL) || gw[i] == 0) {
			fail(cfg, RR_E_CONFIG_VALUE, line,
			     "dataplane: dpdkGateway '%.80s' is not an IPv4 address (e.g. "
			     "dpdkGateway: 10.77.0.1)",
			     v);
			return;
		}
		given_n++;
		which = i;
	}
	if (given_n > 1) {
		fail(cfg, RR_E_CONFIG_VALUE, line,
		     "dataplane: dpdkGateway '%.80s': one default route only (a gateway on one "
		     "port, empty entries for the others)",
		     v);
		return;
	}
	if (given_n == 0) {
		fail(cfg, RR_E_CONFIG_VALUE, line,
		     "dataplane: dpdkGateway '%.80s' names no gateway (leave it out for none)", v);
		return;
	}
	d->gateway = 0;
	if (d->n_ports <= 1 || d->port[0].addr == 0) {
		/* one port (or dpdkPorts/dpdkAddress wrong already) */
		if (n == 1)
			d->gateway = gw[0];
		else if (d->n_ports == 1)
			fail(cfg, RR_E_CONFIG_VALUE, line,
			     "dataplane: dpdkGateway has %u entries for 1 port (dpdkPorts)",
			     count_entries(v));
		if (d->n_ports == 1)
			d->port[0].gateway = d->gateway;
		return;
	}
	unsigned port = which;
	if (n == 1) {
		/* the port on whose subnet it is */
		port = CTL_DPDK_MAX_PORTS;
		for (unsigned i = 0; i < d->n_ports; i++)
			if ((gw[0] & prefix_mask(d->port[i].prefix_len)) ==
			    (d->port[i].addr & prefix_mask(d->port[i].prefix_len)))
				port = i;
		if (port == CTL_DPDK_MAX_PORTS) {
			fail(cfg, RR_E_CONFIG_VALUE, line,
			     "dataplane: dpdkGateway %.40s is on none of the dpdkAddress subnets",
			     v);
			return;
		}
	} else if (n != d->n_ports) {
		fail(cfg, RR_E_CONFIG_VALUE, line,
		     "dataplane: dpdkGateway has %u entries for %u ports (dpdkPorts): one, or one "
		     "per port in the same order (empty for none), separated by ';'",
		     count_entries(v), d->n_ports);
		return;
	} else if ((gw[which] & prefix_mask(d->port[which].prefix_len)) !=
		   (d->port[which].addr & prefix_mask(d->port[which].prefix_len))) {
		fail(cfg, RR_E_CONFIG_VALUE, line,
		     "dataplane: dpdkGateway '%.80s': the gateway of port %u is not on its subnet "
		     "(dpdkAddress)",
		     v, which);
		return;
	}
	d->port[port].gateway = gw[which];
	if (port == 0)
		d->gateway = gw[which];
}

/* The dpdk* attributes (their syntax; what the dpdk driver requires is
 * ctl_config_check_dpdk's, so that --driver dpdk checks the same). */
void ctl_config_load_dpdk(struct ctl_config *cfg, const struct ctl_entity *e)
{
	struct ctl_dpdk *d = &cfg->dataplane.dpdk;
	d->line = e->section->line;
	d->eal = e->values[CTL_DATAPLANE_DPDK_EAL];
	d->ports = e->values[CTL_DATAPLANE_DPDK_PORTS];
	d->fault = e->values[CTL_DATAPLANE_DPDK_FAULT_INJECTION];
	load_dpdk_ports(cfg, e);
	load_dpdk_addresses(cfg, e);
	load_dpdk_gateways(cfg, e);
	(void)ctl_config_get_ranged(cfg, e, CTL_DATAPLANE_DPDK_IDLE_BACKOFF_US, 0, 1000000, "",
				    &d->idle_backoff_us);
	/* RFC 791's 576 up to 9000-byte jumbo frames (net_eth.h) */
	d->mtu = NET_ETH_MTU_DEFAULT;
	(void)ctl_config_get_ranged(cfg, e, CTL_DATAPLANE_DPDK_MTU, NET_ETH_MTU_MIN, NET_ETH_MTU_MAX,
				    "; an IP MTU, jumbo frames up to 9000", &d->mtu);
	if (d->eal && strlen(d->eal) > CTL_DPDK_MAX_EAL)
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, CTL_DATAPLANE_DPDK_EAL),
		     "dataplane: dpdkEal is %zu bytes long, longer than %u bytes", strlen(d->eal),
		     CTL_DPDK_MAX_EAL);
#ifdef RR_HAVE_DPDK
	if (d->fault) {
		struct drv_dpdk_fault_spec sp;
		char why[256];
		if (drv_dpdk_fault_parse(d->fault, &sp, why, sizeof(why)) != 0)
			fail(cfg, RR_E_CONFIG_VALUE,
			     ctl_entity_line(e, CTL_DATAPLANE_DPDK_FAULT_INJECTION),
			     "dataplane: dpdkFaultInjection: %s", why);
	}
#endif
	if (cfg->dataplane.driver == CTL_DRIVER_DPDK && ctl_config_given(e, CTL_DATAPLANE_CPUS))
		warn(cfg, ctl_entity_line(e, CTL_DATAPLANE_CPUS),
		     "dataplane: cpus: the dpdk driver runs its workers on the EAL's lcores "
		     "(dpdkEal -l), not on this list");
	if (cfg->dataplane.driver != CTL_DRIVER_DPDK) {
		static const unsigned attrs[] = {CTL_DATAPLANE_DPDK_EAL,
						 CTL_DATAPLANE_DPDK_PORTS,
						 CTL_DATAPLANE_DPDK_ADDRESS,
						 CTL_DATAPLANE_DPDK_GATEWAY,
						 CTL_DATAPLANE_DPDK_IDLE_BACKOFF_US,
						 CTL_DATAPLANE_DPDK_FAULT_INJECTION};
		for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
			if (ctl_config_given(e, attrs[i])) {
				warn(cfg, ctl_entity_line(e, attrs[i]),
				     "dataplane: %s applies to the dpdk driver only (ignored)",
				     e->def->attrs[attrs[i]].name);
				break;
			}
	}
}

/* What the dpdk driver needs: its EAL arguments, a port and an address, and
 * listeners it can serve (the native TCP listens on dpdkAddress or on any
 * address of the port; a listener on another host cannot be served). */
void ctl_config_check_dpdk(struct ctl_config *cfg)
{
	struct ctl_dpdk *d = &cfg->dataplane.dpdk;
	unsigned line = d->line;
	if (!d->eal)
		fail(cfg, RR_E_CONFIG_VALUE, line,
		     "dataplane: the dpdk driver needs dpdkEal (e.g. dpdkEal: -l 0,1 --no-huge -m "
		     "512 --file-prefix rr1 --no-pci)");
	if (!d->ports)
		fail(cfg, RR_E_CONFIG_VALUE, line,
		     "dataplane: the dpdk driver needs dpdkPorts (e.g. dpdkPorts: "
		     "net_tap0,iface=rrtap0)");
	if (!d->addr)
		fail(cfg, RR_E_CONFIG_VALUE, line,
		     "dataplane: the dpdk driver needs dpdkAddress (e.g. dpdkAddress: "
		     "10.77.0.2/24)");
	/* hugepages: no (the default) gives the EAL --no-huge; yes with
	 * --no-huge in dpdkEal asks for both */
	if (cfg->dataplane.hugepages && d->eal) {
		/* word by word in place (a copy into a fixed buffer would cut a
		 * long value and miss a --no-huge past its end) */
		for (const char *t = d->eal + strspn(d->eal, " \t"); *t;) {
			size_t len = strcspn(t, " \t");
			if (len == 9 && strncmp(t, "--no-huge", 9) == 0) {
				fail(cfg, RR_E_CONFIG_VALUE, line,
				     "dataplane: hugepages: yes, but dpdkEal says --no-huge");
				break;
			}
			t += len;
			t += strspn(t, " \t");
		}
	}
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct ctl_endpoint *ep = &cfg->listeners[i];
		const char *h = ep->host;
		uint32_t a = 0;
		if (h == NULL || h[0] == 0 || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0)
			continue;
		bool ours = false;
		if (parse_ipv4(h, &a, NULL) && a != 0) {
			ours = a == d->addr;
			for (unsigned p = 0; p < d->n_ports; p++)
				ours |= a == d->port[p].addr;
		}
		if (ours)
			continue; /* the port that owns it listens there */
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, ep->line,
		     "listener: host '%.80s': the dpdk driver listens on its own addresses only "
		     "(one of dpdkAddress, or 0.0.0.0 for all)",
		     h);
	}
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].port == 0)
			fail(cfg, RR_E_CONFIG_VALUE, cfg->listeners[i].line,
			     "listener: port 0: the dpdk driver needs a fixed port");
}
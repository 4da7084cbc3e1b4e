/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Route table microbenchmark: snapshot lookup of oslo-shaped addresses
 * (hit and miss), rules match, and snapshot rebuild. Reports ns per
 * operation; asserts only correctness (aborts on a wrong answer), never time.
 *
 *   bench_route [addresses] [lookups]     (defaults 10000 2000000)
 */
#include "route_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t addr_of(char *buf, size_t cap, unsigned i)
{
	int n = snprintf(buf, cap, "openstack.org/om/rpc/unicast/nova/compute/host-%u", i);
	return (size_t)n;
}

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "bench_route: check failed: %s\n", #c);                    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000;
	unsigned iters = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 2000000;
	if (n == 0)
		n = 1;
	static const struct {
		const char *p;
		enum route_dist d;
	} oslo[] = {
	    {"unicast", ROUTE_CLOSEST},
	    {"exclusive", ROUTE_CLOSEST},
	    {"broadcast", ROUTE_MULTICAST},
	    {"openstack.org/om/rpc/multicast", ROUTE_MULTICAST},
	    {"openstack.org/om/rpc/unicast", ROUTE_CLOSEST},
	    {"openstack.org/om/rpc/anycast", ROUTE_BALANCED},
	    {"openstack.org/om/notify/multicast", ROUTE_MULTICAST},
	    {"openstack.org/om/notify/unicast", ROUTE_CLOSEST},
	    {"openstack.org/om/notify/anycast", ROUTE_BALANCED},
	};
	struct route_rules *rules = route_rules_new(ROUTE_BALANCED);
	char err[128];
	for (size_t i = 0; i < sizeof(oslo) / sizeof(oslo[0]); i++)
		CHECK(route_rules_add(rules, oslo[i].p, false, oslo[i].d, err, sizeof(err)) == 0);
	struct route_master *m = route_master_new(rules);
	char buf[128];
	for (unsigned i = 0; i < n; i++) {
		struct route_dest d = {
		    .kind = ROUTE_DEST_LINK, .worker = (uint16_t)(i & 1), .link = i};
		size_t len = addr_of(buf, sizeof(buf), i);
		CHECK(route_master_add(m, (const uint8_t *)buf, len, &d) == 1);
	}

	double t0 = now_ns();
	struct route_table *t = route_master_snapshot(m);
	double t1 = now_ns();
	CHECK(t);
	printf("snapshot of %u addresses: %.0f us\n", n, (t1 - t0) / 1e3);

	/* Precompute the keys so the loop measures the lookup only. */
	char(*keys)[64] = malloc((size_t)n * 2 * sizeof(*keys));
	size_t *lens = malloc((size_t)n * 2 * sizeof(*lens));
	CHECK(keys && lens);
	for (unsigned i = 0; i < 2 * n; i++)
		lens[i] = addr_of(keys[i], sizeof(keys[i]), i); /* >= n: misses */

	uint64_t sum = 0;
	t0 = now_ns();
	for (unsigned k = 0; k < iters; k++) {
		unsigned i = (k * 2654435761u) % n;
		const struct route_entry *e =
		    route_table_lookup(t, (const uint8_t *)keys[i], lens[i]);
		sum += e->dests[0].link;
	}
	t1 = now_ns();
	printf("lookup hit:  %.1f ns\n", (t1 - t0) / iters);
	t0 = now_ns();
	for (unsigned k = 0; k < iters; k++) {
		unsigned i = n + (k * 2654435761u) % n;
		const struct route_entry *e =
		    route_table_lookup(t, (const uint8_t *)keys[i], lens[i]);
		sum += e != NULL;
	}
	t1 = now_ns();
	printf("lookup miss: %.1f ns\n", (t1 - t0) / iters);
	CHECK(sum > 0);

	unsigned rules_iters = iters / 4 + 1;
	unsigned closest = 0;
	t0 = now_ns();
	for (unsigned k = 0; k < rules_iters; k++) {
		unsigned i = (k * 2654435761u) % n;
		closest +=
		    route_rules_match(rules, (const uint8_t *)keys[i], lens[i]) == ROUTE_CLOSEST;
	}
	t1 = now_ns();
	CHECK(closest == rules_iters);
	printf("rules match (9 oslo prefixes): %.1f ns\n", (t1 - t0) / rules_iters);

	free(keys);
	free(lens);
	route_table_free(t);
	route_master_free(m);
	route_rules_free(rules);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The address table: configured address rules (prefix / pattern ->
 * distribution), the master table of destinations (control thread), the
 * immutable per-version snapshots workers read, and their publication with
 * quiescent-state based reclamation (QSBR, as DPDK's rte_rcu_qsbr).
 *
 * Pure C, libc only: no I/O, no clock, no DPDK. Matching semantics follow
 * qdrouterd 1.19 (src/parse_tree.c, src/iterator.c,
 * src/router_core/agent_config_address.c); see docs/addressing.md.
 *
 * Addresses are byte strings (pointer + length; NUL is an ordinary byte).
 * Every function that takes an address first reduces it to its key with
 * route_addr_key() (qdrouterd's ITER_VIEW_ADDRESS_HASH body: scheme and host
 * dropped, one trailing '.' or '/' dropped), so "amqp:/foo", "/foo" and "foo/"
 * are the same address, as they are for qdrouterd.
 */
#ifndef RPCROUTER_ROUTE_TABLE_H
#define RPCROUTER_ROUTE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Distribution of an address (qdrouter.json router.config.address
 * "distribution"). ROUTE_UNAVAILABLE is qdrouterd's "unavailable": attaches
 * to the address are refused and messages to it rejected. */
enum route_dist { ROUTE_CLOSEST, ROUTE_BALANCED, ROUTE_MULTICAST, ROUTE_UNAVAILABLE };

/* "closest", "balanced", "multicast", "unavailable". */
const char *route_dist_name(enum route_dist d);
/* Parse a distribution name (exact, as qdrouterd); -1 when unknown. */
int route_dist_parse(const char *name, enum route_dist *out);

/* The key of an address: a view into addr (no copy). Drops "scheme:/",
 * "scheme://host/", "//host/" or one leading "/", then one trailing '.' or
 * '/' (qdrouterd iterator.c view_initialize + remove_trailing_separator). */
const uint8_t *route_addr_key(const uint8_t *addr, size_t len, size_t *key_len);

/* ---- rules ------------------------------------------------------------ */

/* Compiled address rules. Built once by control, read-only after (then any
 * thread may match concurrently). Must outlive every master and table made
 * from it. */
struct route_rules;
struct route_rules *route_rules_new(enum route_dist default_dist);
/* Add a prefix (is_pattern false) or a pattern. 0 ok; -1 with a message in
 * err (bad pattern: no tokens, duplicate, over the limits below). A prefix P
 * is the pattern "P/#" (as qdrouterd), so prefix "a" and pattern "a.#" are
 * duplicates. */
int route_rules_add(struct route_rules *r, const char *text, bool is_pattern, enum route_dist dist,
		    char *err, size_t errlen);
/* The distribution for an address: the first match in qdrouterd's search
 * order (literal token before '*' before '#', decided at the first token
 * where candidates differ; '#' consumes as few tokens as it can), else the
 * default. No allocation; time O(wildcard nodes x tokens), never exponential. */
enum route_dist route_rules_match(const struct route_rules *r, const uint8_t *addr, size_t len);
/* Like route_rules_match; also returns the matching rule's normalized
 * pattern (prefixes shown as "P/#") or NULL when the default applied. */
enum route_dist route_rules_match_rule(const struct route_rules *r, const uint8_t *addr, size_t len,
				       const char **pattern);
enum route_dist route_rules_default(const struct route_rules *r);
void route_rules_free(struct route_rules *r);

#define ROUTE_RULES_MAX_TOKENS 255 /* per pattern: bounds match recursion */
#define ROUTE_RULES_MAX_GLOBS  128 /* '#' nodes in the whole tree: match scratch */

/* ---- destinations ----------------------------------------------------- */

/* A destination of an address. Today: a link on a worker. Later (mesh
 * issue): a remote router (next hop), hence the kind. */
enum route_dest_kind { ROUTE_DEST_LINK = 0 /*, ROUTE_DEST_ROUTER later */ };
struct route_dest {
	uint8_t kind;
	uint16_t worker; /* worker index */
	uint32_t link;	 /* the worker's link handle (index+generation), opaque here */
	/* Owned by that worker (its link pool, lives for the whole run):
	 * deliveries queued+unsettled on the link, written by the owner with
	 * __atomic_store_n relaxed, read by others with __atomic_load_n relaxed;
	 * used for balanced; may be NULL (counts as 0). */
	const uint32_t *outstanding;
	/* The link's capacity for balanced (qdrouterd: a link is eligible while
	 * outstanding < capacity); 0 means no limit. */
	uint32_t capacity;
};

/* ---- master table: control thread only -------------------------------- */

struct route_master;
struct route_table;
struct route_master *route_master_new(const struct route_rules *rules);
/* Seed for the address hash (e.g. from getrandom in control) so clients
 * cannot choose colliding addresses; call before the first add. */
void route_master_set_seed(struct route_master *m, uint64_t seed);
/* Add / remove a destination of an address. Return the number of
 * destinations the address has afterwards. Adding a (worker, link) the
 * address already has updates it in place (count unchanged). Remove of an
 * unknown one returns the current count (idempotent). On allocation failure
 * add returns the unchanged count. */
uint32_t route_master_add(struct route_master *m, const uint8_t *addr, size_t len,
			  const struct route_dest *d);
uint32_t route_master_remove(struct route_master *m, const uint8_t *addr, size_t len,
			     uint16_t worker, uint32_t link);
uint32_t route_master_count(const struct route_master *m, const uint8_t *addr, size_t len);
/* True when the address has a destination (for unique dynamic addresses). */
bool route_master_exists(const struct route_master *m, const uint8_t *addr, size_t len);
/* Number of addresses with at least one destination. */
size_t route_master_size(const struct route_master *m);
/* True when an add or remove changed something since the last snapshot. */
bool route_master_changed(const struct route_master *m);
/* An immutable snapshot (version = previous + 1, the first is 1) for
 * workers: one allocation, open-addressing hash, destinations of an address
 * contiguous and grouped by worker (ascending). NULL on allocation failure
 * (the version is not consumed). Cost O(addresses + destinations): batch
 * changes and snapshot at most once per control loop iteration. */
struct route_table *route_master_snapshot(struct route_master *m);
void route_master_free(struct route_master *m);

/* ---- snapshot reads: any thread, lock-free, no allocation -------------- */

struct route_entry {
	enum route_dist dist;		/* from the rules */
	uint32_t n_dests;		/* >= 1 */
	const struct route_dest *dests; /* inside the table, grouped by worker */
};
/* NULL when the address has no destinations. */
const struct route_entry *route_table_lookup(const struct route_table *t, const uint8_t *addr,
					     size_t len);
/* The entry's distribution, or the rules' for an address not in the table. */
enum route_dist route_table_dist(const struct route_table *t, const uint8_t *addr, size_t len);
uint64_t route_table_version(const struct route_table *t);
size_t route_table_size(const struct route_table *t); /* addresses */
void route_table_free(struct route_table *t);

/* The destinations of e on one worker: [*begin, *end) indexes into e->dests
 * (empty when none). */
void route_entry_worker_range(const struct route_entry *e, uint16_t worker, uint32_t *begin,
			      uint32_t *end);
/* balanced, as qdrouterd's qdr_forward_balanced_CT for local links: the
 * destination with the fewest outstanding deliveries among those below
 * capacity; if every one is at capacity, the fewest overall. Ties go to the
 * first in order starting at index rotor % n (the caller advances rotor
 * each pick; qdrouterd rotates its link list instead). Returns an index. */
uint32_t route_entry_pick_balanced(const struct route_entry *e, uint32_t rotor);
/* closest, as qdrouterd for local links: round robin (rotor % n). */
uint32_t route_entry_pick_closest(const struct route_entry *e, uint32_t rotor);

/* ---- publication to workers (QSBR) ------------------------------------ */

/*
 * Control publishes a new table; every worker calls route_pub_acquire at the
 * top of each poll-loop iteration (a quiescent point: it holds no pointer
 * into an older table across it); control frees a table once every online
 * worker has acquired a newer one. A worker that blocks (epoll_wait) goes
 * offline first and online after (then it is never waited for).
 *
 * Memory ordering: publish stores the table pointer with release (the
 * table's contents happen-before any worker's acquire load of it); a worker
 * reports the epoch of the table it holds with a release store, and reclaim
 * reads the reports with acquire, so every read a worker made of an old
 * table happens-before control frees it. Going online is a store-load
 * (Dekker) pattern against publish+reclaim, so those four accesses are
 * seq_cst (details in route_pub.c).
 *
 * Each table is published once; the route_pub owns it from then on.
 */
struct route_pub;
/* n_workers >= 1; initial may be NULL (workers then read NULL until the
 * first publish). Workers start offline. NULL on allocation failure. */
struct route_pub *route_pub_new(unsigned n_workers, struct route_table *initial);
void route_pub_publish(struct route_pub *p, struct route_table *t); /* control */
/* control: frees what is safe, returns how many tables it freed. */
size_t route_pub_reclaim(struct route_pub *p);
/* control: tables published and not yet freed, the current one excluded. */
size_t route_pub_retired(const struct route_pub *p);
/* worker: the current table (valid until this worker's next acquire or
 * offline). Going online is implied when the worker is offline. */
const struct route_table *route_pub_acquire(struct route_pub *p, unsigned worker);
void route_pub_offline(struct route_pub *p, unsigned worker); /* worker, before blocking */
void route_pub_online(struct route_pub *p, unsigned worker);  /* worker, after */
void route_pub_free(struct route_pub *p);		      /* control, after workers stopped */

#ifdef __cplusplus
}
#endif

#endif

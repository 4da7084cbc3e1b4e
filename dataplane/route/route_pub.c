/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Publication of route tables to workers with quiescent-state based
 * reclamation, after DPDK's rte_rcu_qsbr but on GCC/C11 atomics so it works
 * without EAL (socket driver, tests).
 *
 * Each published table gets an epoch (1, 2, ...). Each worker has a slot on
 * its own cache line holding the epoch of the table it acquired at its last
 * quiescent point, OFFLINE while it blocks, or 0 just after it came online
 * (it may be about to read any table). A retired table of epoch e is freed
 * once every slot is > e (OFFLINE is the largest value), i.e. every online
 * worker has acquired a newer table.
 *
 * Why each ordering (see also route_table.h):
 * - publish: (at least) release store of the pointer, so the table's contents (and
 *   its epoch field) are visible to a worker whose acquire load sees it.
 * - acquire: (at least) acquire load of the pointer; release store of the slot, so the
 *   worker's reads of the table it drops happen-before control's free,
 *   which follows control's acquire load of that slot value.
 * - offline: release store of OFFLINE, for the same reason.
 * - online: the worker stores 0 then loads the pointer; control stores the
 *   pointer then (in reclaim) loads the slots. That is a store-load (Dekker)
 *   pattern that release/acquire does not order, so all four are seq_cst
 *   operations: in their single total order either control's load sees the
 *   0 (and frees nothing) or the worker's load sees the newer pointer (and
 *   never a table this reclaim frees). seq_cst loads cost what acquire
 *   loads do on x86 and ARMv8; the seq_cst stores are rare (publish, online).
 *   (Operations rather than fences: ThreadSanitizer models them.)
 */
#include "route_internal.h"

#include <stdlib.h>
#include <string.h>

#define PUB_OFFLINE UINT64_MAX

struct pub_slot {
	uint64_t seen; /* written by its worker, read by control */
	uint8_t pad[64 - sizeof(uint64_t)];
};

struct route_pub {
	struct route_table *current; /* atomic: written by control, read by workers */
	uint64_t epoch;		     /* control: the epoch of current */
	struct route_table *retired_head, *retired_tail; /* control: oldest first */
	size_t n_retired;
	unsigned n_workers;
	struct pub_slot *slots; /* n_workers, cache-line aligned */
};

struct route_pub *route_pub_new(unsigned n_workers, struct route_table *initial)
{
	if (n_workers == 0)
		return NULL;
	struct route_pub *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->slots = aligned_alloc(64, (size_t)n_workers * sizeof(struct pub_slot));
	if (!p->slots) {
		free(p);
		return NULL;
	}
	memset(p->slots, 0, (size_t)n_workers * sizeof(struct pub_slot));
	for (unsigned i = 0; i < n_workers; i++)
		p->slots[i].seen = PUB_OFFLINE;
	p->n_workers = n_workers;
	if (initial) {
		*route_table_pub_epoch(initial) = ++p->epoch;
		*route_table_pub_next(initial) = NULL;
	}
	/* Threads started after this see it through their creation. */
	__atomic_store_n(&p->current, initial, __ATOMIC_SEQ_CST);
	return p;
}

void route_pub_publish(struct route_pub *p, struct route_table *t)
{
	struct route_table *old = p->current; /* control is its only writer */
	*route_table_pub_epoch(t) = ++p->epoch;
	*route_table_pub_next(t) = NULL;
	/* seq_cst: release for the contents, and the store half of the
	 * publish/online store-load pair (see the top of the file). */
	__atomic_store_n(&p->current, t, __ATOMIC_SEQ_CST);
	if (old) {
		if (p->retired_tail)
			*route_table_pub_next(p->retired_tail) = old;
		else
			p->retired_head = old;
		p->retired_tail = old;
		p->n_retired++;
	}
}

size_t route_pub_reclaim(struct route_pub *p)
{
	if (!p->retired_head)
		return 0;
	uint64_t min = PUB_OFFLINE;
	for (unsigned i = 0; i < p->n_workers; i++) {
		/* seq_cst: acquire, and the load half of the store-load pair. */
		uint64_t s = __atomic_load_n(&p->slots[i].seen, __ATOMIC_SEQ_CST);
		if (s < min)
			min = s;
	}
	size_t freed = 0;
	while (p->retired_head && *route_table_pub_epoch(p->retired_head) < min) {
		struct route_table *t = p->retired_head;
		p->retired_head = *route_table_pub_next(t);
		if (!p->retired_head)
			p->retired_tail = NULL;
		route_table_free(t);
		p->n_retired--;
		freed++;
	}
	return freed;
}

size_t route_pub_retired(const struct route_pub *p)
{
	return p->n_retired;
}

void route_pub_online(struct route_pub *p, unsigned worker)
{
	/* The store half of the online/reclaim store-load pair; the load half
	 * is the seq_cst load in route_pub_acquire. */
	__atomic_store_n(&p->slots[worker].seen, 0, __ATOMIC_SEQ_CST);
}

void route_pub_offline(struct route_pub *p, unsigned worker)
{
	__atomic_store_n(&p->slots[worker].seen, PUB_OFFLINE, __ATOMIC_RELEASE);
}

const struct route_table *route_pub_acquire(struct route_pub *p, unsigned worker)
{
	struct pub_slot *s = &p->slots[worker];
	/* The worker's own slot: only it writes it, a plain read is exact. */
	uint64_t seen = __atomic_load_n(&s->seen, __ATOMIC_RELAXED);
	if (seen == PUB_OFFLINE)
		route_pub_online(p, worker);
	struct route_table *t = __atomic_load_n(&p->current, __ATOMIC_SEQ_CST);
	if (t) {
		uint64_t e = *route_table_pub_epoch(t);
		if (e != seen)
			__atomic_store_n(&s->seen, e, __ATOMIC_RELEASE);
	}
	return t;
}

void route_pub_free(struct route_pub *p)
{
	if (!p)
		return;
	struct route_table *t = p->retired_head;
	while (t) {
		struct route_table *next = *route_table_pub_next(t);
		route_table_free(t);
		t = next;
	}
	route_table_free(p->current);
	free(p->slots);
	free(p);
}

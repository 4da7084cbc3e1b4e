/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The master address table (control thread) and its immutable snapshots
 * (read by any thread, lock-free).
 *
 * The master is a chained hash of addresses, each with a destination array
 * kept grouped by worker (ascending, insertion order within a worker), so a
 * snapshot copies it as is. A snapshot is one allocation: header, open
 * addressing slots (power of two, load <= 1/2, linear probing), entries,
 * destinations, key bytes. Nothing in it is written after
 * route_master_snapshot returns; the only mutable memory a reader touches
 * through it is each destination's `outstanding` counter, owned by its
 * worker and read with relaxed atomics.
 */
#include "route_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- hashing ---------------------------------------------------------- */

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint64_t mix(uint64_t x)
{
	/* splitmix64 finalizer */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* A seeded multiply-rotate hash over 8-byte words: good spread, one pass, no
 * tables. The seed (route_master_set_seed) keeps collisions unpredictable. */
static uint64_t key_hash(uint64_t seed, const uint8_t *p, size_t n)
{
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
	while (n >= 8) {
		h = (h ^ mix(rd64(p))) * 0x9e3779b97f4a7c15ULL;
		h = (h << 29) | (h >> 35);
		p += 8;
		n -= 8;
	}
	uint64_t tail = 0;
	if (n)
		memcpy(&tail, p, n);
	return mix(h ^ mix(tail ^ n));
}

/* ---- master ----------------------------------------------------------- */

struct mentry {
	struct mentry *next; /* bucket chain */
	uint64_t hash;
	enum route_dist dist; /* from the rules, computed once */
	uint32_t n, cap;
	struct route_dest *dests; /* grouped by worker, ascending */
	size_t key_len;
	uint8_t key[]; /* the address key (route_addr_key) */
};

struct route_master {
	const struct route_rules *rules;
	struct mentry **buckets;
	size_t n_buckets; /* power of two */
	size_t n_entries;
	size_t n_dests;
	size_t key_bytes;
	uint64_t seed;
	uint64_t version; /* of the last snapshot */
	bool changed;
};

struct route_master *route_master_new(const struct route_rules *rules)
{
	struct route_master *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->rules = rules;
	m->n_buckets = 64;
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return NULL;
	}
	m->seed = 0x5bd1e9955bd1e995ULL;
	m->changed = true; /* the first snapshot is always a change */
	return m;
}

void route_master_set_seed(struct route_master *m, uint64_t seed)
{
	if (m->n_entries == 0)
		m->seed = seed;
}

void route_master_free(struct route_master *m)
{
	if (!m)
		return;
	for (size_t b = 0; b < m->n_buckets; b++) {
		struct mentry *e = m->buckets[b];
		while (e) {
			struct mentry *next = e->next;
			free(e->dests);
			free(e);
			e = next;
		}
	}
	free(m->buckets);
	free(m);
}

static struct mentry **master_find(const struct route_master *m, const uint8_t *key, size_t len,
				   uint64_t h)
{
	struct mentry **pp = &m->buckets[h & (m->n_buckets - 1)];
	while (*pp) {
		struct mentry *e = *pp;
		if (e->hash == h && e->key_len == len &&
		    (len == 0 || memcmp(e->key, key, len) == 0))
			return pp;
		pp = &e->next;
	}
	return pp;
}

static void master_grow(struct route_master *m)
{
	size_t nb = m->n_buckets * 2;
	struct mentry **b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* keep the longer chains; still correct */
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct mentry *e = m->buckets[i];
		while (e) {
			struct mentry *next = e->next;
			size_t j = e->hash & (nb - 1);
			e->next = b[j];
			b[j] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = nb;
}

uint32_t route_master_add(struct route_master *m, const uint8_t *addr, size_t len,
			  const struct route_dest *d)
{
	size_t klen;
	const uint8_t *key = route_addr_key(addr, len, &klen);
	uint64_t h = key_hash(m->seed, key, klen);
	struct mentry **pp = master_find(m, key, klen, h);
	struct mentry *e = *pp;
	if (!e) {
		e = malloc(sizeof(*e) + klen);
		if (!e)
			return 0;
		memset(e, 0, sizeof(*e));
		e->hash = h;
		e->key_len = klen;
		if (klen)
			memcpy(e->key, key, klen);
		e->dist = route_rules_match(m->rules, key, klen);
		*pp = e;
		m->n_entries++;
		m->key_bytes += klen;
	}
	/* Same (worker, link): update in place. */
	for (uint32_t i = 0; i < e->n; i++) {
		if (e->dests[i].worker == d->worker && e->dests[i].link == d->link) {
			e->dests[i] = *d;
			m->changed = true;
			return e->n;
		}
	}
	if (e->n == e->cap) {
		uint32_t cap = e->cap ? e->cap * 2 : 2;
		struct route_dest *nd = realloc(e->dests, cap * sizeof(*nd));
		if (!nd) {
			uint32_t n = e->n;
			if (n == 0) {
				*pp = e->next;
				m->n_entries--;
				m->key_bytes -= klen;
				free(e);
			}
			return n;
		}
		e->dests = nd;
		e->cap = cap;
	}
	/* After the last destination on a worker <= d->worker: grouped, stable. */
	uint32_t pos = e->n;
	while (pos > 0 && e->dests[pos - 1].worker > d->worker)
		pos--;
	memmove(&e->dests[pos + 1], &e->dests[pos], (e->n - pos) * sizeof(e->dests[0]));
	e->dests[pos] = *d;
	e->n++;
	m->n_dests++;
	m->changed = true;
	if (m->n_entries > m->n_buckets)
		master_grow(m);
	return e->n;
}

uint32_t route_master_remove(struct route_master *m, const uint8_t *addr, size_t len,
			     uint16_t worker, uint32_t link)
{
	size_t klen;
	const uint8_t *key = route_addr_key(addr, len, &klen);
	uint64_t h = key_hash(m->seed, key, klen);
	struct mentry **pp = master_find(m, key, klen, h);
	struct mentry *e = *pp;
	if (!e)
		return 0;
	for (uint32_t i = 0; i < e->n; i++) {
		if (e->dests[i].worker == worker && e->dests[i].link == link) {
			memmove(&e->dests[i], &e->dests[i + 1],
				(e->n - i - 1) * sizeof(e->dests[0]));
			e->n--;
			m->n_dests--;
			m->changed = true;
			break;
		}
	}
	uint32_t n = e->n;
	if (n == 0) {
		/* An address without destinations leaves the table (dynamic
		 * reply addresses come and go by the thousand). */
		*pp = e->next;
		m->n_entries--;
		m->key_bytes -= klen;
		free(e->dests);
		free(e);
	}
	return n;
}

uint32_t route_master_count(const struct route_master *m, const uint8_t *addr, size_t len)
{
	size_t klen;
	const uint8_t *key = route_addr_key(addr, len, &klen);
	struct mentry *e = *master_find(m, key, klen, key_hash(m->seed, key, klen));
	return e ? e->n : 0;
}

bool route_master_exists(const struct route_master *m, const uint8_t *addr, size_t len)
{
	return route_master_count(m, addr, len) > 0;
}

size_t route_master_size(const struct route_master *m)
{
	return m->n_entries;
}

bool route_master_changed(const struct route_master *m)
{
	return m->changed;
}

/* ---- snapshot --------------------------------------------------------- */

struct tentry {
	struct route_entry e; /* first: route_table_lookup returns &tentry.e */
	uint64_t hash;
	const uint8_t *key;
	size_t key_len;
};

struct tslot {
	uint64_t hash;
	uint32_t idx; /* entry index + 1; 0 = empty */
};

struct route_table {
	uint64_t version;
	uint64_t seed;
	const struct route_rules *rules;
	size_t n_entries;
	size_t mask; /* slots - 1 */
	struct tslot *slots;
	struct tentry *entries;
	/* Written once by route_pub_publish before the releasing store that
	 * makes the table visible; read by that module only. */
	uint64_t pub_epoch;
	struct route_table *pub_next; /* route_pub's retired list (control) */
};

/* route_pub.c reaches these two fields through these (route_internal.h). */
uint64_t *route_table_pub_epoch(struct route_table *t)
{
	return &t->pub_epoch;
}
struct route_table **route_table_pub_next(struct route_table *t)
{
	return &t->pub_next;
}

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

struct route_table *route_master_snapshot(struct route_master *m)
{
	size_t ns = 16;
	while (ns < 2 * m->n_entries)
		ns *= 2;
	size_t off_slots = align_up(sizeof(struct route_table), 64);
	size_t off_entries = align_up(off_slots + ns * sizeof(struct tslot), 64);
	size_t off_dests = align_up(off_entries + m->n_entries * sizeof(struct tentry), 64);
	size_t off_keys = off_dests + m->n_dests * sizeof(struct route_dest);
	size_t total = off_keys + m->key_bytes;
	uint8_t *mem = aligned_alloc(64, align_up(total, 64));
	if (!mem)
		return NULL;
	struct route_table *t = (struct route_table *)mem;
	memset(t, 0, sizeof(*t));
	t->version = m->version + 1;
	t->seed = m->seed;
	t->rules = m->rules;
	t->n_entries = m->n_entries;
	t->mask = ns - 1;
	t->slots = (struct tslot *)(mem + off_slots);
	t->entries = (struct tentry *)(mem + off_entries);
	memset(t->slots, 0, ns * sizeof(struct tslot));
	struct route_dest *dests = (struct route_dest *)(mem + off_dests);
	uint8_t *keys = mem + off_keys;

	size_t ei = 0;
	for (size_t b = 0; b < m->n_buckets; b++) {
		for (const struct mentry *e = m->buckets[b]; e; e = e->next) {
			struct tentry *te = &t->entries[ei];
			te->e.dist = e->dist;
			te->e.n_dests = e->n;
			te->e.dests = dests;
			memcpy(dests, e->dests, e->n * sizeof(*dests));
			dests += e->n;
			te->hash = e->hash;
			te->key = keys;
			te->key_len = e->key_len;
			if (e->key_len)
				memcpy(keys, e->key, e->key_len);
			keys += e->key_len;
			size_t s = e->hash & t->mask;
			while (t->slots[s].idx)
				s = (s + 1) & t->mask;
			t->slots[s].hash = e->hash;
			t->slots[s].idx = (uint32_t)(ei + 1);
			ei++;
		}
	}
	m->version = t->version;
	m->changed = false;
	return t;
}

const struct route_entry *route_table_lookup(const struct route_table *t, const uint8_t *addr,
					     size_t len)
{
	if (!t || t->n_entries == 0)
		return NULL;
	size_t klen;
	const uint8_t *key = route_addr_key(addr, len, &klen);
	uint64_t h = key_hash(t->seed, key, klen);
	for (size_t s = h & t->mask;; s = (s + 1) & t->mask) {
		const struct tslot *sl = &t->slots[s];
		if (sl->idx == 0)
			return NULL;
		if (sl->hash != h)
			continue;
		const struct tentry *te = &t->entries[sl->idx - 1];
		if (te->key_len == klen && (klen == 0 || memcmp(te->key, key, klen) == 0))
			return &te->e;
	}
}

enum route_dist route_table_dist(const struct route_table *t, const uint8_t *addr, size_t len)
{
	const struct route_entry *e = route_table_lookup(t, addr, len);
	if (e)
		return e->dist;
	return route_rules_match(t->rules, addr, len);
}

uint64_t route_table_version(const struct route_table *t)
{
	return t->version;
}

size_t route_table_size(const struct route_table *t)
{
	return t->n_entries;
}

void route_table_free(struct route_table *t)
{
	free(t);
}

/* ---- picking a destination --------------------------------------------- */

void route_entry_worker_range(const struct route_entry *e, uint16_t worker, uint32_t *begin,
			      uint32_t *end)
{
	/* Lower bound of worker, then of worker + 1. */
	uint32_t lo = 0, hi = e->n_dests;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (e->dests[mid].worker < worker)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t b = lo;
	hi = e->n_dests;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (e->dests[mid].worker <= worker)
			lo = mid + 1;
		else
			hi = mid;
	}
	*begin = b;
	*end = lo;
}

static uint32_t dest_outstanding(const struct route_dest *d)
{
	return d->outstanding ? __atomic_load_n(d->outstanding, __ATOMIC_RELAXED) : 0;
}

uint32_t route_entry_pick_balanced(const struct route_entry *e, uint32_t rotor)
{
	uint32_t n = e->n_dests;
	uint32_t best_ok = UINT32_MAX, best_ok_v = UINT32_MAX;
	uint32_t best_full = 0, best_full_v = UINT32_MAX;
	uint32_t start = n ? rotor % n : 0;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = start + k < n ? start + k : start + k - n;
		const struct route_dest *d = &e->dests[i];
		uint32_t v = dest_outstanding(d);
		bool eligible = d->capacity == 0 || v < d->capacity;
		if (eligible && v < best_ok_v) {
			best_ok = i;
			best_ok_v = v;
			if (v == 0)
				break; /* qdrouterd stops at the best possible value */
		} else if (!eligible && v < best_full_v) {
			best_full = i;
			best_full_v = v;
		}
	}
	return best_ok != UINT32_MAX ? best_ok : best_full;
}

uint32_t route_entry_pick_closest(const struct route_entry *e, uint32_t rotor)
{
	return e->n_dests ? rotor % e->n_dests : 0;
}

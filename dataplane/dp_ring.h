/* A single-producer single-consumer ring of variable-length records.
 *
 * Used where DPDK is not initialised (the socket driver) for every queue
 * between threads: control -> worker commands, worker -> control events,
 * and worker i -> worker j deliveries (DESIGN.md: "SPSC rings both ways,
 * N x N between workers"). Records are copied in, so nothing is allocated
 * per message and nothing is freed across threads; a full ring is the
 * back-pressure signal (the producer keeps the record and retries).
 *
 * Batching: the producer reserves and fills any number of records, then
 * publishes them with one release store (dp_ring_commit); the consumer
 * reads any number, then returns the space with one store
 * (dp_ring_release). The two indices live on their own cache lines, each
 * side caching the other's index so the common case touches no shared
 * line.
 *
 * Records are 8-byte aligned; a record never wraps: when it would, a pad
 * record fills the end of the buffer. Header-only (inline), C and C++. */
#ifndef DP_RING_H
#define DP_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DP_CACHE_LINE 64
#define DP_RING_PAD 0xffffu /* record type of the filler at the end */

struct dp_ring_hdr {
	uint32_t len;  /* payload bytes (not rounded) */
	uint16_t type; /* the user's record type; DP_RING_PAD for filler */
	uint16_t flags;
};

struct dp_ring {
	/* producer's line */
	uint64_t head __attribute__((aligned(DP_CACHE_LINE))); /* published end */
	uint64_t p_head;     /* producer's private end (reserved, unpublished) */
	uint64_t tail_cache; /* producer's last view of tail */
	/* consumer's line */
	uint64_t tail __attribute__((aligned(DP_CACHE_LINE))); /* released start */
	uint64_t c_tail;     /* consumer's private start */
	uint64_t head_cache; /* consumer's last view of head */
	/* read-only after init */
	uint8_t *buf __attribute__((aligned(DP_CACHE_LINE)));
	uint64_t size; /* bytes, power of two */
	uint64_t mask;
};

static inline uint64_t dp_ring_round8(uint64_t n) { return (n + 7u) & ~(uint64_t)7u; }

/* size: bytes, rounded up to a power of two (>= 4096). 0 on success. */
static inline int dp_ring_init(struct dp_ring *r, size_t size)
{
	size_t s = 4096;
	while (s < size)
		s <<= 1;
	memset(r, 0, sizeof(*r));
	r->buf = (uint8_t *)aligned_alloc(DP_CACHE_LINE, s);
	if (r->buf == NULL)
		return -1;
	r->size = s;
	r->mask = s - 1;
	return 0;
}

static inline void dp_ring_fini(struct dp_ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Largest payload a record may have. */
static inline size_t dp_ring_max_payload(const struct dp_ring *r)
{
	return (size_t)(r->size / 2 - sizeof(struct dp_ring_hdr));
}

/* Producer: room for a record of len payload bytes, or NULL when the ring
 * is full (nothing reserved). The record becomes visible at the next
 * dp_ring_commit. */
static inline void *dp_ring_reserve(struct dp_ring *r, uint16_t type, uint32_t len)
{
	const uint64_t need = sizeof(struct dp_ring_hdr) + dp_ring_round8(len);
	uint64_t pos = r->p_head;
	uint64_t off = pos & r->mask;
	uint64_t pad = 0;
	if (off + need > r->size)
		pad = r->size - off; /* filler to the end, record at 0 */
	if (need > r->size / 2)
		return NULL; /* too big for this ring, ever (dp_ring_max_payload) */
	if (pos + pad + need - r->tail_cache > r->size) {
		r->tail_cache = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		if (pos + pad + need - r->tail_cache > r->size)
			return NULL;
	}
	if (pad) {
		struct dp_ring_hdr *ph = (struct dp_ring_hdr *)(r->buf + off);
		ph->len = (uint32_t)(pad - sizeof(struct dp_ring_hdr));
		ph->type = DP_RING_PAD;
		ph->flags = 0;
		pos += pad;
		off = 0;
	}
	struct dp_ring_hdr *h = (struct dp_ring_hdr *)(r->buf + off);
	h->len = len;
	h->type = type;
	h->flags = 0;
	r->p_head = pos + need;
	return h + 1;
}

/* Producer: publish every reserved record. */
static inline void dp_ring_commit(struct dp_ring *r)
{
	__atomic_store_n(&r->head, r->p_head, __ATOMIC_RELEASE);
}

/* Convenience: reserve, copy, commit. false when full. */
static inline bool dp_ring_put(struct dp_ring *r, uint16_t type, const void *p, uint32_t len)
{
	void *d = dp_ring_reserve(r, type, len);
	if (d == NULL)
		return false;
	if (len)
		memcpy(d, p, len);
	dp_ring_commit(r);
	return true;
}

/* Consumer: the next record (its payload; *type and *len set), or NULL
 * when none is published. It stays valid until dp_ring_release after
 * dp_ring_next moved past it. */
static inline void *dp_ring_peek(struct dp_ring *r, uint16_t *type, uint32_t *len)
{
	for (;;) {
		if (r->c_tail == r->head_cache) {
			r->head_cache = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
			if (r->c_tail == r->head_cache)
				return NULL;
		}
		struct dp_ring_hdr *h = (struct dp_ring_hdr *)(r->buf + (r->c_tail & r->mask));
		if (h->type == DP_RING_PAD) {
			r->c_tail += sizeof(*h) + h->len;
			continue;
		}
		*type = h->type;
		*len = h->len;
		return h + 1;
	}
}

/* Consumer: step past the record dp_ring_peek returned. */
static inline void dp_ring_next(struct dp_ring *r)
{
	struct dp_ring_hdr *h = (struct dp_ring_hdr *)(r->buf + (r->c_tail & r->mask));
	r->c_tail += sizeof(*h) + dp_ring_round8(h->len);
}

/* Consumer: give the space of every record stepped past back. */
static inline void dp_ring_release(struct dp_ring *r)
{
	__atomic_store_n(&r->tail, r->c_tail, __ATOMIC_RELEASE);
}

/* Consumer: nothing published that it has not read (checked before it
 * sleeps: see dp_worker's wake-up protocol). */
static inline bool dp_ring_consumer_idle(struct dp_ring *r)
{
	return r->c_tail == __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
}

#ifdef __cplusplus
}
#endif
#endif

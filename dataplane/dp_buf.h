/* Buffers of a worker: reference-counted blocks, slices of them, chains
 * of slices (input not yet parsed, a message's payload) and the output
 * queue of a connection.
 *
 * Zero copy inside a worker: bytes read from a socket land in a block; a
 * transfer's payload is kept as slices of those blocks and written to the
 * consumer's socket from the same memory (writev), next to frame headers
 * encoded into the worker's current output block; a payload of at most
 * DP_COPYBREAK bytes is copied in behind its header instead, where a
 * slice would cost more than the copy (docs/adr/0008). Blocks are shared by
 * every connection of the worker (the next read goes where the last one
 * ended), so an idle connection holds no buffer. The dpdk driver copies
 * what its TCP receives into these blocks too (dp_chain_append_copy), so
 * no slice points into an rte_mbuf.
 *
 * Worker thread only: reference counts are plain integers; nothing here
 * crosses threads (a delivery to another worker is copied into the ring
 * between them). */
#ifndef DP_BUF_H
#define DP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "amqp_buf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DP_BLOCK_SIZE 16384u /* whole block, header included */

struct dp_block {
	uint32_t refs;          /* slices and the pool's "current" pointers */
	uint32_t used;          /* bytes of data[] filled */
	struct dp_block *next;  /* free list */
	uint8_t data[];
};
#define DP_BLOCK_DATA (DP_BLOCK_SIZE - (uint32_t)sizeof(struct dp_block))

/* Blocks come from slabs allocated as the pool grows (never per message);
 * released blocks go back on a free list. */
struct dp_block_pool {
	struct dp_block *free;
	void **slabs;
	size_t n_slabs, cap_slabs;
	uint64_t blocks_total, blocks_free;
	uint64_t max_blocks; /* 0: no limit */
	struct dp_block *in_cur;  /* where the next socket read goes */
	struct dp_block *out_cur; /* where the next frame is encoded */
};

int dp_block_pool_init(struct dp_block_pool *p, uint64_t initial_blocks, uint64_t max_blocks);
void dp_block_pool_fini(struct dp_block_pool *p);
/* A block with refs = 1 and used = 0, or NULL when the pool is at its limit. */
struct dp_block *dp_block_get(struct dp_block_pool *p);
static inline void dp_block_ref(struct dp_block *b) { b->refs++; }
void dp_block_free(struct dp_block_pool *p, struct dp_block *b);
static inline void dp_block_unref(struct dp_block_pool *p, struct dp_block *b)
{
	if (--b->refs == 0)
		dp_block_free(p, b);
}

/* A slice of a block; holds one reference. */
struct dp_slice {
	struct dp_block *b;
	uint32_t off, len;
};

/* A chain of slices, in order. A few are inline: a small message or an
 * unparsed partial frame needs no allocation. */
#define DP_CHAIN_INLINE 4
struct dp_chain {
	struct dp_slice *s; /* inl, or malloc'd when more are needed */
	uint32_t n, cap;
	uint64_t len; /* total bytes */
	struct dp_slice inl[DP_CHAIN_INLINE];
};

static inline void dp_chain_init(struct dp_chain *c)
{
	c->s = c->inl;
	c->n = 0;
	c->cap = DP_CHAIN_INLINE;
	c->len = 0;
}
/* Append a slice (takes a new reference on b). -1 when out of memory. */
int dp_chain_push(struct dp_chain *c, struct dp_block *b, uint32_t off, uint32_t len);
/* Append bytes [pos, pos+len) of src (references, no copy). */
int dp_chain_append_range(struct dp_chain *dst, const struct dp_chain *src, uint64_t pos,
			  uint64_t len);
/* Drop the first n bytes. */
void dp_chain_consume(struct dp_block_pool *p, struct dp_chain *c, uint64_t n);
void dp_chain_clear(struct dp_block_pool *p, struct dp_chain *c);
/* Move src's slices to the end of dst (src left empty). */
int dp_chain_move(struct dp_chain *dst, struct dp_chain *src);
/* The chain as codec segments into segs (at most max); returns how many,
 * or -1 if there are more slices than max. */
int dp_chain_segs(const struct dp_chain *c, struct amqp_seg *segs, int max);
/* Copy up to n bytes from pos into dst. */
void dp_chain_copy_out(const struct dp_chain *c, uint64_t pos, void *dst, uint64_t n);

/* Room to encode at most n bytes in the pool's output block: returns a
 * pointer to write to; commit the bytes actually written with
 * dp_out_commit (which appends them as a slice to the chain). NULL when
 * the pool is exhausted. n <= DP_BLOCK_DATA. */
uint8_t *dp_out_reserve(struct dp_block_pool *p, uint32_t n);
int dp_out_commit(struct dp_block_pool *p, struct dp_chain *to, uint32_t written);
/* Bytes left in the current output block from where the next reservation
 * starts (what dp_out_reserve last returned): at least what it reserved. */
static inline uint32_t dp_out_room(const struct dp_block_pool *p)
{
	return p->out_cur ? DP_BLOCK_DATA - p->out_cur->used : 0;
}

/* Append bytes to a chain by copying them into output blocks. */
int dp_chain_append_copy(struct dp_block_pool *p, struct dp_chain *to, const void *data, size_t n);

/* Fill iov (at most max) from the chain's head; returns how many. */
int dp_chain_iov(const struct dp_chain *c, struct iovec *iov, int max);

#ifdef __cplusplus
}
#endif
#endif

/* Buffers of a worker: see dp_buf.h. */
#include "dp_buf.h"

#include <stdlib.h>
#include <string.h>

#define DP_SLAB_BLOCKS 256u /* 4 MiB slabs */

static int pool_grow(struct dp_block_pool *p)
{
	if (p->max_blocks && p->blocks_total + DP_SLAB_BLOCKS > p->max_blocks)
		return -1;
	if (p->n_slabs == p->cap_slabs) {
		size_t cap = p->cap_slabs ? p->cap_slabs * 2 : 16;
		void **s = (void **)realloc(p->slabs, cap * sizeof(*s));
		if (s == NULL)
			return -1;
		p->slabs = s;
		p->cap_slabs = cap;
	}
	uint8_t *slab = (uint8_t *)aligned_alloc(64, (size_t)DP_SLAB_BLOCKS * DP_BLOCK_SIZE);
	if (slab == NULL)
		return -1;
	p->slabs[p->n_slabs++] = slab;
	for (unsigned i = 0; i < DP_SLAB_BLOCKS; i++) {
		struct dp_block *b = (struct dp_block *)(slab + (size_t)i * DP_BLOCK_SIZE);
		b->next = p->free;
		p->free = b;
	}
	p->blocks_total += DP_SLAB_BLOCKS;
	p->blocks_free += DP_SLAB_BLOCKS;
	return 0;
}

int dp_block_pool_init(struct dp_block_pool *p, uint64_t initial_blocks, uint64_t max_blocks)
{
	memset(p, 0, sizeof(*p));
	p->max_blocks = max_blocks;
	while (p->blocks_total < initial_blocks)
		if (pool_grow(p) != 0)
			return -1;
	return 0;
}

void dp_block_pool_fini(struct dp_block_pool *p)
{
	for (size_t i = 0; i < p->n_slabs; i++)
		free(p->slabs[i]);
	free(p->slabs);
	memset(p, 0, sizeof(*p));
}

struct dp_block *dp_block_get(struct dp_block_pool *p)
{
	if (p->free == NULL && pool_grow(p) != 0)
		return NULL;
	struct dp_block *b = p->free;
	p->free = b->next;
	p->blocks_free--;
	b->refs = 1;
	b->used = 0;
	b->next = NULL;
	return b;
}

void dp_block_free(struct dp_block_pool *p, struct dp_block *b)
{
	b->next = p->free;
	p->free = b;
	p->blocks_free++;
}

static int chain_reserve(struct dp_chain *c, uint32_t n)
{
	if (c->n + n <= c->cap)
		return 0;
	uint32_t cap = c->cap * 2;
	while (cap < c->n + n)
		cap *= 2;
	struct dp_slice *s;
	if (c->s == c->inl) {
		s = (struct dp_slice *)malloc(cap * sizeof(*s));
		if (s)
			memcpy(s, c->inl, c->n * sizeof(*s));
	} else {
		s = (struct dp_slice *)realloc(c->s, cap * sizeof(*s));
	}
	if (s == NULL)
		return -1;
	c->s = s;
	c->cap = cap;
	return 0;
}

int dp_chain_push(struct dp_chain *c, struct dp_block *b, uint32_t off, uint32_t len)
{
	if (len == 0)
		return 0;
	/* extend the last slice when the new bytes follow it in the same block */
	if (c->n && c->s[c->n - 1].b == b && c->s[c->n - 1].off + c->s[c->n - 1].len == off) {
		c->s[c->n - 1].len += len;
		c->len += len;
		return 0;
	}
	if (chain_reserve(c, 1) != 0)
		return -1;
	dp_block_ref(b);
	c->s[c->n++] = (struct dp_slice){b, off, len};
	c->len += len;
	return 0;
}

int dp_chain_append_range(struct dp_chain *dst, const struct dp_chain *src, uint64_t pos,
			  uint64_t len)
{
	uint32_t i = 0;
	while (i < src->n && pos >= src->s[i].len) {
		pos -= src->s[i].len;
		i++;
	}
	for (; len > 0 && i < src->n; i++) {
		const struct dp_slice *s = &src->s[i];
		uint64_t take = s->len - pos;
		if (take > len)
			take = len;
		if (dp_chain_push(dst, s->b, s->off + (uint32_t)pos, (uint32_t)take) != 0)
			return -1;
		len -= take;
		pos = 0;
	}
	return len == 0 ? 0 : -1;
}

void dp_chain_consume(struct dp_block_pool *p, struct dp_chain *c, uint64_t n)
{
	uint32_t i = 0;
	while (i < c->n && n > 0) {
		struct dp_slice *s = &c->s[i];
		if (n < s->len) {
			s->off += (uint32_t)n;
			s->len -= (uint32_t)n;
			c->len -= n;
			n = 0;
			break;
		}
		n -= s->len;
		c->len -= s->len;
		dp_block_unref(p, s->b);
		i++;
	}
	if (i) {
		memmove(c->s, c->s + i, (c->n - i) * sizeof(*c->s));
		c->n -= i;
	}
}

void dp_chain_clear(struct dp_block_pool *p, struct dp_chain *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		dp_block_unref(p, c->s[i].b);
	if (c->s != c->inl)
		free(c->s);
	dp_chain_init(c);
}

int dp_chain_move(struct dp_chain *dst, struct dp_chain *src)
{
	if (chain_reserve(dst, src->n) != 0)
		return -1;
	memcpy(dst->s + dst->n, src->s, src->n * sizeof(*src->s));
	dst->n += src->n;
	dst->len += src->len;
	if (src->s != src->inl)
		free(src->s);
	dp_chain_init(src);
	return 0;
}

int dp_chain_segs(const struct dp_chain *c, struct amqp_seg *segs, int max)
{
	if ((int)c->n > max)
		return -1;
	for (uint32_t i = 0; i < c->n; i++) {
		segs[i].data = c->s[i].b->data + c->s[i].off;
		segs[i].len = c->s[i].len;
	}
	return (int)c->n;
}

void dp_chain_copy_out(const struct dp_chain *c, uint64_t pos, void *dst, uint64_t n)
{
	uint8_t *o = (uint8_t *)dst;
	for (uint32_t i = 0; i < c->n && n > 0; i++) {
		const struct dp_slice *s = &c->s[i];
		if (pos >= s->len) {
			pos -= s->len;
			continue;
		}
		uint64_t take = s->len - pos;
		if (take > n)
			take = n;
		memcpy(o, s->b->data + s->off + pos, take);
		o += take;
		n -= take;
		pos = 0;
	}
}

uint8_t *dp_out_reserve(struct dp_block_pool *p, uint32_t n)
{
	struct dp_block *b = p->out_cur;
	if (b == NULL || DP_BLOCK_DATA - b->used < n) {
		if (b)
			dp_block_unref(p, b);
		b = p->out_cur = dp_block_get(p);
		if (b == NULL)
			return NULL;
	}
	return b->data + b->used;
}

int dp_out_commit(struct dp_block_pool *p, struct dp_chain *to, uint32_t written)
{
	struct dp_block *b = p->out_cur;
	uint32_t off = b->used;
	/* no padding: the next frame follows in the same slice */
	b->used += written;
	return dp_chain_push(to, b, off, written);
}

int dp_chain_append_copy(struct dp_block_pool *p, struct dp_chain *to, const void *data, size_t n)
{
	const uint8_t *d = (const uint8_t *)data;
	while (n > 0) {
		uint32_t take = n > DP_BLOCK_DATA ? DP_BLOCK_DATA : (uint32_t)n;
		struct dp_block *b = p->out_cur;
		if (b && DP_BLOCK_DATA - b->used >= 64 && DP_BLOCK_DATA - b->used < take)
			take = DP_BLOCK_DATA - b->used;
		uint8_t *w = dp_out_reserve(p, take);
		if (w == NULL)
			return -1;
		memcpy(w, d, take);
		if (dp_out_commit(p, to, take) != 0)
			return -1;
		d += take;
		n -= take;
	}
	return 0;
}

int dp_chain_iov(const struct dp_chain *c, struct iovec *iov, int max)
{
	int n = (int)c->n < max ? (int)c->n : max;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = c->s[i].b->data + c->s[i].off;
		iov[i].iov_len = c->s[i].len;
	}
	return n;
}

#include "amqp_buf.h"

/* Point the cursor at the first readable byte at or after the current
 * segment's end: skip to the next non-empty segment and clip it to the
 * bound. Leaves p == lim when nothing is left. seg_end == NULL means the
 * walk is bounded by left alone (a cursor made from a view). */
static void amqp_cur_next_seg(struct amqp_cursor *c)
{
	while (c->p == c->lim && c->left > 0 && (c->seg_end == NULL || c->seg + 1 < c->seg_end)) {
		c->seg++;
		uint64_t n = c->seg->len < c->left ? c->seg->len : c->left;
		c->p = c->seg->data;
		c->lim = n ? c->p + n : c->p; /* an empty segment may have no data: NULL + 0 is UB */
	}
}

const uint8_t amqp_no_bytes[1];

void amqp_cur_from_bytes(struct amqp_cursor *c, const struct amqp_bytes *b, uint64_t pos)
{
	c->left = b->len;
	c->end_pos = pos + b->len;
	c->p = b->ptr;
	if (b->seg == NULL) {
		/* Contiguous: a one-segment chain with no successor. The cursor
		 * never dereferences seg for it, and seg + 1 == seg_end. */
		c->seg = NULL;
		c->seg_end = NULL;
		/* An empty view may have a NULL ptr: NULL + 0 is UB in C. */
		c->lim = b->len ? b->ptr + b->len : b->ptr;
		return;
	}
	c->seg = b->seg;
	/* The view ends somewhere in a later segment of the same array; the
	 * bound (left) stops the walk, so no array end is needed (NULL). */
	c->seg_end = NULL;
	uint64_t in_seg = (uint64_t)(b->seg->data + b->seg->len - b->ptr);
	c->lim = b->ptr + (in_seg < b->len ? in_seg : b->len);
	amqp_cur_next_seg(c);
}

void amqp_cur_copy_slow(struct amqp_cursor *c, void *dst, size_t n)
{
	uint8_t *d = (uint8_t *)dst;
	while (n > 0) {
		amqp_cur_next_seg(c);
		size_t k = (size_t)(c->lim - c->p);
		if (k > n)
			k = n;
		if (k == 0)
			break; /* caller broke the left >= n contract; stop safely */
		memcpy(d, c->p, k);
		d += k;
		c->p += k;
		c->left -= k;
		n -= k;
	}
	amqp_cur_next_seg(c);
}

void amqp_cur_skip_slow(struct amqp_cursor *c, uint64_t n)
{
	/* The common case first: to, or into, the next segment, ending
	 * inside it (or at the bound). left > lim - p means lim is the end of
	 * this segment (not the bound) and a next segment exists. */
	const uint64_t in = (uint64_t)(c->lim - c->p);
	if (AMQP_LIKELY(n >= in && c->left > in && n <= c->left &&
			(c->seg_end == NULL || c->seg + 1 < c->seg_end))) {
		const struct amqp_seg *s = c->seg + 1;
		const uint64_t after = c->left - in; /* bound left past this segment */
		const uint64_t k = s->len < after ? s->len : after;
		const uint64_t off = n - in;
		/* (k == 0: an empty segment, maybe {NULL, 0}: the loop below) */
		if (AMQP_LIKELY(k != 0 && (off < k || (off == k && n == c->left)))) {
			c->seg = s;
			c->p = s->data + off;
			c->lim = s->data + k;
			c->left -= n;
			return;
		}
	}
	while (n > 0) {
		amqp_cur_next_seg(c);
		uint64_t k = (uint64_t)(c->lim - c->p);
		if (k > n)
			k = n;
		if (k == 0)
			break;
		c->p += k;
		c->left -= k;
		n -= k;
	}
	amqp_cur_next_seg(c);
}

uint8_t amqp_cur_peek_slow(const struct amqp_cursor *c)
{
	struct amqp_cursor t = *c;
	amqp_cur_next_seg(&t);
	return t.p < t.lim ? *t.p : 0;
}

size_t amqp_bytes_copy(const struct amqp_bytes *b, void *dst, size_t cap)
{
	size_t n = b->len < cap ? b->len : cap;
	if (n == 0) {
		/* Empty views may hold NULL: memcpy(dst, NULL, 0) is UB. */
	} else if (b->seg == NULL) {
		memcpy(dst, b->ptr, n);
	} else {
		struct amqp_cursor c;
		amqp_cur_from_bytes(&c, b, 0);
		amqp_cur_copy(&c, dst, n);
	}
	return b->len;
}

static bool amqp_bytes_eq_n(const struct amqp_bytes *b, const uint8_t *s, size_t len)
{
	if (b->seg == NULL)
		return memcmp(b->ptr, s, len) == 0;
	struct amqp_cursor c;
	amqp_cur_from_bytes(&c, b, 0);
	while (len > 0) {
		amqp_cur_next_seg(&c);
		size_t k = (size_t)(c.lim - c.p);
		if (k > len)
			k = len;
		if (k == 0 || memcmp(c.p, s, k) != 0)
			return false;
		c.p += k;
		c.left -= k;
		s += k;
		len -= k;
	}
	return true;
}

bool amqp_bytes_eq_chain(const struct amqp_bytes *b, const void *s, size_t len)
{
	return b->len == len && amqp_bytes_eq_n(b, (const uint8_t *)s, len);
}

bool amqp_bytes_has_prefix(const struct amqp_bytes *b, const void *prefix, size_t len)
{
	return b->len >= len && amqp_bytes_eq_n(b, (const uint8_t *)prefix, len);
}

uint64_t amqp_segs_len(const struct amqp_seg *segs, size_t nsegs)
{
	uint64_t n = 0;
	for (size_t i = 0; i < nsegs; i++)
		n += segs[i].len;
	return n;
}

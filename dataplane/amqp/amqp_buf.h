/* Reading over chains of buffer segments without copying them together.
 *
 * A frame may span several mbufs or socket reads. The codec reads through a
 * cursor that walks an array of segments (struct amqp_seg), bounded by a byte
 * count. The fast path (the value lies inside the current segment) is a
 * pointer compare; the slow path gathers at most 16 bytes for fixed-width
 * values, and variable-width values become views (struct amqp_bytes) that
 * may themselves span segments.
 *
 * Ownership: the cursor and every view borrow the segment array and the
 * bytes it points to; both must outlive them. Nothing here allocates. */
#ifndef AMQP_BUF_H
#define AMQP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
/* Hot-path decoders are inlined at each call site whatever the -O level:
 * each site then gets its own branch history for the format-code switch. */
#define AMQP_INLINE inline __attribute__((always_inline))
#define AMQP_LIKELY(x) __builtin_expect(!!(x), 1)
#define AMQP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define AMQP_INLINE inline
#define AMQP_LIKELY(x) (x)
#define AMQP_UNLIKELY(x) (x)
#endif

/* One contiguous piece of input. Borrowed: data stays valid while decoded
 * views of it are in use. */
struct amqp_seg {
	const uint8_t *data;
	uint32_t len;
};

/* A view of len bytes of input. When seg is NULL the bytes are contiguous at
 * ptr. Otherwise they start at ptr inside *seg and continue into seg[1],
 * seg[2], ... (empty segments are skipped). */
struct amqp_bytes {
	const uint8_t *ptr;
	const struct amqp_seg *seg;
	uint32_t len;
};

/* A bounded read position in a segment chain.
 *
 * Invariants: [p, lim) is the readable part of the current segment, clipped
 * to the bound; left counts every byte still readable, lim - p included;
 * the absolute position (for diagnostics) is end_pos - left. */
struct amqp_cursor {
	const uint8_t *p;
	const uint8_t *lim;
	const struct amqp_seg *seg;     /* segment holding p */
	const struct amqp_seg *seg_end; /* one past the last segment, or NULL:
					 * bounded by left alone */
	uint64_t left;
	uint64_t end_pos;
};

/* Slow paths (amqp_buf.c): the value crosses a segment boundary. */
void amqp_cur_skip_slow(struct amqp_cursor *c, uint64_t n);

/* A cursor left at the very end of its segment with bytes still to read
 * steps into the next one, so the next read is a fast one. lim == p with
 * left > 0 means lim is this segment's end (not the bound) and a next
 * segment exists: the common case, a non-empty one, is done here. */
static inline void amqp_cur_settle(struct amqp_cursor *c)
{
	if (AMQP_UNLIKELY(c->p == c->lim) && c->left > 0) {
		const struct amqp_seg *s = c->seg + 1;
		if (AMQP_LIKELY((c->seg_end == NULL || s < c->seg_end) && s->len != 0)) {
			c->seg = s;
			c->p = s->data;
			c->lim = s->data + (s->len < c->left ? s->len : c->left);
		} else {
			amqp_cur_skip_slow(c, 0);
		}
	}
}

/* Where a cursor over no bytes points (never NULL). */
extern const uint8_t amqp_no_bytes[1];

/* Start a cursor over nsegs segments, bounded by their total length. */
static inline void amqp_cur_init(struct amqp_cursor *c, const struct amqp_seg *segs, size_t nsegs)
{
	uint64_t n = 0;
	for (size_t i = 0; i < nsegs; i++)
		n += segs[i].len;
	c->seg = segs;
	c->seg_end = segs + nsegs;
	c->left = n;
	c->end_pos = n;
	/* The cursor never holds NULL, even over no bytes at all: pointer
	 * arithmetic on NULL (even + 0) is undefined, and {NULL, 0}
	 * segments are allowed. */
	if (AMQP_UNLIKELY(nsegs == 0)) {
		c->p = c->lim = amqp_no_bytes;
		return;
	}
	c->p = segs->data ? segs->data : amqp_no_bytes;
	c->lim = c->p + segs->len;
	if (AMQP_UNLIKELY(segs->len == 0))
		amqp_cur_skip_slow(c, 0); /* step to the first non-empty segment */
}

/* Start a cursor over one contiguous buffer, whose amqp_seg the caller
 * provides (it must outlive the cursor and any view of it). */
static inline void amqp_cur_init_flat(struct amqp_cursor *c, struct amqp_seg *seg,
				      const void *data, size_t len)
{
	seg->data = (const uint8_t *)data;
	seg->len = (uint32_t)len;
	amqp_cur_init(c, seg, 1);
}

/* A cursor over the bytes of a view; pos is the absolute position the view
 * started at (for diagnostics only). */
void amqp_cur_from_bytes(struct amqp_cursor *c, const struct amqp_bytes *b, uint64_t pos);

static inline uint64_t amqp_cur_left(const struct amqp_cursor *c) { return c->left; }
static inline uint64_t amqp_cur_pos(const struct amqp_cursor *c) { return c->end_pos - c->left; }

/* Slow paths (amqp_buf.c): the value crosses a segment boundary. */
void amqp_cur_copy_slow(struct amqp_cursor *c, void *dst, size_t n);

/* Copy n bytes out and advance. The caller has checked amqp_cur_left >= n. */
static inline void amqp_cur_copy(struct amqp_cursor *c, void *dst, size_t n)
{
	if (AMQP_LIKELY((size_t)(c->lim - c->p) >= n)) {
		memcpy(dst, c->p, n);
		c->p += n;
		c->left -= n;
		return;
	}
	amqp_cur_copy_slow(c, dst, n);
}

/* Advance n bytes. The caller has checked amqp_cur_left >= n. */
static inline void amqp_cur_skip(struct amqp_cursor *c, uint64_t n)
{
	if (AMQP_LIKELY((uint64_t)(c->lim - c->p) >= n)) {
		c->p += n;
		c->left -= n;
		return;
	}
	amqp_cur_skip_slow(c, n);
}

/* Read one byte. The caller has checked amqp_cur_left >= 1. */
static inline uint8_t amqp_cur_u8(struct amqp_cursor *c)
{
	uint8_t v;
	if (AMQP_LIKELY(c->p < c->lim)) {
		v = *c->p++;
		c->left--;
		return v;
	}
	amqp_cur_copy_slow(c, &v, 1);
	return v;
}

/* Peek the next byte without advancing; left >= 1 checked by the caller. */
uint8_t amqp_cur_peek_slow(const struct amqp_cursor *c);
static inline uint8_t amqp_cur_peek(const struct amqp_cursor *c)
{
	return AMQP_LIKELY(c->p < c->lim) ? *c->p : amqp_cur_peek_slow(c);
}

/* Big-endian reads (AMQP 1.0 part 1.6: network byte order). */
static inline uint16_t amqp_cur_be16(struct amqp_cursor *c)
{
	uint8_t b[2];
	amqp_cur_copy(c, b, 2);
	return (uint16_t)((b[0] << 8) | b[1]);
}
static inline uint32_t amqp_cur_be32(struct amqp_cursor *c)
{
	uint8_t b[4];
	amqp_cur_copy(c, b, 4);
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}
static inline uint64_t amqp_cur_be64(struct amqp_cursor *c)
{
	uint64_t hi = amqp_cur_be32(c);
	return (hi << 32) | amqp_cur_be32(c);
}

/* Take a view of the next n bytes and advance past them; left >= n checked
 * by the caller. */
static inline void amqp_cur_take(struct amqp_cursor *c, uint32_t n, struct amqp_bytes *out)
{
	out->len = n;
	if (AMQP_LIKELY((size_t)(c->lim - c->p) >= n)) {
		out->ptr = c->p;
		out->seg = NULL;
		c->p += n;
		c->left -= n;
		return;
	}
	/* p may sit at the very end of its segment: normalise first so the view
	 * starts inside a segment that has bytes. */
	if (c->p == c->lim && n > 0)
		amqp_cur_skip_slow(c, 0);
	out->ptr = c->p;
	out->seg = ((size_t)(c->lim - c->p) >= n) ? NULL : c->seg;
	amqp_cur_skip(c, n);
}

/* Split off the next n bytes as a sub-cursor and advance the parent past
 * them; left >= n checked by the caller. */
static inline void amqp_cur_split(struct amqp_cursor *c, uint64_t n, struct amqp_cursor *sub)
{
	amqp_cur_settle(c);
	sub->p = c->p;
	sub->seg = c->seg;
	sub->seg_end = c->seg_end;
	sub->left = n;
	sub->end_pos = amqp_cur_pos(c) + n;
	sub->lim = (uint64_t)(c->lim - c->p) > n ? c->p + n : c->lim;
	amqp_cur_skip(c, n);
}

/* --- views ------------------------------------------------------------- */

static inline struct amqp_bytes amqp_bytes_of(const void *p, size_t len)
{
	struct amqp_bytes b;
	b.ptr = (const uint8_t *)p;
	b.seg = NULL;
	b.len = (uint32_t)len;
	return b;
}

static inline bool amqp_bytes_contiguous(const struct amqp_bytes *b) { return b->seg == NULL; }

/* Copy up to cap bytes of the view into dst; returns the view's length
 * (which may exceed cap: then only cap bytes were copied). */
size_t amqp_bytes_copy(const struct amqp_bytes *b, void *dst, size_t cap);

/* Byte equality with a contiguous string, whatever the view's layout
 * (inline for a contiguous view; a view over segments compares in
 * amqp_bytes_eq_chain, len already equal). */
bool amqp_bytes_eq_chain(const struct amqp_bytes *b, const void *s, size_t len);
static inline bool amqp_bytes_eq(const struct amqp_bytes *b, const void *s, size_t len)
{
	if (b->len != len)
		return false;
	if (AMQP_LIKELY(b->seg == NULL))
		return len == 0 || memcmp(b->ptr, s, len) == 0; /* no memcmp of NULL */
	return amqp_bytes_eq_chain(b, s, len);
}
static inline bool amqp_bytes_eq_str(const struct amqp_bytes *b, const char *s)
{
	return amqp_bytes_eq(b, s, strlen(s));
}

/* Does the view start with prefix? (address prefix matching) */
bool amqp_bytes_has_prefix(const struct amqp_bytes *b, const void *prefix, size_t len);

/* Total length of a segment array. */
uint64_t amqp_segs_len(const struct amqp_seg *segs, size_t nsegs);

#ifdef __cplusplus
}
#endif
#endif

/* The contiguous fast path of the value decoder, inlined at every call
 * site (each gets its own branch history for the format-code switch).
 * Included at the end of amqp_value.h; do not include it directly. */
#ifndef AMQP_FLAT_H
#define AMQP_FLAT_H

#include "amqp_value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- the contiguous fast path -----------------------------------------
 *
 * Most values lie inside one segment. amqp_flat_value() decodes from plain
 * pointers [p, end) with one bounds check per read, and reports
 * RR_E_TRUNCATED when the value runs past end; amqp_decode_value() then
 * retries through the cursor when more segments follow. */

static inline uint16_t flat_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t flat_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t flat_be64(const uint8_t *p)
{
	return ((uint64_t)flat_be32(p) << 32) | flat_be32(p + 4);
}

/* Internal result, never returned to callers: "take the general path". */
#define AMQP_TRY_SLOW ((enum rr_err)RR_ERR_COUNT)

#define FLAT_NEED(n)                                                                               \
	do {                                                                                       \
		if (AMQP_UNLIKELY((uint64_t)(end - p) < (uint64_t)(n)))                            \
			return RR_E_TRUNCATED;                                                     \
	} while (0)

/* The payload after a known format code, from contiguous memory. One
 * switch on the code itself (a jump table): the common codes cost a few
 * instructions each. Codes not listed (arrays, reserved) go to the
 * general path, which knows every code from the generated table. */
static AMQP_INLINE enum rr_err amqp_flat_body(const uint8_t **pp, const uint8_t *end, uint8_t code,
					 struct amqp_value *v)
{
	const uint8_t *p = *pp;
	uint32_t n;

	v->code = code;
	switch (code) {
	case 0x40: v->type = AMQP_TYPE_NULL; v->count = 0; return RR_OK;
	case 0x41: v->type = AMQP_TYPE_BOOLEAN; v->u.b = true; return RR_OK;
	case 0x42: v->type = AMQP_TYPE_BOOLEAN; v->u.b = false; return RR_OK;
	case 0x43: v->type = AMQP_TYPE_UINT; v->u.u = 0; return RR_OK;
	case 0x44: v->type = AMQP_TYPE_ULONG; v->u.u = 0; return RR_OK;
	case 0x45:
		v->type = AMQP_TYPE_LIST;
		v->count = 0;
		v->bytes = amqp_bytes_of(p, 0);
		return RR_OK;
	case 0x50: v->type = AMQP_TYPE_UBYTE; goto u8;
	case 0x52: v->type = AMQP_TYPE_UINT; goto u8;
	case 0x53: v->type = AMQP_TYPE_ULONG; goto u8;
	case 0x56:
		FLAT_NEED(1);
		v->type = AMQP_TYPE_BOOLEAN;
		v->u.b = p[0] != 0;
		*pp = p + 1;
		return RR_OK;
	case 0x60:
		FLAT_NEED(2);
		v->type = AMQP_TYPE_USHORT;
		v->u.u = flat_be16(p);
		*pp = p + 2;
		return RR_OK;
	case 0x70:
		FLAT_NEED(4);
		v->type = AMQP_TYPE_UINT;
		v->u.u = flat_be32(p);
		*pp = p + 4;
		return RR_OK;
	case 0x80: v->type = AMQP_TYPE_ULONG; goto u64;
	case 0x81: v->type = AMQP_TYPE_LONG; goto u64;
	case 0x83: v->type = AMQP_TYPE_TIMESTAMP; goto u64;
	case 0x98:
		FLAT_NEED(16);
		v->type = AMQP_TYPE_UUID;
		memcpy(v->u.b16, p, 16);
		*pp = p + 16;
		return RR_OK;
	case 0xa0: v->type = AMQP_TYPE_BINARY; goto var8;
	case 0xa1: v->type = AMQP_TYPE_STRING; goto var8;
	case 0xa3: v->type = AMQP_TYPE_SYMBOL; goto var8;
	case 0xb0: v->type = AMQP_TYPE_BINARY; goto var32;
	case 0xb1: v->type = AMQP_TYPE_STRING; goto var32;
	case 0xb3: v->type = AMQP_TYPE_SYMBOL; goto var32;
	case 0xc0: v->type = AMQP_TYPE_LIST; goto compound8;
	case 0xc1: v->type = AMQP_TYPE_MAP; goto compound8;
	case 0xd0: v->type = AMQP_TYPE_LIST; goto compound32;
	case 0xd1: v->type = AMQP_TYPE_MAP; goto compound32;
	default: {
		/* The remaining fixed-width codes, from the generated table. */
		const struct amqp_code_info info = amqp_code_table[code];
		if (info.category != AMQP_CAT_FIXED)
			return AMQP_TRY_SLOW; /* arrays, reserved codes */
		FLAT_NEED(info.width);
		v->type = info.type;
		switch (info.width) {
		case 0: v->u.u = 0; break;
		case 1:
			if (info.type == AMQP_TYPE_BYTE || info.type == AMQP_TYPE_INT ||
			    info.type == AMQP_TYPE_LONG)
				v->u.i = (int8_t)p[0];
			else
				v->u.u = p[0];
			break;
		case 2:
			v->u.i = (int16_t)flat_be16(p); /* short (ushort is 0x60 above) */
			break;
		case 4: {
			uint32_t x = flat_be32(p);
			if (info.type == AMQP_TYPE_INT)
				v->u.i = (int32_t)x;
			else if (info.type == AMQP_TYPE_FLOAT)
				memcpy(&v->u.f, &x, 4);
			else
				v->u.u = x; /* char, decimal32 */
			break;
		}
		case 8: v->u.u = flat_be64(p); break; /* double, decimal64 */
		default: memcpy(v->u.b16, p, 16); break; /* decimal128 */
		}
		*pp = p + info.width;
		return RR_OK;
	}
	}
u8:
	FLAT_NEED(1);
	v->u.u = p[0];
	*pp = p + 1;
	return RR_OK;
u64:
	FLAT_NEED(8);
	v->u.u = flat_be64(p);
	*pp = p + 8;
	return RR_OK;
var8:
	FLAT_NEED(1);
	n = p[0];
	p += 1;
	goto var;
var32:
	FLAT_NEED(4);
	n = flat_be32(p);
	p += 4;
var:
	FLAT_NEED(n);
	v->bytes = amqp_bytes_of(p, n);
	*pp = p + n;
	return RR_OK;
compound8: {
	FLAT_NEED(1);
	uint32_t size = p[0];
	p += 1;
	FLAT_NEED(size);
	if (AMQP_UNLIKELY(size < 1))
		return RR_E_BAD_SIZE;
	n = p[0];
	if (AMQP_UNLIKELY(n > size - 1))
		return RR_E_BAD_COUNT;
	if (AMQP_UNLIKELY(v->type == AMQP_TYPE_MAP && (n & 1)))
		return RR_E_ODD_MAP;
	v->count = n;
	v->bytes = amqp_bytes_of(p + 1, size - 1);
	*pp = p + size;
	return RR_OK;
}
compound32: {
	FLAT_NEED(4);
	uint32_t size = flat_be32(p);
	p += 4;
	FLAT_NEED(size);
	if (AMQP_UNLIKELY(size < 4))
		return RR_E_BAD_SIZE;
	n = flat_be32(p);
	if (AMQP_UNLIKELY(n > size - 4))
		return RR_E_BAD_COUNT;
	if (AMQP_UNLIKELY(v->type == AMQP_TYPE_MAP && (n & 1)))
		return RR_E_ODD_MAP;
	v->count = n;
	v->bytes = amqp_bytes_of(p + 4, size - 4);
	*pp = p + size;
	return RR_OK;
}
}

/* One whole value (constructor included) from contiguous memory. */
static AMQP_INLINE enum rr_err amqp_flat_value(const uint8_t **pp, const uint8_t *end,
					  struct amqp_value *v)
{
	const uint8_t *p = *pp;
	FLAT_NEED(1);
	uint8_t code = *p++;
	v->descriptor = AMQP_DESC_NONE;
	v->described = 0;
	if (code == 0x00) {
		/* The common descriptor form, 0x00 smallulong code (what every
		 * performative and section uses); others take the cursor path. */
		if (AMQP_UNLIKELY(end - p < 3 || p[0] != 0x53 || p[2] == 0x00))
			return AMQP_TRY_SLOW; /* short forms (0x44) too */
		v->descriptor = p[1];
		v->described = 1;
		code = p[2];
		p += 3;
	}
	enum rr_err e = amqp_flat_body(&p, end, code, v);
	if (AMQP_LIKELY(e == RR_OK)) {
		v->raw = amqp_bytes_of(*pp, (size_t)(p - *pp));
		*pp = p;
	}
	return e;
}


/* --- per-field readers for the generated composite decoders ----------
 *
 * Each reads one list element into a struct field of a known spec type,
 * from contiguous memory. RR_OK: stored. AMQP_FLAT_NULL: the element is
 * null (the field keeps its default). AMQP_TRY_SLOW: a legal form left to
 * the general path (a described value, an array). Other: the error. */
#define AMQP_FLAT_NULL ((enum rr_err)(RR_ERR_COUNT + 1))

/* A code the field's type does not accept: null, "take the general path"
 * for a descriptor, or a type error. */
static enum rr_err amqp_flat_other_slow(const uint8_t *p, const uint8_t *end);
static AMQP_INLINE enum rr_err amqp_flat_other(const uint8_t *p, const uint8_t *end)
{
	/* null is common (absent fields before a present one): decide it here */
	return AMQP_LIKELY(p[0] == 0x40) ? AMQP_FLAT_NULL : amqp_flat_other_slow(p, end);
}

static __attribute__((noinline, unused)) enum rr_err amqp_flat_other_slow(const uint8_t *p,
										 const uint8_t *end)
{
	if (p[0] == 0x00)
		return AMQP_TRY_SLOW;
	if (amqp_code_table[p[0]].type == AMQP_TYPE_INVALID)
		return RR_E_BAD_CONSTRUCTOR;
	/* A malformed value gets the error the general path gives it (which
	 * decodes before it checks the type), whatever the split. */
	struct amqp_value v;
	enum rr_err e = amqp_flat_value(&p, end, &v);
	return e == RR_OK ? RR_E_WRONG_TYPE : e;
}

#define FLAT_TAKE(n)                                                                               \
	do {                                                                                       \
		if (AMQP_UNLIKELY((uint64_t)(end - p) < (uint64_t)(n)))                            \
			return RR_E_TRUNCATED;                                                     \
	} while (0)

static AMQP_INLINE enum rr_err amqp_flat_bool(const uint8_t **pp, const uint8_t *end, bool *out)
{
	const uint8_t *p = *pp;
	FLAT_TAKE(1);
	switch (p[0]) {
	case 0x41: *out = true; *pp = p + 1; return RR_OK;
	case 0x42: *out = false; *pp = p + 1; return RR_OK;
	case 0x56: FLAT_TAKE(2); *out = p[1] != 0; *pp = p + 2; return RR_OK;
	default: *pp = p + (p[0] == 0x40); return amqp_flat_other(p, end);
	}
}

static AMQP_INLINE enum rr_err amqp_flat_ubyte(const uint8_t **pp, const uint8_t *end, uint8_t *out)
{
	const uint8_t *p = *pp;
	FLAT_TAKE(1);
	if (AMQP_LIKELY(p[0] == 0x50)) {
		FLAT_TAKE(2);
		*out = p[1];
		*pp = p + 2;
		return RR_OK;
	}
	*pp = p + (p[0] == 0x40);
	return amqp_flat_other(p, end);
}

static AMQP_INLINE enum rr_err amqp_flat_ushort(const uint8_t **pp, const uint8_t *end, uint16_t *out)
{
	const uint8_t *p = *pp;
	FLAT_TAKE(1);
	if (AMQP_LIKELY(p[0] == 0x60)) {
		FLAT_TAKE(3);
		*out = flat_be16(p + 1);
		*pp = p + 3;
		return RR_OK;
	}
	*pp = p + (p[0] == 0x40);
	return amqp_flat_other(p, end);
}

static AMQP_INLINE enum rr_err amqp_flat_uint(const uint8_t **pp, const uint8_t *end, uint32_t *out)
{
	const uint8_t *p = *pp;
	FLAT_TAKE(1);
	switch (p[0]) {
	case 0x43: *out = 0; *pp = p + 1; return RR_OK;
	case 0x52: FLAT_TAKE(2); *out = p[1]; *pp = p + 2; return RR_OK;
	case 0x70: FLAT_TAKE(5); *out = flat_be32(p + 1); *pp = p + 5; return RR_OK;
	default: *pp = p + (p[0] == 0x40); return amqp_flat_other(p, end);
	}
}

static AMQP_INLINE enum rr_err amqp_flat_ulong(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	FLAT_TAKE(1);
	switch (p[0]) {
	case 0x44: *out = 0; *pp = p + 1; return RR_OK;
	case 0x53: FLAT_TAKE(2); *out = p[1]; *pp = p + 2; return RR_OK;
	case 0x80: FLAT_TAKE(9); *out = flat_be64(p + 1); *pp = p + 9; return RR_OK;
	default: *pp = p + (p[0] == 0x40); return amqp_flat_other(p, end);
	}
}

static AMQP_INLINE enum rr_err amqp_flat_timestamp(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
	const uint8_t *p = *pp;
	FLAT_TAKE(1);
	if (AMQP_LIKELY(p[0] == 0x83)) {
		FLAT_TAKE(9);
		*out = (int64_t)flat_be64(p + 1);
		*pp = p + 9;
		return RR_OK;
	}
	*pp = p + (p[0] == 0x40);
	return amqp_flat_other(p, end);
}

/* binary (0xa0/0xb0), string (0xa1/0xb1), symbol (0xa3/0xb3). */
static AMQP_INLINE enum rr_err amqp_flat_bytes(const uint8_t **pp, const uint8_t *end,
					  struct amqp_bytes *out, uint8_t code8)
{
	const uint8_t *p = *pp;
	uint32_t n;
	FLAT_TAKE(1);
	if (AMQP_LIKELY(p[0] == code8)) {
		FLAT_TAKE(2);
		n = p[1];
		p += 2;
	} else if (p[0] == (uint8_t)(code8 + 0x10)) {
		FLAT_TAKE(5);
		n = flat_be32(p + 1);
		p += 5;
	} else {
		*pp = p + (p[0] == 0x40);
		return amqp_flat_other(p, end);
	}
	FLAT_TAKE(n);
	*out = amqp_bytes_of(p, n);
	*pp = p + n;
	return RR_OK;
}

/* '*', map, list and multiple fields: the whole value, in place. prim is
 * the type required (AMQP_TYPE_INVALID: any); multiple also accepts an
 * array of prim (part 1.3). */
static AMQP_INLINE enum rr_err amqp_flat_any(const uint8_t **pp, const uint8_t *end, uint64_t pos,
					struct amqp_value *out, uint8_t prim, bool multiple)
{
	const uint8_t *p = *pp;
	enum rr_err e = amqp_flat_value(&p, end, out);
	if (AMQP_UNLIKELY(e != RR_OK))
		return e;
	out->pos = pos;
	*pp = p;
	if (out->type == AMQP_TYPE_NULL)
		return AMQP_FLAT_NULL;
	/* A typed field holds a plain value of its type (a described one is
	 * another type, part 1.2); '*' fields take described values. */
	if (!(prim == AMQP_TYPE_INVALID ||
	      (out->described == 0 &&
	       (out->type == prim || (multiple && out->type == AMQP_TYPE_ARRAY && out->elem_type == prim)))))
		return RR_E_WRONG_TYPE;
	/* Nested values are checked now, not when someone walks them. */
	return out->type >= AMQP_TYPE_LIST ? amqp_value_validate(out, NULL) : RR_OK;
}

/* Skip count well-formed values (extra list elements); *at is left at the
 * value that failed, for the diagnostic position. */
static inline enum rr_err amqp_flat_skip_values(const uint8_t **pp, const uint8_t *end, uint32_t count,
						const uint8_t **at)
{
	for (uint32_t i = 0; i < count; i++) {
		struct amqp_value v;
		*at = *pp;
		enum rr_err e = amqp_flat_value(pp, end, &v);
		if (e != RR_OK)
			return e;
	}
	return RR_OK;
}

#undef FLAT_TAKE

static AMQP_INLINE enum rr_err amqp_decode_value(struct amqp_cursor *c, struct amqp_value *v,
					    struct amqp_diag *d)
{
	/* A cursor left at the very end of a segment steps into the next
	 * one first, so the value after a segment boundary is fast too. */
	if (AMQP_UNLIKELY(c->p == c->lim) && c->left > 0)
		amqp_cur_skip_slow(c, 0);
	if (AMQP_LIKELY(c->p < c->lim)) {
		const uint8_t *p = c->p;
		enum rr_err e = amqp_flat_value(&p, c->lim, v);
		if (AMQP_LIKELY(e == RR_OK)) {
			v->pos = amqp_cur_pos(c);
			c->left -= (uint64_t)(p - c->p);
			c->p = p;
			return RR_OK;
		}
		/* Truncated with nothing after this segment, or malformed, is
		 * final; the general path retries across segments and takes
		 * the forms the fast path leaves to it. */
		if (e != AMQP_TRY_SLOW && (e != RR_E_TRUNCATED || (uint64_t)(c->lim - c->p) == c->left))
			return amqp_diag_set(d, e, amqp_cur_pos(c), NULL, NULL);
	}
	return amqp_decode_value_general(c, v, d);
}

/* Next list or map element: inlined; arrays and the end go to the
 * general path. */
static AMQP_INLINE enum rr_err amqp_iter_next(struct amqp_iter *it, struct amqp_value *out,
					 struct amqp_diag *d)
{
	if (AMQP_LIKELY(it->remaining != 0 && it->elem_code == 0)) {
		enum rr_err e = amqp_decode_value(&it->cur, out, d);
		it->remaining -= (e == RR_OK);
		return e;
	}
	return amqp_iter_next_general(it, out, d);
}

#ifdef __cplusplus
}
#endif

#endif

/* Internal to the codec: the contiguous fast path of the value decoder,
 * inlined by amqp_value.c and amqp_composite.c. Not a public header. */
#ifndef AMQP_FLAT_H
#define AMQP_FLAT_H

#include "amqp_value.h"

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

/* The payload after a known format code, from contiguous memory. */
static inline enum rr_err amqp_flat_body(const uint8_t **pp, const uint8_t *end, uint8_t code,
					 struct amqp_value *v)
{
	const uint8_t *p = *pp;
	const struct amqp_code_info info = amqp_code_table[code];
	v->code = code;
	v->type = info.type;
	switch (info.category) {
	case AMQP_CAT_FIXED:
		FLAT_NEED(info.width);
		switch (info.width) {
		case 0:
			v->u.u = 0;
			v->u.b = code == 0x41;
			v->count = 0;
			v->bytes = amqp_bytes_of(NULL, 0);
			break;
		case 1:
			if (info.type == AMQP_TYPE_BOOLEAN)
				v->u.b = p[0] != 0;
			else if (info.type == AMQP_TYPE_BYTE || info.type == AMQP_TYPE_INT ||
				 info.type == AMQP_TYPE_LONG)
				v->u.i = (int8_t)p[0];
			else
				v->u.u = p[0];
			break;
		case 2:
			v->u.u = flat_be16(p);
			if (info.type == AMQP_TYPE_SHORT)
				v->u.i = (int16_t)v->u.u;
			break;
		case 4: {
			uint32_t x = flat_be32(p);
			if (info.type == AMQP_TYPE_INT)
				v->u.i = (int32_t)x;
			else if (info.type == AMQP_TYPE_FLOAT)
				memcpy(&v->u.f, &x, 4);
			else
				v->u.u = x;
			break;
		}
		case 8:
			v->u.u = flat_be64(p); /* double/long/timestamp: same bits */
			break;
		default:
			memcpy(v->u.b16, p, 16);
			break;
		}
		*pp = p + info.width;
		return RR_OK;
	case AMQP_CAT_VARIABLE: {
		uint32_t n;
		FLAT_NEED(info.width);
		n = info.width == 1 ? p[0] : flat_be32(p);
		p += info.width;
		FLAT_NEED(n);
		v->bytes = amqp_bytes_of(p, n);
		*pp = p + n;
		return RR_OK;
	}
	case AMQP_CAT_COMPOUND: {
		uint32_t size, count;
		FLAT_NEED(info.width);
		size = info.width == 1 ? p[0] : flat_be32(p);
		p += info.width;
		FLAT_NEED(size);
		if (size < info.width)
			return RR_E_BAD_SIZE;
		count = info.width == 1 ? p[0] : flat_be32(p);
		if (count > size - info.width)
			return RR_E_BAD_COUNT;
		if (info.type == AMQP_TYPE_MAP && (count & 1))
			return RR_E_ODD_MAP;
		v->count = count;
		v->bytes = amqp_bytes_of(p + info.width, size - info.width);
		*pp = p + size;
		return RR_OK;
	}
	default:
		return AMQP_TRY_SLOW; /* arrays, and invalid codes: the cursor path */
	}
}

/* One whole value (constructor included) from contiguous memory. */
static inline enum rr_err amqp_flat_value(const uint8_t **pp, const uint8_t *end,
					  struct amqp_value *v)
{
	const uint8_t *p = *pp;
	FLAT_NEED(1);
	uint8_t code = *p++;
	v->descriptor = AMQP_DESC_NONE;
	if (code == 0x00) {
		/* The common descriptor form, 0x00 smallulong code (what every
		 * performative and section uses); others take the cursor path. */
		FLAT_NEED(3);
		if (AMQP_UNLIKELY(p[0] != 0x53 || p[2] == 0x00))
			return AMQP_TRY_SLOW;
		v->descriptor = p[1];
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

#endif

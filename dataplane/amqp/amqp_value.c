/* AMQP 1.0 part 1 (types): one value at a time, no recursion, no
 * allocation. Every length is checked against the bytes that remain in the
 * enclosing container before anything is read. */
#include "amqp_value.h"

#include <stdio.h>

enum rr_err amqp_diag_set(struct amqp_diag *d, enum rr_err err, uint64_t pos, const char *type,
			  const char *field)
{
	if (d != NULL && err > RR_END) {
		/* The innermost decoder records where it failed and names the
		 * field first; callers wrapping it only fill what is still
		 * unknown (d starts zeroed: err RR_OK). */
		if (d->err <= RR_END)
			d->pos = pos;
		d->err = err;
		if (d->type == NULL)
			d->type = type;
		if (d->field == NULL)
			d->field = field;
	}
	return err;
}

size_t amqp_diag_format(const struct amqp_diag *d, char *buf, size_t cap)
{
	const char *cond = rr_err_condition(d->err);
	int n = snprintf(buf, cap, "%s: %s%s%s at byte %llu: %s", cond ? cond : rr_errname(d->err),
			 d->type ? d->type : "value", d->field ? "." : "", d->field ? d->field : "",
			 (unsigned long long)d->pos, rr_strerror(d->err));
	return n < 0 ? 0 : (size_t)n;
}

#define NEED(c, n)                                                                                 \
	do {                                                                                       \
		if (AMQP_UNLIKELY(amqp_cur_left(c) < (uint64_t)(n)))                               \
			return RR_E_TRUNCATED;                                                     \
	} while (0)

/* Read a descriptor (part 1.5): a ulong or a symbol. */
static enum rr_err amqp_read_descriptor(struct amqp_cursor *c, uint64_t *code, struct amqp_bytes *sym)
{
	NEED(c, 1);
	uint8_t dc = amqp_cur_u8(c);
	switch (dc) {
	case 0x44: /* ulong0 */
		*code = 0;
		return RR_OK;
	case 0x53: /* smallulong */
		NEED(c, 1);
		*code = amqp_cur_u8(c);
		return RR_OK;
	case 0x80: /* ulong */
		NEED(c, 8);
		*code = amqp_cur_be64(c);
		/* The top two codes are our NONE/UNKNOWN sentinels: a peer's
		 * 0xff..fe would claim a symbolic descriptor that is not there. */
		if (AMQP_UNLIKELY(*code >= AMQP_DESC_UNKNOWN))
			return RR_E_BAD_DESCRIPTOR;
		return RR_OK;
	case 0xa3: /* sym8 */
	case 0xb3: /* sym32 */ {
		uint32_t n;
		if (dc == 0xa3) {
			NEED(c, 1);
			n = amqp_cur_u8(c);
		} else {
			NEED(c, 4);
			n = amqp_cur_be32(c);
		}
		NEED(c, n);
		amqp_cur_take(c, n, sym);
		*code = amqp_descriptor_lookup(sym);
		return RR_OK;
	}
	default:
		return RR_E_BAD_DESCRIPTOR;
	}
}

/* Read the payload of a value whose format code is known (after its
 * constructor, or for an array element). */
static enum rr_err amqp_decode_body(struct amqp_cursor *c, uint8_t code, struct amqp_value *v)
{
	const struct amqp_code_info info = amqp_code_table[code];
	v->code = code;
	v->type = info.type;
	switch (info.category) {
	case AMQP_CAT_FIXED: {
		NEED(c, info.width);
		switch (info.width) {
		case 0:
			/* null, true, false, uint0, ulong0, list0 */
			v->u.u = 0;
			if (code == 0x41)
				v->u.b = true;
			else if (code == 0x42)
				v->u.b = false;
			v->count = 0;
			/* Empty, but not NULL: users compute ptr + len. */
			v->bytes = amqp_bytes_of(c->p, 0);
			return RR_OK;
		case 1: {
			uint8_t b = amqp_cur_u8(c);
			if (info.type == AMQP_TYPE_BOOLEAN)
				v->u.b = b != 0;
			else if (info.type == AMQP_TYPE_BYTE || info.type == AMQP_TYPE_INT ||
				 info.type == AMQP_TYPE_LONG)
				v->u.i = (int8_t)b;
			else
				v->u.u = b;
			return RR_OK;
		}
		case 2: {
			uint16_t x = amqp_cur_be16(c);
			if (info.type == AMQP_TYPE_SHORT)
				v->u.i = (int16_t)x;
			else
				v->u.u = x;
			return RR_OK;
		}
		case 4: {
			uint32_t x = amqp_cur_be32(c);
			if (info.type == AMQP_TYPE_INT)
				v->u.i = (int32_t)x;
			else if (info.type == AMQP_TYPE_FLOAT)
				memcpy(&v->u.f, &x, 4);
			else
				v->u.u = x;
			return RR_OK;
		}
		case 8: {
			uint64_t x = amqp_cur_be64(c);
			if (info.type == AMQP_TYPE_DOUBLE)
				memcpy(&v->u.d, &x, 8);
			else
				v->u.u = x; /* long/timestamp: same bits as int64 */
			return RR_OK;
		}
		default: /* 16: uuid, decimal128 */
			amqp_cur_copy(c, v->u.b16, 16);
			return RR_OK;
		}
	}
	case AMQP_CAT_VARIABLE: {
		uint32_t n;
		NEED(c, info.width);
		n = info.width == 1 ? amqp_cur_u8(c) : amqp_cur_be32(c);
		NEED(c, n);
		amqp_cur_take(c, n, &v->bytes);
		return RR_OK;
	}
	case AMQP_CAT_COMPOUND: {
		uint32_t size, count;
		NEED(c, info.width);
		size = info.width == 1 ? amqp_cur_u8(c) : amqp_cur_be32(c);
		NEED(c, size);
		if (size < info.width)
			return RR_E_BAD_SIZE;
		count = info.width == 1 ? amqp_cur_u8(c) : amqp_cur_be32(c);
		/* Every element has at least a one-byte constructor. */
		if (count > size - info.width)
			return RR_E_BAD_COUNT;
		if (info.type == AMQP_TYPE_MAP && (count & 1))
			return RR_E_ODD_MAP;
		v->count = count;
		amqp_cur_take(c, size - info.width, &v->bytes);
		return RR_OK;
	}
	case AMQP_CAT_ARRAY: {
		uint32_t size, count;
		NEED(c, info.width);
		size = info.width == 1 ? amqp_cur_u8(c) : amqp_cur_be32(c);
		NEED(c, size);
		if (size < info.width + 1u)
			return RR_E_BAD_SIZE;
		struct amqp_cursor body;
		amqp_cur_split(c, size, &body);
		count = info.width == 1 ? amqp_cur_u8(&body) : amqp_cur_be32(&body);
		uint8_t ec = amqp_cur_u8(&body);
		v->elem_descriptor = AMQP_DESC_NONE;
		v->elem_sym_descriptor = amqp_bytes_of(NULL, 0);
		if (ec == 0x00) {
			/* Keep a symbolic descriptor: elements report it. */
			enum rr_err e = amqp_read_descriptor(&body, &v->elem_descriptor,
							     &v->elem_sym_descriptor);
			if (e != RR_OK)
				return e;
			NEED(&body, 1);
			ec = amqp_cur_u8(&body);
		}
		const struct amqp_code_info ei = amqp_code_table[ec];
		if (ei.type == AMQP_TYPE_INVALID || ec == 0x00)
			return RR_E_BAD_ARRAY_ELEM;
		uint64_t left = amqp_cur_left(&body);
		/* Lying counts: the elements must fit the bytes that remain. */
		if (ei.category == AMQP_CAT_FIXED) {
			if (ei.width == 0 ? count > AMQP_MAX_ZERO_WIDTH_ARRAY
					  : (uint64_t)count * ei.width != left)
				return RR_E_BAD_COUNT;
		} else if ((uint64_t)count * ei.width > left) {
			return RR_E_BAD_COUNT;
		}
		v->count = count;
		v->elem_code = ec;
		v->elem_type = ei.type;
		amqp_cur_take(&body, (uint32_t)left, &v->bytes);
		return RR_OK;
	}
	default:
		return RR_E_BAD_CONSTRUCTOR;
	}
}

/* The general path: any value, across segments. */
static enum rr_err amqp_decode_value_slow(struct amqp_cursor *c, struct amqp_value *v)
{
	const struct amqp_cursor start = *c;
	uint64_t pos = amqp_cur_pos(c);
	enum rr_err e;

	v->descriptor = AMQP_DESC_NONE;
	v->described = 0;
	if (AMQP_UNLIKELY(amqp_cur_left(c) < 1))
		return RR_E_TRUNCATED;
	uint8_t code = amqp_cur_u8(c);
	for (unsigned depth = 0; code == 0x00; depth++) {
		uint64_t desc;
		struct amqp_bytes sym;
		if (depth >= AMQP_MAX_DESCRIBED_DEPTH)
			return RR_E_NESTING;
		e = amqp_read_descriptor(c, &desc, &sym);
		if (e != RR_OK)
			return e;
		if (depth == 0) {
			v->descriptor = desc;
			v->sym_descriptor = sym;
		}
		v->described = (uint8_t)(depth + 1);
		if (amqp_cur_left(c) < 1)
			return RR_E_TRUNCATED;
		code = amqp_cur_u8(c);
	}
	e = amqp_decode_body(c, code, v);
	if (AMQP_UNLIKELY(e != RR_OK))
		return e;
	/* A 4 GiB body plus its header does not fit a view. */
	if (AMQP_UNLIKELY(amqp_cur_pos(c) - pos > UINT32_MAX))
		return RR_E_TOO_LARGE;
	struct amqp_cursor r = start;
	amqp_cur_take(&r, (uint32_t)(amqp_cur_pos(c) - pos), &v->raw);
	return RR_OK;
}

enum rr_err amqp_decode_value_general(struct amqp_cursor *c, struct amqp_value *v,
				      struct amqp_diag *d)
{
	const struct amqp_cursor start = *c;
	v->pos = amqp_cur_pos(c);
	enum rr_err e = amqp_decode_value_slow(c, v);
	if (AMQP_UNLIKELY(e != RR_OK)) {
		*c = start;
		return amqp_diag_set(d, e, v->pos, NULL, NULL);
	}
	return RR_OK;
}

enum rr_err amqp_iter_init(struct amqp_iter *it, const struct amqp_value *v, struct amqp_diag *d)
{
	if (v->type != AMQP_TYPE_LIST && v->type != AMQP_TYPE_MAP && v->type != AMQP_TYPE_ARRAY)
		return amqp_diag_set(d, RR_E_WRONG_TYPE, v->pos, NULL, NULL);
	/* Element positions (diagnostics) count from where the elements start;
	 * an array element has no raw encoding of its own, so its header
	 * length is unknown here and its elements are placed at its start. */
	uint64_t hdr = v->raw.len >= v->bytes.len ? v->raw.len - v->bytes.len : 0;
	amqp_cur_from_bytes(&it->cur, &v->bytes, v->pos + hdr);
	it->remaining = v->count;
	if (v->type == AMQP_TYPE_ARRAY) {
		it->elem_code = v->elem_code;
		it->elem_type = v->elem_type;
		it->elem_descriptor = v->elem_descriptor;
		it->elem_sym_descriptor = v->elem_sym_descriptor;
	} else {
		it->elem_code = 0;
		it->elem_type = AMQP_TYPE_INVALID;
		it->elem_descriptor = AMQP_DESC_NONE;
		it->elem_sym_descriptor = amqp_bytes_of(NULL, 0);
	}
	return RR_OK;
}

enum rr_err amqp_iter_next_general(struct amqp_iter *it, struct amqp_value *out,
				    struct amqp_diag *d)
{
	if (it->remaining == 0) {
		if (amqp_cur_left(&it->cur) != 0)
			return amqp_diag_set(d, RR_E_BAD_COUNT, amqp_cur_pos(&it->cur), NULL, NULL);
		return RR_END;
	}
	if (it->elem_code == 0) {
		enum rr_err e = amqp_decode_value(&it->cur, out, d);
		if (e == RR_OK)
			it->remaining--;
		return e;
	}
	uint64_t pos = amqp_cur_pos(&it->cur);
	out->pos = pos;
	out->descriptor = it->elem_descriptor;
	out->sym_descriptor = it->elem_sym_descriptor;
	enum rr_err e = amqp_decode_body(&it->cur, it->elem_code, out);
	if (e != RR_OK)
		return amqp_diag_set(d, e, pos, NULL, NULL);
	/* Array elements have no constructor of their own, so there is no
	 * standalone encoding to point at: re-encode from the fields. */
	out->raw = amqp_bytes_of(NULL, 0);
	it->remaining--;
	return RR_OK;
}

enum rr_err amqp_value_validate(const struct amqp_value *v, struct amqp_diag *d)
{
	struct amqp_iter stack[AMQP_MAX_VALIDATE_DEPTH];
	int top = 0;
	enum rr_err e;
	uint64_t budget = 4 * (uint64_t)v->bytes.len + AMQP_MAX_ZERO_WIDTH_ARRAY + 1024;

	if (v->type != AMQP_TYPE_LIST && v->type != AMQP_TYPE_MAP && v->type != AMQP_TYPE_ARRAY)
		return RR_OK;
	amqp_iter_init(&stack[0], v, d);
	while (top >= 0) {
		struct amqp_value ev;
		if (AMQP_UNLIKELY(budget-- == 0))
			return amqp_diag_set(d, RR_E_BAD_COUNT, amqp_cur_pos(&stack[top].cur), NULL, NULL);
		e = amqp_iter_next(&stack[top], &ev, d);
		if (e == RR_END) {
			top--;
			continue;
		}
		if (e != RR_OK)
			return e;
		if (ev.type == AMQP_TYPE_LIST || ev.type == AMQP_TYPE_MAP || ev.type == AMQP_TYPE_ARRAY) {
			if (top + 1 >= AMQP_MAX_VALIDATE_DEPTH)
				return amqp_diag_set(d, RR_E_NESTING, ev.pos, NULL, NULL);
			amqp_iter_init(&stack[++top], &ev, d);
		}
	}
	return RR_OK;
}

enum rr_err amqp_map_find(const struct amqp_value *map, const char *key, struct amqp_value *out,
			  struct amqp_diag *d)
{
	struct amqp_iter it;
	struct amqp_value k;
	enum rr_err e;
	size_t klen = strlen(key);

	if (map->type != AMQP_TYPE_MAP)
		return amqp_diag_set(d, RR_E_WRONG_TYPE, map->pos, NULL, NULL);
	amqp_iter_init(&it, map, d);
	while ((e = amqp_iter_next(&it, &k, d)) == RR_OK) {
		e = amqp_iter_next(&it, out, d);
		if (e != RR_OK)
			return e == RR_END ? amqp_diag_set(d, RR_E_ODD_MAP, k.pos, NULL, NULL) : e;
		if ((k.type == AMQP_TYPE_SYMBOL || k.type == AMQP_TYPE_STRING) &&
		    amqp_bytes_eq(&k.bytes, key, klen))
			return RR_OK;
	}
	return e;
}

const char *amqp_type_name(enum amqp_type t)
{
	static const char *const names[AMQP_TYPE_COUNT] = {
		"null",	      "boolean",    "ubyte",  "ushort",	   "uint",    "ulong",
		"byte",	      "short",	    "int",    "long",	   "float",   "double",
		"decimal32",  "decimal64",  "decimal128", "char",  "timestamp", "uuid",
		"binary",     "string",	    "symbol", "list",	   "map",     "array",
	};
	return (unsigned)t < AMQP_TYPE_COUNT ? names[t] : "invalid";
}

/* Canonical AMQP 1.0 encodings (part 1.6): the smallest form of each value.
 * Scalars come out byte for byte as proton-C writes them; compounds are
 * list8/map8/array8 (list0 when empty) whenever they fit, where proton's
 * pn_data_encode writes the 32-bit forms and its transport keeps trailing
 * nulls: both are valid encodings of the same values. */
#include "amqp_encode.h"

void amqp_write_bytes(struct amqp_wbuf *w, const struct amqp_bytes *b)
{
	uint8_t *o = amqp_wbuf_reserve(w, b->len);
	if (o)
		amqp_bytes_copy(b, o, b->len);
}

static inline void amqp_put_code(struct amqp_wbuf *w, uint8_t code)
{
	uint8_t *o = amqp_wbuf_reserve(w, 1);
	if (o)
		o[0] = code;
}

static inline void amqp_put_code_u8(struct amqp_wbuf *w, uint8_t code, uint8_t v)
{
	uint8_t *o = amqp_wbuf_reserve(w, 2);
	if (o) {
		o[0] = code;
		o[1] = v;
	}
}

static inline void amqp_put_code_be16(struct amqp_wbuf *w, uint8_t code, uint16_t v)
{
	uint8_t *o = amqp_wbuf_reserve(w, 3);
	if (o) {
		o[0] = code;
		amqp_put_be16(o + 1, v);
	}
}

static inline void amqp_put_code_be32(struct amqp_wbuf *w, uint8_t code, uint32_t v)
{
	uint8_t *o = amqp_wbuf_reserve(w, 5);
	if (o) {
		o[0] = code;
		amqp_put_be32(o + 1, v);
	}
}

static inline void amqp_put_code_be64(struct amqp_wbuf *w, uint8_t code, uint64_t v)
{
	uint8_t *o = amqp_wbuf_reserve(w, 9);
	if (o) {
		o[0] = code;
		amqp_put_be64(o + 1, v);
	}
}

void amqp_encode_null(struct amqp_wbuf *w) { amqp_put_code(w, 0x40); }
void amqp_encode_bool(struct amqp_wbuf *w, bool v) { amqp_put_code(w, v ? 0x41 : 0x42); }
void amqp_encode_ubyte(struct amqp_wbuf *w, uint8_t v) { amqp_put_code_u8(w, 0x50, v); }
void amqp_encode_ushort(struct amqp_wbuf *w, uint16_t v) { amqp_put_code_be16(w, 0x60, v); }

void amqp_encode_uint(struct amqp_wbuf *w, uint32_t v)
{
	if (v == 0)
		amqp_put_code(w, 0x43);
	else if (v < 256)
		amqp_put_code_u8(w, 0x52, (uint8_t)v);
	else
		amqp_put_code_be32(w, 0x70, v);
}

void amqp_encode_ulong(struct amqp_wbuf *w, uint64_t v)
{
	if (v == 0)
		amqp_put_code(w, 0x44);
	else if (v < 256)
		amqp_put_code_u8(w, 0x53, (uint8_t)v);
	else
		amqp_put_code_be64(w, 0x80, v);
}

void amqp_encode_byte(struct amqp_wbuf *w, int8_t v) { amqp_put_code_u8(w, 0x51, (uint8_t)v); }
void amqp_encode_short(struct amqp_wbuf *w, int16_t v) { amqp_put_code_be16(w, 0x61, (uint16_t)v); }

void amqp_encode_int(struct amqp_wbuf *w, int32_t v)
{
	if (v >= -128 && v <= 127)
		amqp_put_code_u8(w, 0x54, (uint8_t)(int8_t)v);
	else
		amqp_put_code_be32(w, 0x71, (uint32_t)v);
}

void amqp_encode_long(struct amqp_wbuf *w, int64_t v)
{
	if (v >= -128 && v <= 127)
		amqp_put_code_u8(w, 0x55, (uint8_t)(int8_t)v);
	else
		amqp_put_code_be64(w, 0x81, (uint64_t)v);
}

void amqp_encode_float(struct amqp_wbuf *w, float v)
{
	uint32_t x;
	memcpy(&x, &v, 4);
	amqp_put_code_be32(w, 0x72, x);
}

void amqp_encode_double(struct amqp_wbuf *w, double v)
{
	uint64_t x;
	memcpy(&x, &v, 8);
	amqp_put_code_be64(w, 0x82, x);
}

void amqp_encode_decimal32(struct amqp_wbuf *w, uint32_t bits) { amqp_put_code_be32(w, 0x74, bits); }
void amqp_encode_decimal64(struct amqp_wbuf *w, uint64_t bits) { amqp_put_code_be64(w, 0x84, bits); }
void amqp_encode_char(struct amqp_wbuf *w, uint32_t utf32) { amqp_put_code_be32(w, 0x73, utf32); }
void amqp_encode_timestamp(struct amqp_wbuf *w, int64_t ms) { amqp_put_code_be64(w, 0x83, (uint64_t)ms); }

static void amqp_put_code_16(struct amqp_wbuf *w, uint8_t code, const uint8_t b[16])
{
	uint8_t *o = amqp_wbuf_reserve(w, 17);
	if (o) {
		o[0] = code;
		memcpy(o + 1, b, 16);
	}
}

void amqp_encode_decimal128(struct amqp_wbuf *w, const uint8_t bits[16]) { amqp_put_code_16(w, 0x94, bits); }
void amqp_encode_uuid(struct amqp_wbuf *w, const uint8_t uuid[16]) { amqp_put_code_16(w, 0x98, uuid); }

/* vbin/str/sym share one shape: 8-bit size below 256 bytes, else 32-bit. */
static void amqp_encode_variable(struct amqp_wbuf *w, uint8_t code8, uint8_t code32,
				 const struct amqp_bytes *b)
{
	if (b->len < 256)
		amqp_put_code_u8(w, code8, (uint8_t)b->len);
	else
		amqp_put_code_be32(w, code32, b->len);
	amqp_write_bytes(w, b);
}

void amqp_encode_binary(struct amqp_wbuf *w, const struct amqp_bytes *b) { amqp_encode_variable(w, 0xa0, 0xb0, b); }
void amqp_encode_string(struct amqp_wbuf *w, const struct amqp_bytes *b) { amqp_encode_variable(w, 0xa1, 0xb1, b); }
void amqp_encode_symbol(struct amqp_wbuf *w, const struct amqp_bytes *b) { amqp_encode_variable(w, 0xa3, 0xb3, b); }

void amqp_encode_descriptor(struct amqp_wbuf *w, uint64_t code)
{
	amqp_put_code(w, 0x00);
	amqp_encode_ulong(w, code);
}

/* Worst-case compound header: code + 4-byte size + 4-byte count. */
#define AMQP_HDR32 9

static void amqp_compound_open(struct amqp_wbuf *w, struct amqp_compound *k, uint8_t type)
{
	k->hdr = amqp_wbuf_reserve(w, AMQP_HDR32);
	k->count = 0;
	k->type = type;
}

void amqp_encode_list_open(struct amqp_wbuf *w, struct amqp_compound *k) { amqp_compound_open(w, k, AMQP_TYPE_LIST); }
void amqp_encode_map_open(struct amqp_wbuf *w, struct amqp_compound *k) { amqp_compound_open(w, k, AMQP_TYPE_MAP); }

void amqp_encode_compound_close(struct amqp_wbuf *w, struct amqp_compound *k)
{
	if (w->overflow || k->hdr == NULL)
		return;
	uint8_t *body = k->hdr + AMQP_HDR32;
	size_t n = (size_t)(w->p - body);
	bool list = k->type == AMQP_TYPE_LIST;

	if (list && k->count == 0) {
		/* list0 (0x45): the empty list has no size or count. */
		k->hdr[0] = 0x45;
		w->p = k->hdr + 1;
	} else if (n + 1 <= 255 && k->count <= 255) {
		/* list8/map8: size counts the count byte and the elements. */
		k->hdr[0] = list ? 0xc0 : 0xc1;
		k->hdr[1] = (uint8_t)(n + 1);
		k->hdr[2] = (uint8_t)k->count;
		memmove(k->hdr + 3, body, n);
		w->p = k->hdr + 3 + n;
	} else if (n + 4 > UINT32_MAX) {
		w->overflow = true;
	} else {
		k->hdr[0] = list ? 0xd0 : 0xd1;
		amqp_put_be32(k->hdr + 1, (uint32_t)(n + 4));
		amqp_put_be32(k->hdr + 5, k->count);
	}
}

void amqp_encode_array_open(struct amqp_wbuf *w, struct amqp_array *a, uint8_t elem_code)
{
	a->hdr = amqp_wbuf_reserve(w, AMQP_HDR32 + 1);
	a->count = 0;
	a->elem_code = elem_code;
}

void amqp_encode_array_symbol(struct amqp_wbuf *w, struct amqp_array *a, const struct amqp_bytes *s)
{
	if (a->elem_code == 0xa3) {
		uint8_t *o = amqp_wbuf_reserve(w, 1);
		if (o)
			o[0] = (uint8_t)s->len;
	} else {
		uint8_t *o = amqp_wbuf_reserve(w, 4);
		if (o)
			amqp_put_be32(o, s->len);
	}
	amqp_write_bytes(w, s);
	a->count++;
}

void amqp_encode_array_close(struct amqp_wbuf *w, struct amqp_array *a)
{
	if (w->overflow || a->hdr == NULL)
		return;
	uint8_t *body = a->hdr + AMQP_HDR32 + 1;
	size_t n = (size_t)(w->p - body);
	if (n + 2 <= 255 && a->count <= 255) {
		/* array8: size counts the count byte, the constructor and elements. */
		a->hdr[0] = 0xe0;
		a->hdr[1] = (uint8_t)(n + 2);
		a->hdr[2] = (uint8_t)a->count;
		a->hdr[3] = a->elem_code;
		memmove(a->hdr + 4, body, n);
		w->p = a->hdr + 4 + n;
	} else {
		a->hdr[0] = 0xf0;
		amqp_put_be32(a->hdr + 1, (uint32_t)(n + 5));
		amqp_put_be32(a->hdr + 5, a->count);
		a->hdr[9] = a->elem_code;
	}
}

void amqp_encode_symbols(struct amqp_wbuf *w, const char *const *syms, size_t n)
{
	if (n == 1) {
		amqp_encode_csym(w, syms[0]);
		return;
	}
	uint8_t code = 0xa3;
	for (size_t i = 0; i < n; i++)
		if (strlen(syms[i]) > 255)
			code = 0xb3;
	struct amqp_array a;
	amqp_encode_array_open(w, &a, code);
	for (size_t i = 0; i < n; i++) {
		struct amqp_bytes b = amqp_bytes_of(syms[i], strlen(syms[i]));
		amqp_encode_array_symbol(w, &a, &b);
	}
	amqp_encode_array_close(w, &a);
}

/* Re-encode a value that has no raw bytes (an array element, or one built
 * by hand): from its type and fields. */
static void amqp_encode_from_fields(struct amqp_wbuf *w, const struct amqp_value *v)
{
	switch (v->type) {
	case AMQP_TYPE_NULL: amqp_encode_null(w); break;
	case AMQP_TYPE_BOOLEAN: amqp_encode_bool(w, v->u.b); break;
	case AMQP_TYPE_UBYTE: amqp_encode_ubyte(w, (uint8_t)v->u.u); break;
	case AMQP_TYPE_USHORT: amqp_encode_ushort(w, (uint16_t)v->u.u); break;
	case AMQP_TYPE_UINT: amqp_encode_uint(w, (uint32_t)v->u.u); break;
	case AMQP_TYPE_ULONG: amqp_encode_ulong(w, v->u.u); break;
	case AMQP_TYPE_BYTE: amqp_encode_byte(w, (int8_t)v->u.i); break;
	case AMQP_TYPE_SHORT: amqp_encode_short(w, (int16_t)v->u.i); break;
	case AMQP_TYPE_INT: amqp_encode_int(w, (int32_t)v->u.i); break;
	case AMQP_TYPE_LONG: amqp_encode_long(w, v->u.i); break;
	case AMQP_TYPE_FLOAT: amqp_encode_float(w, v->u.f); break;
	case AMQP_TYPE_DOUBLE: amqp_encode_double(w, v->u.d); break;
	case AMQP_TYPE_DECIMAL32: amqp_encode_decimal32(w, (uint32_t)v->u.u); break;
	case AMQP_TYPE_DECIMAL64: amqp_encode_decimal64(w, v->u.u); break;
	case AMQP_TYPE_DECIMAL128: amqp_encode_decimal128(w, v->u.b16); break;
	case AMQP_TYPE_CHAR: amqp_encode_char(w, (uint32_t)v->u.u); break;
	case AMQP_TYPE_TIMESTAMP: amqp_encode_timestamp(w, v->u.i); break;
	case AMQP_TYPE_UUID: amqp_encode_uuid(w, v->u.b16); break;
	case AMQP_TYPE_BINARY: amqp_encode_binary(w, &v->bytes); break;
	case AMQP_TYPE_STRING: amqp_encode_string(w, &v->bytes); break;
	case AMQP_TYPE_SYMBOL: amqp_encode_symbol(w, &v->bytes); break;
	case AMQP_TYPE_LIST:
	case AMQP_TYPE_MAP: {
		/* Elements are already encoded in v->bytes. */
		struct amqp_compound k;
		amqp_compound_open(w, &k, v->type);
		amqp_write_bytes(w, &v->bytes);
		k.count = v->count;
		amqp_encode_compound_close(w, &k);
		break;
	}
	case AMQP_TYPE_ARRAY: {
		/* Elements share one constructor, written right before them;
		 * an array of described elements keeps its descriptor. */
		struct amqp_array a;
		amqp_encode_array_open(w, &a, v->elem_code);
		if (v->elem_descriptor != AMQP_DESC_NONE) {
			/* Constructor becomes 0x00 descriptor code: rewrite by
			 * emitting it as part of the body after a placeholder. */
			a.elem_code = 0x00;
			if (v->elem_descriptor == AMQP_DESC_UNKNOWN)
				amqp_encode_symbol(w, &v->elem_sym_descriptor);
			else
				amqp_encode_ulong(w, v->elem_descriptor);
			amqp_put_code(w, v->elem_code);
		}
		amqp_write_bytes(w, &v->bytes);
		a.count = v->count;
		amqp_encode_array_close(w, &a);
		break;
	}
	default:
		w->overflow = true; /* invalid value: refuse to write garbage */
		break;
	}
}

void amqp_encode_value(struct amqp_wbuf *w, const struct amqp_value *v)
{
	if (v->raw.len > 0) {
		amqp_write_bytes(w, &v->raw);
		return;
	}
	if (v->descriptor != AMQP_DESC_NONE) {
		if (v->descriptor == AMQP_DESC_UNKNOWN) {
			amqp_put_code(w, 0x00);
			amqp_encode_symbol(w, &v->sym_descriptor);
		} else {
			amqp_encode_descriptor(w, v->descriptor);
		}
	}
	amqp_encode_from_fields(w, v);
}

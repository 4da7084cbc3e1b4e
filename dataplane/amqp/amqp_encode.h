/* AMQP 1.0 part 1 (types): encoding into a contiguous output buffer.
 *
 * Encoders always pick the smallest canonical encoding (uint0, smalluint,
 * str8, list8, list0, ...), as proton does. A write that does not fit sets
 * the buffer's overflow flag and writes nothing more; the caller checks
 * amqp_wbuf_ok() once at the end, so the fast path has no error branches
 * per field. */
#ifndef AMQP_ENCODE_H
#define AMQP_ENCODE_H

#include "amqp_value.h"

#ifdef __cplusplus
extern "C" {
#endif

struct amqp_wbuf {
	uint8_t *start; /* borrowed output memory */
	uint8_t *p;     /* next byte to write */
	uint8_t *end;
	bool overflow;
};

static inline void amqp_wbuf_init(struct amqp_wbuf *w, void *buf, size_t cap)
{
	w->start = w->p = (uint8_t *)buf;
	w->end = w->start + cap;
	w->overflow = false;
}
static inline bool amqp_wbuf_ok(const struct amqp_wbuf *w) { return !w->overflow; }
static inline size_t amqp_wbuf_len(const struct amqp_wbuf *w) { return (size_t)(w->p - w->start); }

/* Reserve n bytes; NULL (and overflow set) when they do not fit. */
static inline uint8_t *amqp_wbuf_reserve(struct amqp_wbuf *w, size_t n)
{
	if (AMQP_UNLIKELY(w->overflow || (size_t)(w->end - w->p) < n)) {
		w->overflow = true;
		return NULL;
	}
	uint8_t *r = w->p;
	w->p += n;
	return r;
}

static inline void amqp_put_u8(uint8_t *p, uint8_t v) { p[0] = v; }
static inline void amqp_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void amqp_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void amqp_put_be64(uint8_t *p, uint64_t v)
{
	amqp_put_be32(p, (uint32_t)(v >> 32));
	amqp_put_be32(p + 4, (uint32_t)v);
}

/* Raw bytes (a view, possibly spanning segments). */
void amqp_write_bytes(struct amqp_wbuf *w, const struct amqp_bytes *b);
static inline void amqp_write_mem(struct amqp_wbuf *w, const void *p, size_t n)
{
	uint8_t *o = amqp_wbuf_reserve(w, n);
	if (o && n) /* no memcpy from NULL, even of 0 bytes (UBSan) */
		memcpy(o, p, n);
}

void amqp_encode_null(struct amqp_wbuf *w);
void amqp_encode_bool(struct amqp_wbuf *w, bool v);
void amqp_encode_ubyte(struct amqp_wbuf *w, uint8_t v);
void amqp_encode_ushort(struct amqp_wbuf *w, uint16_t v);
void amqp_encode_uint(struct amqp_wbuf *w, uint32_t v);
void amqp_encode_ulong(struct amqp_wbuf *w, uint64_t v);
void amqp_encode_byte(struct amqp_wbuf *w, int8_t v);
void amqp_encode_short(struct amqp_wbuf *w, int16_t v);
void amqp_encode_int(struct amqp_wbuf *w, int32_t v);
void amqp_encode_long(struct amqp_wbuf *w, int64_t v);
void amqp_encode_float(struct amqp_wbuf *w, float v);
void amqp_encode_double(struct amqp_wbuf *w, double v);
void amqp_encode_decimal32(struct amqp_wbuf *w, uint32_t bits);
void amqp_encode_decimal64(struct amqp_wbuf *w, uint64_t bits);
void amqp_encode_decimal128(struct amqp_wbuf *w, const uint8_t bits[16]);
void amqp_encode_char(struct amqp_wbuf *w, uint32_t utf32);
void amqp_encode_timestamp(struct amqp_wbuf *w, int64_t ms);
void amqp_encode_uuid(struct amqp_wbuf *w, const uint8_t uuid[16]);
/* binary / string / symbol: vbin8/str8/sym8 when len < 256, else the 32-bit form. */
void amqp_encode_binary(struct amqp_wbuf *w, const struct amqp_bytes *b);
void amqp_encode_string(struct amqp_wbuf *w, const struct amqp_bytes *b);
void amqp_encode_symbol(struct amqp_wbuf *w, const struct amqp_bytes *b);
static inline void amqp_encode_cstr(struct amqp_wbuf *w, const char *s)
{
	struct amqp_bytes b = amqp_bytes_of(s, strlen(s));
	amqp_encode_string(w, &b);
}
static inline void amqp_encode_csym(struct amqp_wbuf *w, const char *s)
{
	struct amqp_bytes b = amqp_bytes_of(s, strlen(s));
	amqp_encode_symbol(w, &b);
}

/* Descriptor prefix 0x00 + smallulong/ulong code (part 1.5). */
void amqp_encode_descriptor(struct amqp_wbuf *w, uint64_t code);

/* Compound values: open, write elements, close. close() fills in size and
 * count and shrinks the header to list8/map8 (or list0) when it fits,
 * moving the elements down: the encoding stays canonical. */
struct amqp_compound {
	uint8_t *hdr;   /* where the 9-byte worst-case header was reserved */
	uint32_t count; /* elements written so far (callers increment) */
	uint8_t type;   /* AMQP_TYPE_LIST or AMQP_TYPE_MAP */
};
void amqp_encode_list_open(struct amqp_wbuf *w, struct amqp_compound *k);
void amqp_encode_map_open(struct amqp_wbuf *w, struct amqp_compound *k);
void amqp_encode_compound_close(struct amqp_wbuf *w, struct amqp_compound *k);

/* Arrays: one element type for all elements; the elements are written
 * with amqp_encode_array_elem_* (no per-element constructor). */
struct amqp_array {
	uint8_t *hdr;
	uint32_t count;
	uint8_t elem_code;
};
/* elem_code must be a format code with a size field or fixed width >= 1
 * (e.g. 0xa3 sym8 promoted to 0xb3 sym32 on close if any symbol is long). */
void amqp_encode_array_open(struct amqp_wbuf *w, struct amqp_array *a, uint8_t elem_code);
void amqp_encode_array_symbol(struct amqp_wbuf *w, struct amqp_array *a, const struct amqp_bytes *s);
void amqp_encode_array_close(struct amqp_wbuf *w, struct amqp_array *a);

/* Convenience: an array of symbols, or a single symbol when n == 1, as
 * AMQP "multiple" fields allow (part 1.3). */
void amqp_encode_symbols(struct amqp_wbuf *w, const char *const *syms, size_t n);

/* Re-encode a decoded value: its raw bytes when it has them (forwarded
 * untouched), otherwise from its fields. */
void amqp_encode_value(struct amqp_wbuf *w, const struct amqp_value *v);

#ifdef __cplusplus
}
#endif
#endif

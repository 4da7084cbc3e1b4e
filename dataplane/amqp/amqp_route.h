/* The router's per-transfer fast path over a message (AMQP 1.0 part 3.2).
 *
 * amqp_message_scan() decodes everything a message has into general
 * structs; a router forwarding a transfer needs a handful of values from
 * it. amqp_route_scan() reads exactly those — the header, the
 * message-annotations map (as a view, walked with amqp_ann_next), to,
 * reply-to, correlation-id, message-id, the expiry and creation times, and
 * the body's bounds — with the same validation as amqp_message_scan (every
 * section's order and type, every properties field's type, every length),
 * writing a small struct. Anything it does not handle inline (a message
 * that spans segments, a described or compound value where a scalar is
 * usual, an unknown section) is handed to amqp_message_scan, so both give
 * the same answer for every input; tests and the fuzzer check that. */
#ifndef AMQP_ROUTE_H
#define AMQP_ROUTE_H

#include "amqp_message.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A field read without decoding it further: its type, its format code and,
 * for binary/string/symbol, its content; otherwise its whole encoding
 * (decode it with amqp_decode_value when needed). type AMQP_TYPE_NULL when
 * absent. */
struct amqp_ref {
	uint8_t type;
	uint8_t code;
	struct amqp_bytes bytes;
};

struct amqp_route_info {
	uint32_t sections;          /* enum amqp_section_bit */
	struct amqp_header header;  /* spec defaults when absent */
	/* message-annotations map elements (keys and values), walked with
	 * amqp_ann_iter; count 0 when absent. */
	struct amqp_bytes annotations;
	uint32_t annotations_count;
	uint64_t annotations_pos;
	/* properties (part 3.2.4) */
	struct amqp_ref message_id;
	struct amqp_ref to;
	struct amqp_ref reply_to;
	struct amqp_ref correlation_id;
	int64_t absolute_expiry_time; /* valid when has_absolute_expiry_time */
	int64_t creation_time;        /* valid when has_creation_time */
	bool has_absolute_expiry_time;
	bool has_creation_time;
	/* every body section, as one view; and everything after the
	 * message-annotations, untouched (what a rewrite copies) */
	struct amqp_bytes body;
	uint32_t body_sections;
	struct amqp_bytes after_annotations;
	uint64_t len; /* encoded length of the whole message */
};

/* Scan a complete message for routing. Same results and errors as
 * amqp_message_scan; the cursor ends at the end of the message. */
enum rr_err amqp_route_scan(struct amqp_cursor *c, struct amqp_route_info *r, struct amqp_diag *d);

/* Walk message annotations: keys (symbol or ulong, part 3.2.10) and values
 * as references. */
struct amqp_ann_iter {
	const uint8_t *p, *end; /* contiguous annotations: read in place */
	const uint8_t *start;
	uint32_t remaining;     /* keys and values left */
	bool general;           /* it is in use (a chain, or an unusual value) */
	uint64_t pos;           /* absolute position of start (diagnostics) */
	struct amqp_bytes rest; /* annotations when not contiguous */
	struct amqp_iter it;
};
static inline void amqp_ann_iter_init(struct amqp_ann_iter *a, const struct amqp_route_info *r)
{
	a->remaining = r->annotations_count;
	a->pos = r->annotations_pos;
	a->general = !amqp_bytes_contiguous(&r->annotations);
	a->start = a->p = r->annotations.ptr;
	a->end = a->p ? a->p + r->annotations.len : NULL; /* no arithmetic on NULL */
	a->rest = r->annotations;
	if (AMQP_UNLIKELY(a->general)) {
		amqp_cur_from_bytes(&a->it.cur, &r->annotations, r->annotations_pos);
		a->it.remaining = r->annotations_count;
		a->it.elem_code = 0;
		a->it.elem_type = AMQP_TYPE_INVALID;
		a->it.elem_descriptor = AMQP_DESC_NONE;
	}
}

/* Read one scalar or variable-width value as a reference, from contiguous
 * memory. AMQP_TRY_SLOW for described, compound and array values (the
 * general decoder checks their counts), RR_E_TRUNCATED past end. */
static AMQP_INLINE enum rr_err amqp_flat_ref(const uint8_t **pp, const uint8_t *end,
					     struct amqp_ref *ref)
{
	const uint8_t *p = *pp;
	if (AMQP_UNLIKELY(p >= end))
		return RR_E_TRUNCATED;
	const uint8_t code = p[0];
	const struct amqp_code_info info = amqp_code_table[code];
	uint64_t n;

	ref->code = code;
	ref->type = info.type;
	if (AMQP_LIKELY(info.category == AMQP_CAT_VARIABLE)) {
		if (info.width == 1) {
			if (AMQP_UNLIKELY(end - p < 2))
				return RR_E_TRUNCATED;
			n = p[1];
			p += 2;
		} else {
			if (AMQP_UNLIKELY(end - p < 5))
				return RR_E_TRUNCATED;
			n = ((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8) | p[4];
			p += 5;
		}
		if (AMQP_UNLIKELY((uint64_t)(end - p) < n))
			return RR_E_TRUNCATED;
		ref->bytes = amqp_bytes_of(p, (size_t)n);
		*pp = p + n;
		return RR_OK;
	}
	if (info.category == AMQP_CAT_FIXED) {
		if (AMQP_UNLIKELY((uint64_t)(end - p) < 1u + info.width))
			return RR_E_TRUNCATED;
		/* null reads as an empty reference, as absent fields do */
		ref->bytes = amqp_bytes_of(p, code == 0x40 ? 0u : 1u + info.width);
		*pp = p + 1 + info.width;
		return RR_OK;
	}
	return AMQP_TRY_SLOW; /* described, list, map, array, reserved */
}

/* The common encodings first: a variable-width value of format code
 * code8 (vbin8 0xa0 binary, str8 0xa1 string, sym8 0xa3 symbol), whose
 * type the caller names. false (nothing written) for anything else. */
static AMQP_INLINE bool amqp_flat_ref8(const uint8_t **pp, const uint8_t *end, struct amqp_ref *ref,
				       uint8_t code8, uint8_t type)
{
	const uint8_t *p = *pp;
	if (!(end - p >= 2 && p[0] == code8))
		return false;
	const uint32_t n = p[1];
	if (AMQP_UNLIKELY((uint64_t)(end - p - 2) < n))
		return false;
	ref->type = type;
	ref->code = code8;
	ref->bytes = amqp_bytes_of(p + 2, n);
	*pp = p + 2 + n;
	return true;
}

/* RR_OK with key and value set, RR_END after the last, or an error.
 * Inline: entries of scalar and variable-width values in contiguous
 * annotations; the end, chains and anything unusual (which the general
 * path reads or reports) in amqp_ann_next_general. */
enum rr_err amqp_ann_next_general(struct amqp_ann_iter *a, struct amqp_ref *key,
				  struct amqp_ref *value, struct amqp_diag *d);
static AMQP_INLINE enum rr_err amqp_ann_next(struct amqp_ann_iter *a, struct amqp_ref *key,
					     struct amqp_ref *value, struct amqp_diag *d)
{
	if (AMQP_LIKELY(!a->general)) {
		const uint8_t *p = a->p;
		if (a->remaining >= 2) {
			/* keys: symbol (sym8 first) or ulong (part 3.2.10) */
			if (AMQP_LIKELY(amqp_flat_ref8(&p, a->end, key, 0xa3, AMQP_TYPE_SYMBOL) ||
					(amqp_flat_ref(&p, a->end, key) == RR_OK &&
					 (key->type == AMQP_TYPE_SYMBOL || key->type == AMQP_TYPE_ULONG))) &&
			    AMQP_LIKELY(amqp_flat_ref(&p, a->end, value) == RR_OK)) {
				a->p = p;
				a->remaining -= 2;
				return RR_OK;
			}
		} else if (a->remaining == 0 && p == a->end) {
			return RR_END;
		}
	}
	return amqp_ann_next_general(a, key, value, d);
}

/* A reference to a decoded value (for the fallback path and for users
 * holding an amqp_value). */
void amqp_ref_from_value(struct amqp_ref *ref, const struct amqp_value *v);

#ifdef __cplusplus
}
#endif
#endif

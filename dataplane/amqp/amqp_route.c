/* The per-transfer fast path: see amqp_route.h. Field positions and types
 * come from the generated tables (AMQP_PROPERTIES_IDX_*, the field
 * descriptors), not from this file. */
#include "amqp_route.h"

static void amqp_ref_null(struct amqp_ref *ref)
{
	ref->type = AMQP_TYPE_NULL;
	ref->code = 0x40;
	ref->bytes = amqp_bytes_of(NULL, 0);
}

void amqp_ref_from_value(struct amqp_ref *ref, const struct amqp_value *v)
{
	if (v->type == AMQP_TYPE_NULL && v->descriptor == AMQP_DESC_NONE) {
		amqp_ref_null(ref); /* absent and null read the same */
		return;
	}
	ref->type = v->type;
	ref->code = v->code;
	switch (v->type) {
	case AMQP_TYPE_BINARY:
	case AMQP_TYPE_STRING:
	case AMQP_TYPE_SYMBOL: ref->bytes = v->bytes; break;
	default: ref->bytes = v->raw; break;
	}
	/* A described value keeps its descriptor in the raw encoding. */
	if (v->descriptor != AMQP_DESC_NONE)
		ref->bytes = v->raw;
}

/* The general path: a full scan, then the same values picked out of it. */
static enum rr_err amqp_route_from_message(struct amqp_cursor *c, struct amqp_route_info *r,
					   struct amqp_diag *d)
{
	struct amqp_message_view m;
	enum rr_err e = amqp_message_scan(c, &m, d);
	if (e != RR_OK)
		return e;
	r->sections = m.sections;
	r->header = m.header;
	if (m.sections & AMQP_SEC_MESSAGE_ANNOTATIONS) {
		r->annotations = m.message_annotations.bytes;
		r->annotations_count = m.message_annotations.count;
		r->annotations_pos = m.message_annotations.pos +
				     (m.message_annotations.raw.len - m.message_annotations.bytes.len);
	} else {
		r->annotations = amqp_bytes_of(NULL, 0);
		r->annotations_count = 0;
		r->annotations_pos = 0;
	}
	const struct amqp_properties *p = &m.properties;
	amqp_ref_from_value(&r->message_id, &p->message_id);
	amqp_ref_from_value(&r->to, &p->to);
	amqp_ref_from_value(&r->reply_to, &p->reply_to);
	amqp_ref_from_value(&r->correlation_id, &p->correlation_id);
	r->has_absolute_expiry_time = (p->present & AMQP_PROPERTIES_HAS_ABSOLUTE_EXPIRY_TIME) != 0;
	r->absolute_expiry_time = p->absolute_expiry_time;
	r->has_creation_time = (p->present & AMQP_PROPERTIES_HAS_CREATION_TIME) != 0;
	r->creation_time = p->creation_time;
	r->body = m.body;
	r->body_sections = m.body_sections;
	r->after_annotations = m.after_annotations;
	r->len = m.len;
	return RR_OK;
}

/* Keep the routing fields of properties; the others are only checked. */
static AMQP_INLINE void amqp_route_prop_store(struct amqp_route_info *r, unsigned i,
					      const struct amqp_ref *ref)
{
	switch (i) {
	case AMQP_PROPERTIES_IDX_MESSAGE_ID: r->message_id = *ref; break;
	case AMQP_PROPERTIES_IDX_TO: r->to = *ref; break;
	case AMQP_PROPERTIES_IDX_REPLY_TO: r->reply_to = *ref; break;
	case AMQP_PROPERTIES_IDX_CORRELATION_ID: r->correlation_id = *ref; break;
	case AMQP_PROPERTIES_IDX_ABSOLUTE_EXPIRY_TIME:
	case AMQP_PROPERTIES_IDX_CREATION_TIME: {
		/* timestamps: 0x83 + 8 bytes, big-endian (part 1.6.17) */
		int64_t t = (int64_t)flat_be64(ref->bytes.ptr + 1);
		if (i == AMQP_PROPERTIES_IDX_ABSOLUTE_EXPIRY_TIME) {
			r->absolute_expiry_time = t;
			r->has_absolute_expiry_time = true;
		} else {
			r->creation_time = t;
			r->has_creation_time = true;
		}
		break;
	}
	default: break;
	}
}

/* One properties field of the type prim (AMQP_TYPE_INVALID: any; for '*'
 * fields REQ, the plain types their archetype allows, 0: any), stored by
 * its index. Nothing else is accepted here: the general path decides. */
#define AMQP_ROUTE_PROP(IDX, NAME, PRIM, REQ)                                                      \
	if (count <= (IDX))                                                                        \
		goto done;                                                                         \
	if (AMQP_UNLIKELY(p >= end))                                                               \
		return AMQP_TRY_SLOW;                                                              \
	if (*p == 0x40) { /* null: absent */                                                       \
		p++;                                                                               \
	} else {                                                                                   \
		struct amqp_ref ref;                                                               \
		/* str8 first: what addresses and ids usually are */                               \
		if (!(((PRIM) == AMQP_TYPE_INVALID || (PRIM) == AMQP_TYPE_STRING) &&               \
		      amqp_flat_ref8(&p, end, &ref, 0xa1, AMQP_TYPE_STRING))) {                    \
			if (AMQP_UNLIKELY(amqp_flat_ref(&p, end, &ref) != RR_OK))                  \
				return AMQP_TRY_SLOW; /* the general path reports errors */        \
			if (AMQP_UNLIKELY((PRIM) != AMQP_TYPE_INVALID && ref.type != (PRIM)))      \
				return AMQP_TRY_SLOW;                                              \
		}                                                                                  \
		if (AMQP_UNLIKELY((REQ) != 0 && !(((REQ) >> ref.type) & 1)))                     \
			return AMQP_TRY_SLOW;                                                      \
		amqp_route_prop_store(r, (IDX), &ref);                                             \
	}

/* Properties (part 3.2.4) read inline: one step per field of the
 * generated field list (spec order and types), the routing fields kept as
 * references. */
static AMQP_INLINE enum rr_err amqp_route_properties(const uint8_t *p, const uint8_t *end,
						     uint32_t count, struct amqp_route_info *r)
{
	if (AMQP_UNLIKELY(count > amqp_properties_desc.nfields))
		return AMQP_TRY_SLOW; /* a later revision's fields: general path */
	AMQP_PROPERTIES_FIELDS(AMQP_ROUTE_PROP)
done:
	return p == end ? RR_OK : AMQP_TRY_SLOW;
}
#undef AMQP_ROUTE_PROP

/* A section's list or map header, read in place: code8 is list8 (0xc0) or
 * map8 (0xc1), code8 + 0x10 the 32-bit form; lists may be list0. On
 * success [*elems, *pp) are the count elements. Anything else, or a size
 * or count the general decoder would refuse, is AMQP_TRY_SLOW. */
static AMQP_INLINE enum rr_err amqp_route_compound(const uint8_t **pp, const uint8_t *end,
						   uint8_t code8, const uint8_t **elems,
						   uint32_t *count)
{
	const uint8_t *p = *pp;
	const uint64_t avail = (uint64_t)(end - p);
	uint64_t size;
	uint32_t n;

	if (AMQP_LIKELY(avail >= 3 && p[0] == code8)) {
		size = p[1];
		if (AMQP_UNLIKELY(size < 1 || size > avail - 2))
			return AMQP_TRY_SLOW;
		n = p[2];
		if (AMQP_UNLIKELY(n > size - 1))
			return AMQP_TRY_SLOW;
		*elems = p + 3;
		*pp = p + 2 + size;
	} else if (avail >= 9 && p[0] == (uint8_t)(code8 + 0x10)) {
		size = flat_be32(p + 1);
		if (AMQP_UNLIKELY(size < 4 || size > avail - 5))
			return AMQP_TRY_SLOW;
		n = flat_be32(p + 5);
		if (AMQP_UNLIKELY(n > size - 4))
			return AMQP_TRY_SLOW;
		*elems = p + 9;
		*pp = p + 5 + size;
	} else if (code8 == 0xc0 && avail >= 1 && p[0] == 0x45) { /* list0 */
		n = 0;
		*elems = *pp = p + 1;
	} else {
		return AMQP_TRY_SLOW; /* described, wrong type, truncated, ... */
	}
	if (AMQP_UNLIKELY(code8 == 0xc1 && (n & 1)))
		return AMQP_TRY_SLOW;
	*count = n;
	return RR_OK;
}

/* The descriptor code of the section at p: 0x00 0x53 code (part 3.2; the
 * other descriptor forms take the general path) and one byte more; else
 * AMQP_ROUTE_NONE. */
#define AMQP_ROUTE_NONE 0x100u
static AMQP_INLINE unsigned amqp_route_next(const uint8_t *p, const uint8_t *end)
{
	return end - p >= 4 && p[0] == 0x00 && p[1] == 0x53 ? p[2] : AMQP_ROUTE_NONE;
}

enum rr_err amqp_route_scan(struct amqp_cursor *c, struct amqp_route_info *r, struct amqp_diag *d)
{
	amqp_cur_settle(c);
	/* The fast path reads a message that lies in one segment. */
	if (AMQP_UNLIKELY((uint64_t)(c->lim - c->p) != c->left))
		return amqp_route_from_message(c, r, d);

	const uint8_t *const start = c->p, *const end = c->lim;
	const uint8_t *p = start, *after_ma = start, *body = NULL, *body_end = NULL;
	const uint64_t pos0 = amqp_cur_pos(c);
	const uint8_t *elems;
	uint32_t count, sections = 0, body_sections = 0;

	r->annotations_count = 0;
	r->annotations = amqp_bytes_of(NULL, 0);
	r->annotations_pos = 0;
	r->has_absolute_expiry_time = r->has_creation_time = false;
	r->absolute_expiry_time = r->creation_time = 0;
	amqp_ref_null(&r->message_id);
	amqp_ref_null(&r->to);
	amqp_ref_null(&r->reply_to);
	amqp_ref_null(&r->correlation_id);

	/* The sections in the order of part 3.2, each at most once, the body
	 * as data sections. Whatever is left after them (another body, a
	 * footer, a section out of order or twice, another encoding) is for
	 * the general path, which reads it or names the error. */
	unsigned dc = amqp_route_next(p, end);
	if (dc == AMQP_DESC_HEADER) {
		p += 3;
		if (amqp_route_compound(&p, end, 0xc0, &elems, &count) != RR_OK ||
		    amqp_header_decode_list(elems, p, count, pos0 + (uint64_t)(elems - start),
					    &r->header, d) != RR_OK)
			goto general;
		sections |= AMQP_SEC_HEADER;
		after_ma = p;
		dc = amqp_route_next(p, end);
	} else {
		amqp_header_init(&r->header);
	}
	if (dc == AMQP_DESC_DELIVERY_ANNOTATIONS) {
		p += 3;
		if (amqp_route_compound(&p, end, 0xc1, &elems, &count) != RR_OK)
			goto general;
		sections |= AMQP_SEC_DELIVERY_ANNOTATIONS;
		after_ma = p;
		dc = amqp_route_next(p, end);
	}
	if (dc == AMQP_DESC_MESSAGE_ANNOTATIONS) {
		p += 3;
		if (amqp_route_compound(&p, end, 0xc1, &elems, &count) != RR_OK)
			goto general;
		sections |= AMQP_SEC_MESSAGE_ANNOTATIONS;
		r->annotations = amqp_bytes_of(elems, (size_t)(p - elems));
		r->annotations_count = count;
		r->annotations_pos = pos0 + (uint64_t)(elems - start);
		after_ma = p;
		dc = amqp_route_next(p, end);
	}
	if (dc == AMQP_DESC_PROPERTIES) {
		p += 3;
		if (amqp_route_compound(&p, end, 0xc0, &elems, &count) != RR_OK ||
		    amqp_route_properties(elems, p, count, r) != RR_OK)
			goto general;
		sections |= AMQP_SEC_PROPERTIES;
		dc = amqp_route_next(p, end);
	}
	if (dc == AMQP_DESC_APPLICATION_PROPERTIES) {
		p += 3;
		if (amqp_route_compound(&p, end, 0xc1, &elems, &count) != RR_OK)
			goto general;
		sections |= AMQP_SEC_APPLICATION_PROPERTIES;
		dc = amqp_route_next(p, end);
	}
	if (dc == AMQP_DESC_DATA) {
		/* data sections (part 3.2.6): one or more */
		body = p;
		do {
			struct amqp_ref b;
			p += 3;
			if (amqp_flat_ref(&p, end, &b) != RR_OK || b.type != AMQP_TYPE_BINARY)
				goto general;
			body_sections++;
		} while (amqp_route_next(p, end) == AMQP_DESC_DATA);
		body_end = p;
		sections |= AMQP_SEC_BODY_DATA;
	} else if (dc == AMQP_DESC_AMQP_VALUE) {
		/* one amqp-value section (part 3.2.8) holding a scalar or a
		 * string/binary/symbol, as oslo.messaging and most proton
		 * senders write; compound values (whose nested elements the
		 * general path validates) go there */
		struct amqp_ref b;
		body = p;
		p += 3;
		if (amqp_flat_ref(&p, end, &b) != RR_OK)
			goto general;
		body_sections = 1;
		body_end = p;
		sections |= AMQP_SEC_BODY_VALUE;
	}
	if (AMQP_UNLIKELY(p != end))
		goto general;
	r->sections = sections;
	r->body = amqp_bytes_of(body, (size_t)(body_end - body));
	r->body_sections = body_sections;
	r->after_annotations = amqp_bytes_of(after_ma, (size_t)(end - after_ma));
	r->len = (uint64_t)(end - start);
	c->left = 0;
	c->p = end;
	return RR_OK;
general:
	return amqp_route_from_message(c, r, d);
}

/* Continue with the general iterator from where the inline walk stopped. */
static void amqp_ann_go_general(struct amqp_ann_iter *a)
{
	struct amqp_bytes rest = amqp_bytes_of(a->p, (size_t)(a->end - a->p));
	amqp_cur_from_bytes(&a->it.cur, &rest, a->pos + (uint64_t)(a->p - a->start));
	a->it.remaining = a->remaining;
	a->it.elem_code = 0;
	a->it.elem_type = AMQP_TYPE_INVALID;
	a->it.elem_descriptor = AMQP_DESC_NONE;
	a->general = true;
}

enum rr_err amqp_ann_next_general(struct amqp_ann_iter *a, struct amqp_ref *key,
				  struct amqp_ref *value, struct amqp_diag *d)
{
	if (!a->general) {
		if (a->remaining == 0 && a->p == a->end)
			return RR_END;
		amqp_ann_go_general(a); /* it reports what is wrong, or reads it */
	}
	struct amqp_value k, v;
	enum rr_err e = amqp_iter_next(&a->it, &k, d);
	if (e != RR_OK)
		return e;
	if (k.type != AMQP_TYPE_SYMBOL && k.type != AMQP_TYPE_ULONG)
		return amqp_diag_set(d, RR_E_WRONG_TYPE, k.pos, "message-annotations", "key");
	e = amqp_iter_next(&a->it, &v, d);
	if (e != RR_OK)
		return e == RR_END ? amqp_diag_set(d, RR_E_ODD_MAP, k.pos, "message-annotations", NULL) : e;
	amqp_ref_from_value(key, &k);
	amqp_ref_from_value(value, &v);
	return RR_OK;
}
